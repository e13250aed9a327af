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
    guard let binding = bindArguments(call, block, outerEnv) else { return guessFrom(input) }
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
  func evaluateDefault(_ d: Expr, of p: ParamDecl, in block: BlockDecl, env: [String: Int], namesOnly: Bool = false)
    -> Value?
  {
    var local = DiagnosticEngine(file: file, errorLimit: 1000)
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

  /// The value of every parameter, and the arguments as the use wrote them.
  func bindArguments(_ call: CallSyntax, _ block: BlockDecl, _ outerEnv: Env)
    -> ([String: Int], [BlockArgument])?
  {
    var bound: [String: Int] = [:]
    var written: [BlockArgument] = []
    var ok = true
    var position = 0
    for arg in call.args {
      let name: String
      if let label = arg.label {
        guard parameterNames(of: block).contains(label) else {
          let hint = !diags.wouldShowError(at: arg.labelRange ?? arg.value.range) ? "" :
            Suggest.closest(to: label, in: block.params.map(\.name)).map { "; did you mean '\($0)'?" } ?? ""
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
      guard let v = evaluateDefault(def, of: p, in: block, env: bound) else { return nil }
      guard case .int(let i) = v else {
        error("expected-integer", "block parameters are integers; the default of '\(p.name)' is not", at: def.range,
              notes: [Note("a rate such as dropout's p is written in the body, not passed as a parameter")])
        return nil
      }
      bound[p.name] = i
    }
    return (bound, written)
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
