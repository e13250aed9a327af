import NetcBasic

// The network up to the first error, for `netc graph` on a spec with errors: what had been checked when
// the first error was found.
extension Checker {
  /// What had been checked when the first error was found.
  struct FirstError {
    var diagnostic: Diagnostic
    var element: SourceRange?
    var ops: Int
    var events: Int
    var scopes: [Scope]
  }
  func noteFirstError(_ d: Diagnostic, element: SourceRange?) {
    guard firstError == nil else { return }
    firstError = FirstError(diagnostic: d, element: element, ops: ops.count, events: events.count, scopes: scopes)
  }

  /// The network up to the first error; nil when there is none or the input shape itself is unknown.
  func partialNetwork(name: String) -> PartialNetwork? {
    guard let first = firstError, !values.isEmpty, !uncertain[0] else { return nil }
    // A syntax error before the first layer may be in the input line itself: its shape is no basis.
    if first.ops == 0 && first.diagnostic == firstSyntaxError { return nil }
    // A block, combinator or branch still open at the first error is left out; its layers stand in the
    // nearest complete scope around it.
    var scopes = first.scopes
    var kept = [Bool](repeating: false, count: scopes.count)
    for j in scopes.indices {
      kept[j] = j == 0 || (scopes[j].output != nil && scopes[j].parent.map { kept[$0] } == true)
      if !kept[j] { scopes[j].parent = nil }
    }
    if !scopes.isEmpty { scopes[0].output = nil }
    func keptScope(_ s: Int) -> Int {
      var cur = s
      while !kept[cur], let p = first.scopes[cur].parent { cur = p }
      return cur
    }
    let ops = self.ops[..<first.ops].map { op -> CheckedOp in
      var op = op
      op.scope = keptScope(op.scope)
      return op
    }
    let net = CheckedNetwork(name: name, input: values[0], values: values, ops: ops, scopes: scopes,
                             events: Array(events[..<first.events]), outputs: [ops.last?.output ?? 0],
                             tensorNames: tensorNames.filter { $0.key <= (ops.last?.output ?? 0) })
    return PartialNetwork(network: net, error: first.diagnostic, element: first.element)
  }
}
