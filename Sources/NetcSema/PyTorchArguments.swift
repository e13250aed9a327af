import NetcBasic
import NetcOps
import NetcSyntax

/// What one of PyTorch's keyword arguments is in netc, for a given layer.
enum PyTorchKeyword: Equatable {
  /// One of the layer's positional arguments (`kernel_size=3` is `conv`'s first).
  case positional(String)
  /// One of the layer's options under another name (`negative_slope` is `slope`).
  case option(String)
  /// One of the layer's flags (`bias=False` is `nobias`).
  case flag(String)
  /// Nothing to write: netc does it anyway (`in_channels`, `bias=True`); the reason.
  case implied(String)

  /// The meaning of `key=value` for `layer`, if netc spells it another way. `has` says whether the layer
  /// also has an argument with a given key; `positionalCount` how many positional arguments it has.
  static func translate(_ key: String, _ value: LayerArg.Value, keyword: String, signature: LayerSignature,
                        has: (String) -> Bool, positionalCount: Int) -> PyTorchKeyword? {
    let positional = signature.positional
    let word: String? = if case .expr(.name(let w, _)) = value { w } else { nil }
    let number: Int? = if case .expr(.int(let v?, _)) = value { v } else { nil }
    /// A boolean keyword argument: the flag when it is `flagValue`, netc's default otherwise.
    func boolean(_ flag: String, whenSetTo flagValue: String) -> PyTorchKeyword? {
      guard signature.flags.contains(flag), let word, ["True", "False"].contains(word) else { return nil }
      return word == flagValue ? .flag(flag) : .implied("'\(key)=\(word)' is netc's default")
    }
    switch key {
    case "kernel_size" where positional.contains("kernel"): return .positional("kernel")
    case "out_channels" where positional.contains("channels"): return .positional("channels")
    case "in_channels" where positional.contains("channels"):
      return .implied("netc takes the input channels from the input")
    case "num_features" where keyword == "bn": return .implied("netc takes the number of features from the input")
    case "out_features" where positional.contains("second size"):
      return .positional(has("in_features") ? "second size" : "size")
    case "in_features" where positional.contains("second size"):
      return has("out_features") || positionalCount > 0 ? .positional("size")
        : .implied("netc takes the input size from the input")
    case "output_size" where positional == ["size"]: return .positional("size")
    case "negative_slope" where signature.options["slope"] != nil: return .option("slope")
    case "scale_factor" where signature.options["scale"] != nil: return .option("scale")
    case "bias": return boolean("nobias", whenSetTo: "False")
    case "affine": return boolean("noaffine", whenSetTo: "False")
    case "ceil_mode": return boolean("ceil", whenSetTo: "True")
    case "count_include_pad": return boolean("exclude_pad", whenSetTo: "False")
    case "align_corners": return boolean("align_corners", whenSetTo: "True")
    case "mode":
      guard let word, signature.flags.contains(word) else { return nil }
      return .flag(word)
    case "inplace" where word == "True" || word == "False":
      return .implied("netc decides by itself which layers compute in place")
    case "dim" where keyword == "softmax" && number == 1:
      return .implied("netc's 'softmax' is over the channels, as 'dim=1' says")
    case "start_dim" where keyword == "flatten" && number == 1:
      return .implied("netc's 'flatten' keeps the batch, as 'start_dim=1' says")
    case "padding_mode" where word == "zeros" && signature.options["pad"] != nil:
      return .implied("'padding_mode=zeros' is netc's padding")
    default:
      // `conv kernel=3 16`: netc's own name of a positional argument, written as an option.
      if positional.contains(key) && signature.options[key] == nil { return .positional(key) }
      return nil
    }
  }
}

/// A layer's arguments with PyTorch's keyword arguments among them: what each means in netc, one error
/// for the first (with a fix-it that rewrites every argument as netc writes them), and the bindings that
/// let the checker go on as if the layer had been written netc's way.
struct PyTorchArguments {
  /// Positional arguments given by keyword, by netc's name.
  var positional: [String: LayerArg] = [:]
  /// Options given under PyTorch's name, by netc's canonical name.
  var options: [String: LayerArg] = [:]
  var flags: [String: SourceRange] = [:]
  /// The arguments (by range) translated here.
  var handled: Set<SourceRange> = []

  init(_ layer: LayerSyntax, _ signature: LayerSignature, env: Bindings, _ diags: inout DiagnosticEngine) {
    let keys = Set(layer.args.compactMap(\.key))
    let positionalCount = layer.args.filter { $0.key == nil }.count
    var first: (arg: LayerArg, meaning: PyTorchKeyword)?
    var meanings: [SourceRange: PyTorchKeyword] = [:]
    for arg in layer.args {
      guard let key = arg.key, signature.options[key] == nil,
        let meaning = PyTorchKeyword.translate(key, arg.value, keyword: layer.keyword, signature: signature,
                                               has: { keys.contains($0) }, positionalCount: positionalCount)
      else { continue }
      meanings[arg.range] = meaning
      handled.insert(arg.range)
      if first == nil { first = (arg, meaning) }
      switch meaning {
      case .positional(let name): positional[name] = arg
      case .option(let name): options[name] = arg
      case .flag(let name): flags[name] = arg.range
      case .implied: break
      }
    }
    guard let (arg, meaning) = first, let key = arg.key else { return }
    let file = diags.file
    let written = file.text(arg.range)
    let reason: String
    switch meaning {
    case .positional(let name):
      let place = signature.positional.firstIndex(of: name) == 0 ? "first" : "second"
      reason = "netc writes \(PyTorchArguments.describe(key, name)) as the \(place) argument, without a name"
    case .option(let name): reason = "netc calls it '\(name)'"
    case .flag(let name): reason = "netc writes '\(written)' as '\(name)'"
    case .implied(let why): reason = why
    }
    diags.error("pytorch-option", "'\(layer.keyword)' has no option '\(key)'; \(reason)", at: arg.range,
                notes: [Note("usage: \(signature.usage)")],
                fixIts: PyTorchArguments.fixIts(layer, signature, meanings, env: env, file: file))
  }

  /// What PyTorch's `key` is, for a message; `positional` is netc's name of it.
  static func describe(_ key: String, _ positional: String) -> String {
    switch key {
    case "kernel_size": return "the kernel size"
    case "out_channels": return "the output channels"
    case "in_features": return "the input size"
    case "out_features", "output_size": return "the output size"
    default: return "the \(positional)"
    }
  }

  /// The fix-its that write the arguments as netc does. Where an argument moves to a position, one fix-it
  /// rewrites them all: positional ones first, in the layer's order, then the others as written, PyTorch's
  /// translated. Otherwise each of PyTorch's is replaced (or removed) where it stands.
  static func fixIts(_ layer: LayerSyntax, _ signature: LayerSignature, _ meanings: [SourceRange: PyTorchKeyword],
                     env: Bindings, file: SourceFile) -> [FixIt] {
    let moves = meanings.values.contains { if case .positional = $0 { return true }; return false }
    if moves { return rewrite(layer, signature, meanings, env: env, file: file) }
    var fixes: [FixIt] = []
    var previousEnd = layer.keywordRange.end
    for (i, arg) in layer.args.enumerated() {
      defer { previousEnd = arg.range.end }
      guard let meaning = meanings[arg.range] else { continue }
      switch meaning {
      case .option(let name):
        fixes.append(FixIt(range: arg.keyRange ?? arg.range, replacement: name))
      case .flag(let name):
        fixes.append(FixIt(range: arg.range, replacement: name))
      case .implied, .positional:
        // Removed with the space before it (after it, for the first argument of 'relu(inplace=True)').
        let start = i == 0 && layer.functional ? arg.range.start : previousEnd
        var end = arg.range.end
        if i == 0 && layer.functional, i + 1 < layer.args.count { end = layer.args[i + 1].range.start }
        fixes.append(FixIt(range: SourceRange(start, end), replacement: ""))
      }
    }
    return fixes
  }

  /// One fix-it replacing the arguments with netc's: positional ones first in the layer's order, then the
  /// others as written, PyTorch's translated.
  static func rewrite(_ layer: LayerSyntax, _ signature: LayerSignature, _ meanings: [SourceRange: PyTorchKeyword],
                      env: Bindings, file: SourceFile) -> [FixIt] {
    guard let firstArg = layer.args.first, let lastArg = layer.args.last else { return [] }
    func valueText(_ arg: LayerArg) -> String {
      if case .dims(let ds, let r) = arg.value {
        let sizes = ds.compactMap { d -> Int? in if case .int(let v?, _) = d { return v }; return nil }
        return sizes.count == ds.count ? sizes.map(String.init).joined(separator: "x") : file.text(r)
      }
      return file.text(arg.valueRange)
    }
    let byKeyword = Set(meanings.values.compactMap { m -> String? in if case .positional(let n) = m { return n }; return nil })
    var positionalText: [String: String] = [:]
    var rest: [String] = []
    var next = 0
    for arg in layer.args {
      if let meaning = meanings[arg.range] {
        switch meaning {
        case .positional(let name): positionalText[name] = valueText(arg)
        case .option(let name): rest.append("\(name)=\(valueText(arg))")
        case .flag(let name): rest.append(name)
        case .implied: break
        }
        continue
      }
      let isFlag: Bool = if case .expr(.name(let w, _)) = arg.value { env[w] == nil } else { false }
      guard arg.key == nil, !isFlag else {
        rest.append(file.text(arg.range))
        continue
      }
      while next < signature.positional.count, byKeyword.contains(signature.positional[next]) { next += 1 }
      guard next < signature.positional.count else {
        rest.append(file.text(arg.range))
        continue
      }
      positionalText[signature.positional[next]] = file.text(arg.range)
      next += 1
    }
    let words = signature.positional.compactMap { positionalText[$0] } + rest
    if words.isEmpty {
      // Nothing is left to write: remove the arguments and the space before them.
      let start = layer.functional ? firstArg.range.start : layer.keywordRange.end
      return [FixIt(range: SourceRange(start, lastArg.range.end), replacement: "")]
    }
    return [FixIt(range: SourceRange(firstArg.range.start, lastArg.range.end), replacement: words.joined(separator: " "))]
  }
}
