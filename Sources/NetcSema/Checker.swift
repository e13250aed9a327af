import NetcBasic
import NetcOps
import NetcSyntax

/// Checks a syntax tree and builds the `CheckedNetwork`: expands blocks and repetitions, resolves named
/// tensors, infers every shape, and reports each problem where it happens.
///
/// Error recovery: after an error, checking goes on with the best-known shape, so that one run reports
/// every mistake that does not depend on an earlier one. A layer whose error leaves its output known (a
/// `groups` that does not divide, an `fc` whose stated input size is wrong) goes on with that output. A
/// layer whose output is unknown goes on with a guess (the output without its faulty arguments, or its
/// input), marked *uncertain*: a layer fed an uncertain value reports only mistakes in its own arguments,
/// never a shape mismatch, since that may be the earlier error's consequence. A `-> CxHxW` annotation
/// after an uncertain value makes the declared shape certain again: the author has said what it is.
///
/// The checking of block uses (CheckerBlocks.swift) and of combinators (CheckerCombinators.swift) are
/// extensions in files of their own; the state below is internal, not private, for them.
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
  /// Deepest nesting of the network once its blocks are expanded: a block's body nests inside the place
  /// it is used, so 64 blocks of 64 levels each would be 4,096 levels, deeper than the recursive walks of
  /// the checker and every later stage can go on a thread's stack. Real networks nest about ten deep.
  public static let maxExpandedDepth = 160

  public static func check(_ tree: NetworkSyntax, file: SourceFile, batch: Int = 1,
                           diagnostics: inout DiagnosticEngine) -> CheckedNetwork? {
    var partial: PartialNetwork?
    return check(tree, file: file, batch: batch, diagnostics: &diagnostics, partial: &partial)
  }

  /// `check`, which on errors also gives the network up to the first of them in `partial`.
  public static func check(_ tree: NetworkSyntax, file: SourceFile, batch: Int = 1, diagnostics: inout DiagnosticEngine,
                           partial: inout PartialNetwork?) -> CheckedNetwork? {
    let checker = Checker(file: file, batch: batch, diagnostics: diagnostics)
    let net = checker.run(tree)
    diagnostics = checker.diags
    diagnostics.oneErrorPerLine = true
    if diagnostics.hasErrors {
      // A syntax error after the last layer is found once every layer is checked.
      if checker.firstError == nil, let syntax = checker.firstSyntaxError { checker.noteFirstError(syntax, element: nil) }
      partial = checker.partialNetwork(name: tree.name ?? checker.defaultName())
      return nil
    }
    return net
  }

  var firstError: FirstError?
  /// The parser's first error: the layers that start after it are not drawn.
  let firstSyntaxError: Diagnostic?
  /// The elements being checked, innermost last.
  var elementStack: [SourceRange] = []

  struct Env {
    /// The enclosing block's parameters and input (nothing but `.outside` in the network's body).
    var params: Bindings
    var names: [String: Int]
    /// Where each name was bound (`=> name`), to tell a second binding from a repetition of the first.
    var bindings: [String: SourceRange] = [:]
  }

  /// Diagnostics about how a layer's input fits (or what it leads to), as opposed to mistakes in the
  /// layer's own arguments. With an uncertain input these are silent: the input may be wrong only because
  /// of an earlier error.
  static let inputDependent: Set<String> = [
    "chunk-mismatch", "concat-mismatch", "crop-too-large", "dropped-input", "elementwise-mismatch", "fc-input-mismatch",
    "groups-mismatch", "kernel-too-large", "needs-flat-input", "needs-spatial-input", "permute-mismatch",
    "residual-mismatch", "shape-annotation-mismatch", "size-overflow", "tensor-too-large",
  ]

  let file: SourceFile
  let batch: Int
  var diags: DiagnosticEngine
  var blocks: [String: BlockDecl] = [:]
  var values: [Shape] = []
  /// Values that are a guess made after an error (see the type's comment).
  var uncertain: [Bool] = []
  /// Every `=> name` of the network's body (key "") and of each block's (key: its name), to tell a use
  /// before the binding from a misspelling.
  private var bindingsByBody: [String: [String: [SourceRange]]] = [:]
  private var flattenedFrom: [Shape?] = []
  private var flattenedAt: [SourceRange?] = []
  var ops: [CheckedOp] = []
  var scopes: [Scope] = []
  var events: [Event] = []
  var scopeStack: [Int] = []
  var sideOutputs: [Int] = []
  var tensorNames: [Int: String] = [:]
  var callStack: [(name: String, range: SourceRange)] = []
  var aborted = false
  private var steps = 0
  /// Elements being checked, one inside the other: the expanded network's nesting so far.
  private var expandedDepth = 0
  var usedBlocks: Set<String> = []
  private var parameterIndexByBlock: [String: [String: Int]] = [:]
  /// The layer parameters being checked where they are used, innermost last: their diagnostics say where
  /// the layer was given.
  var layerArguments: [(name: String, range: SourceRange)] = []
  /// The branches not taken (of an `if`, or the shortcut of a `residual if`) whose names were checked, by
  /// where they start: once, however many uses take the other branch.
  var checkedUntaken: Set<Int> = []
  private var totalMultAdds = 0

  private init(file: SourceFile, batch: Int, diagnostics: DiagnosticEngine) {
    self.file = file
    self.batch = batch
    self.diags = diagnostics
    self.firstSyntaxError = diagnostics.diagnostics.first { $0.severity == .error }
    diags.oneErrorPerLine = false
  }

  // MARK: Diagnostics inside blocks

  /// Runs `body` with a scratch engine and forwards what it reports, adding where the enclosing block was
  /// used, so an error in a block's body also says which use of the block led there.
  func reporting<T>(_ body: (inout DiagnosticEngine) -> T) -> T {
    reportingErrors(body).result
  }

  /// `reporting`, which also returns whether `body` reported errors and which, forwarded or not. With
  /// `uncertainInput`, only mistakes independent of the input are forwarded. Once the file's error limit
  /// is reached nothing more is shown, and `body` only counts its errors: a file of a million mistakes
  /// must not search a did-you-mean for each.
  private func reportingErrors<T>(uncertainInput: Bool = false, _ body: (inout DiagnosticEngine) -> T)
    -> (result: T, errors: [Diagnostic], failed: Bool)
  {
    var local = DiagnosticEngine(file: file, errorLimit: diags.isFull ? 0 : 1000)
    local.oneErrorPerLine = false
    let result = body(&local)
    defer { forward(local, uncertainInput: uncertainInput) }
    return (result, local.diagnostics.filter { $0.severity == .error }, local.errorCount + local.suppressedErrors > 0)
  }

  func forward(_ local: DiagnosticEngine, uncertainInput: Bool) {
    for var d in local.diagnostics {
      if uncertainInput && Checker.inputDependent.contains(d.id) { continue }
      if let given = layerArguments.last, !(given.range.start <= d.range.start && d.range.end <= given.range.end) {
        d.notes.append(Note("'\(given.name)' is the layer given here", at: given.range))
      }
      if let call = callStack.last {
        d.notes.append(Note("in block '\(call.name)' used here", at: call.range))
      }
      if d.severity == .error {
        // From a syntax error's line on, the checker's errors may be its consequences (and one error per
        // line is shown): the syntax error comes first.
        if let syntax = firstSyntaxError,
           file.lineAndColumn(of: d.range.start).line >= file.lineAndColumn(of: syntax.range.start).line {
          noteFirstError(syntax, element: nil)
        } else {
          noteFirstError(d, element: elementStack.last)
        }
      }
      diags.emit(d)
    }
    diags.countSuppressed(local.suppressedErrors)
  }

  func error(_ id: String, _ message: String, at r: SourceRange, notes: [Note] = [], fixIts: [FixIt] = []) {
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
    // Without a valid input shape the layers are still checked, fed a guess: their own arguments can be
    // wrong independently.
    var inputShape: Shape?
    if let inputDecl = tree.input {
      inputShape = checkInput(inputDecl)
    } else if !hadSyntaxErrors {
      if tree.body.isEmpty && tree.blocks.isEmpty {
        error("empty-file", "the file describes no network: it needs an 'input' line and layers",
              at: tree.endOfFile, notes: [Note("a minimal network: 'input 1x28x28', then 'flatten, fc 10'")])
        return nil
      }
      let at = tree.body.first?.range ?? tree.endOfFile
      error("missing-input", "the network has no 'input' line", at: at,
            notes: [Note("state the input shape before the first layer, such as 'input 3x224x224'")],
            fixIts: [FixIt(range: SourceRange.point(at.start), replacement: "input 3x224x224\n")])
    }
    if tree.body.isEmpty {
      if hadSyntaxErrors || inputShape == nil { return nil }
      error("no-layers", "the network has no layers", at: tree.endOfFile)
      return nil
    }
    _ = newValue(inputShape ?? Shape([1, 1, 1]), uncertain: inputShape == nil)
    collectBindings(tree.body, into: "")
    for b in tree.blocks where bindingsByBody[b.name] == nil { collectBindings(b.body, into: b.name) }
    scopes.append(Scope(kind: .network, parent: nil, range: SourceRange(0, file.bytes.count), depth: 0, output: nil,
                        input: 0))
    scopeStack = [0]
    var env = Env(params: Bindings(), names: ["input": 0])
    let out = checkSequence(tree.body, input: 0, &env)
    scopes[0].output = out
    if let out, !uncertain[out], let last = tree.body.last { refuseChannelsLastOutput(out, at: last.range, what: "the network") }
    if !aborted {
      for b in tree.blocks where !usedBlocks.contains(b.name) && blocks[b.name] == b {
        checkUnusedDefaults(b)
        checkUnusedBody(b.body, parameters: Set(b.params.map(\.name)))
      }
    }
    guard let out, !aborted else { return nil }
    return CheckedNetwork(name: tree.name ?? defaultName(), input: values[0], values: values, ops: ops,
                          scopes: scopes, events: events, outputs: [out] + sideOutputs, tensorNames: tensorNames)
  }

  /// The defaults of an unused block's parameters may name only the parameters before them. Their values
  /// are unknown (1 stands in), so only unknown names are reported: a division by a stand-in proves nothing.
  private func checkUnusedDefaults(_ block: BlockDecl) {
    var earlier = Bindings(input: .unknown)
    for p in block.params {
      if case .expr(let d)? = p.defaultValue { _ = evaluateDefault(d, of: p, in: block, env: earlier, namesOnly: true) }
      earlier.numbers[p.name] = 1
    }
  }

  /// A block that is never used (or a branch that no use takes) has no input or arguments to check
  /// against, but a misspelt layer or block name in it is still an error the author wants to hear about
  /// now. `parameters` are the enclosing block's, which a layer line may name.
  func checkUnusedBody(_ elements: [Element], parameters: Set<String>) {
    for e in elements {
      switch e.kind {
      case .layer(let layer) where OperationRegistry.byKeyword[layer.keyword] == nil && blocks[layer.keyword] == nil
        && !Parser.combinatorKeywords.contains(layer.keyword) && !parameters.contains(layer.keyword):
        let report = UnknownLayerReport(layer, candidates: suggestionCandidates(at: layer.keywordRange) + parameters,
                                        env: Bindings())
        error(report.id, report.message, at: layer.keywordRange, notes: report.notes, fixIts: report.fixIts)
      case .call(let call) where blocks[call.name] == nil:
        if let report = UnknownLayerReport(call, file: file) {
          error(report.id, report.message, at: call.nameRange, notes: report.notes, fixIts: report.fixIts)
          continue
        }
        let hint = Suggest.closest(to: call.name, in: Array(blocks.keys)).map { "; did you mean '\($0)'?" } ?? ""
        error("unknown-block", "unknown block '\(call.name)'\(hint)", at: call.nameRange)
      case .group(let body): checkUnusedBody(body, parameters: parameters)
      case .combinator(let c): for branch in c.branches { checkUnusedBody(branch, parameters: parameters) }
      case .conditional(let c):
        checkUnusedBody(c.then, parameters: parameters)
        if let otherwise = c.otherwise { checkUnusedBody(otherwise, parameters: parameters) }
      default: break
      }
    }
  }

  func defaultName() -> String {
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

  /// netc keeps a channels-last map in channels-first storage, and its outputs are read as stored: an
  /// output must be a CxHxW map or a flat vector.
  func refuseChannelsLastOutput(_ value: Int, at r: SourceRange, what: String) {
    guard values[value].channelsLast else { return }
    error("channels-last-output", "\(what) ends in the channels-last shape \(values[value])", at: r,
          notes: [Note("netc's outputs are CxHxW maps or flat vectors: permute it back with 'permute 0 3 1 2'")])
  }

  func checkElementCount(_ s: Shape, at r: SourceRange) -> Bool {
    guard let n = try? cmul(cproduct(s.dims), batch), n <= Checker.maxElements else {
      error("tensor-too-large",
            "a tensor of shape \(batch)x\(s) has more than \(grouped(Checker.maxElements)) elements", at: r,
            notes: [Note("netc refuses tensors above 2^40 elements")])
      return false
    }
    return true
  }

  // MARK: Sequences and elements

  func checkSequence(_ elements: [Element], input: Int?, _ env: inout Env) -> Int? {
    var current = input
    for e in elements {
      if aborted { return nil }
      current = checkElement(e, input: current, &env)
    }
    return current
  }

  private func checkElement(_ e: Element, input: Int?, _ env: inout Env) -> Int? {
    expandedDepth += 1
    elementStack.append(e.range)
    defer {
      expandedDepth -= 1
      elementStack.removeLast()
    }
    if expandedDepth > Checker.maxExpandedDepth {
      error("nesting-too-deep", "the network is nested more than \(Checker.maxExpandedDepth) levels deep once its blocks are expanded",
            at: e.range, notes: [Note("a block's body nests inside every place the block is used")])
      aborted = true
      return nil
    }
    var count = 1
    if let c = e.repeatCount {
      guard let v = evaluate(c, env.params) else { return nil }
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
      // Once the value is unknown or a guess, further repetitions would only repeat the same diagnostics.
      guard let c = current, !uncertain[c] else { break }
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
        } else if let first = env.bindings[name], first != r {
          // A repetition binds the same `=> name` once per pass, the last pass winning; a second `=> name`
          // elsewhere would silently redirect every later '@name'.
          error("duplicate-tensor-name", "a tensor is already named '\(name)'", at: r,
                notes: [Note("'\(name)' is first named here", at: first),
                        Note("each '=> name' needs a name of its own; '@\(name)' would refer to the later one")])
          // Either binding may be the one the later '@name' uses were written for: they go on with the later
          // one, as the note says, but as a guess that no mismatch is reported against.
          env.names[name] = guessFrom(current ?? env.names[name])
        } else {
          env.bindings[name] = r
          if let current {
            env.names[name] = current
            if tensorNames[current] == nil { tensorNames[current] = name }
          }
        }
      case .expectShape(let dims, let r):
        let expected = dims.compactMap { d -> Int? in if case .int(let v?, _) = d { return v }; return nil }
        // A malformed annotation was reported by the parser.
        guard expected.count == dims.count else { continue }
        let declared = Shape(expected)
        if let known = current, !uncertain[known] {
          let actual = values[known]
          // The sizes in PyTorch's order: a channels-last map is annotated `-> 56x56x96`.
          if declared.dims != actual.dims {
            error("shape-annotation-mismatch",
                  "the output is \(actual), not \(expected.map(String.init).joined(separator: "x")) as annotated",
                  at: r, notes: [Note("this element produces \(actual)", at: e.range)])
            // Either the layers or the annotation are wrong, and the layers after it may have been written
            // for either: go on with the real shape, but report no mismatch against it.
            current = newValue(actual, uncertain: true)
          }
        } else if declared.dims.count == 1 || declared.dims.count == 3, fitsLimits(declared) {
          // After an error, the declared shape is the best-known one: the author has said what it is. The
          // sizes do not say whether a map is channels-last; the guess they replace does (a `permute`
          // checked on it).
          let channelsLast = current.map { values[$0].channelsLast && values[$0].dims.count == 3 } ?? false
          current = newValue(Shape(declared.dims, channelsLast: channelsLast))
        }
      }
    }
    return current
  }

  private func checkPrimary(_ e: Element, input: Int?, _ env: inout Env) -> Int? {
    switch e.kind {
    case .bad:
      return guessFrom(input)
    case .reference(let name):
      if let v = env.names[name] { return v }
      // Bound after an error that left its value unknown: that error was reported.
      if env.bindings[name] != nil { return guessFrom(input) }
      let here = bindingsByBody[callStack.last?.name ?? ""]?[name] ?? []
      let elsewhere = bindingsByBody.values.compactMap { $0[name]?.first }.min { $0.start < $1.start }
      if let later = here.first(where: { $0.start > e.range.start }) {
        error("use-before-definition", "'@\(name)' is used before '=> \(name)' names a tensor", at: e.range,
              notes: [Note("'\(name)' is named here", at: later),
                      Note("'@name' refers to an element before it; move the use after the element it names")])
      } else if here.isEmpty, let elsewhere {
        error("unknown-tensor", "no tensor is named '\(name)' here", at: e.range,
              notes: [Note("'\(name)' is named here, in another block or network", at: elsewhere),
                      Note("a name is visible only in the network or block that binds it")])
      } else {
        let hint = !diags.wouldShowError(at: e.range) ? "" :
          Suggest.closest(to: name, in: env.names.keys).map { "; did you mean '@\($0)'?" } ?? ""
        error("unknown-tensor", "no tensor is named '\(name)'\(hint)", at: e.range,
              notes: [Note("name a tensor with '=> \(name)' after the element that produces it")])
      }
      return guessFrom(input)
    case .group(let body):
      return checkSequence(body, input: input, &env)
    case .layer(let layer):
      return checkLayer(layer, e, input: input, env)
    case .call(let call):
      return checkCall(call, e, input: input, env)
    case .combinator(let c):
      return checkCombinator(c, e, input: input, &env)
    case .conditional(let c):
      return checkConditional(c, input: input, &env)
    }
  }

  // MARK: Layers

  func checkLayer(_ layer: LayerSyntax, _ e: Element, input: Int?, _ env: Env) -> Int? {
    if OperationRegistry.byKeyword[layer.keyword] == nil {
      if let given = env.params.layers[layer.keyword] { return checkLayerParameter(layer, given, e, input: input, env) }
      if let number = env.params.numbers[layer.keyword] {
        error("number-as-layer", "'\(layer.keyword)' is the number \(number) here, not a layer", at: layer.keywordRange,
              notes: [Note("a parameter used as a layer is given one, such as 'act=relu' or 'norm=(bn eps=0.001)'")])
        return guessFrom(input)
      }
    }
    guard let spec = OperationRegistry.byKeyword[layer.keyword] else {
      if blocks[layer.keyword] != nil {
        // 'Basic 64' becomes 'Basic(64)': the words after the name are the block's arguments.
      let fix = layer.args.last.map { last in
        FixIt(range: SourceRange(layer.keywordRange.end, last.range.end),
              replacement: "(" + layer.args.map { file.text($0.range) }.joined(separator: ", ") + ")")
      } ?? FixIt(range: SourceRange.point(layer.keywordRange.end), replacement: "()")
      error("block-without-call", "'\(layer.keyword)' is a block; use it as '\(layer.keyword)(...)'",
            at: layer.keywordRange, fixIts: [fix])
      return guessFrom(input)
      } else {
        let candidates = suggestionCandidates(at: layer.keywordRange, combinators: true) + env.params.layers.keys
        if Parser.combinatorKeywords.contains(layer.keyword) {
          error("combinator-without-branches", "'\(layer.keyword)' is a combinator: write '\(layer.keyword)< branch | branch >'",
                at: layer.keywordRange)
          return guessFrom(input)
        }
        if layer.keyword.count > 1, layer.keyword.first == "x", layer.keyword.dropFirst().allSatisfy(\.isNumber) {
          error("unknown-layer", "'\(layer.keyword)' stands alone as a layer", at: layer.keywordRange,
                notes: [Note("a repetition follows its element on the same line: '(conv 3x3 64 p1, relu) \(layer.keyword)'")])
          return guessFrom(input)
        }
        let report = UnknownLayerReport(layer, candidates: candidates, env: env.params)
        error(report.id, report.message, at: layer.keywordRange, notes: report.notes, fixIts: report.fixIts)
        // 'BatchNorm2d' or 'Conv' says which layer is meant: the rest of the file is checked as if it were.
        if let intended = report.intended { return checkLayer(intended, e, input: input, env) }
      }
      return guessFrom(input)
    }
    if spec.signature.functionOnly && !layer.functional {
      // As a layer it would print a row that no PyTorch model has; the rest is checked as the function.
      var asFunction = layer
      asFunction.functional = true
      // The arguments are quoted back only while they are short: a message stays a line.
      let end = layer.args.last?.range.end ?? layer.keywordRange.end
      let short = end - layer.keywordRange.start <= 80
      let written = short ? layer.keyword + "(" + layer.args.map { file.text($0.range) }.joined(separator: " ") + ")"
        : layer.keyword + "(...)"
      let fixes = short ? [FixIt(range: SourceRange(layer.keywordRange.start, end), replacement: written)] : []
      error("function-only", "'\(layer.keyword)' is a function in PyTorch, not a module: write it as '\(written)'",
            at: layer.keywordRange, notes: [Note("a function prints no row in the layer table")], fixIts: fixes)
      return checkLayer(asFunction, e, input: input, env)
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
    let (checked, errors, failed) = reportingErrors(uncertainInput: uncertain[input]) { d -> Resolved? in
      guard let args = LayerArgs(layer, spec.signature, env: env.params, &d) else { return nil }
      return spec.check(args, x, e.range, &d)
    }
    guard let resolved = checked, !failed else {
      // A layer that reported an error but knows its output (see `LayerSpec.check`) goes on with it.
      if let known = checked?.output, fitsLimits(known) { return newValue(known, uncertain: uncertain[input]) }
      if spec.signature.preservesShape && !errors.contains(where: { Checker.inputDependent.contains($0.id) }) {
        return newValue(x.shape, uncertain: uncertain[input])
      }
      return recover(layer, spec, x, e, env, errors: errors.map(\.range), input: input)
    }
    if spec.signature.parameterOfEnclosingModule && !layer.functional {
      // A parameter of the enclosing module used in its forward: written as the function it is.
      let end = layer.args.last?.range.end ?? layer.keywordRange.end
      let args = layer.args.map { file.text($0.range) }.joined(separator: " ")
      error("parameter-not-module",
            "'\(layer.keyword)' is a parameter of the enclosing block, not a module: write it as a call, '\(layer.keyword)(\(args))'",
            at: layer.keywordRange, notes: [Note("like torchvision's 'self.layer_scale * x', it prints no row; its parameter counts in the block's")],
            fixIts: [FixIt(range: SourceRange(layer.keywordRange.start, end), replacement: "\(layer.keyword)(\(args))")])
      return newValue(resolved.output, uncertain: uncertain[input])
    }
    if layer.functional && !(resolved.params.isEmpty && resolved.buffers.isEmpty) && !spec.signature.parameterOfEnclosingModule {
      // A functional call prints no row and owns no weights, so a layer with weights cannot be one.
      error("functional-with-weights", "'\(layer.keyword)' has weights and has no functional form",
            at: layer.keywordRange, notes: [Note("write it as a layer: '\(layer.keyword) ...' without parentheses")])
      return newValue(resolved.output, uncertain: uncertain[input])
    }
    // A layer fed a guess checks its own arguments only; its output is a guess too.
    if uncertain[input] { return fitsLimits(resolved.output) ? newValue(resolved.output, uncertain: true) : guessFrom(input) }
    guard checkElementCount(resolved.output, at: e.range) else { return guessFrom(input) }
    for p in resolved.params {
      guard let n = try? cproduct(p.shape), n <= Checker.maxElements else {
        error("tensor-too-large", "the \(p.name) of '\(layer.keyword)' would hold more than \(grouped(Checker.maxElements)) elements",
              at: e.range, notes: [Note("its shape would be \(p.shape.map(String.init).joined(separator: "x"))")])
        return newValue(resolved.output)
      }
    }
    guard let multAdds = resolved.op.multAdds(params: resolved.params, output: resolved.output) else {
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
    if resolved.op is FlattenOp, x.shape.isSpatial {
      flattenedFrom[out] = x.shape
      flattenedAt[out] = e.range
    } else if resolved.output == x.shape {
      flattenedFrom[out] = x.flattenedFrom
      flattenedAt[out] = x.flattenedAt
    }
    appendOp(CheckedOp(op: resolved.op, inputs: [input], output: out, range: e.range, scope: scopeStack.last!,
                       isModule: !layer.functional, moduleName: resolved.op.moduleName(input: x.shape),
                       params: resolved.params, buffers: resolved.buffers,
                       multAdds: multAdds))
    return out
  }

  /// The layer and block names a misspelt name is compared with: none for an error that will not be
  /// shown, so that a file of many unknown names in a program of many blocks stays linear.
  func suggestionCandidates(at r: SourceRange, combinators: Bool = false) -> [String] {
    guard diags.wouldShowError(at: r) else { return [] }
    return Array(OperationRegistry.byKeyword.keys) + Array(blocks.keys) + (combinators ? Array(Parser.combinatorKeywords) : [])
  }

  /// Where each parameter of a block stands among them, made once per block: a call's labels are looked
  /// up in it.
  func parameterIndex(of block: BlockDecl) -> [String: Int] {
    if let index = parameterIndexByBlock[block.name] { return index }
    var index: [String: Int] = [:]
    for (i, p) in block.params.enumerated() where index[p.name] == nil { index[p.name] = i }
    parameterIndexByBlock[block.name] = index
    return index
  }

  func newValue(_ s: Shape, uncertain isGuess: Bool = false) -> Int {
    values.append(s)
    uncertain.append(isGuess)
    flattenedFrom.append(nil)
    flattenedAt.append(nil)
    return values.count - 1
  }

  /// An uncertain copy of `input`'s shape: what an element whose output is unknown goes on with.
  func guessFrom(_ input: Int?) -> Int? {
    input.map { newValue(values[$0], uncertain: true) }
  }

  func fitsLimits(_ s: Shape) -> Bool {
    guard let n = try? cmul(cproduct(s.dims), batch) else { return false }
    return n <= Checker.maxElements && s.dims.allSatisfy { $0 >= 1 }
  }

  /// The output a failed layer would have without the arguments its errors point at (`s0` dropped: stride
  /// 1), as an uncertain value; its input's shape when that does not check either.
  private func recover(_ layer: LayerSyntax, _ spec: LayerSpec, _ x: LayerInput, _ e: Element, _ env: Env,
                       errors: [SourceRange], input: Int) -> Int {
    // A repair is for a few faulty arguments; a layer of thousands is not worth checking twice.
    guard errors.count <= 16, layer.args.count <= 1000 else { return newValue(x.shape, uncertain: true) }
    // Arguments are in source order: each error is placed among them by binary search, so a layer of a
    // million arguments with a thousand errors costs no product of the two.
    var faulty = Set<Int>()
    for e in errors {
      var lo = 0, hi = layer.args.count
      while lo < hi {
        let mid = (lo + hi) / 2
        if layer.args[mid].range.start <= e.start { lo = mid + 1 } else { hi = mid }
      }
      if lo > 0, e.start < max(layer.args[lo - 1].range.end, layer.args[lo - 1].range.start + 1) { faulty.insert(lo - 1) }
    }
    let kept = layer.args.indices.filter { !faulty.contains($0) }.map { layer.args[$0] }
    if kept.count < layer.args.count {
      var repaired = layer
      repaired.args = kept
      var scratch = DiagnosticEngine(file: file, errorLimit: 1000)
      if let args = LayerArgs(repaired, spec.signature, env: env.params, &scratch),
        let r = spec.check(args, x, e.range, &scratch), !scratch.hasErrors, fitsLimits(r.output)
      {
        return newValue(r.output, uncertain: true)
      }
    }
    return newValue(x.shape, uncertain: true)
  }

  /// Records every `=> name` of `elements`, nested ones included, so that a use before the binding can be
  /// told from a misspelling.
  private func collectBindings(_ elements: [Element], into body: String) {
    for e in elements {
      for case .bind(let name, let r) in e.suffixes { bindingsByBody[body, default: [:]][name, default: []].append(r) }
      switch e.kind {
      case .group(let inner): collectBindings(inner, into: body)
      case .combinator(let c): for branch in c.branches { collectBindings(branch, into: body) }
      case .conditional(let c):
        collectBindings(c.then, into: body)
        if let otherwise = c.otherwise { collectBindings(otherwise, into: body) }
      default: break
      }
    }
  }

  func appendOp(_ op: CheckedOp) {
    if ops.count >= Checker.maxOps {
      if !aborted {
        error("too-many-layers", "the network expands to more than \(grouped(Checker.maxOps)) layers", at: op.range,
              notes: [Note("repetitions and blocks multiply; check the repetition counts")])
      }
      aborted = true
      return
    }
    if let syntax = firstSyntaxError, op.range.start >= syntax.range.start { noteFirstError(syntax, element: nil) }
    ops.append(op)
    events.append(.op(ops.count - 1))
  }
}
