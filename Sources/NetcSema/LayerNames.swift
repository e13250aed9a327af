import NetcBasic
import NetcOps
import NetcSyntax

/// The names a spec may use for a layer that are not netc's keywords but say which one is meant: PyTorch's
/// module names (`BatchNorm2d`, `nn.Conv2d`), its functions (`F.relu`, `F.max_pool2d`) and netc's own
/// keywords written with capitals (`Conv`).
enum LayerNames {
  /// PyTorch's module name -> netc's keyword, read off the registry: every layer's usage example is checked
  /// on a CxHxW and on a flat input, and the op it resolves to names its module (`Op.moduleName`). Where
  /// several keywords print as one module (`fc` and `linear` as `Linear`, `adaptive_avgpool` and
  /// `global_avgpool` as `AdaptiveAvgPool2d`), the keyword whose spelling is closest to the module's wins.
  static let registryModules: [String: String] = {
    var modules: [String: [String]] = [:]
    for (keyword, spec) in OperationRegistry.byKeyword {
      for name in moduleNames(of: spec) { modules[name, default: []].append(keyword) }
    }
    return modules.reduce(into: [:]) { table, entry in
      table[entry.key] = closestKeyword(to: entry.key, among: entry.value)
    }
  }()

  /// PyTorch names the registry cannot give: modules and functions that are another name for one of netc's
  /// layers. `Tests/NetcTests/LayerNameTests.swift` checks that each maps to a registered keyword.
  static let pytorchAliases: [String: String] = [
    "Softmax2d": "softmax",            // softmax over the channels, as netc's 'softmax'
    "UpsamplingNearest2d": "upsample", // nearest is 'upsample's default mode
    "interpolate": "upsample",         // F.interpolate, nearest by default
    "LazyConv2d": "conv",              // takes its input channels from the input, as netc's 'conv' does
    "LazyConvTranspose2d": "convt",
    "LazyLinear": "fc",
    "LazyBatchNorm2d": "bn",
    "SyncBatchNorm": "bn",
    "channel_shuffle": "shuffle",      // F.channel_shuffle, torch.channel_shuffle: the function of ChannelShuffle
  ]

  /// The PyTorch modules a layer's usage example resolves to, on a CxHxW and on a flat input.
  static func moduleNames(of spec: LayerSpec) -> Set<String> {
    Set(usageResolutions(of: spec).map { $0.resolved.op.moduleName(input: $0.input) })
  }

  /// What a layer's usage example resolves to without errors, on a CxHxW and on a flat input, with that input.
  static func usageResolutions(of spec: LayerSpec) -> [(input: Shape, resolved: Resolved)] {
    // The usage may add an alternative after two spaces: "fc 4096  (or 'fc 9216 4096')".
    let usage = Array(spec.signature.usage.utf8)
    let end = (0..<usage.count).first { usage[$0] == UInt8(ascii: " ") && $0 + 1 < usage.count && usage[$0 + 1] == UInt8(ascii: " ") }
    let example = String(decoding: usage[..<(end ?? usage.count)], as: UTF8.self)
    let file = SourceFile(path: "usage", text: example)
    var diags = DiagnosticEngine(file: file, errorLimit: 1000)
    let tree = Parser.parse(file, diagnostics: &diags)
    guard let first = tree.body.first, case .layer(let layer) = first.kind, layer.keyword == spec.keyword,
      let args = LayerArgs(layer, spec.signature, env: Bindings(), &diags)
    else { return [] }
    var results: [(input: Shape, resolved: Resolved)] = []
    for shape in [Shape([64, 32, 32]), Shape([4096])] {
      var scratch = DiagnosticEngine(file: file, errorLimit: 1000)
      // A layer goes on after some errors (an `fc` on a spatial input, as an identity): only a clean result counts.
      if let resolved = spec.check(args, LayerInput(shape: shape), first.range, &scratch), !scratch.hasErrors {
        results.append((shape, resolved))
      }
    }
    return results
  }

  /// The module a layer prints as on a CxHxW input (or on a flat one, for a layer that takes only those).
  static func moduleName(of spec: LayerSpec) -> String? {
    moduleNames(of: spec).min { ($0.hasSuffix("2d") ? 0 : 1, $0) < ($1.hasSuffix("2d") ? 0 : 1, $1) }
  }

  /// `BatchNorm2d`, `batch_norm`, `batchnorm` and `nn.BatchNorm2d` all read as `batchnorm`.
  static func normalized(_ name: String) -> String {
    var s = (name.split(separator: ".").last.map(String.init) ?? name).lowercased().filter { $0 != "_" }
    for suffix in ["2d", "1d"] where s.hasSuffix(suffix) && s.count > suffix.count {
      s = String(s.dropLast(suffix.count))
    }
    return s
  }

  static func closestKeyword(to module: String, among keywords: [String]) -> String {
    let target = normalized(module)
    return keywords.min { a, b in
      (Suggest.editDistance(normalized(a), target), a) < (Suggest.editDistance(normalized(b), target), b)
    } ?? ""
  }

  /// Every PyTorch name netc knows, with its keyword.
  static let pytorchNames: [String: String] = registryModules.merging(pytorchAliases) { registry, _ in registry }

  /// Each layer keyword by its normalized spelling (`max_pool` and `MaxPool` both find `maxpool`), the first
  /// in sorted order where two normalize alike; made once, since every unknown word is looked up.
  static let byNormalizedKeyword: [String: String] = {
    var table: [String: String] = [:]
    for keyword in OperationRegistry.byKeyword.keys.sorted() where table[normalized(keyword)] == nil {
      table[normalized(keyword)] = keyword
    }
    return table
  }()

  /// PyTorch's names by their normalized spelling; where two share one (`BatchNorm2d` and `BatchNorm1d`),
  /// the 2d module, which is what a CxHxW network means.
  static let byNormalizedName: [String: String] = {
    var table: [String: String] = [:]
    for name in pytorchNames.keys.sorted(by: { ($0.hasSuffix("2d") ? 0 : 1, $0) < ($1.hasSuffix("2d") ? 0 : 1, $1) }) {
      let key = normalized(name)
      if table[key] == nil { table[key] = name }
    }
    return table
  }()

  enum Match: Equatable {
    /// A keyword in capitals: `Conv`, `RELU`.
    case lowercase(keyword: String)
    /// PyTorch's name of the module, or a spelling of it (`batchnorm`, `max_pool2d`).
    case module(pytorch: String, keyword: String)
    /// PyTorch's function (`F.relu`, `torch.flatten`): netc's functional form.
    case function(keyword: String)
    /// A spelling of one of netc's keywords without its underscore or in capitals (`LeakyRelu`, `globalavgpool`).
    case spelling(keyword: String)
  }

  /// Which layer `word` names, if it names one netc has under another spelling.
  static func match(_ word: String) -> Match? {
    let parts = word.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    let base = parts.last ?? word
    let qualifier = parts.dropLast().last
    let registry = OperationRegistry.byKeyword
    // 'F.relu', 'torch.flatten', 'F.max_pool2d': a function; layers with weights have no functional form.
    if let qualifier, ["F", "functional", "torch"].contains(qualifier) {
      let keyword = registry[base] != nil ? base : byNormalizedName[normalized(base)].flatMap { pytorchNames[$0] }
      if let keyword {
        return LayerNames.hasWeights(keyword) ? .module(pytorch: base, keyword: keyword) : .function(keyword: keyword)
      }
    }
    if let keyword = pytorchNames[base] { return .module(pytorch: base, keyword: keyword) }
    if qualifier == nil, registry[base.lowercased()] != nil { return .lowercase(keyword: base.lowercased()) }
    let key = normalized(base)
    if let name = byNormalizedName[key], let keyword = pytorchNames[name] {
      return .module(pytorch: name, keyword: keyword)
    }
    if let keyword = byNormalizedKeyword[key] { return .spelling(keyword: keyword) }
    return nil
  }

  /// The layers with weights of their own (`conv`, `bn`, `layernorm`), which therefore have no functional
  /// form, read off the registry: their usage example owns parameters or buffers. A parameter of the
  /// enclosing module (`layer_scale`) is written as a call, so it is not one of them.
  static let keywordsWithWeights: Set<String> = Set(OperationRegistry.layers.filter { spec in
    !spec.signature.parameterOfEnclosingModule
      && usageResolutions(of: spec).contains { !($0.resolved.params.isEmpty && $0.resolved.buffers.isEmpty) }
  }.map(\.keyword))

  static func hasWeights(_ keyword: String) -> Bool { keywordsWithWeights.contains(keyword) }
}

/// What the checker says about a layer keyword it does not know, and how it reads the layer afterwards.
struct UnknownLayerReport {
  var id: String
  var message: String
  var notes: [Note] = []
  var fixIts: [FixIt] = []
  /// The layer as netc reads it to check the rest of the file, when the name says unambiguously which
  /// layer is meant (the error stands); nil when it does not.
  var intended: LayerSyntax?

  /// `conv` written `Conv`, `bn` written `BatchNorm2d`; a did-you-mean among `candidates` otherwise.
  init(_ layer: LayerSyntax, candidates: [String], env: Bindings) {
    let word = layer.keyword
    guard let match = LayerNames.match(word) else {
      id = "unknown-layer"
      let hint = Suggest.closest(to: word, in: candidates).map { "; did you mean '\($0)'?" } ?? ""
      message = "unknown layer '\(word)'\(hint)"
      return
    }
    let keyword: String
    var functional = layer.functional
    switch match {
    case .lowercase(let k):
      keyword = k
      id = "keyword-case"
      message = "netc's keywords are lowercase: write '\(k)', not '\(word)'"
    case .module(let pytorch, let k):
      keyword = k
      id = "pytorch-name"
      message = "unknown layer '\(word)'; netc writes PyTorch's '\(pytorch)' as '\(k)'"
    case .function(let k):
      keyword = k
      // 'F.relu' alone is the functional 'relu()'; with arguments written after it, it can only be a layer.
      functional = functional || layer.args.isEmpty || OperationRegistry.byKeyword[k]?.signature.functionOnly == true
      id = "pytorch-name"
      message = "unknown layer '\(word)'; netc writes PyTorch's '\(word)' as '\(functional ? k + "()" : k)'"
    case .spelling(let k):
      keyword = k
      id = "unknown-layer"
      message = "unknown layer '\(word)'; did you mean '\(k)'?"
    }
    guard let spec = OperationRegistry.byKeyword[keyword] else { return }
    var intended = layer
    intended.keyword = keyword
    // A layer PyTorch has only as a function is read as one; written without parentheses, its usage says how.
    let unwrapped = spec.signature.functionOnly && !layer.functional && !layer.args.isEmpty
    if spec.signature.functionOnly { functional = true }
    intended.functional = functional
    // The fix-it only where the arguments as written are right for netc's layer; else its usage says how.
    var scratch = DiagnosticEngine(file: SourceFile(path: "", bytes: []), errorLimit: 1000)
    if !unwrapped, LayerArgs(intended, spec.signature, env: env, &scratch) != nil, !scratch.hasErrors {
      let spelled = functional && !layer.functional ? keyword + "()" : keyword
      fixIts = [FixIt(range: layer.keywordRange, replacement: spelled)]
    } else {
      notes = [Note("usage: \(spec.signature.usage)")]
    }
    self.intended = intended
  }
}
