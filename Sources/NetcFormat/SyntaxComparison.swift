import NetcBasic
import NetcSyntax

/// Syntax trees compared by what they say, not where they stand: `netc fmt` moves every token, and must
/// leave the tree otherwise unchanged.
public enum SyntaxComparison {
  private static let nowhere = SourceRange.point(0)

  /// `tree` with every source range set to the start of the file.
  public static func withoutPositions(_ tree: NetworkSyntax) -> NetworkSyntax {
    var t = tree
    t.nameRange = t.nameRange.map { _ in nowhere }
    t.input = t.input.map { d in
      var d = d
      d.dims = d.dims.map(expr)
      d.range = nowhere
      return d
    }
    t.blocks = t.blocks.map { b in
      var b = b
      b.nameRange = nowhere
      b.range = nowhere
      b.params = b.params.map { p in
        var p = p
        p.range = nowhere
        p.defaultValue = p.defaultValue.map(argument)
        return p
      }
      b.body = b.body.map(element)
      return b
    }
    t.body = t.body.map(element)
    t.endOfFile = nowhere
    return t
  }

  static func element(_ e: Element) -> Element {
    let kind: ElementKind
    switch e.kind {
    case .layer(let l):
      kind = .layer(layer(l))
    case .call(var c):
      c.nameRange = nowhere
      c.args = c.args.map { a in
        var a = a
        a.labelRange = a.labelRange.map { _ in nowhere }
        a.value = argument(a.value)
        return a
      }
      kind = .call(c)
    case .group(let body):
      kind = .group(body.map(element))
    case .combinator(var c):
      c.keywordRange = nowhere
      c.branches = c.branches.map { $0.map(element) }
      c.branchRanges = c.branchRanges.map { _ in nowhere }
      c.condition = c.condition.map(expr)
      c.conditionKeywordRange = c.conditionKeywordRange.map { _ in nowhere }
      kind = .combinator(c)
    case .conditional(var c):
      c.condition = expr(c.condition)
      c.keywordRange = nowhere
      c.then = c.then.map(element)
      c.otherwise = c.otherwise.map { $0.map(element) }
      c.elseRange = c.elseRange.map { _ in nowhere }
      kind = .conditional(c)
    case .reference, .bad:
      kind = e.kind
    }
    let suffixes: [Suffix] = e.suffixes.map {
      switch $0 {
      case .expectShape(let d, _): return .expectShape(d.map(expr), nowhere)
      case .bind(let name, _): return .bind(name, nowhere)
      }
    }
    return Element(kind: kind, range: nowhere, repeatCount: e.repeatCount.map(expr), suffixes: suffixes)
  }

  static func layer(_ l: LayerSyntax) -> LayerSyntax {
    var l = l
    l.keywordRange = nowhere
    l.args = l.args.map { a in
      let value: LayerArg.Value
      switch a.value {
      case .expr(let x): value = .expr(expr(x))
      case .dims(let d, _): value = .dims(d.map(expr), nowhere)
      }
      return LayerArg(key: a.key, keyRange: a.keyRange.map { _ in nowhere }, value: value, range: nowhere)
    }
    return l
  }

  static func argument(_ a: Argument) -> Argument {
    switch a {
    case .expr(let e): return .expr(expr(e))
    case .layer(let l, _): return .layer(layer(l), nowhere)
    }
  }

  static func expr(_ e: Expr) -> Expr {
    switch e {
    case .int(let v, _): return .int(v, nowhere)
    case .float(let v, _): return .float(v, nowhere)
    case .name(let n, _): return .name(n, nowhere)
    case .input(let s, _): return .input(s, nowhere)
    case .negate(let x, _): return .negate(expr(x), nowhere)
    case .not(let x, _): return .not(expr(x), nowhere)
    case .binary(let op, let a, let b, _): return .binary(op, expr(a), expr(b), nowhere)
    }
  }
}
