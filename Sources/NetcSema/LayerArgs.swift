import NetcBasic
import NetcOps
import NetcSyntax

/// A layer's arguments bound to names and evaluated in the environment of block parameters.
struct LayerArgs: LayerArguments {
  let keyword: String
  let keywordRange: SourceRange
  let signature: LayerSignature
  private(set) var values: [String: LayerArg] = [:]
  private(set) var flags: [String: SourceRange] = [:]
  let env: Bindings

  /// Binds arguments, reporting unknown options, duplicates and missing ones. Returns nil on error.
  init?(_ layer: LayerSyntax, _ signature: LayerSignature, env: Bindings, _ diags: inout DiagnosticEngine) {
    self.keyword = layer.keyword
    self.keywordRange = layer.keywordRange
    self.signature = signature
    self.env = env
    var ok = true
    var nextPositional = 0
    // PyTorch's keyword arguments (`kernel_size=3`, `bias=False`) are reported once and then read as meant.
    let pytorch = PyTorchArguments(layer, signature, env: env, &diags)
    values.merge(pytorch.positional) { first, _ in first }
    values.merge(pytorch.options) { first, _ in first }
    flags.merge(pytorch.flags) { first, _ in first }
    for arg in layer.args {
      if pytorch.handled.contains(arg.range) { continue }
      if let key = arg.key {
        guard let canonical = signature.options[key] else {
          let at = arg.keyRange ?? arg.range
          if diags.wouldShowError(at: at), let elsewhere = LayerArgs.otherLayers(with: key, than: layer.keyword) {
            diags.error("unknown-option", elsewhere.message, at: at, notes: elsewhere.notes)
            ok = false
            continue
          }
          let hint = !diags.wouldShowError(at: at) ? "" :
            Suggest.closest(to: key, in: Set(signature.options.keys).union(signature.flags)).map { "; did you mean '\($0)'?" } ?? ""
          diags.error("unknown-option", "'\(layer.keyword)' has no option '\(key)'\(hint)",
                      at: at, notes: [Note("usage: \(signature.usage)")])
          ok = false
          continue
        }
        if let prev = values[canonical] {
          diags.error("duplicate-option", "option '\(canonical)' is given twice", at: arg.range,
                      notes: [Note("first given here", at: prev.range)])
          ok = false
          continue
        }
        values[canonical] = arg
        continue
      }
      // A bare name that is not a block parameter is a flag.
      if case .expr(.name(let word, let r)) = arg.value, env[word] == nil {
        if signature.flags.contains(word) {
          flags[word] = r
          continue
        }
        if let given = env.layers[word] {
          diags.error("layer-as-number", "'\(word)' is a layer ('\(diags.file.text(given.range))'), not an argument of '\(layer.keyword)'",
                      at: r, notes: [Note("'\(word)' is given here", at: given.range),
                                     Note("a layer parameter is a layer line of its own: separate layers with ','")],
                      fixIts: [FixIt(range: SourceRange.point(r.start), replacement: ", ")])
          ok = false
          continue
        }
        if Parser.layerKeywords.contains(word) {
          diags.error("missing-separator", "'\(word)' is a layer, not an option of '\(layer.keyword)'; separate layers with ','",
                      at: r, fixIts: [FixIt(range: SourceRange.point(r.start), replacement: ", ")])
          ok = false
          continue
        }
        if signature.options[word] != nil {
          diags.error("missing-value", "option '\(word)' needs a value, as in '\(word)=...'", at: r)
          ok = false
          continue
        }
        if diags.wouldShowError(at: r), let elsewhere = LayerArgs.otherLayers(with: word, than: layer.keyword) {
          diags.error("unknown-option", elsewhere.message, at: r, notes: elsewhere.notes)
          ok = false
          continue
        }
        // The candidates include every parameter of the block: searched only for an error that is shown,
        // and without copying them into a set.
        let hint = !diags.wouldShowError(at: r) ? "" :
          Suggest.closest(to: word, in: Array(signature.options.keys) + Array(signature.flags), env.numbers.keys)
            .map { "; did you mean '\($0)'?" } ?? ""
        let what = env.isEmpty ? "'\(layer.keyword)' has no option '\(word)'" :
          "'\(word)' is neither an option of '\(layer.keyword)' nor a parameter of the block"
        diags.error("unknown-option", what + hint, at: r, notes: [Note("usage: \(signature.usage)")])
        ok = false
        continue
      }
      while nextPositional < signature.positional.count, pytorch.positional[signature.positional[nextPositional]] != nil {
        nextPositional += 1
      }
      guard nextPositional < signature.positional.count else {
        diags.error("too-many-arguments", "too many arguments for '\(layer.keyword)'", at: arg.range,
                    notes: [Note("usage: \(signature.usage)")])
        ok = false
        continue
      }
      let name = signature.positional[nextPositional]
      nextPositional += 1
      if let prev = values[name] {
        diags.error("duplicate-option", "'\(name)' is given twice", at: arg.range,
                    notes: [Note("first given here", at: prev.range)])
        ok = false
        continue
      }
      values[name] = arg
    }
    if ok && nextPositional < signature.required {
      let missing = signature.positional[nextPositional]
      let alreadyNamed = values[missing] != nil
      if !alreadyNamed {
        diags.error("missing-argument", "'\(layer.keyword)' needs its \(missing)", at: layer.keywordRange,
                    notes: [Note("usage: \(signature.usage)")])
        ok = false
      }
    }
    if !ok { return nil }
  }

  /// `avgpool 3x3 d2`: an option that this layer lacks but others have (here the dilation of `conv`,
  /// `convt` and `maxpool`) is reported as such, rather than as a misspelling of an option it has.
  static func otherLayers(with key: String, than keyword: String) -> (message: String, notes: [Note])? {
    var byMeaning: [String: [String]] = [:]
    for spec in OperationRegistry.layers where spec.keyword != keyword {
      if let canonical = spec.signature.options[key] {
        byMeaning[canonical, default: []].append(spec.keyword)
      } else if spec.signature.flags.contains(key) {
        byMeaning[key, default: []].append(spec.keyword)
      }
    }
    // 'p' is the padding of four layers and the probability of 'dropout': the meaning most layers share.
    guard let (meaning, layers) = byMeaning.max(by: { ($0.value.count, $1.key) < ($1.value.count, $0.key) }) else {
      return nil
    }
    let quoted = layers.map { "'\($0)'" }
    let spelled = LayerArgs.optionNames[meaning] ?? meaning
    let list = quoted.count == 1 ? quoted[0] : quoted.dropLast().joined(separator: ", ") + " and " + (quoted.last ?? "")
    let message: String
    if let spec = OperationRegistry.byKeyword[layers[0]], spec.signature.flags.contains(key) {
      message = "'\(keyword)' has no option '\(key)'; it is a flag of \(list)"
    } else if meaning == key {
      message = "'\(keyword)' has no \(spelled) option; \(list) \(layers.count == 1 ? "has" : "have") one"
    } else {
      message = "'\(keyword)' has no \(spelled) option; '\(key)' is the \(spelled) of \(list)"
    }
    var notes: [Note] = []
    if let spec = OperationRegistry.byKeyword[keyword] {
      // netc's options are PyTorch's arguments: a layer without one mirrors a module without it.
      if let argument = pytorchArgument[meaning], let module = LayerNames.moduleName(of: spec) {
        notes.append(Note("PyTorch's \(module) has no \(argument) either"))
      }
      notes.append(Note("usage: \(spec.signature.usage)"))
    }
    return (message, notes)
  }

  /// How messages name netc's options whose canonical name is short.
  static let optionNames = ["pad": "padding", "out_pad": "output padding", "p": "probability"]

  /// PyTorch's names of netc's options.
  static let pytorchArgument = ["stride": "stride", "pad": "padding", "dilation": "dilation", "groups": "groups",
                                "out_pad": "output_padding", "eps": "eps", "momentum": "momentum"]

  func has(_ name: String) -> Bool { values[name] != nil }

  /// Evaluates every argument, reporting what can be known without the input (unknown names, overflow).
  func evaluateAll(_ diags: inout DiagnosticEngine) {
    for (_, arg) in values {
      switch arg.value {
      case .expr(let e): if word(arg.key ?? "") == nil { _ = guarded(e, &diags) { Evaluator.evaluate(e, env: env, &$0) } }
      case .dims: break
      }
    }
  }

  /// `body` reporting to `diags`; or, when `e` reads a block input that is a guess made after an error,
  /// to nowhere: what it finds would be that error's consequence.
  func guarded<T>(_ e: Expr, _ diags: inout DiagnosticEngine, _ body: (inout DiagnosticEngine) -> T) -> T {
    guard env.inputIsGuess, e.readsInput else { return body(&diags) }
    var nowhere = DiagnosticEngine(file: diags.file, errorLimit: 0)
    return body(&nowhere)
  }
  func flag(_ name: String) -> Bool { flags[name] != nil }
  func range(_ name: String) -> SourceRange { values[name]?.range ?? keywordRange }

  /// The bare word given for `name` (`pad=same`, `bilinear`), if it is one.
  func word(_ name: String) -> String? {
    guard let arg = values[name], case .expr(.name(let w, _)) = arg.value, env[w] == nil else { return nil }
    return w
  }

  func int(_ name: String, default def: Int? = nil, min lower: Int = 1, _ diags: inout DiagnosticEngine) -> Int? {
    guard let arg = values[name] else { return def }
    switch arg.value {
    case .dims(let ds, let r):
      if ds.count == 1 { return checkedInt(ds[0], name, lower, &diags) }
      let parts = ds.compactMap { d -> Int? in if case .int(let v?, _) = d { return v }; return nil }
      let spelled = parts.count == ds.count ? parts.map(String.init).joined(separator: "x") : "\(ds.count) sizes"
      let product = parts.count == ds.count ? (try? cproduct(parts)) : nil
      diags.error("expected-integer", "the \(name) of '\(keyword)' is one integer, found the shape \(spelled)", at: r,
                  notes: product.map { [Note("as one number, \(spelled) is \(grouped($0))")] } ?? [])
      return nil
    case .expr(let e):
      return checkedInt(e, name, lower, &diags)
    }
  }

  /// An integer or an `HxW` pair.
  func pair(_ name: String, default def: (Int, Int)? = nil, min lower: Int = 1,
            _ diags: inout DiagnosticEngine) -> (Int, Int)? {
    guard let arg = values[name] else { return def }
    switch arg.value {
    case .dims(let ds, let r):
      guard ds.count == 2 else {
        diags.error("expected-pair", "'\(name)' of '\(keyword)' takes one integer or a pair such as 3x3, found \(ds.count) numbers", at: r)
        return nil
      }
      guard let a = checkedInt(ds[0], name, lower, &diags), let b = checkedInt(ds[1], name, lower, &diags) else { return nil }
      return (a, b)
    case .expr(let e):
      guard let v = checkedInt(e, name, lower, &diags) else { return nil }
      return (v, v)
    }
  }

  func integer(_ name: String, default def: Int?, min lower: Int, _ diags: inout DiagnosticEngine) -> Int? {
    int(name, default: def, min: lower, &diags)
  }

  func integerPair(_ name: String, default def: (Int, Int)?, min lower: Int, _ diags: inout DiagnosticEngine) -> (Int, Int)? {
    pair(name, default: def, min: lower, &diags)
  }

  func number(_ name: String, default def: Double, _ diags: inout DiagnosticEngine) -> Double? {
    double(name, default: def, &diags)
  }

  func double(_ name: String, default def: Double, _ diags: inout DiagnosticEngine) -> Double? {
    guard let arg = values[name] else { return def }
    guard case .expr(let e) = arg.value else {
      if case .dims(_, let r) = arg.value {
        diags.error("expected-number", "'\(name)' of '\(keyword)' takes a number", at: r)
      }
      return nil
    }
    return guarded(e, &diags) { diags in
      guard let v = Evaluator.evaluate(e, env: env, &diags) else { return nil }
      switch v {
      case .int(let i): return Double(i)
      case .double(let d):
        guard d.isFinite else {
          diags.error("bad-number", "'\(name)' of '\(keyword)' must be a finite number", at: e.range)
          return nil
        }
        return d
      case .bool:
        diags.error("expected-number", "'\(name)' of '\(keyword)' takes a number, found a condition", at: e.range)
        return nil
      }
    }
  }

  private func spelled(_ e: Expr, _ v: Value) -> String {
    if v.isCondition { return "a condition" }
    if case .float(let d, _) = e { return "\(d)" }
    return "a fraction"
  }

  private func checkedInt(_ e: Expr, _ name: String, _ lower: Int, _ diags: inout DiagnosticEngine) -> Int? {
    guarded(e, &diags) { evaluateInt(e, name, lower, &$0) }
  }

  private func evaluateInt(_ e: Expr, _ name: String, _ lower: Int, _ diags: inout DiagnosticEngine) -> Int? {
    guard let v = Evaluator.evaluate(e, env: env, &diags) else { return nil }
    guard case .int(let i) = v else {
      diags.error("expected-integer", "\(name) of '\(keyword)' must be an integer, found \(spelled(e, v))", at: e.range)
      return nil
    }
    if i < lower {
      let bound = lower == 0 ? "zero or more" : "at least \(lower)"
      diags.error("out-of-range", "\(name) of '\(keyword)' must be \(bound), found \(i)", at: e.range)
      return nil
    }
    if i > Checker.maxSize {
      diags.error("absurd-size", "\(name) of '\(keyword)' is \(grouped(i)), beyond netc's limit of \(grouped(Checker.maxSize))",
                  at: e.range)
      return nil
    }
    return i
  }
}
