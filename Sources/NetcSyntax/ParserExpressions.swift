import NetcBasic
import NetcOps

/// The parser's rules for sizes, tuples written the PyTorch way, and arithmetic expressions; the rest of
/// the grammar is in Parser.swift, whose state these share.
extension Parser {
  // MARK: Tuples

  /// Whether PyTorch's tuple starts here: '(' and items separated by at least one ',' up to its ')', on
  /// one line: `(2, 2)`, `(3,)`. A parenthesised expression such as `(c*2)` is not one.
  func tupleAhead() -> Bool {
    guard at(.lParen) else { return false }
    var depth = 0
    var commas = 0
    // A tuple is short; looking no further keeps a line of a million '(' linear.
    for t in tokens[index..<min(tokens.count, index + 64)] {
      switch t.kind {
      case .lParen: depth += 1
      case .rParen:
        depth -= 1
        if depth == 0 { return commas > 0 }
      case .comma: if depth == 1 { commas += 1 }
      case .int, .float, .identifier, .plus, .minus, .star, .slash: break
      default: return false
      }
    }
    return false
  }

  /// The items of the tuple `tupleAhead()` found, and its range, parentheses included.
  mutating func parseTupleItems(_ diags: inout DiagnosticEngine) -> ([Expr], SourceRange) {
    let open = advance()
    var items: [Expr] = []
    while !at(.rParen) && !at(.eof) && !abandoned {
      items.append(parseExpr(&diags))
      if at(.comma) { advance() } else { break }
    }
    let close = current.range
    _ = expect(.rParen, "')' to close the tuple", &diags)
    return (items, open.range.union(close))
  }

  func literalSizes(_ items: [Expr]) -> [Int]? {
    var sizes: [Int] = []
    for e in items {
      guard case .int(let v?, _) = e else { return nil }
      sizes.append(v)
    }
    return sizes
  }

  /// The options that have a compact form, by each spelling of their key.
  static let compactLetters = ["stride": "s", "s": "s", "pad": "p", "padding": "p", "p": "p",
                                       "dilation": "d", "d": "d"]

  /// A layer argument written as PyTorch's tuple (`stride=(2, 2)`): reported with netc's spelling as a
  /// fix-it, and read as that spelling.
  mutating func parseTupleValue(key: Token?, _ diags: inout DiagnosticEngine) -> LayerArg.Value {
    let (items, r) = parseTupleItems(&diags)
    let written = file.text(r)
    if let sizes = literalSizes(items) {
      let pair = sizes.map(String.init).joined(separator: "x")
      if let key, let letter = Parser.compactLetters[text(key)], sizes.count <= 2 {
        let compact = letter + (sizes.count == 2 && sizes[0] == sizes[1] ? "\(sizes[0])" : pair)
        let whole = key.range.union(r)
        diags.error("tuple-value", "'\(file.text(whole))' is PyTorch's spelling; netc writes '\(text(key))=\(pair)', or '\(compact)'",
                    at: whole, fixIts: [FixIt(range: whole, replacement: compact)])
      } else {
        diags.error("tuple-value", "'\(written)' is PyTorch's spelling of a pair; netc writes '\(pair)'", at: r,
                    fixIts: [FixIt(range: r, replacement: pair)])
      }
      return items.count == 1 ? .expr(items[0]) : .dims(items, r)
    }
    let texts = items.map { file.text($0.range) }
    if let first = texts.first, texts.allSatisfy({ $0 == first }) {
      diags.error("tuple-value", "'\(written)' is PyTorch's spelling of a pair; netc writes one value for both axes, '\(first)'",
                  at: r, fixIts: [FixIt(range: r, replacement: first)])
      return .expr(items[0])
    }
    diags.error("tuple-value", "netc has no tuples: write a pair of whole numbers as 'HxW', or one value for both axes", at: r)
    return .dims(items, r)
  }

  /// `input (3, 224, 224)`: PyTorch's shape, reported with netc's spelling as a fix-it (PyTorch's batch,
  /// when given, left out) and read as that spelling.
  mutating func parseInputTuple(_ diags: inout DiagnosticEngine) -> [Expr] {
    let (items, r) = parseTupleItems(&diags)
    let written = file.text(r)
    guard let sizes = literalSizes(items) else {
      diags.error("tuple-value", "netc writes the input shape as 'CxHxW' with whole numbers, found '\(written)'", at: r)
      return []
    }
    let batched = sizes.count == 4
    let shape = (batched ? Array(sizes.dropFirst()) : sizes).map(String.init).joined(separator: "x")
    diags.error("tuple-value", "'\(written)' is PyTorch's spelling of a shape; netc writes '\(shape)'", at: r,
                notes: batched ? [Note("the batch is not part of the spec; set it with '--batch'")] : [],
                fixIts: [FixIt(range: r, replacement: shape)])
    return batched ? Array(items.dropFirst()) : items
  }

  /// `3x224x224` or a single integer; every part is an integer literal.
  mutating func parseDims(_ diags: inout DiagnosticEngine) -> ([Expr], SourceRange) {
    var dims: [Expr] = []
    let start = current.range
    var end = start
    while at(.int) {
      let t = advance()
      end = t.range
      dims.append(.int(parseIntLiteral(t.range, &diags), t.range))
      guard at(.by) else { break }
      advance()
      // The lexer makes `x` a token only before a digit, but `3x1.5` or `3x2e3` put a fraction there.
      if !at(.int) {
        diags.error("expected-token", "expected a whole number after 'x' in a size, found \(describe(current))",
                    at: current.range, notes: [Note("sizes are whole numbers: 3x3, 224x224")])
        end = current.range
        if at(.float) { advance() }
        break
      }
    }
    return (dims, start.union(end))
  }

  func parseIntLiteral(_ r: SourceRange, _ diags: inout DiagnosticEngine) -> Int? {
    var value = 0
    for b in file.bytes[r.start..<r.end] {
      let (m, o1) = value.multipliedReportingOverflow(by: 10)
      let (a, o2) = m.addingReportingOverflow(Int(b) - 48)
      if o1 || o2 {
        diags.error("integer-overflow", "integer literal '\(file.text(r))' does not fit in 64 bits", at: r)
        return nil
      }
      value = a
    }
    return value
  }

  // MARK: Arguments

  /// What a block parameter is given: a layer (`relu`, `relu()`, `(bn eps=0.001)`, or `act()`, the
  /// functional form of a layer parameter) or a number.
  mutating func parseArgument(_ diags: inout DiagnosticEngine) -> Argument {
    let start = current.range
    if at(.lParen), peek().kind == .identifier, Parser.layerKeywords.contains(text(peek())) {
      advance()
      guard case .layer(let layer) = parseLayer(&diags) else {
        while !at(.rParen) && !atSeparatorOrCloser { advance() }
        if at(.rParen) { advance() }
        return .expr(.int(nil, start))
      }
      let close = current.range
      _ = expect(.rParen, "')' after the layer's arguments", &diags)
      return .layer(layer, start.union(close))
    }
    let functionalParameter = blockParameters.contains(text(current)) && peek().kind == .lParen
      && peek().range.start == current.range.end
    if at(.identifier), Parser.layerKeywords.contains(text(current)) || functionalParameter {
      guard case .layer(let layer) = parseLayer(&diags) else { return .expr(.int(nil, start)) }
      let range = start.union(tokens[max(0, index - 1)].range)
      if !layer.functional, let first = layer.args.first, let last = layer.args.last {
        // 'norm=bn eps=0.001' would read as two arguments, 'norm=bn' and 'eps=0.001'.
        let written = file.text(range)
        diags.error("layer-argument-parentheses", "a layer with arguments is given in parentheses: '(\(written))'",
                    at: first.range.union(last.range),
                    fixIts: [FixIt(range: SourceRange.point(range.start), replacement: "("),
                             FixIt(range: SourceRange.point(range.end), replacement: ")")])
      }
      return .layer(layer, range)
    }
    return .expr(parseExpr(&diags))
  }

  // MARK: Expressions

  mutating func parseExpr(_ diags: inout DiagnosticEngine, depth: Int = 0) -> Expr {
    if depth == 0 && !inCondition { expressionOperators = 0 }
    var lhs = parseTerm(&diags, depth: depth)
    while at(.plus) || at(.minus) {
      let op: Expr.BinaryOp = at(.plus) ? .add : .sub
      if !countOperator(&diags) { return lhs }
      advance()
      let rhs = parseTerm(&diags, depth: depth)
      lhs = .binary(op, lhs, rhs, lhs.range.union(rhs.range))
    }
    return lhs
  }

  mutating func parseTerm(_ diags: inout DiagnosticEngine, depth: Int) -> Expr {
    var lhs = parseFactor(&diags, depth: depth)
    while at(.star) || at(.slash) {
      let op: Expr.BinaryOp = at(.star) ? .mul : .div
      if !countOperator(&diags) { return lhs }
      advance()
      let rhs = parseFactor(&diags, depth: depth)
      lhs = .binary(op, lhs, rhs, lhs.range.union(rhs.range))
    }
    return lhs
  }

  mutating func parseFactor(_ diags: inout DiagnosticEngine, depth: Int) -> Expr {
    let t = current
    if depth > Limits.maxExpressionDepth {
      diags.error("nesting-too-deep", "expression is nested deeper than \(Limits.maxExpressionDepth) levels", at: t.range)
      abandoned = true
      index = tokens.count - 1
      return .int(0, t.range)
    }
    switch t.kind {
    case .int:
      advance()
      return .int(parseIntLiteral(t.range, &diags), t.range)
    case .float:
      advance()
      return .float(Double(file.text(t.range)) ?? .nan, t.range)
    case .identifier where peek().kind == .dot && ["in", "input"].contains(text(t)):
      return parseInputSize(&diags)
    case .identifier where inCondition && Parser.expressionWords.contains(text(t)):
      diags.error("expected-token", "expected a number or a parameter name, found '\(text(t))'", at: t.range)
      return .int(nil, t.range)
    case .identifier:
      advance()
      return .name(text(t), t.range)
    case .minus:
      if !countOperator(&diags) { return .int(nil, t.range) }
      advance()
      let inner = parseFactor(&diags, depth: depth + 1)
      return .negate(inner, t.range.union(inner.range))
    case .lParen:
      advance()
      let inner = inCondition ? parseCondition(&diags, depth: depth + 1) : parseExpr(&diags, depth: depth + 1)
      let close = current.range
      if at(.rParen) {
        advance()
      } else {
        if !abandoned {
          if Parser.comparisons[current.kind] != nil {
            diags.error("comparison-outside-condition",
                        "\(describe(current)) compares, and a comparison is a condition: it stands after 'if', not in a size",
                        at: current.range, notes: [Note("write 'if COND { ... } else { ... }' to choose between two layers")])
          } else {
            diags.error("expected-token", "expected ')' to close the expression, found \(describe(current))", at: current.range)
          }
        }
        skipToClosingParenthesis()
      }
      return rewrap(inner, t.range.union(close))
    default:
      diags.error("expected-token", "expected a number or a parameter name, found \(describe(t))", at: t.range)
      return .int(nil, t.range)
    }
  }

  /// After an expression in parentheses that does not end at its ')': on to that ')' on the same line,
  /// so that one mistake inside does not leave the brackets around it unbalanced.
  mutating func skipToClosingParenthesis() {
    var balance = 0
    while !at(.eof) && !at(.newline) && !at(.lBrace) && !at(.rBrace) {
      if at(.lParen) { balance += 1 }
      if at(.rParen) {
        if balance == 0 {
          advance()
          return
        }
        balance -= 1
      }
      advance()
    }
  }

  /// Counts one operator of the current expression; past the limit, reports it and abandons the file.
  mutating func countOperator(_ diags: inout DiagnosticEngine) -> Bool {
    expressionOperators += 1
    guard expressionOperators > Limits.maxExpressionOperators else { return true }
    diags.error("expression-too-long", "expression has more than \(Limits.maxExpressionOperators) operators",
                at: current.range, notes: [Note("a size is a short formula of block parameters")])
    abandoned = true
    index = tokens.count - 1
    return false
  }

  func rewrap(_ e: Expr, _ r: SourceRange) -> Expr {
    switch e {
    case .int(let v, _): return .int(v, r)
    case .float(let v, _): return .float(v, r)
    case .name(let n, _): return .name(n, r)
    case .input(let s, _): return .input(s, r)
    case .negate(let x, _): return .negate(x, r)
    case .not(let x, _): return .not(x, r)
    case .binary(let op, let a, let b, _): return .binary(op, a, b, r)
    }
  }

  /// `@input.c` among a layer's arguments: the channels of a block's input are the number `in.c`, not the
  /// tensor; reported, and read as `in.c`.
  mutating func parseTensorSize(_ diags: inout DiagnosticEngine) -> LayerArg {
    // '@input.c': the channels of a block's input are the number 'in.c'; read as it.
    let start = advance().range
    advance()
    advance()
    let field = advance()
    let whole = start.union(field.range)
    let size = Expr.InputSize(rawValue: text(field)) ?? .c
    diags.error("input-size-spelling", "'\(file.text(whole))' is not a number; the sizes of a block's input are 'in.c', 'in.h' and 'in.w'",
                at: whole, notes: [Note("'@input' is the input tensor itself, an element of its own")],
                fixIts: [FixIt(range: whole, replacement: "in.\(size.rawValue)")])
    return LayerArg(key: nil, keyRange: nil, value: .expr(.input(size, whole)), range: whole)
  }

  /// `in.c`, `in.h`, `in.w`: a size of the enclosing block's input. `input.c` and `in.channels` are
  /// reported with netc's spelling and read as it.
  mutating func parseInputSize(_ diags: inout DiagnosticEngine) -> Expr {
    let word = advance()
    advance()  // '.'
    guard at(.identifier) else {
      diags.error("expected-token", "expected 'c', 'h' or 'w' after 'in.', found \(describe(current))", at: current.range)
      return .int(nil, word.range)
    }
    let field = advance()
    let whole = word.range.union(field.range)
    let written = text(field)
    let size = Expr.InputSize(rawValue: written)
      ?? Expr.InputSize.allCases.first { written.lowercased() == $0.meaning || written.lowercased().hasPrefix($0.rawValue) }
    let fixed = size.map { "in.\($0.rawValue)" }
    if text(word) == "input" || Expr.InputSize(rawValue: written) == nil {
      let message = text(word) == "input" && size != nil
        ? "the sizes of a block's input are written 'in.c', 'in.h' and 'in.w'"
        : "'\(file.text(whole))' is not a size of the block's input; netc writes 'in.c', 'in.h' and 'in.w'"
      diags.error("input-size-spelling", message, at: whole,
                  notes: [Note("'in.c' is the channel count of the block's input, 'in.h' its height, 'in.w' its width")],
                  fixIts: fixed.map { [FixIt(range: whole, replacement: $0)] } ?? [])
    }
    guard let size else { return .int(nil, whole) }
    return .input(size, whole)
  }
}
