import NetcBasic
import NetcOps

/// The parser's rules for conditions: `if COND { ... } else { ... }` and the conditions themselves, with
/// Python's operators; the rest of the grammar is in Parser.swift and ParserExpressions.swift.
extension Parser {
  /// `if COND { ... }`, then `else { ... }` or `else if COND { ... }`, which may start the next line.
  mutating func parseConditional(_ diags: inout DiagnosticEngine) -> ElementKind {
    let keyword = advance()
    let condition = parseCondition(&diags)
    guard let then = parseBraced(after: "the condition of 'if'", &diags) else { return .bad }
    var next = index
    while tokens[next].kind == .newline && next < tokens.count - 1 { next += 1 }
    let following = tokens[next]
    guard following.kind == .identifier, ["else", "elif"].contains(text(following)) else {
      return .conditional(ConditionalSyntax(condition: condition, keywordRange: keyword.range, then: then,
                                            otherwise: nil, elseRange: nil))
    }
    index = next
    let elseToken = advance()
    var otherwise: [Element]
    if text(elseToken) == "elif" || atWord("if") {
      // `else if`: the nested conditional is the else branch's one element.
      let start = text(elseToken) == "elif" ? elseToken.range : current.range
      if text(elseToken) == "elif" {
        diags.error("elif", "netc writes Python's 'elif' as 'else if'", at: elseToken.range,
                    fixIts: [FixIt(range: elseToken.range, replacement: "else if")])
        index -= 1  // 'elif' is also the nested conditional's 'if'
      }
      guard enterNesting(start, &diags) else { return .bad }
      let nested = parseConditional(&diags)
      depth -= 1
      if case .bad = nested { return .bad }
      otherwise = [Element(kind: nested, range: start.union(tokens[max(0, index - 1)].range))]
    } else {
      guard let body = parseBraced(after: "'else'", &diags) else { return .bad }
      otherwise = body
    }
    return .conditional(ConditionalSyntax(condition: condition, keywordRange: keyword.range, then: then,
                                          otherwise: otherwise, elseRange: elseToken.range))
  }

  /// `{ sequence }` after a condition or `else`; nil (reported) without its '{' or '}'.
  mutating func parseBraced(after what: String, _ diags: inout DiagnosticEngine) -> [Element]? {
    // The '{' may start the next line, as a block's may.
    var next = index
    while tokens[next].kind == .newline && next < tokens.count - 1 { next += 1 }
    if tokens[next].kind == .lBrace { index = next }
    guard at(.lBrace) else {
      if !abandoned {
        let pipes = at(.pipe) && peek().kind == .pipe
        diags.error("expected-token", "expected '{' after \(what), found \(describe(current))", at: current.range,
                    notes: pipes ? [Note("netc writes 'or' for Python's 'or' and C's '||'")] : [],
                    fixIts: pipes ? [FixIt(range: current.range.union(peek().range), replacement: "or")] : [])
      }
      synchronize()
      return nil
    }
    let open = advance()
    guard enterNesting(open.range, &diags) else { return nil }
    let body = parseSequence(closer: .rBrace, &diags)
    depth -= 1
    guard at(.rBrace) else {
      if !abandoned {
        diags.error("expected-token", "expected '}' to close the braces opened after \(what), found \(describe(current))",
                    at: current.range, notes: [Note("opened here", at: open.range)])
      }
      synchronize()
      if at(.rBrace) { advance() }
      return nil
    }
    advance()
    return body
  }

  /// `if COND` after a combinator's keyword, up to (not including) the '<' that opens its branches; nil
  /// (reported) without that '<'.
  mutating func parseCombinatorCondition(_ kw: Token, _ diags: inout DiagnosticEngine) -> Expr? {
    advance()  // 'if'
    var condition = parseCondition(&diags)
    guard at(.lAngle) else {
      if !abandoned {
        diags.error("expected-token", "expected '<' after the condition of '\(text(kw)) if', found \(describe(current))",
                    at: current.range,
                    notes: [Note("a '<' comparison in this condition is written in parentheses: '\(text(kw)) if (a < b) < ... >'")])
      }
      synchronize()
      return nil
    }
    if peek().kind == .int || peek().kind == .float {
      // `residual if s < 2 < ...`: the first '<' outside parentheses would open the branches, but no branch
      // starts with a number: it is a comparison. Reported, and read as one.
      let less = advance()
      let right = parseExpr(&diags)
      let whole = condition.range.union(right.range)
      diags.error("unparenthesized-less", "in '\(text(kw)) if', a '<' comparison is written in parentheses: '(\(file.text(whole)))'",
                  at: less.range, notes: [Note("the first '<' outside parentheses opens the branches")],
                  fixIts: [FixIt(range: SourceRange.point(whole.start), replacement: "("),
                           FixIt(range: SourceRange.point(whole.end), replacement: ")")])
      condition = .binary(.less, condition, right, whole)
      guard at(.lAngle) else {
        synchronize()
        return nil
      }
    }
    return condition
  }

  // MARK: Conditions

  /// `s == 1 and in.c == out`: `or` of `and` of `not` of one comparison of two expressions, as in Python
  /// (but comparisons do not chain).
  mutating func parseCondition(_ diags: inout DiagnosticEngine, depth: Int = 0) -> Expr {
    if depth == 0 { expressionOperators = 0 }
    let outer = inCondition
    inCondition = true
    defer { inCondition = outer }
    var lhs = parseConjunction(&diags, depth: depth)
    while atWord("or") || (at(.pipe) && peek().kind == .pipe && !atWord("or")) {
      if at(.pipe) {
        let pipes = current.range.union(peek().range)
        diags.error("expected-token", "netc writes '||' as 'or'", at: pipes, fixIts: [FixIt(range: pipes, replacement: "or")])
        advance()
      }
      if !countOperator(&diags) { return lhs }
      advance()
      let rhs = parseConjunction(&diags, depth: depth)
      lhs = .binary(.or, lhs, rhs, lhs.range.union(rhs.range))
    }
    return lhs
  }

  mutating func parseConjunction(_ diags: inout DiagnosticEngine, depth: Int) -> Expr {
    var lhs = parseNegation(&diags, depth: depth)
    while atWord("and") {
      if !countOperator(&diags) { return lhs }
      advance()
      let rhs = parseNegation(&diags, depth: depth)
      lhs = .binary(.and, lhs, rhs, lhs.range.union(rhs.range))
    }
    return lhs
  }

  mutating func parseNegation(_ diags: inout DiagnosticEngine, depth: Int) -> Expr {
    guard atWord("not") else { return parseComparison(&diags, depth: depth) }
    let t = current
    if depth > Limits.maxExpressionDepth { return parseFactor(&diags, depth: depth) }  // reports the depth
    if !countOperator(&diags) { return .int(nil, t.range) }
    advance()
    let inner = parseNegation(&diags, depth: depth + 1)
    return .not(inner, t.range.union(inner.range))
  }

  static let comparisons: [TokenKind: Expr.BinaryOp] = [
    .equalEqual: .equal, .notEqual: .notEqual, .less: .less, .lessEqual: .lessEqual, .greater: .greater,
    .greaterEqual: .greaterEqual,
  ]

  mutating func parseComparison(_ diags: inout DiagnosticEngine, depth: Int) -> Expr {
    let lhs = parseExpr(&diags, depth: depth)
    var op: Expr.BinaryOp
    if let comparison = Parser.comparisons[current.kind] {
      op = comparison
    } else if at(.equals) {
      // `if s = 1`: read as the comparison it means.
      diags.error("expected-token", "'=' gives a value; a comparison is written '=='", at: current.range,
                  fixIts: [FixIt(range: current.range, replacement: "==")])
      op = .equal
    } else {
      return lhs
    }
    if !countOperator(&diags) { return lhs }
    advance()
    let rhs = parseExpr(&diags, depth: depth)
    if Parser.comparisons[current.kind] != nil {
      let r = lhs.range.union(rhs.range)
      diags.error("chained-comparison", "comparisons do not chain: write '\(file.text(lhs.range)) \(op.rawValue) \(file.text(rhs.range)) and \(file.text(rhs.range)) ...'",
                  at: current.range, notes: [Note("the first comparison", at: r)])
    }
    return .binary(op, lhs, rhs, lhs.range.union(rhs.range))
  }
}
