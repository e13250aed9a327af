import NetcBasic
import NetcOps
import NetcSyntax

/// Combinators (`residual<>`, `inception<>`, `add<>`, ...): their branches, how they join, and what a
/// join that does not fit goes on with.
extension Checker {
  func checkCombinator(_ c: CombinatorSyntax, _ e: Element, input: Int?, _ env: inout Env) -> Int? {
    let kind = c.keyword
    let n = c.branches.count
    switch kind {
    case "residual" where n > 2:
      error("combinator-arity", "'residual' takes a body and at most one shortcut, found \(n) branches", at: c.branchRanges[2],
            notes: [Note("write 'residual< body >' or 'residual< body | shortcut >'")])
      return guessFrom(input)
    case "side" where n != 1:
      error("combinator-arity", "'side' takes one branch, found \(n)", at: c.branchRanges[1])
      return guessFrom(input)
    case "add", "mul", "concat", "inception":
      if n < 2 {
        error("combinator-arity", "'\(kind)' needs at least two branches separated by '|'", at: c.keywordRange)
        return guessFrom(input)
      }
    default: break
    }
    for (i, b) in c.branches.enumerated() where b.isEmpty {
      error("empty-branch", "branch \(i + 1) of '\(kind)' is empty", at: c.branchRanges[i],
            notes: [Note("write 'identity' for a branch that passes its input through")])
      return guessFrom(input)
    }
    switch residualForm(c, env) {
    case .keep: break
    case .body: return checkSequence(c.branches[0], input: input, &env)  // the shortcut's condition fails
    case .unknown: return guessFrom(input)
    }
    let scope = openScope(.combinator(kind), e.range, input: input)
    var outs: [Int?] = []
    for (i, branch) in c.branches.enumerated() {
      let b = openScope(.branch(i), branch.first!.range.union(branch.last!.range), input: input)
      let out = checkSequence(branch, input: input, &env)
      closeScope(b, output: out, printsRow: false)
      outs.append(out)
    }
    defer { closeScope(scope, output: scopes[scope].output, printsRow: false) }
    guard let input else { return nil }
    let branchOuts = outs.compactMap { $0 }
    guard branchOuts.count == outs.count else { return guessFrom(input) }
    if kind == "side" {
      refuseChannelsLastOutput(branchOuts[0], at: branchEnd(c, 0), what: "the side output")
      sideOutputs.append(branchOuts[0])
      scopes[scope].output = input
      return input
    }
    let shortcut = kind == "residual" ? (n == 2 ? branchOuts[1] : input) : nil
    let joined = shortcut.map { [branchOuts[0], $0] } ?? branchOuts
    // Branches that are guesses may disagree only because of an earlier error: they join silently. Two
    // branches without a guess are still compared with each other.
    if joined.contains(where: { uncertain[$0] }) {
      let known = branchOuts.indices.filter { !uncertain[branchOuts[$0]] }
      if kind != "residual", known.count >= 2 {
        let subset = known.map { branchOuts[$0] }
        _ = kind == "add" || kind == "mul"
          ? joinElementwise(c, e, subset, op: ElementwiseOp(kind == "add" ? .add : .mul), branches: known)
          : joinConcat(c, e, subset, branches: known)
      }
      return guessJoin(kind, joined)
    }
    let result: Int?
    switch kind {
    case "residual":
      result = joinResidual(c, e, body: branchOuts[0], shortcut: joined[1], hasShortcut: n == 2)
    case "concat", "inception":
      result = joinConcat(c, e, branchOuts)
    default:
      result = joinElementwise(c, e, branchOuts, op: ElementwiseOp(kind == "add" ? .add : .mul))
    }
    scopes[scope].output = result
    return result ?? guessJoin(kind, joined)
  }

  /// What a join of branches that do not fit would most likely give, as an uncertain value: a residual's
  /// body, the channels of a concatenation added up, the first branch of an elementwise combination.
  func guessJoin(_ kind: String, _ outs: [Int]) -> Int {
    var shape = values[outs[0]]
    if kind == "concat" || kind == "inception", shape.dims.count >= 1, !shape.channelsLast {
      let channels = outs.reduce(0) { total, o in
        let (sum, overflow) = total.addingReportingOverflow(values[o].dims.first ?? 0)
        return overflow ? total : sum
      }
      var dims = shape.dims
      dims[0] = channels
      if fitsLimits(Shape(dims)) { shape = Shape(dims) }
    }
    return newValue(shape, uncertain: true)
  }

  func branchEnd(_ c: CombinatorSyntax, _ i: Int) -> SourceRange { c.branches[i].last!.range }

  func joinResidual(_ c: CombinatorSyntax, _ e: Element, body: Int, shortcut: Int, hasShortcut: Bool) -> Int? {
    let b = values[body], s = values[shortcut]
    guard b == s else {
      if hasShortcut {
        error("residual-mismatch", "the residual body ends at \(b.described) but its shortcut gives \(s.described)", at: c.keywordRange,
              notes: [Note("the body ends here", at: branchEnd(c, 0)), Note("the shortcut ends here", at: branchEnd(c, 1))])
      } else {
        var notes = [Note("the body ends here", at: branchEnd(c, 0))]
        if let fix = projection(from: s, to: b) {
          notes.append(Note("add a projection shortcut: residual< ... | \(fix) nobias, bn >"))
        }
        if b.dims.count == 3 && b.permuted(channelsLast: s.channelsLast) == s {
          notes.append(Note("the body ends \(b.channelsLast ? "channels-last: end it with 'permute 0 3 1 2'" : "channels-first: end it with 'permute 0 2 3 1'")"))
        }
        error("residual-mismatch", "the residual body ends at \(b.described) while its input is \(s.described)", at: c.keywordRange,
              notes: notes)
      }
      return nil
    }
    let out = newValue(b)
    appendOp(CheckedOp(op: ElementwiseOp(.add), inputs: [body, shortcut], output: out, range: e.range, scope: scopeStack.last!,
                       isModule: false, moduleName: "add", params: [], buffers: [], multAdds: 0))
    return out
  }

  /// The projection that takes a residual's input to its body's output: a 1x1 convolution with the stride
  /// PyTorch's floor makes fit (`s2` from 7x7 to 4x4), or the smallest unpadded kernel that fits where no
  /// stride does; nil when none does.
  func projection(from s: Shape, to b: Shape) -> String? {
    guard b.isSpatial == s.isSpatial else { return nil }
    guard b.isSpatial else { return b.dims.count == 1 ? "fc \(b.dims[0])" : nil }
    // Without padding, a k x k kernel with stride t gives floor((n - k) / t) + 1: the largest such t.
    func stride(_ n: Int, _ k: Int, _ out: Int) -> Int? {
      guard out >= 1, k <= n else { return nil }
      let t = out == 1 ? max(1, n - k + 1) : (n - k) / (out - 1)
      return t >= 1 && (n - k) / t + 1 == out ? t : nil
    }
    for k in 1...7 {
      guard let sh = stride(s.height, k, b.height), let sw = stride(s.width, k, b.width) else { continue }
      var fix = "conv \(k)x\(k) \(b.channels)"
      if sh > 1 || sw > 1 { fix += sh == sw ? " s\(sh)" : " s\(sh)x\(sw)" }
      return fix
    }
    return nil
  }

  /// `branches` numbers `outs` among the combinator's branches when they are some of them.
  func joinConcat(_ c: CombinatorSyntax, _ e: Element, _ outs: [Int], branches: [Int]? = nil) -> Int? {
    let first = values[outs[0]]
    let a = branches?[0] ?? 0
    // torch.cat(..., 1) would join the heights of channels-last maps.
    if let k = outs.firstIndex(where: { values[$0].channelsLast }) {
      let i = branches?[k] ?? k
      error("concat-mismatch", "'\(c.keyword)' joins the channels of CxHxW maps; branch \(i + 1) ends in the channels-last shape \(values[outs[k]])",
            at: c.keywordRange, notes: [Note("branch \(i + 1) ends here", at: branchEnd(c, i)),
                                        Note("permute it back with 'permute 0 3 1 2'")])
      return nil
    }
    for (k, o) in outs.enumerated().dropFirst() {
      let s = values[o]
      let i = branches?[k] ?? k
      if s.dims.count != first.dims.count || s.dims.dropFirst() != first.dims.dropFirst() {
        let what = first.isSpatial ? "height and width" : "rank"
        error("concat-mismatch", "'\(c.keyword)' branches disagree on \(what): branch \(a + 1) gives \(first), branch \(i + 1) gives \(s)",
              at: c.keywordRange,
              notes: [Note("branch \(a + 1) ends here", at: branchEnd(c, a)), Note("branch \(i + 1) ends here", at: branchEnd(c, i)),
                      Note("concatenation joins channels; every branch must keep the same height and width")])
        return nil
      }
    }
    var channels = 0
    for o in outs {
      guard let sum = try? cadd(channels, values[o].dims[0]) else {
        error("size-overflow", "the concatenated channel count overflows", at: c.keywordRange)
        return nil
      }
      channels = sum
    }
    var dims = first.dims
    dims[0] = channels
    let shape = Shape(dims)
    guard checkElementCount(shape, at: e.range) else { return nil }
    let out = newValue(shape)
    appendOp(CheckedOp(op: ConcatOp(), inputs: outs, output: out, range: e.range, scope: scopeStack.last!,
                       isModule: false, moduleName: "cat", params: [], buffers: [], multAdds: 0))
    return out
  }

  func joinElementwise(_ c: CombinatorSyntax, _ e: Element, _ outs: [Int], op: ElementwiseOp, branches: [Int]? = nil) -> Int? {
    var dims = values[outs[0]].dims
    let channelsLast = values[outs[0]].channelsLast
    for (k, o) in outs.enumerated().dropFirst() {
      let s = values[o].dims
      let i = branches?[k] ?? k
      // A channels-last map with a CxHxW one would broadcast the wrong sizes against each other.
      guard s.count == dims.count, values[o].channelsLast == channelsLast,
        zip(s, dims).allSatisfy({ $0 == $1 || $0 == 1 || $1 == 1 })
      else {
        error("elementwise-mismatch",
              "'\(c.keyword)' cannot combine \(Shape(dims, channelsLast: channelsLast).described) and \(values[o].described) (branch \(i + 1))",
              at: c.keywordRange,
              notes: [Note(values[o].channelsLast == channelsLast ? "shapes must be equal, or 1 where they differ (PyTorch broadcasting)"
                             : "every branch must be channels-last, or none"),
                      Note("branch \(i + 1) ends here", at: branchEnd(c, i))])
        return nil
      }
      dims = zip(s, dims).map { max($0, $1) }
    }
    let out = newValue(Shape(dims, channelsLast: channelsLast))
    appendOp(CheckedOp(op: op, inputs: outs, output: out, range: e.range, scope: scopeStack.last!,
                       isModule: false, moduleName: op.kind.rawValue, params: [], buffers: [], multAdds: 0))
    return out
  }
}
