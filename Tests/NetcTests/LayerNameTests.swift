import Foundation
import NetcBasic
import NetcDriver
@testable import NetcOps
@testable import NetcSema
@testable import NetcSyntax
import Testing

/// PyTorch's names for netc's layers, the did-you-mean rule, and the fix-its of the diagnostics about them.
@Suite struct LayerNameTests {
  /// Every layer's usage example checks, so the registry itself says which PyTorch module each layer is.
  @Test func everyLayerNamesItsPyTorchModule() {
    for spec in OperationRegistry.layers {
      #expect(!LayerNames.moduleNames(of: spec).isEmpty, "the usage of '\(spec.keyword)' does not check")
    }
    let expected = [
      "Conv2d": "conv", "ConvTranspose2d": "convt", "MaxPool2d": "maxpool", "AvgPool2d": "avgpool",
      "AdaptiveAvgPool2d": "adaptive_avgpool", "AdaptiveMaxPool2d": "adaptive_maxpool", "Linear": "linear",
      "Flatten": "flatten", "Dropout": "dropout", "BatchNorm2d": "bn", "BatchNorm1d": "bn",
      "LocalResponseNorm": "lrn", "Upsample": "upsample", "Identity": "identity", "ReLU": "relu", "ReLU6": "relu6",
      "Sigmoid": "sigmoid", "Tanh": "tanh", "SiLU": "silu", "GELU": "gelu", "LeakyReLU": "leaky_relu",
      "Softmax": "softmax", "Hardswish": "hardswish", "Hardsigmoid": "hardsigmoid", "Mish": "mish", "ChannelShuffle": "shuffle",
      "chunk": "chunk", "crop": "crop",
      "LayerNorm": "layernorm", "LayerNorm2d": "layernorm", "Permute": "permute", "StochasticDepth": "stochastic_depth",
      "LayerScale": "layer_scale",
    ]
    #expect(LayerNames.registryModules == expected)
  }

  /// The layers with weights of their own, which have no functional form, as the registry gives them: a
  /// layer scale is a parameter of its block, written as a call.
  @Test func layersWithWeightsComeFromTheRegistry() {
    #expect(LayerNames.keywordsWithWeights == ["conv", "convt", "fc", "linear", "bn", "layernorm"])
  }

  /// The names written by hand are the ones the registry cannot give, and each is a registered layer.
  @Test func handWrittenNamesMapToRegisteredLayers() {
    for (name, keyword) in LayerNames.pytorchAliases {
      #expect(OperationRegistry.byKeyword[keyword] != nil, "\(name) -> \(keyword)")
      #expect(LayerNames.registryModules[name] == nil, "\(name) is derived from the registry already")
    }
    for (module, parameters) in PyTorchCalls.parameters {
      #expect(LayerNames.pytorchNames[module] != nil, "\(module) names no layer")
      #expect(Set(parameters).count == parameters.count, "\(module)")
    }
    for (word, combinator) in Parser.combinatorAliases {
      #expect(Parser.combinatorKeywords.contains(combinator), "\(word) -> \(combinator)")
    }
  }

  @Test func namesOfLayers() {
    let cases: [(String, LayerNames.Match?)] = [
      ("BatchNorm2d", .module(pytorch: "BatchNorm2d", keyword: "bn")),
      ("nn.BatchNorm2d", .module(pytorch: "BatchNorm2d", keyword: "bn")),
      ("torch.nn.Conv2d", .module(pytorch: "Conv2d", keyword: "conv")),
      ("batchnorm", .module(pytorch: "BatchNorm2d", keyword: "bn")),
      ("batch_norm", .module(pytorch: "BatchNorm2d", keyword: "bn")),
      ("conv2d", .module(pytorch: "Conv2d", keyword: "conv")),
      ("ConvTranspose2d", .module(pytorch: "ConvTranspose2d", keyword: "convt")),
      ("SyncBatchNorm", .module(pytorch: "SyncBatchNorm", keyword: "bn")),
      ("ReLU", .module(pytorch: "ReLU", keyword: "relu")),
      ("F.relu", .function(keyword: "relu")),
      ("F.max_pool2d", .function(keyword: "maxpool")),
      ("torch.flatten", .function(keyword: "flatten")),
      ("nn.ChannelShuffle", .module(pytorch: "ChannelShuffle", keyword: "shuffle")),
      ("F.channel_shuffle", .function(keyword: "shuffle")),
      ("torch.chunk", .function(keyword: "chunk")),
      ("F.conv2d", .module(pytorch: "conv2d", keyword: "conv")),  // weights: no functional form
      ("Conv", .lowercase(keyword: "conv")),
      ("RELU", .lowercase(keyword: "relu")),
      ("GlobalAvgPool", .spelling(keyword: "global_avgpool")),
      ("covn", nil),
      ("Bottleneck", nil),
    ]
    for (word, match) in cases { #expect(LayerNames.match(word) == match, "\(word)") }
  }

  /// One letter is one edit from any other: 'd' (dilation) must not suggest 'p' (padding).
  @Test func oneLetterWordsSuggestOnlyThemselves() {
    #expect(Suggest.closest(to: "d", in: ["p", "s", "g", "dw", "pad"]) == nil)
    #expect(Suggest.closest(to: "k", in: ["s", "p"]) == nil)
    #expect(Suggest.closest(to: "C", in: ["c", "k"]) == "c")
    #expect(Suggest.closest(to: "ch", in: ["c", "k"]) == "c")
    #expect(Suggest.closest(to: "wd", in: ["dw", "d"]) == "dw")
    #expect(Suggest.closest(to: "strid", in: ["s", "stride", "p"]) == "stride")
  }

  @Test func fixItsApplyTogether() {
    let text = Array("conv kernel_size=3 16".utf8)
    let fixes = [FixIt(range: SourceRange(5, 21), replacement: "3 16"), FixIt(range: SourceRange.point(0), replacement: "# ")]
    #expect(FixIt.apply(fixes, to: text).map { String(decoding: $0, as: UTF8.self) } == "# conv 3 16")
    let overlapping = [FixIt(range: SourceRange(0, 4), replacement: "x"), FixIt(range: SourceRange(2, 6), replacement: "y")]
    #expect(FixIt.apply(overlapping, to: text) == nil)
  }

  /// Applying every fix-it of these bad inputs, as an editor's "fix all" does (again while it leaves
  /// errors, since the engine reports one per line), gives a file that checks.
  @Test(arguments: ["unknown-combinator", "keyword-case", "pytorch-layer-names", "pytorch-calls", "pytorch-options",
                    "tuple-options", "pytorch-case-layer", "input-tuple", "relu-inplace"])
  func fixItsMakeTheFileCheck(name: String) throws {
    let url = DiagnosticTests.folder.appendingPathComponent("\(name).net")
    var bytes = Array(try Data(contentsOf: url))
    var c = Pipeline.compile(path: "\(name).net", bytes: bytes)
    for _ in 0..<4 where c.diagnostics.hasErrors {
      let fixes = c.diagnostics.diagnostics.filter { $0.severity == .error }.flatMap(\.fixIts)
      #expect(!fixes.isEmpty, "\(name): errors without fix-its")
      guard let fixed = FixIt.apply(fixes, to: bytes) else {
        Issue.record("\(name): overlapping fix-its")
        return
      }
      bytes = fixed
      c = Pipeline.compile(path: "\(name).net", bytes: bytes)
    }
    let rendered = DiagnosticRenderer(useColor: false).render(c.diagnostics.diagnostics, in: c.file)
    #expect(!c.diagnostics.hasErrors, "\(name) after its fix-its:\n\(String(decoding: bytes, as: UTF8.self))\n\(rendered)")
  }
}
