import NetcBasic
import NetcSyntax

/// How the layout printer writes layers, arguments and expressions: from the syntax tree, in canonical
/// spacing, with parentheses only where the grammar needs them.
extension LayoutPrinter {
  func layer(_ l: LayerSyntax) -> String {
    // A positional argument that begins with '-' after another argument would read as a subtraction from
    // it (`relu (-3)` is two arguments, `relu -3` one): it keeps its parentheses.
    let args = l.args.enumerated().map { i, a in
      let text = argument(a)
      return i > 0 && a.key == nil && text.hasPrefix("-") ? "(" + text + ")" : text
    }
    if l.functional { return l.keyword + "(" + args.joined(separator: " ") + ")" }
    return ([l.keyword] + args).joined(separator: " ")
  }

  /// A block's argument or default: a number, or a layer (`relu`, `relu()`, `(bn eps=0.001)`).
  func argument(_ a: Argument) -> String {
    switch a {
    case .expr(let e): return expr(e)
    case .layer(let l, _): return l.functional || l.args.isEmpty ? layer(l) : "(" + layer(l) + ")"
    }
  }

  func argument(_ a: LayerArg) -> String {
    let value: String
    switch a.value {
    case .expr(let e): value = expr(e)
    case .dims(let d, _): value = dims(d)
    }
    guard let key = a.key else { return value }
    // `s2`, `p1x2`: the compact form has no '=' between its letter and its value.
    if let k = a.keyRange, k.end == a.valueRange.start { return key + value }
    return key + "=" + value
  }

  func dims(_ d: [Expr]) -> String {
    d.map { expr($0) }.joined(separator: "x")
  }

  /// Arithmetic without spaces (`c*4`), comparisons and `and`, `or`, `not` with them (`s == 1 and
  /// in.c == out`), parentheses only where precedence needs them, and around every '<' comparison
  /// `beforeAngle` (the condition of `residual if COND <`).
  func expr(_ e: Expr, beforeAngle: Bool = false) -> String {
    switch e {
    case .int(let v, let r): return v.map(String.init) ?? literal(r)
    case .float(_, let r): return literal(r)
    case .name(let n, _): return readsAsSomethingElse(n) ? "(" + n + ")" : n
    case .input(let size, _): return "in." + size.rawValue
    case .negate(let x, _):
      let inner = expr(x, beforeAngle: beforeAngle)
      if case .binary = x { return "-(" + inner + ")" }
      if case .not = x { return "-(" + inner + ")" }
      return "-" + inner
    case .not(let x, _):
      let inner = expr(x, beforeAngle: beforeAngle)
      if let q = precedence(of: x), q < notPrecedence { return "not (" + inner + ")" }
      return "not " + inner
    case .binary(let op, let a, let b, _):
      let p = precedence(op)
      var left = expr(a, beforeAngle: beforeAngle)
      var right = expr(b, beforeAngle: beforeAngle)
      // Comparisons do not chain: one on either side of another keeps its parentheses.
      if let q = precedence(of: a), q < p || (q == p && op.isComparison) { left = "(" + left + ")" }
      if let q = precedence(of: b), q <= p { right = "(" + right + ")" }
      let text = op.isArithmetic ? left + op.rawValue + right : left + " " + op.rawValue + " " + right
      return beforeAngle && op == .less ? "(" + text + ")" : text
    }
  }

  /// Whether a name written bare would read as something else: `(x37)` and `(x)` are names, `x37` and `x`
  /// repetitions; `(s2)` and `(p1x2)` are names, `s2` a stride and `p1x2` a padding (the parser's
  /// `isRepetitionWord` and `compactOption`). Such a name keeps its parentheses (only a file with errors
  /// has one).
  func readsAsSomethingElse(_ name: String) -> Bool {
    let chars = Array(name.utf8)
    guard let first = chars.first else { return false }
    let isDigit = { (c: UInt8) in c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
    if first == UInt8(ascii: "x") { return chars.dropFirst().allSatisfy(isDigit) }
    guard "spdg".utf8.contains(first), chars.count >= 2 else { return false }
    let parts = chars.dropFirst().split(separator: UInt8(ascii: "x"), omittingEmptySubsequences: false)
    guard parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(isDigit) }) else { return false }
    return parts.count == 1 || first != UInt8(ascii: "g")
  }

  /// A literal as written, without the parentheses its range may include (`(0.5)`).
  /// Trimmed as a slice: removing the characters one by one from the front of a String moves the rest
  /// each time, quadratic in a million spaces inside '( ... )'.
  func literal(_ r: SourceRange) -> String {
    let strip: Set<Character> = [" ", "\t", "\r", "(", ")"]
    var text = Substring(file.text(r))
    text = text.drop(while: { strip.contains($0) })
    while let c = text.last, strip.contains(c) { text.removeLast() }
    return String(text)
  }

  /// As in Python: `or`, `and`, `not`, comparisons, `+ -`, `* /`, from the loosest.
  func precedence(_ op: Expr.BinaryOp) -> Int {
    switch op {
    case .or: return 1
    case .and: return 2
    case .add, .sub: return 5
    case .mul, .div: return 6
    default: return 4  // comparisons
    }
  }

  var notPrecedence: Int { 3 }

  func precedence(of e: Expr) -> Int? {
    if case .binary(let op, _, _, _) = e { return precedence(op) }
    if case .not = e { return notPrecedence }
    return nil
  }
}
