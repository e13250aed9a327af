import NetcBasic
import NetcOps
import NetcSyntax

/// Uses of named blocks: argument binding, scopes, and the checking of a body with its arguments.
extension Checker {
  func checkCall(_ call: CallSyntax, _ e: Element, input: Int?, _ outerEnv: Env) -> Int? {
    guard let block = blocks[call.name] else {
      if let report = UnknownLayerReport(call, file: file) {
        // 'nn.Conv2d(3, 64, 3)', 'nn.ReLU()': checked as the layer they mean once reported.
        error(report.id, report.message, at: call.nameRange, notes: report.notes, fixIts: report.fixIts)
        if let intended = report.intended { return checkLayer(intended, e, input: input, outerEnv) }
        return guessFrom(input)
      }
      let hint = Suggest.closest(to: call.name, in: suggestionCandidates(at: call.nameRange))
        .map { "; did you mean '\($0)'?" } ?? ""
      error("unknown-block", "unknown block '\(call.name)'\(hint)", at: call.nameRange)
      return guessFrom(input)
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
    // The body is not checked with arguments missing: its uses of them would only repeat the error.
    let blockInput: BlockInput = input.map { .shape(values[$0], guess: uncertain[$0]) } ?? .unknown
    guard let binding = bindArguments(call, block, outerEnv, input: blockInput) else { return guessFrom(input) }
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

  /// A parameter's default, evaluated with the parameters bound so far; a name that is a later parameter
  /// of the block gets its own message. With `namesOnly` (an unused block, whose values are stand-ins),
  /// only unknown names are reported.
  func evaluateDefault(_ d: Expr, of p: ParamDecl, in block: BlockDecl, env: Bindings, namesOnly: Bool = false)
    -> Value?
  {
    var local = DiagnosticEngine(file: file, errorLimit: env.inputIsGuess && d.readsInput ? 0 : 1000)
    local.oneErrorPerLine = false
    let v = Evaluator.evaluate(d, env: env, &local)
    var kept = DiagnosticEngine(file: file, errorLimit: 1000)
    kept.oneErrorPerLine = false
    for e in local.diagnostics where !namesOnly || e.id == "unknown-name" {
      let name = file.text(e.range)
      if e.id == "unknown-name", let later = block.params.first(where: { $0.name == name }) {
        kept.error("default-uses-later-parameter", "the default of '\(p.name)' uses '\(name)', which is declared after it",
                   at: e.range, notes: [Note("'\(name)' is declared here", at: later.range),
                                        Note("a default may use only the parameters before it")])
      } else {
        kept.emit(e)
      }
    }
    forward(kept, uncertainInput: false)
    return v
  }

  /// The value of every parameter (a number or a layer), with the block's input; and the arguments as the
  /// use wrote them.
  func bindArguments(_ call: CallSyntax, _ block: BlockDecl, _ outerEnv: Env, input: BlockInput)
    -> (Bindings, [BlockArgument])?
  {
    var bound = Bindings(input: input)
    var given: Set<String> = []
    var written: [BlockArgument] = []
    var ok = true
    var position = 0
    let index = parameterIndex(of: block)
    for arg in call.args {
      let param: ParamDecl
      if let label = arg.label {
        guard let i = index[label] else {
          let hint = !diags.wouldShowError(at: arg.labelRange ?? arg.value.range) ? "" :
            Suggest.closest(to: label, in: block.params.map(\.name)).map { "; did you mean '\($0)'?" } ?? ""
          error("unknown-parameter", "block '\(block.name)' has no parameter '\(label)'\(hint)", at: arg.labelRange ?? arg.value.range,
                notes: [Note("'\(block.name)' is defined here", at: block.nameRange)])
          ok = false
          continue
        }
        param = block.params[i]
      } else {
        guard position < block.params.count else {
          error("too-many-arguments", "block '\(block.name)' takes \(block.params.count) argument\(block.params.count == 1 ? "" : "s"), found \(call.args.count)",
                at: arg.value.range, notes: [Note("'\(block.name)' is defined here", at: block.nameRange)])
          ok = false
          break
        }
        param = block.params[position]
        position += 1
      }
      guard given.insert(param.name).inserted else {
        error("duplicate-argument", "parameter '\(param.name)' of '\(block.name)' is given twice", at: arg.value.range)
        ok = false
        continue
      }
      switch argumentValue(arg.value, for: param, of: block, outerEnv.params) {
      case .number(let i)?:
        bound.numbers[param.name] = i
        written.append(BlockArgument(label: arg.label, value: i))
      case .layer(let layer)?:
        bound.layers[param.name] = layer
        written.append(BlockArgument(label: arg.label, layer: spelledLayer(arg.value)))
      case nil:
        ok = false
      }
    }
    guard ok else { return nil }
    for p in block.params where !given.contains(p.name) {
      switch p.defaultValue {
      case nil:
        error("missing-argument", "block '\(block.name)' needs a value for '\(p.name)'", at: call.nameRange,
              notes: [Note("'\(p.name)' is declared here", at: p.range)])
        return nil
      case .layer(let layer, let r)?:
        // Its arguments read the parameters before it, as a number's default does.
        bound.layers[p.name] = LayerValue(layer: layer, range: r, env: bound)
      case .expr(let def)?:
        guard let v = evaluateDefault(def, of: p, in: block, env: bound) else { return nil }
        guard case .int(let i) = v else {
          error("expected-integer", "block parameters are integers or layers; the default of '\(p.name)' is not", at: def.range,
                notes: [Note("a rate such as dropout's p is written in the body, not passed as a parameter")])
          return nil
        }
        bound.numbers[p.name] = i
      }
    }
    return (bound, written)
  }

  enum ArgumentValue {
    case number(Int)
    case layer(LayerValue)
  }

  /// What one argument gives its parameter: a number, or a layer with the caller's names for its
  /// arguments. A parameter whose default is a layer takes only layers, one whose default is a number
  /// only numbers.
  func argumentValue(_ a: Argument, for p: ParamDecl, of block: BlockDecl, _ env: Bindings) -> ArgumentValue? {
    let value: ArgumentValue
    switch a {
    case .layer(let layer, let r):
      if let outer = env.layers[layer.keyword] {
        // `act()`: the functional form of the layer the caller was given.
        if let first = layer.args.first, let last = layer.args.last {
          error("layer-parameter-arguments", "'\(layer.keyword)' is the layer given to the block; its arguments are written where it is given",
                at: first.range.union(last.range), notes: [Note("'\(layer.keyword)' is given here", at: outer.range)])
          return nil
        }
        var functional = outer
        functional.layer.functional = true
        value = .layer(functional)
      } else if let number = env.numbers[layer.keyword] {
        error("number-as-layer", "'\(layer.keyword)' is the number \(number) here, not a layer", at: layer.keywordRange)
        return nil
      } else {
        value = .layer(LayerValue(layer: layer, range: r, env: env))
      }
    case .expr(.name(let name, _)) where env.layers[name] != nil:
      // A layer the caller was given, passed on.
      value = .layer(env.layers[name]!)
    case .expr(let e):
      guard let v = evaluate(e, env) else { return nil }
      guard case .int(let i) = v else {
        error("expected-integer", "block arguments are integers or layers, found \(v.isCondition ? "a condition" : "a number with a fraction")",
              at: e.range, notes: v.isCondition ? [] : [Note("a rate such as dropout's p is written in the body, not passed as a parameter")])
        return nil
      }
      value = .number(i)
    }
    switch (p.defaultValue, value) {
    case (.layer(_, let r)?, .number(let i)):
      error("argument-kind", "'\(p.name)' of '\(block.name)' is a layer, found the number \(i)", at: a.range,
            notes: [Note("'\(p.name)' is a layer: its default is '\(file.text(r))'", at: p.range),
                    Note("give it a layer, such as '\(p.name)=relu' or '\(p.name)=(bn eps=0.001)'")])
      return nil
    case (.expr(let d)?, .layer):
      error("argument-kind", "'\(p.name)' of '\(block.name)' is a number, found the layer '\(spelledLayer(a))'", at: a.range,
            notes: [Note("'\(p.name)' is a number: its default is '\(file.text(d.range))'", at: p.range)])
      return nil
    default:
      return value
    }
  }

  /// A layer argument as written, on one line, for the diagrams' titles.
  func spelledLayer(_ a: Argument) -> String {
    file.text(a.range).split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }).joined(separator: " ")
  }

  /// Checks a layer line that names a layer parameter (`act`, or `act()` for its functional form): the
  /// layer given, with the names where it was given, on this line's input.
  func checkLayerParameter(_ use: LayerSyntax, _ given: LayerValue, _ e: Element, input: Int?, _ env: Env) -> Int? {
    if let first = use.args.first, let last = use.args.last {
      let written = file.text(first.range.union(last.range))
      error("layer-parameter-arguments", "'\(use.keyword)' is the layer given to the block; its arguments are written where it is given",
            at: first.range.union(last.range),
            notes: [Note("'\(use.keyword)' is given here", at: given.range),
                    Note("write them there, as in '\(use.keyword)=(\(given.layer.keyword) \(written))'")])
    }
    var layer = given.layer
    if use.functional { layer.functional = true }
    var inner = env
    inner.params = given.env
    layerArguments.append((use.keyword, given.range))
    defer { layerArguments.removeLast() }
    return checkLayer(layer, e, input: input, inner)
  }

  func openScope(_ kind: ScopeKind, _ range: SourceRange, input: Int?) -> Int {
    scopes.append(Scope(kind: kind, parent: scopeStack.last, range: range, depth: scopeStack.count, output: nil,
                        input: input, firstOp: ops.count))
    scopeStack.append(scopes.count - 1)
    return scopes.count - 1
  }

  func closeScope(_ scope: Int, output: Int?, printsRow: Bool) {
    scopeStack.removeLast()
    scopes[scope].output = output
    if printsRow, output != nil { events.append(.close(scope)) }
  }

}
