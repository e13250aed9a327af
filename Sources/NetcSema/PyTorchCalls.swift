import NetcBasic
import NetcOps
import NetcSyntax

/// PyTorch's constructor calls written as a layer (`nn.Conv2d(3, 64, 3, padding=1)`, `nn.ReLU()`, `F.relu(x)`):
/// netc reads them as uses of a block, finds none, and says how netc writes the layer.
enum PyTorchCalls {
  /// The parameters of PyTorch's modules, in the order their constructors take them positionally.
  static let parameters: [String: [String]] = [
    "Conv2d": ["in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias"],
    "LazyConv2d": ["out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias"],
    "ConvTranspose2d": ["in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding", "groups",
                        "bias", "dilation"],
    "LazyConvTranspose2d": ["out_channels", "kernel_size", "stride", "padding", "output_padding", "groups", "bias",
                            "dilation"],
    "MaxPool2d": ["kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode"],
    "AvgPool2d": ["kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"],
    "AdaptiveAvgPool2d": ["output_size"],
    "AdaptiveMaxPool2d": ["output_size"],
    "Linear": ["in_features", "out_features", "bias"],
    "LazyLinear": ["out_features", "bias"],
    "Flatten": ["start_dim", "end_dim"],
    "Dropout": ["p", "inplace"],
    "BatchNorm2d": ["num_features", "eps", "momentum", "affine"],
    "BatchNorm1d": ["num_features", "eps", "momentum", "affine"],
    "LazyBatchNorm2d": ["eps", "momentum", "affine"],
    "SyncBatchNorm": ["num_features", "eps", "momentum", "affine"],
    "LocalResponseNorm": ["size", "alpha", "beta", "k"],
    "Upsample": ["size", "scale_factor", "mode", "align_corners"],
    "UpsamplingNearest2d": ["size", "scale_factor"],
    "interpolate": ["size", "scale_factor", "mode", "align_corners"],
    "Identity": [],
    "ReLU": ["inplace"], "ReLU6": ["inplace"], "SiLU": ["inplace"], "Sigmoid": [], "Tanh": [], "GELU": [],
    "LeakyReLU": ["negative_slope", "inplace"],
    "Softmax": ["dim"], "Softmax2d": [],
    "ChannelShuffle": ["groups"], "channel_shuffle": ["groups"],
  ]

  /// The compact spelling of an option given a whole number (`stride` 2 is `s2`).
  static let compactLetters = ["stride": "s", "pad": "p", "dilation": "d", "groups": "g"]

  /// The layer a PyTorch call means, written as netc writes it, and as syntax whose values are the call's
  /// own expressions (so that checking it reports at the call's text). Nil if an argument has no netc
  /// spelling, or the call is malformed.
  static func translate(_ call: CallSyntax, module: String, keyword: String, functional: Bool,
                        file: SourceFile) -> (text: String, layer: LayerSyntax)? {
    guard let spec = OperationRegistry.byKeyword[keyword], let names = parameters[module] else { return nil }
    let signature = spec.signature
    var args = call.args
    // F.relu(x), torch.flatten(x, 1): a function's first argument is its input.
    if functional {
      guard let first = args.first, first.label == nil || first.label == "input" else { return nil }
      args.removeFirst()
    }
    var keyed: [(key: String, arg: CallSyntax.Arg)] = []
    for (i, arg) in args.enumerated() {
      guard let key = arg.label ?? (i < names.count ? names[i] : nil), arg.label == nil || names.contains(key) else {
        return nil
      }
      keyed.append((key, arg))
    }
    let keys = Set(keyed.map(\.key))
    var positional: [String: LayerArg] = [:]
    var options: [LayerArg] = []
    var words: [String] = []
    func text(_ e: Expr) -> String { file.text(e.range) }
    func text(_ r: SourceRange) -> String { file.text(r) }
    for (key, arg) in keyed {
      // A layer given as an argument (`act=relu`) is a block's, never a PyTorch constructor's.
      guard case .expr(let expression) = arg.value else { return nil }
      let value = LayerArg.Value.expr(expression)
      let range = (arg.labelRange ?? arg.value.range).union(arg.value.range)
      var meaning = PyTorchKeyword.translate(key, value, keyword: keyword, signature: signature, has: { keys.contains($0) },
                                             positionalCount: 0)
      if meaning == nil, let canonical = signature.options[key] { meaning = .option(canonical) }
      switch meaning {
      case .positional(let name)?:
        positional[name] = LayerArg(key: nil, keyRange: nil, value: value, range: arg.value.range)
      case .option(let name)? where signature.positional.contains(name):
        positional[name] = LayerArg(key: nil, keyRange: nil, value: value, range: arg.value.range)
      case .option(let name)?:
        options.append(LayerArg(key: name, keyRange: arg.labelRange ?? arg.value.range, value: value, range: range))
        if let letter = compactLetters[name], case .int = expression {
          words.append(letter + text(expression))
        } else {
          words.append("\(name)=\(text(expression))")
        }
      case .flag(let name)?:
        options.append(LayerArg(key: nil, keyRange: nil, value: .expr(.name(name, range)), range: range))
        words.append(name)
      case .implied?:
        break
      case nil:
        return nil
      }
    }
    let ordered = signature.positional.compactMap { positional[$0] }
    let spelled = ordered.map { text($0.valueRange) } + words
    let written = functional ? keyword + "(" + spelled.joined(separator: " ") + ")"
      : ([keyword] + spelled).joined(separator: " ")
    let layer = LayerSyntax(keyword: keyword, keywordRange: call.nameRange, functional: functional, args: ordered + options)
    return (written, layer)
  }

  /// Where the call's ')' ends: after its last argument, past spaces and a trailing ','.
  static func end(of call: CallSyntax, in file: SourceFile) -> Int? {
    var i = call.args.last?.value.range.end ?? call.nameRange.end
    let bytes = file.bytes
    var opened = !call.args.isEmpty
    while i < bytes.count {
      switch bytes[i] {
      case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"), UInt8(ascii: ","): i += 1
      case UInt8(ascii: "(") where !opened:
        opened = true
        i += 1
      case UInt8(ascii: ")") where opened: return i + 1
      default: return nil
      }
    }
    return nil
  }
}

extension UnknownLayerReport {
  /// A call that uses no block but names a layer: `nn.Conv2d(3, 64, 3)`, `nn.ReLU()`, `F.relu(x)`, `Relu()`.
  /// Nil if the name says nothing of a layer (then it is an unknown block).
  init?(_ call: CallSyntax, file: SourceFile) {
    guard let match = LayerNames.match(call.name) else { return nil }
    let word = call.name
    let keyword: String
    switch match {
    case .module(let pytorch, let k):
      keyword = k
      id = "pytorch-name"
      message = "unknown layer '\(word)'; netc writes PyTorch's '\(pytorch)' as '\(k)'"
      if let end = PyTorchCalls.end(of: call, in: file),
        let (text, layer) = PyTorchCalls.translate(call, module: pytorch, keyword: k, functional: false, file: file) {
        fixIts = [FixIt(range: SourceRange(call.nameRange.start, end), replacement: text)]
        intended = layer
      }
    case .function(let k):
      keyword = k
      id = "pytorch-name"
      message = "unknown layer '\(word)'; netc writes PyTorch's '\(word)' as '\(k)()'"
      if let spec = OperationRegistry.byKeyword[k], let module = LayerNames.moduleName(of: spec),
        let end = PyTorchCalls.end(of: call, in: file),
        let (text, layer) = PyTorchCalls.translate(call, module: module, keyword: k, functional: true, file: file) {
        fixIts = [FixIt(range: SourceRange(call.nameRange.start, end), replacement: text)]
        intended = layer
      }
    case .lowercase(let k), .spelling(let k):
      keyword = k
      if case .lowercase = match {
        id = "keyword-case"
        message = "netc's keywords are lowercase: write '\(k)', not '\(word)'"
      } else {
        id = "unknown-layer"
        message = "unknown layer '\(word)'; did you mean '\(k)'?"
      }
      // 'Relu()' is the functional 'relu()'; a layer with weights has none, and arguments need netc's order.
      if call.args.isEmpty, !LayerNames.hasWeights(k) {
        fixIts = [FixIt(range: call.nameRange, replacement: k)]
        intended = LayerSyntax(keyword: k, keywordRange: call.nameRange, functional: true, args: [])
      }
    }
    if fixIts.isEmpty, let spec = OperationRegistry.byKeyword[keyword] {
      notes = [Note("netc writes a layer with its own arguments: \(spec.signature.usage)")]
    }
  }
}
