import NetcBasic
import NetcOps

// The parser: recursive descent over the token array, one function per grammar rule of Grammar.md.
//
// It never stops at the first error. A malformed layer becomes an `.bad` element, the parser reports
// one error and skips to the next separator at the same bracket depth (clox's panic mode), so one typo
// does not cascade and the rest of the file is still checked. Nesting beyond `Limits.maxNesting` is a
// diagnostic, not a stack overflow: after it the parser abandons the file.

public enum Limits {
  /// Deepest nesting of groups, combinators and blocks in the source.
  public static let maxNesting = 64
  /// Deepest nesting inside one arithmetic expression.
  public static let maxExpressionDepth = 64
  /// Most operators in one arithmetic expression; with the depth limit, this bounds the recursion
  /// of everything that walks an expression tree.
  public static let maxExpressionOperators = 256
}

public struct Parser {
  /// Layer keywords, from the registry of operations: these are layers, never block names, and
  /// `keyword(...)` is their functional form.
  public static let layerKeywords: Set<String> = OperationRegistry.keywords
  public static let combinatorKeywords: Set<String> = ["inception", "concat", "residual", "add", "mul", "side"]
  static let reservedWords: Set<String> = ["network", "input", "block", "as"]
  /// The words of conditions: `if COND { ... } else { ... }`, `residual if COND < ... >`, and the operators
  /// `and`, `or`, `not`. `in` is the enclosing block's input (`in.c`). None can name a block, a parameter or
  /// a tensor.
  public static let conditionWords: Set<String> = ["if", "else", "and", "or", "not"]
  static let expressionWords: Set<String> = conditionWords.union(["in"])

  public static func parse(_ file: SourceFile, diagnostics: inout DiagnosticEngine) -> NetworkSyntax {
    parse(file, tokens: Lexer.tokenize(file, diagnostics: &diagnostics), diagnostics: &diagnostics)
  }

  /// Parses tokens the lexer made from `file` (for tools that also want the lexer's comments).
  public static func parse(_ file: SourceFile, tokens: [Token], diagnostics: inout DiagnosticEngine) -> NetworkSyntax {
    var parser = Parser(file: file, tokens: tokens)
    let tree = parser.parseFile(&diagnostics)
    return tree
  }

  let file: SourceFile
  let tokens: [Token]
  var index = 0
  var depth = 0
  var expressionOperators = 0
  var abandoned = false
  /// The parameters of the block whose body is being parsed: an element that starts with one is a use of
  /// the layer it is given (`act`, `act()`).
  var blockParameters: Set<String> = []
  /// Inside a condition: a parenthesis holds a condition, not only arithmetic.
  var inCondition = false

  private init(file: SourceFile, tokens: [Token]) {
    self.file = file
    // Invalid bytes have been reported by the lexer; dropping them lets the parser see the rest. Without
    // any, the lexer's array is shared rather than copied (millions of tokens in a hostile file).
    self.tokens = tokens.contains { $0.kind == .invalid } ? tokens.filter { $0.kind != .invalid } : tokens
  }

  // MARK: Token helpers

  var current: Token { tokens[index] }
  func peek(_ n: Int = 1) -> Token { tokens[min(index + n, tokens.count - 1)] }
  func text(_ t: Token) -> String { file.text(t.range) }
  func at(_ kind: TokenKind) -> Bool { current.kind == kind }
  func atWord(_ word: String) -> Bool { at(.identifier) && text(current) == word }

  @discardableResult
  mutating func advance() -> Token {
    let t = current
    if index < tokens.count - 1 { index += 1 }
    return t
  }

  func describe(_ t: Token) -> String {
    switch t.kind {
    case .identifier, .int, .float: return "'\(text(t))'"
    default: return t.kind.spelling
    }
  }

  mutating func expect(_ kind: TokenKind, _ what: String, _ diags: inout DiagnosticEngine) -> Bool {
    if at(kind) { advance(); return true }
    if abandoned { return false }  // everything after the abandon point is unparsed, not wrong
    diags.error("expected-token", "expected \(what), found \(describe(current))", at: current.range)
    return false
  }

  var atSeparatorOrCloser: Bool {
    switch current.kind {
    case .newline, .comma, .pipe, .rAngle, .rParen, .rBrace, .eof: return true
    default: return false
    }
  }

  /// Skips to the next separator or closer at the current bracket depth (panic mode).
  mutating func synchronize() {
    var balance = 0
    while !at(.eof) {
      switch current.kind {
      case .lParen, .lBrace, .lAngle: balance += 1
      case .rParen, .rBrace, .rAngle:
        if balance == 0 { return }
        balance -= 1
      case .newline, .comma, .pipe:
        if balance == 0 { return }
      default: break
      }
      advance()
    }
  }

  mutating func skipNewlines() {
    while at(.newline) { advance() }
  }

  mutating func enterNesting(_ range: SourceRange, _ diags: inout DiagnosticEngine) -> Bool {
    depth += 1
    if depth > Limits.maxNesting {
      diags.error("nesting-too-deep", "nesting is deeper than \(Limits.maxNesting) levels", at: range,
                  notes: [Note("flatten the structure, or define a named block for the repeated part")])
      abandoned = true
      index = tokens.count - 1
      return false
    }
    return true
  }

  // MARK: File

  mutating func parseFile(_ diags: inout DiagnosticEngine) -> NetworkSyntax {
    var tree = NetworkSyntax(name: nil, nameRange: nil, input: nil, blocks: [], body: [],
                             endOfFile: SourceRange.point(file.bytes.count))
    skipNewlines()
    if atWord("network") || atMiscased("network", followedBy: peek().kind == .identifier && endsStatement(peek(2)), &diags) {
      advance()
      if at(.identifier) {
        tree.name = text(current)
        tree.nameRange = current.range
        advance()
      } else {
        diags.error("expected-token", "expected a network name after 'network', found \(describe(current))",
                    at: current.range)
      }
      endStatement(&diags)
    }
    while !at(.eof) && !abandoned {
      skipNewlines()
      if at(.eof) { break }
      if atWord("block") || atMiscased("block", followedBy: startsBlockHeader(), &diags) {
        if let block = parseBlock(&diags) { tree.blocks.append(block) }
        endStatement(&diags)
      } else if atWord("input") || atMiscased("input", followedBy: peek().kind == .int || peek().kind == .lParen, &diags) {
        let decl = parseInput(&diags)
        if let first = tree.input {
          diags.error("duplicate-input", "the network already has an input", at: decl.range,
                      notes: [Note("the first 'input' is here", at: first.range)])
        } else if let firstLayer = tree.body.first {
          diags.error("input-after-layers", "'input' must come before the first layer", at: decl.range,
                      notes: [Note("the first layer is here", at: firstLayer.range)])
          tree.input = decl
        } else {
          tree.input = decl
        }
        endStatement(&diags)
      } else if atWord("network") {
        diags.error("misplaced-network", "'network NAME' must be the first line of the file",
                    at: current.range)
        advance()
        synchronize()
      } else if at(.rBrace) || at(.rAngle) || at(.rParen) || at(.pipe) {
        diags.error("unbalanced", "unexpected \(describe(current)) with nothing open", at: current.range)
        advance()
      } else {
        tree.body.append(contentsOf: parseLine(&diags))
      }
    }
    return tree
  }

  /// A keyword written with capitals (`Input 3x32x32`, `Network LeNet`, `Block Unit {`) where what follows
  /// shows that the keyword is meant: reported with a fix-it, and then parsed as the keyword.
  mutating func atMiscased(_ keyword: String, followedBy intended: Bool, _ diags: inout DiagnosticEngine) -> Bool {
    guard at(.identifier), intended else { return false }
    let word = text(current)
    guard word != keyword, word.lowercased() == keyword else { return false }
    reportMiscased(current.range, keyword, &diags)
    return true
  }

  func reportMiscased(_ r: SourceRange, _ keyword: String, _ diags: inout DiagnosticEngine) {
    diags.error("keyword-case", "netc's keywords are lowercase: write '\(keyword)', not '\(file.text(r))'", at: r,
                fixIts: [FixIt(range: r, replacement: keyword)])
  }

  func endsStatement(_ t: Token) -> Bool { t.kind == .newline || t.kind == .eof }

  /// `NAME (`, `NAME {` or `NAME as` after the current word: a block definition's header.
  func startsBlockHeader() -> Bool {
    guard peek().kind == .identifier else { return false }
    let next = peek(2)
    return next.kind == .lParen || next.kind == .lBrace || (next.kind == .identifier && text(next) == "as")
  }

  /// After a statement only a newline (or the end of the file) may follow.
  mutating func endStatement(_ diags: inout DiagnosticEngine) {
    if at(.newline) || at(.eof) { skipNewlines(); return }
    diags.error("expected-token", "expected end of line, found \(describe(current))", at: current.range)
    while !at(.newline) && !at(.eof) { advance() }
  }

  /// One top-level line: elements separated by commas.
  mutating func parseLine(_ diags: inout DiagnosticEngine) -> [Element] {
    var elements: [Element] = []
    while !abandoned {
      elements.append(parseElement(&diags))
      if at(.comma) {
        advance()
        skipNewlines()
        if at(.eof) { break }
        continue
      }
      if at(.newline) || at(.eof) { break }
      diags.error("expected-token", "expected ',' or end of line after a layer, found \(describe(current))",
                  at: current.range)
      while !at(.newline) && !at(.eof) { advance() }
      break
    }
    return elements
  }

  mutating func parseInput(_ diags: inout DiagnosticEngine) -> InputDecl {
    let start = advance().range
    var dims: [Expr] = []
    if at(.int) {
      dims = parseDims(&diags).0
    } else if at(.lParen), tupleAhead() {
      dims = parseInputTuple(&diags)
    } else {
      diags.error("expected-token", "expected the input shape (such as '3x224x224'), found \(describe(current))",
                  at: current.range)
    }
    let end = tokens[max(0, index - 1)].range
    return InputDecl(dims: dims, range: start.union(end))
  }

  // MARK: Blocks

  mutating func parseBlock(_ diags: inout DiagnosticEngine) -> BlockDecl? {
    let start = advance().range
    guard at(.identifier) else {
      diags.error("expected-token", "expected a block name after 'block', found \(describe(current))",
                  at: current.range)
      synchronizeToLineEnd()
      return nil
    }
    let nameTok = advance()
    let name = text(nameTok)
    if Parser.layerKeywords.contains(name) || Parser.combinatorKeywords.contains(name)
      || Parser.reservedWords.contains(name) || Parser.expressionWords.contains(name)
    {
      diags.error("reserved-name", "'\(name)' is a keyword and cannot name a block", at: nameTok.range)
    }
    var params: [ParamDecl] = []
    // Where each name was first declared: a block may declare many parameters, and a search of the list
    // for each one would take time quadratic in their number.
    var declared: [String: SourceRange] = [:]
    if at(.lParen) {
      advance()
      skipNewlines()
      while !at(.rParen) && !at(.eof) {
        guard at(.identifier) else {
          diags.error("expected-token", "expected a parameter name, found \(describe(current))", at: current.range)
          while !at(.rParen) && !at(.lBrace) && !at(.newline) && !at(.eof) { advance() }
          break
        }
        let p = advance()
        let paramName = text(p)
        var def: Argument?
        if at(.equals) {
          advance()
          def = parseArgument(&diags)
        }
        var scratch = DiagnosticEngine(file: file)
        if compactOption(p, &scratch) != nil {
          diags.error("parameter-reads-as-option", "a parameter named '\(paramName)' would read as the compact option '\(paramName)'",
                      at: p.range, notes: [Note("rename it, for example to '\(paramName)_'")])
        } else if Parser.layerKeywords.contains(paramName) || Parser.combinatorKeywords.contains(paramName)
          || Parser.reservedWords.contains(paramName) || Parser.expressionWords.contains(paramName)
        {
          let hint = paramName == "in" ? "'in' is the block's input ('in.c' its channels): name the parameter 'inp'"
            : "rename it, for example to '\(paramName)_'"
          diags.error("reserved-name", "'\(paramName)' is a keyword and cannot name a parameter", at: p.range,
                      notes: [Note(hint)])
        } else if let first = declared[paramName] {
          diags.error("duplicate-parameter", "block '\(name)' declares '\(paramName)' twice", at: p.range,
                      notes: [Note("first declared here", at: first)])
        }
        if declared[paramName] == nil { declared[paramName] = p.range }
        params.append(ParamDecl(name: paramName, range: p.range, defaultValue: def))
        skipNewlines()
        if at(.comma) { advance(); skipNewlines() } else { break }
      }
      _ = expect(.rParen, "')' after the block's parameters", &diags)
    }
    var moduleName: String?
    if atWord("as") {
      advance()
      if at(.identifier) { moduleName = text(advance()) } else {
        diags.error("expected-token", "expected a module name after 'as', found \(describe(current))",
                    at: current.range)
      }
    }
    skipNewlines()
    guard at(.lBrace) else {
      diags.error("expected-token", "expected '{' to open the body of block '\(name)', found \(describe(current))",
                  at: current.range)
      synchronizeToLineEnd()
      return nil
    }
    let open = advance()
    guard enterNesting(open.range, &diags) else { return nil }
    blockParameters = Set(params.map(\.name))
    let body = parseSequence(closer: .rBrace, &diags)
    blockParameters = []
    depth -= 1
    let end = current.range
    if at(.rBrace) {
      advance()
    } else if !abandoned {
      diags.error("expected-token", "expected '}' to close block '\(name)', found \(describe(current))", at: current.range,
                  notes: [Note("block '\(name)' opened here", at: open.range)])
    }
    return BlockDecl(name: name, nameRange: nameTok.range, params: params, moduleName: moduleName, body: body,
                     range: start.union(end))
  }

  mutating func synchronizeToLineEnd() {
    while !at(.newline) && !at(.eof) { advance() }
  }

  // MARK: Sequences and elements

  /// Elements separated by newlines or commas, up to (not including) `closer` or a `|` inside a combinator.
  mutating func parseSequence(closer: TokenKind, stopAtPipe: Bool = false,
                                      _ diags: inout DiagnosticEngine) -> [Element] {
    var elements: [Element] = []
    while !abandoned {
      while at(.newline) || at(.comma) { advance() }
      if at(closer) || at(.eof) || (stopAtPipe && at(.pipe)) { break }
      if at(.rBrace) || at(.rParen) || at(.rAngle) || at(.pipe) {
        diags.error("unbalanced", "expected \(closer.spelling), found \(describe(current))", at: current.range)
        break
      }
      let e = parseElement(&diags)
      elements.append(e)
      if at(.newline) || at(.comma) || at(closer) || at(.eof) || (stopAtPipe && at(.pipe)) { continue }
      diags.error("expected-token",
                  "expected ',' or end of line after a layer, found \(describe(current))", at: current.range)
      synchronize()
    }
    return elements
  }

  mutating func parseElement(_ diags: inout DiagnosticEngine) -> Element {
    let start = current.range
    var kind: ElementKind
    switch current.kind {
    case .lParen:
      let open = advance()
      guard enterNesting(open.range, &diags) else { return Element(kind: .bad, range: open.range) }
      let body = parseSequence(closer: .rParen, &diags)
      depth -= 1
      if at(.rParen) {
        advance()
        kind = .group(body)
      } else {
        if !abandoned {
          diags.error("expected-token", "expected ')' to close the group, found \(describe(current))", at: current.range,
                      notes: [Note("the group opened here", at: open.range)])
        }
        synchronize()
        kind = .bad  // its contents are unreliable: checking them would only add noise
      }
    case .at:
      advance()
      if at(.identifier) {
        let name = advance()
        kind = .reference(text(name))
        if at(.dot) && text(name) == "input" {
          // '@input.c': the channels of a block's input are a number, 'in.c', not a tensor.
          let dot = advance()
          let size = at(.identifier) ? advance().range : dot.range
          let whole = start.union(size)
          diags.error("input-size-spelling", "'\(file.text(whole))' is not a tensor; the sizes of a block's input are 'in.c', 'in.h' and 'in.w'",
                      at: whole, notes: [Note("'@input' is the input tensor itself; 'in.c' its channel count, a number for a layer's arguments")])
          kind = .bad
        }
      } else {
        diags.error("expected-token", "expected a tensor name after '@', found \(describe(current))",
                    at: current.range)
        kind = .bad
      }
    case .identifier:
      let word = text(current)
      let conditionFollows = peek().kind == .identifier && text(peek()) == "if"
      if word == "if" || word == "elif" {
        if word == "elif" {
          diags.error("elif", "netc writes Python's 'elif' as 'else if', after the '}' of an 'if'", at: current.range,
                      fixIts: [FixIt(range: current.range, replacement: "if")])
        }
        kind = parseConditional(&diags)
      } else if word == "else" {
        diags.error("else-without-if", "'else' follows the '}' of an 'if { ... }'", at: current.range)
        advance()
        synchronize()
        kind = .bad
      } else if (peek().kind == .lAngle && !Parser.layerKeywords.contains(word))
        || (conditionFollows && Parser.combinatorKeywords.contains(word.lowercased()))
      {
        kind = parseCombinator(&diags)
      } else if Parser.layerKeywords.contains(word) || blockParameters.contains(word) {
        // A layer, or the layer a parameter of the enclosing block is given (`act`, `act()`).
        kind = parseLayer(&diags)
      } else if peek().kind == .dot {
        // PyTorch's name, such as 'nn.Conv2d' or 'F.relu(x)': the checker says what netc calls it.
        let name = parseQualifiedName()
        kind = at(.lParen) && current.range.start == name.range.end
          ? parseCall(name: name, &diags) : parseLayer(name: name, &diags)
      } else if peek().kind == .lParen {
        kind = parseCall(&diags)
      } else if Parser.reservedWords.contains(word) {
        diags.error("misplaced-keyword", "'\(word)' cannot appear inside a network body", at: current.range,
                    notes: word == "block" ? [Note("blocks are defined at the top level of the file")] : [])
        advance()
        synchronize()
        kind = .bad
      } else {
        // An unknown word: parse it as a layer so the checker can name it and suggest the right one.
        kind = parseLayer(&diags)
      }
    default:
      diags.error("expected-layer", "expected a layer, found \(describe(current))", at: current.range)
      if !atSeparatorOrCloser { advance() }
      synchronize()
      return Element(kind: .bad, range: start)
    }
    var element = Element(kind: kind, range: start.union(tokens[max(0, index - 1)].range))
    parseSuffixes(into: &element, &diags)
    return element
  }

  func isRepetitionWord(_ t: Token) -> Bool {
    guard t.kind == .identifier else { return false }
    let s = Array(file.bytes[t.range.start..<t.range.end])
    guard s.first == UInt8(ascii: "x") else { return false }
    return s.count == 1 || s.dropFirst().allSatisfy { $0 >= 48 && $0 <= 57 }
  }

  mutating func parseSuffixes(into element: inout Element, _ diags: inout DiagnosticEngine) {
    while !abandoned {
      if isRepetitionWord(current) {
        let t = advance()
        var count: Expr
        if t.range.end - t.range.start > 1 {
          let digits = SourceRange(t.range.start + 1, t.range.end)
          count = .int(parseIntLiteral(digits, &diags), digits)
        } else if at(.int) || at(.identifier) || at(.lParen) {
          expressionOperators = 0
          count = parseFactor(&diags, depth: 0)
        } else {
          diags.error("expected-token", "expected a repetition count after 'x', found \(describe(current))",
                      at: current.range)
          return
        }
        if element.repeatCount != nil {
          diags.error("duplicate-repeat", "the element already has a repetition count", at: t.range.union(count.range),
                      notes: [Note("wrap it in '( ... )' to repeat a repeated group")])
        } else {
          element.repeatCount = count
        }
        element.range = element.range.union(count.range)
      } else if at(.arrow) {
        let arrow = advance()
        guard at(.int) else {
          diags.error("expected-token", "expected a shape after '->' (such as '64x56x56'), found \(describe(current))",
                      at: current.range)
          return
        }
        var (dims, r) = parseDims(&diags)
        // '-> 64 x 32 x 32' would read as the shape 64 repeated 32 times, twice: sizes are joined without
        // spaces. ('-> 10 x 3' is a flat shape repeated three times, and stays so.)
        func isSpacedSize(_ k: Int) -> Bool {
          let t = peek(k)
          return t.kind == .identifier && t.range.end - t.range.start == 1 && file.bytes[t.range.start] == UInt8(ascii: "x")
            && peek(k + 1).kind == .int
        }
        if isSpacedSize(0), isSpacedSize(2) {
          while isSpacedSize(0) {
            advance()
            let size = advance()
            dims.append(.int(parseIntLiteral(size.range, &diags), size.range))
            r = r.union(size.range)
          }
          let joined = dims.map { d -> String in if case .int(let v?, _) = d { return String(v) }; return "?" }
            .joined(separator: "x")
          diags.error("spaced-shape", "a shape is written without spaces, as '\(joined)'", at: r,
                      fixIts: [FixIt(range: r, replacement: joined)])
        }
        element.suffixes.append(.expectShape(dims, arrow.range.union(r)))
      } else if at(.fatArrow) {
        advance()
        guard at(.identifier) else {
          diags.error("expected-token", "expected a tensor name after '=>', found \(describe(current))",
                      at: current.range)
          return
        }
        let t = advance()
        if Parser.expressionWords.contains(text(t)) {
          diags.error("reserved-name", "'\(text(t))' is a keyword and cannot name a tensor", at: t.range)
        }
        element.suffixes.append(.bind(text(t), t.range))
      } else {
        return
      }
    }
  }

  /// Other names for combinators, as other tools call them.
  static let combinatorAliases: [String: String] = ["cat": "concat", "concatenate": "concat", "sum": "add", "multiply": "mul"]

  /// The combinator a word before '<' means: itself, or, reported with a fix-it, the keyword it misspells
  /// (`inceptoin`, `Residual`, `cat`); nil if it resembles none.
  func combinatorKeyword(_ kw: Token, _ diags: inout DiagnosticEngine) -> String? {
    let word = text(kw)
    if Parser.combinatorKeywords.contains(word) { return word }
    let lowered = word.lowercased()
    if Parser.combinatorKeywords.contains(lowered) {
      reportMiscased(kw.range, lowered, &diags)
      return lowered
    }
    let all = Parser.combinatorKeywords.sorted().map { "'\($0)'" }
    let list = all.dropLast().joined(separator: ", ") + " and " + (all.last ?? "")
    guard let meant = Parser.combinatorAliases[lowered] ?? Suggest.closest(to: word, in: Parser.combinatorKeywords) else {
      diags.error("unknown-combinator", "unknown combinator '\(word)'", at: kw.range,
                  notes: [Note("netc's combinators are \(list)")])
      return nil
    }
    diags.error("unknown-combinator", "unknown combinator '\(word)'; did you mean '\(meant)'?", at: kw.range,
                fixIts: [FixIt(range: kw.range, replacement: meant)])
    return meant
  }

  /// `inception< a | b >`. A misspelt combinator is reported, and its branches are still parsed (and, when
  /// the misspelling says which combinator is meant, checked as that one's).
  mutating func parseCombinator(_ diags: inout DiagnosticEngine) -> ElementKind {
    let kw = advance()
    let keyword = combinatorKeyword(kw, &diags)
    var condition: Expr?
    var conditionKeyword: SourceRange?
    if atWord("if") {
      conditionKeyword = current.range
      guard let c = parseCombinatorCondition(kw, &diags) else { return .bad }
      condition = c
    }
    let open = advance()  // '<'
    guard enterNesting(open.range, &diags) else { return .bad }
    defer { depth -= 1 }
    var branches: [[Element]] = []
    var branchRanges: [SourceRange] = [open.range]
    while !abandoned {
      branches.append(parseSequence(closer: .rAngle, stopAtPipe: true, &diags))
      if at(.pipe) {
        branchRanges.append(advance().range)
        continue
      }
      break
    }
    if !at(.rAngle) {
      if !abandoned {
        diags.error("expected-token", "expected '>' to close '\(text(kw))<', found \(describe(current))",
                    at: current.range, notes: [Note("'\(text(kw))<' opened here", at: open.range)])
      }
      synchronize()
      if at(.rAngle) { advance() }
      return .bad
    }
    advance()
    guard let keyword else { return .bad }
    return .combinator(CombinatorSyntax(keyword: keyword, keywordRange: kw.range, branches: branches,
                                        branchRanges: branchRanges, condition: condition,
                                        conditionKeywordRange: conditionKeyword))
  }

  /// A name and where it is written: one identifier, or PyTorch's `nn.Conv2d`.
  struct Name {
    var text: String
    var range: SourceRange
  }

  mutating func parseName() -> Name {
    let t = advance()
    return Name(text: text(t), range: t.range)
  }

  /// `nn.Conv2d`, `torch.nn.functional.relu`: identifiers joined by the lexer's '.' tokens.
  mutating func parseQualifiedName() -> Name {
    var name = parseName()
    while at(.dot) && peek().kind == .identifier {
      advance()
      let part = parseName()
      name = Name(text: name.text + "." + part.text, range: name.range.union(part.range))
    }
    return name
  }

  mutating func parseCall(name: Name? = nil, _ diags: inout DiagnosticEngine) -> ElementKind {
    let nameTok = name ?? parseName()
    advance()  // '('
    var args: [CallSyntax.Arg] = []
    skipNewlines()
    while !at(.rParen) && !at(.eof) && !abandoned {
      var label: String?
      var labelRange: SourceRange?
      if at(.identifier) && peek().kind == .equals {
        label = text(current)
        labelRange = advance().range
        advance()
      }
      let value = parseArgument(&diags)
      args.append(CallSyntax.Arg(label: label, labelRange: labelRange, value: value))
      skipNewlines()
      if at(.comma) {
        advance()
        skipNewlines()
      } else if !at(.rParen) {
        diags.error("expected-token", "expected ',' or ')' in the arguments of '\(nameTok.text)', found \(describe(current))",
                    at: current.range)
        while !at(.rParen) && !at(.newline) && !at(.eof) { advance() }
        break
      }
    }
    // A second error on the same line is dropped by the engine, so this cannot cascade.
    if at(.rParen) { advance() } else {
      diags.error("expected-token", "expected ')' to close the arguments of '\(nameTok.text)', found \(describe(current))",
                  at: current.range)
    }
    return .call(CallSyntax(name: nameTok.text, nameRange: nameTok.range, args: args))
  }

  // MARK: Layers

  mutating func parseLayer(name: Name? = nil, _ diags: inout DiagnosticEngine) -> ElementKind {
    let kw = name ?? parseName()
    var functional = false
    if at(.lParen) && current.range.start == kw.range.end {
      functional = true
      advance()
    }
    var args: [LayerArg] = []
    while !abandoned {
      if functional && at(.rParen) { advance(); break }
      if atSeparatorOrCloser || at(.arrow) || at(.fatArrow) || isRepetitionWord(current) {
        if functional {
          diags.error("expected-token", "expected ')' to close '\(kw.text)(', found \(describe(current))",
                      at: current.range)
        }
        break
      }
      guard let arg = parseLayerArg(&diags) else {
        synchronize()
        return .bad
      }
      args.append(arg)
    }
    return .layer(LayerSyntax(keyword: kw.text, keywordRange: kw.range, functional: functional, args: args))
  }

  /// `64`, `3x3`, `c*4`, `0.5`, `ceil`, `stride=2`, `pad=same`, `s2`, `p1x2`.
  mutating func parseLayerArg(_ diags: inout DiagnosticEngine) -> LayerArg? {
    if at(.identifier) && peek().kind == .equals {
      let key = advance()
      advance()
      let value: LayerArg.Value
      if at(.int) && peek().kind == .by {
        let (dims, r) = parseDims(&diags)
        value = .dims(dims, r)
      } else if tupleAhead() {
        value = parseTupleValue(key: key, &diags)
      } else if at(.int) || at(.float) || at(.identifier) || at(.lParen) || at(.minus) {
        value = .expr(parseExpr(&diags))
      } else {
        diags.error("expected-token", "expected a value after '\(text(key))=', found \(describe(current))",
                    at: current.range)
        return nil
      }
      let arg = LayerArg(key: text(key), keyRange: key.range, value: value, range: key.range)
      return LayerArg(key: arg.key, keyRange: arg.keyRange, value: value, range: key.range.union(arg.valueRange))
    }
    if at(.identifier), let compact = compactOption(current, &diags) {
      advance()
      return compact
    }
    if at(.int) && peek().kind == .by {
      let (dims, r) = parseDims(&diags)
      return LayerArg(key: nil, keyRange: nil, value: .dims(dims, r), range: r)
    }
    if tupleAhead() {
      let arg = LayerArg(key: nil, keyRange: nil, value: parseTupleValue(key: nil, &diags), range: current.range)
      return LayerArg(key: nil, keyRange: nil, value: arg.value, range: arg.valueRange)
    }
    if at(.int) || at(.float) || at(.identifier) || at(.lParen) || at(.minus) {
      let e = parseExpr(&diags)
      return LayerArg(key: nil, keyRange: nil, value: .expr(e), range: e.range)
    }
    if at(.at), peek().kind == .identifier, text(peek()) == "input", peek(2).kind == .dot, peek(3).kind == .identifier {
      return parseTensorSize(&diags)
    }
    diags.error("unexpected-token", "unexpected \(describe(current)) in a layer's arguments", at: current.range)
    return nil
  }

  /// The compact options of the brief's notation: `s2` stride, `p1` / `p1x2` padding, `d2` dilation,
  /// `g32` groups. Anything else is not compact and is left to the expression parser.
  func compactOption(_ t: Token, _ diags: inout DiagnosticEngine) -> LayerArg? {
    let bytes = Array(file.bytes[t.range.start..<t.range.end])
    guard bytes.count >= 2, let letter = bytes.first,
      [UInt8(ascii: "s"), UInt8(ascii: "p"), UInt8(ascii: "d"), UInt8(ascii: "g")].contains(letter)
    else { return nil }
    var parts: [SourceRange] = []
    var i = 1
    while i < bytes.count {
      let begin = i
      while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { i += 1 }
      if i == begin { return nil }
      parts.append(SourceRange(t.range.start + begin, t.range.start + i))
      if i < bytes.count {
        guard bytes[i] == UInt8(ascii: "x"), letter == UInt8(ascii: "p") || letter == UInt8(ascii: "s") || letter == UInt8(ascii: "d") else {
          return nil
        }
        i += 1
        if i == bytes.count { return nil }
      }
    }
    let keyRange = SourceRange(t.range.start, t.range.start + 1)
    let exprs = parts.map { Expr.int(parseIntLiteral($0, &diags), $0) }
    let valueRange = SourceRange(t.range.start + 1, t.range.end)
    let value: LayerArg.Value = exprs.count == 1 ? .expr(exprs[0]) : .dims(exprs, valueRange)
    return LayerArg(key: String(UnicodeScalar(letter)), keyRange: keyRange, value: value, range: t.range)
  }
}
