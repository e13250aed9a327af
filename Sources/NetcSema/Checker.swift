import NetcBasic
import NetcSyntax

/// Checks a syntax tree and builds the `CheckedNetwork`: expands blocks and repetitions, resolves named
/// tensors, infers every shape, and reports each problem where it happens. After an error the value is
/// "poisoned" (nil) and the layers that depend on it are skipped, so one mistake gives one diagnostic.
public final class Checker {
  /// Largest single size a spec may write (channels, kernel, stride, ...): 2^31, so that the product of
  /// any two stays far inside 64 bits.
  public static let maxSize = 1 << 31
  /// Largest tensor, in elements, batch included.
  public static let maxElements = 1 << 40
  public static let maxRepeat = 100_000
  public static let maxOps = 100_000
  /// Most elements the checker visits while expanding repetitions and blocks. Elements that add no layer
  /// (`(@x) x100000`, empty groups) would otherwise let nested repetitions run for hours.
  public static let maxSteps = 1_000_000
  public static let maxCallDepth = 64

  public static func check(_ tree: NetworkSyntax, file: SourceFile, batch: Int = 1,
                           diagnostics: inout DiagnosticEngine) -> CheckedNetwork? {
    let checker = Checker(file: file, batch: batch, diagnostics: diagnostics)
    let net = checker.run(tree)
    diagnostics = checker.diags
    return diagnostics.hasErrors ? nil : net
  }

  private struct Env {
    var params: [String: Int]
    var names: [String: Int]
  }

  private let file: SourceFile
  private let batch: Int
  private var diags: DiagnosticEngine
  private var blocks: [String: BlockDecl] = [:]
  private var values: [Shape] = []
  private var flattenedFrom: [Shape?] = []
  private var flattenedAt: [SourceRange?] = []
  private var ops: [CheckedOp] = []
  private var scopes: [Scope] = []
  private var events: [Event] = []
  private var scopeStack: [Int] = []
  private var sideOutputs: [Int] = []
  private var tensorNames: [Int: String] = [:]
  private var callStack: [(name: String, range: SourceRange)] = []
  private var aborted = false
  private var steps = 0
  private var usedBlocks: Set<String> = []
  private var totalMultAdds = 0

  private init(file: SourceFile, batch: Int, diagnostics: DiagnosticEngine) {
    self.file = file
    self.batch = batch
    self.diags = diagnostics
  }

  // MARK: Diagnostics inside blocks

  /// Runs `body` with a scratch engine and forwards what it reports, adding where the enclosing block was
  /// used, so an error in a block's body also says which use of the block led there.
  private func reporting<T>(_ body: (inout DiagnosticEngine) -> T) -> T {
    var local = DiagnosticEngine(file: file, errorLimit: 1000)
    let result = body(&local)
    for var d in local.diagnostics {
      if let call = callStack.last {
        d.notes.append(Note("in block '\(call.name)' used here", at: call.range))
      }
      diags.emit(d)
    }
    return result
  }

  private func error(_ id: String, _ message: String, at r: SourceRange, notes: [Note] = [], fixIts: [FixIt] = []) {
    reporting { $0.error(id, message, at: r, notes: notes, fixIts: fixIts) }
  }

  // MARK: Network

  private func run(_ tree: NetworkSyntax) -> CheckedNetwork? {
    for b in tree.blocks {
      if let prev = blocks[b.name] {
        error("duplicate-block", "block '\(b.name)' is defined twice", at: b.nameRange,
              notes: [Note("first defined here", at: prev.nameRange)])
      } else {
        blocks[b.name] = b
      }
    }
    // After syntax errors, "no input" or "no layers" is usually their consequence; stay quiet.
    let hadSyntaxErrors = diags.hasErrors
    guard let inputDecl = tree.input else {
      if hadSyntaxErrors { return nil }
      if tree.body.isEmpty && tree.blocks.isEmpty {
        error("empty-file", "the file describes no network: it needs an 'input' line and layers",
              at: tree.endOfFile, notes: [Note("a minimal network: 'input 1x28x28', then 'flatten, fc 10'")])
      } else {
        let at = tree.body.first?.range ?? tree.endOfFile
        error("missing-input", "the network has no 'input' line", at: at,
              notes: [Note("state the input shape before the first layer, such as 'input 3x224x224'")],
              fixIts: [FixIt(range: SourceRange.point(at.start), replacement: "input 3x224x224\n")])
      }
      return nil
    }
    guard let inputShape = checkInput(inputDecl) else { return nil }
    if tree.body.isEmpty {
      if hadSyntaxErrors { return nil }
      error("no-layers", "the network has no layers", at: tree.endOfFile)
      return nil
    }
    values.append(inputShape)
    flattenedFrom.append(nil)
    flattenedAt.append(nil)
    scopes.append(Scope(kind: .network, parent: nil, range: SourceRange(0, file.bytes.count), depth: 0, output: nil,
                        input: 0))
    scopeStack = [0]
    var env = Env(params: [:], names: ["input": 0])
    let out = checkSequence(tree.body, input: 0, &env)
    scopes[0].output = out
    if !aborted {
      for b in tree.blocks where !usedBlocks.contains(b.name) && blocks[b.name] == b { checkUnusedBody(b.body) }
    }
    guard let out, !aborted else { return nil }
    return CheckedNetwork(name: tree.name ?? defaultName(), input: inputShape, values: values, ops: ops,
                          scopes: scopes, events: events, outputs: [out] + sideOutputs, tensorNames: tensorNames)
  }

  /// A block that is never used has no input or arguments to check against, but a misspelt layer or block
  /// name in it is still an error the author wants to hear about now.
  private func checkUnusedBody(_ elements: [Element]) {
    for e in elements {
      switch e.kind {
      case .layer(let layer) where LayerRegistry.all[layer.keyword] == nil && blocks[layer.keyword] == nil
        && !Parser.combinatorKeywords.contains(layer.keyword):
        let report = UnknownLayerReport(layer, candidates: Array(LayerRegistry.all.keys) + Array(blocks.keys), env: [:])
        error(report.id, report.message, at: layer.keywordRange, notes: report.notes, fixIts: report.fixIts)
      case .call(let call) where blocks[call.name] == nil:
        if let report = UnknownLayerReport(call, file: file) {
          error(report.id, report.message, at: call.nameRange, notes: report.notes, fixIts: report.fixIts)
          continue
        }
        let hint = Suggest.closest(to: call.name, in: Array(blocks.keys)).map { "; did you mean '\($0)'?" } ?? ""
        error("unknown-block", "unknown block '\(call.name)'\(hint)", at: call.nameRange)
      case .group(let body): checkUnusedBody(body)
      case .combinator(let c): c.branches.forEach(checkUnusedBody)
      default: break
      }
    }
  }

  private func defaultName() -> String {
    let base = file.path.split(separator: "/").last.map(String.init) ?? "Network"
    let stem = base.hasSuffix(".net") ? String(base.dropLast(4)) : base
    let cleaned = stem.split(whereSeparator: { !($0.isLetter || $0.isNumber) }).map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    return cleaned.isEmpty || cleaned.first!.isNumber ? "Net" + cleaned : cleaned
  }

  private func checkInput(_ decl: InputDecl) -> Shape? {
    var dims: [Int] = []
    for e in decl.dims {
      guard case .int(let v, let r) = e else { return nil }
      guard let v else { return nil }
      if v < 1 {
        error("out-of-range", "input sizes must be at least 1, found \(v)", at: r)
        return nil
      }
      dims.append(v)
    }
    guard dims.count == 3 || dims.count == 1 else {
      error("bad-input-shape", "the input shape must be CxHxW (or N for a flat vector), found \(dims.count) sizes",
            at: decl.range, notes: [Note("the batch is not part of the spec; set it with '--batch'")])
      return nil
    }
    guard checkElementCount(Shape(dims), at: decl.range) else { return nil }
    return Shape(dims)
  }

  private func checkElementCount(_ s: Shape, at r: SourceRange) -> Bool {
    guard let n = try? cmul(cproduct(s.dims), batch), n <= Checker.maxElements else {
      error("tensor-too-large",
            "a tensor of shape \(batch)x\(s) has more than \(grouped(Checker.maxElements)) elements", at: r,
            notes: [Note("netc refuses tensors above 2^40 elements")])
      return false
    }
    return true
  }

  // MARK: Sequences and elements

  private func checkSequence(_ elements: [Element], input: Int?, _ env: inout Env) -> Int? {
    var current = input
    for e in elements {
      if aborted { return nil }
      current = checkElement(e, input: current, &env)
    }
    return current
  }

  private func checkElement(_ e: Element, input: Int?, _ env: inout Env) -> Int? {
    var count = 1
    if let c = e.repeatCount {
      guard let v = reporting({ Evaluator.evaluate(c, env: env.params, &$0) }) else { return nil }
      guard case .int(let n) = v, n >= 1 else {
        error("out-of-range", "a repetition count must be a positive integer", at: c.range)
        return nil
      }
      guard n <= Checker.maxRepeat else {
        error("repeat-too-large", "repetition count \(grouped(n)) is above netc's limit of \(grouped(Checker.maxRepeat))", at: c.range)
        return nil
      }
      count = n
    }
    var current = input
    let opsBefore = ops.count, stepsBefore = steps
    for iteration in 0..<count {
      if aborted { return nil }
      steps += 1
      if steps > Checker.maxSteps {
        error("too-many-steps", "the network expands to more than \(grouped(Checker.maxSteps)) elements", at: e.range,
              notes: [Note("nested repetitions multiply; netc stops here rather than run for hours")])
        aborted = true
        return nil
      }
      current = checkPrimary(e, input: current, &env)
      // Once the value is poisoned, further repetitions would only repeat the same diagnostics.
      if current == nil { break }
      // Every pass adds as many layers and elements as the first: a repetition that will pass a limit is
      // refused now, not after expanding it (nested repetitions would otherwise spend seconds getting there).
      if iteration == 0 && count > 1 && !aborted {
        let (layers, o1) = (ops.count - opsBefore).multipliedReportingOverflow(by: count)
        let (visits, o2) = (steps - stepsBefore).multipliedReportingOverflow(by: count)
        if o1 || opsBefore + layers > Checker.maxOps {
          error("too-many-layers", "the network expands to more than \(grouped(Checker.maxOps)) layers", at: e.range,
                notes: [Note("repetitions and blocks multiply; check the repetition counts")])
          aborted = true
          return nil
        }
        if o2 || stepsBefore + visits > Checker.maxSteps {
          error("too-many-steps", "the network expands to more than \(grouped(Checker.maxSteps)) elements", at: e.range,
                notes: [Note("nested repetitions multiply; netc stops here rather than run for hours")])
          aborted = true
          return nil
        }
      }
    }
    for suffix in e.suffixes {
      switch suffix {
      case .bind(let name, let r):
        if name == "input" {
          error("reserved-name", "'input' names the input of the network or block and cannot be rebound", at: r)
        } else if let current {
          env.names[name] = current
          if tensorNames[current] == nil { tensorNames[current] = name }
        }
      case .expectShape(let dims, let r):
        guard let current else { continue }
        let expected = dims.compactMap { d -> Int? in if case .int(let v, _) = d { return v }; return nil }
        let actual = values[current]
        if expected != actual.dims {
          error("shape-annotation-mismatch",
                "the output is \(actual), not \(expected.map(String.init).joined(separator: "x")) as annotated",
                at: r, notes: [Note("this element produces \(actual)", at: e.range)])
        }
      }
    }
    return current
  }

  private func checkPrimary(_ e: Element, input: Int?, _ env: inout Env) -> Int? {
    switch e.kind {
    case .bad:
      return nil
    case .reference(let name):
      if let v = env.names[name] { return v }
      let hint = Suggest.closest(to: name, in: env.names.keys).map { "; did you mean '@\($0)'?" } ?? ""
      error("unknown-tensor", "no tensor is named '\(name)'\(hint)", at: e.range,
            notes: [Note("name a tensor with '=> \(name)' after the element that produces it")])
      return nil
    case .group(let body):
      return checkSequence(body, input: input, &env)
    case .layer(let layer):
      return checkLayer(layer, e, input: input, env)
    case .call(let call):
      return checkCall(call, e, input: input, env)
    case .combinator(let c):
      return checkCombinator(c, e, input: input, &env)
    }
  }

  // MARK: Layers

  private func checkLayer(_ layer: LayerSyntax, _ e: Element, input: Int?, _ env: Env) -> Int? {
    guard let spec = LayerRegistry.all[layer.keyword] else {
      if blocks[layer.keyword] != nil {
        error("block-without-call", "'\(layer.keyword)' is a block; use it as '\(layer.keyword)(...)'",
              at: layer.keywordRange,
              fixIts: [FixIt(range: SourceRange.point(layer.keywordRange.end), replacement: "()")])
      } else {
        let candidates = Array(LayerRegistry.all.keys) + Array(blocks.keys) + Array(Parser.combinatorKeywords)
        if Parser.combinatorKeywords.contains(layer.keyword) {
          error("combinator-without-branches", "'\(layer.keyword)' is a combinator: write '\(layer.keyword)< branch | branch >'",
                at: layer.keywordRange)
          return nil
        }
        if layer.keyword.count > 1, layer.keyword.first == "x", layer.keyword.dropFirst().allSatisfy(\.isNumber) {
          error("unknown-layer", "'\(layer.keyword)' stands alone as a layer", at: layer.keywordRange,
                notes: [Note("a repetition follows its element on the same line: '(conv 3x3 64 p1, relu) \(layer.keyword)'")])
          return nil
        }
        let report = UnknownLayerReport(layer, candidates: candidates, env: env.params)
        error(report.id, report.message, at: layer.keywordRange, notes: report.notes, fixIts: report.fixIts)
        // 'BatchNorm2d' or 'Conv' says which layer is meant: the rest of the file is checked as if it were.
        if let intended = report.intended { return checkLayer(intended, e, input: input, env) }
      }
      return nil
    }
    guard let input else {
      // The input is unknown after an earlier error, but the arguments can still be checked.
      reporting { d in
        guard let args = LayerArgs(layer, spec.signature, env: env.params, &d) else { return }
        args.evaluateAll(&d)
      }
      return nil
    }
    let x = LayerInput(shape: values[input], flattenedFrom: flattenedFrom[input], flattenedAt: flattenedAt[input])
    let resolved: Resolved? = reporting { d in
      guard let args = LayerArgs(layer, spec.signature, env: env.params, &d) else { return nil }
      return spec.check(args, x, e.range, &d)
    }
    guard let resolved else { return nil }
    if layer.functional && !(resolved.params.isEmpty && resolved.buffers.isEmpty) {
      // A functional call prints no row and owns no weights, so a layer with weights cannot be one.
      error("functional-with-weights", "'\(layer.keyword)' has weights and has no functional form",
            at: layer.keywordRange, notes: [Note("write it as a layer: '\(layer.keyword) ...' without parentheses")])
      return nil
    }
    guard checkElementCount(resolved.output, at: e.range) else { return nil }
    for p in resolved.params {
      guard let n = try? cproduct(p.shape), n <= Checker.maxElements else {
        error("tensor-too-large", "the \(p.name) of '\(layer.keyword)' would hold more than \(grouped(Checker.maxElements)) elements",
              at: e.range, notes: [Note("its shape would be \(p.shape.map(String.init).joined(separator: "x"))")])
        return nil
      }
    }
    guard let multAdds = Cost.multAdds(resolved.op, params: resolved.params, output: resolved.output) else {
      error("size-overflow", "the multiply-adds of '\(layer.keyword)' do not fit in 64 bits", at: e.range,
            notes: [Note("its output is \(resolved.output)")])
      aborted = true
      return nil
    }
    guard let total = try? cadd(totalMultAdds, multAdds), (try? cmul(total, batch)) != nil else {
      error("size-overflow", "the network's multiply-adds no longer fit in 64 bits", at: e.range)
      aborted = true
      return nil
    }
    totalMultAdds = total
    let out = newValue(resolved.output)
    if case .flatten = resolved.op, x.shape.isSpatial {
      flattenedFrom[out] = x.shape
      flattenedAt[out] = e.range
    } else if resolved.output == x.shape {
      flattenedFrom[out] = x.flattenedFrom
      flattenedAt[out] = x.flattenedAt
    }
    appendOp(CheckedOp(op: resolved.op, inputs: [input], output: out, range: e.range, scope: scopeStack.last!,
                       isModule: !layer.functional, moduleName: resolved.op.moduleName(inputIsFlat: !x.shape.isSpatial),
                       params: resolved.params, buffers: resolved.buffers,
                       multAdds: multAdds))
    return out
  }

  private func newValue(_ s: Shape) -> Int {
    values.append(s)
    flattenedFrom.append(nil)
    flattenedAt.append(nil)
    return values.count - 1
  }

  private func appendOp(_ op: CheckedOp) {
    if ops.count >= Checker.maxOps {
      if !aborted {
        error("too-many-layers", "the network expands to more than \(grouped(Checker.maxOps)) layers", at: op.range,
              notes: [Note("repetitions and blocks multiply; check the repetition counts")])
      }
      aborted = true
      return
    }
    ops.append(op)
    events.append(.op(ops.count - 1))
  }

  // MARK: Blocks

  private func checkCall(_ call: CallSyntax, _ e: Element, input: Int?, _ outerEnv: Env) -> Int? {
    guard let block = blocks[call.name] else {
      if let report = UnknownLayerReport(call, file: file) {
        // 'nn.Conv2d(3, 64, 3)', 'nn.ReLU()': checked as the layer they mean once reported.
        error(report.id, report.message, at: call.nameRange, notes: report.notes, fixIts: report.fixIts)
        if let intended = report.intended { return checkLayer(intended, e, input: input, outerEnv) }
        return nil
      }
      let hint = Suggest.closest(to: call.name, in: Array(blocks.keys) + Array(LayerRegistry.all.keys))
        .map { "; did you mean '\($0)'?" } ?? ""
      error("unknown-block", "unknown block '\(call.name)'\(hint)", at: call.nameRange)
      return nil
    }
    if callStack.contains(where: { $0.name == call.name }) {
      error("recursive-block", "block '\(call.name)' uses itself", at: call.nameRange,
            notes: [Note("a block cannot contain itself, directly or through other blocks")])
      aborted = true
      return nil
    }
    if callStack.count >= Checker.maxCallDepth {
      error("nesting-too-deep", "blocks are nested more than \(Checker.maxCallDepth) deep", at: call.nameRange)
      aborted = true
      return nil
    }
    guard let binding = bindArguments(call, block, outerEnv) else { return nil }
    let (params, arguments) = binding
    guard let input else { return nil }
    let scope = openScope(.block(name: block.name, moduleName: block.moduleName ?? block.name), e.range, input: input)
    scopes[scope].arguments = arguments
    usedBlocks.insert(block.name)
    callStack.append((block.name, e.range))
    var env = Env(params: params, names: ["input": input])
    let out = checkSequence(block.body, input: input, &env)
    callStack.removeLast()
    closeScope(scope, output: out, printsRow: true)
    return out
  }

  /// The value of every parameter, and the arguments as the use wrote them.
  private func bindArguments(_ call: CallSyntax, _ block: BlockDecl, _ outerEnv: Env)
    -> ([String: Int], [BlockArgument])?
  {
    var bound: [String: Int] = [:]
    var written: [BlockArgument] = []
    var ok = true
    var position = 0
    for arg in call.args {
      let name: String
      if let label = arg.label {
        guard block.params.contains(where: { $0.name == label }) else {
          let hint = Suggest.closest(to: label, in: block.params.map(\.name)).map { "; did you mean '\($0)'?" } ?? ""
          error("unknown-parameter", "block '\(block.name)' has no parameter '\(label)'\(hint)", at: arg.labelRange ?? arg.value.range,
                notes: [Note("'\(block.name)' is defined here", at: block.nameRange)])
          ok = false
          continue
        }
        name = label
      } else {
        guard position < block.params.count else {
          error("too-many-arguments", "block '\(block.name)' takes \(block.params.count) argument\(block.params.count == 1 ? "" : "s"), found \(call.args.count)",
                at: arg.value.range, notes: [Note("'\(block.name)' is defined here", at: block.nameRange)])
          ok = false
          break
        }
        name = block.params[position].name
        position += 1
      }
      if bound[name] != nil {
        error("duplicate-argument", "parameter '\(name)' of '\(block.name)' is given twice", at: arg.value.range)
        ok = false
        continue
      }
      guard let v = reporting({ Evaluator.evaluate(arg.value, env: outerEnv.params, &$0) }) else { ok = false; continue }
      guard case .int(let i) = v else {
        error("expected-integer", "block arguments are integers", at: arg.value.range)
        ok = false
        continue
      }
      bound[name] = i
      written.append(BlockArgument(label: arg.label, value: i))
    }
    guard ok else { return nil }
    for p in block.params where bound[p.name] == nil {
      guard let def = p.defaultValue else {
        error("missing-argument", "block '\(block.name)' needs a value for '\(p.name)'", at: call.nameRange,
              notes: [Note("'\(p.name)' is declared here", at: p.range)])
        return nil
      }
      guard let v = reporting({ Evaluator.evaluate(def, env: bound, &$0) }) else { return nil }
      guard case .int(let i) = v else {
        error("expected-integer", "block parameters are integers; the default of '\(p.name)' is not", at: def.range,
              notes: [Note("a rate such as dropout's p is written in the body, not passed as a parameter")])
        return nil
      }
      bound[p.name] = i
    }
    return (bound, written)
  }

  private func openScope(_ kind: ScopeKind, _ range: SourceRange, input: Int?) -> Int {
    scopes.append(Scope(kind: kind, parent: scopeStack.last, range: range, depth: scopeStack.count, output: nil,
                        input: input, firstOp: ops.count))
    scopeStack.append(scopes.count - 1)
    return scopes.count - 1
  }

  private func closeScope(_ scope: Int, output: Int?, printsRow: Bool) {
    scopeStack.removeLast()
    scopes[scope].output = output
    if printsRow, output != nil { events.append(.close(scope)) }
  }

  // MARK: Combinators

  private func checkCombinator(_ c: CombinatorSyntax, _ e: Element, input: Int?, _ env: inout Env) -> Int? {
    let kind = c.keyword
    let n = c.branches.count
    switch kind {
    case "residual" where n > 2:
      error("combinator-arity", "'residual' takes a body and at most one shortcut, found \(n) branches", at: c.branchRanges[2],
            notes: [Note("write 'residual< body >' or 'residual< body | shortcut >'")])
      return nil
    case "side" where n != 1:
      error("combinator-arity", "'side' takes one branch, found \(n)", at: c.branchRanges[1])
      return nil
    case "add", "mul", "concat", "inception":
      if n < 2 {
        error("combinator-arity", "'\(kind)' needs at least two branches separated by '|'", at: c.keywordRange)
        return nil
      }
    default: break
    }
    for (i, b) in c.branches.enumerated() where b.isEmpty {
      error("empty-branch", "branch \(i + 1) of '\(kind)' is empty", at: c.branchRanges[i],
            notes: [Note("write 'identity' for a branch that passes its input through")])
      return nil
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
    guard let input, !outs.contains(where: { $0 == nil }) else { return nil }
    let branchOuts = outs.map { $0! }
    let result: Int?
    switch kind {
    case "side":
      sideOutputs.append(branchOuts[0])
      result = input
    case "residual":
      let shortcut = n == 2 ? branchOuts[1] : input
      result = joinResidual(c, e, body: branchOuts[0], shortcut: shortcut, hasShortcut: n == 2)
    case "concat", "inception":
      result = joinConcat(c, e, branchOuts)
    default:
      result = joinElementwise(c, e, branchOuts, op: kind == "add" ? .add : .mul)
    }
    scopes[scope].output = result
    return result
  }

  private func branchEnd(_ c: CombinatorSyntax, _ i: Int) -> SourceRange { c.branches[i].last!.range }

  private func joinResidual(_ c: CombinatorSyntax, _ e: Element, body: Int, shortcut: Int, hasShortcut: Bool) -> Int? {
    let b = values[body], s = values[shortcut]
    guard b == s else {
      if hasShortcut {
        error("residual-mismatch", "the residual body ends at \(b) but its shortcut gives \(s)", at: c.keywordRange,
              notes: [Note("the body ends here", at: branchEnd(c, 0)), Note("the shortcut ends here", at: branchEnd(c, 1))])
      } else {
        var fix = "conv 1x1 \(b.dims[0])"
        if b.isSpatial, s.isSpatial, b.height > 0, s.height % b.height == 0, s.height / b.height > 1 {
          fix += " s\(s.height / b.height)"
        }
        error("residual-mismatch", "the residual body ends at \(b) while its input is \(s)", at: c.keywordRange,
              notes: [Note("the body ends here", at: branchEnd(c, 0)),
                      Note("add a projection shortcut: residual< ... | \(fix) nobias, bn >")])
      }
      return nil
    }
    let out = newValue(b)
    appendOp(CheckedOp(op: .add, inputs: [body, shortcut], output: out, range: e.range, scope: scopeStack.last!,
                       isModule: false, moduleName: "add", params: [], buffers: [], multAdds: 0))
    return out
  }

  private func joinConcat(_ c: CombinatorSyntax, _ e: Element, _ outs: [Int]) -> Int? {
    let first = values[outs[0]]
    for (i, o) in outs.enumerated().dropFirst() {
      let s = values[o]
      if s.dims.count != first.dims.count || s.dims.dropFirst() != first.dims.dropFirst() {
        let what = first.isSpatial ? "height and width" : "rank"
        error("concat-mismatch", "'\(c.keyword)' branches disagree on \(what): branch 1 gives \(first), branch \(i + 1) gives \(s)",
              at: c.keywordRange,
              notes: [Note("branch 1 ends here", at: branchEnd(c, 0)), Note("branch \(i + 1) ends here", at: branchEnd(c, i)),
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
    appendOp(CheckedOp(op: .concat, inputs: outs, output: out, range: e.range, scope: scopeStack.last!,
                       isModule: false, moduleName: "cat", params: [], buffers: [], multAdds: 0))
    return out
  }

  private func joinElementwise(_ c: CombinatorSyntax, _ e: Element, _ outs: [Int], op: Op) -> Int? {
    var dims = values[outs[0]].dims
    for (i, o) in outs.enumerated().dropFirst() {
      let s = values[o].dims
      guard s.count == dims.count, zip(s, dims).allSatisfy({ $0 == $1 || $0 == 1 || $1 == 1 }) else {
        error("elementwise-mismatch",
              "'\(c.keyword)' cannot combine \(Shape(dims)) and \(Shape(s)) (branch \(i + 1))", at: c.keywordRange,
              notes: [Note("shapes must be equal, or 1 where they differ (PyTorch broadcasting)"),
                      Note("branch \(i + 1) ends here", at: branchEnd(c, i))])
        return nil
      }
      dims = zip(s, dims).map { max($0, $1) }
    }
    let out = newValue(Shape(dims))
    appendOp(CheckedOp(op: op, inputs: outs, output: out, range: e.range, scope: scopeStack.last!,
                       isModule: false, moduleName: op.moduleName(inputIsFlat: false), params: [], buffers: [], multAdds: 0))
    return out
  }
}
