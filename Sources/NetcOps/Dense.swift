import NetcBasic
import NetcKernels

/// Linear: `y = x W^T + b`, on a flat vector, or on each pixel of a channels-last map (PyTorch's Linear
/// acts on the last dimension), as ConvNeXt's blocks use it.
public struct LinearOp: Operation, Equatable {
  public var inFeatures: Int
  public var outFeatures: Int
  public var bias: Bool
  /// The height and width of the channels-last map it acts on pixel by pixel; 0 on a flat vector.
  public var mapHeight = 0, mapWidth = 0

  public var isOverMap: Bool { mapHeight > 0 }
  public func moduleName(input: Shape) -> String { "Linear" }
  public var family: OperationFamily { .linear }
  public var spelling: (keyword: String, arguments: [String]) { ("fc", [String(outFeatures)]) }
  public var absorbsBatchNorm: Bool { !isOverMap }
  /// Over a map it runs as a 1x1 convolution, which adds a residual as it writes.
  public var acceptsResidual: Bool { isOverMap }
  public var planText: String { isOverMap ? "fc per pixel" : "fc" }
  public var planName: String { "linear" }
  public func planJSON(_ node: NodeTensors) -> [(String, JSONValue)] {
    [("weights", .string(node.weights ?? "")), ("bias", .bool(bias)), ("batch_norm", node.batchNorm?.json ?? .null),
     ("in_features", .int(inFeatures)), ("out_features", .int(outFeatures))]
      + (isOverMap ? [("channels_last_map", Spelling.json((mapHeight, mapWidth)))] : [])
  }
  public func pytorch(_ x: PyTorchOperands) -> PyTorchCode {
    .module("nn.Linear(\(inFeatures), \(outFeatures)\(bias ? "" : ", bias=False"))")
  }
  /// Gemm on a flat vector; on a map, MatMul by the transposed weight (Gemm takes matrices only), then
  /// the bias.
  public func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String {
    let name = x.weights ?? "fc"
    guard isOverMap else {
      return w.step("Gemm", [x.x, "\(name).weight"] + (bias ? ["\(name).bias"] : []), [.int("transB", 1)], name: name, suffix: "fc")
    }
    let wt = w.step("Transpose", ["\(name).weight"], [.ints("perm", [1, 0])], name: nil, suffix: "fc_weight_t", dims: nil)
    let y = w.step("MatMul", [x.x, wt], [], name: name, suffix: "fc_matmul")
    return bias ? w.step("Add", [y, "\(name).bias"], suffix: "fc") : y
  }
}

/// Flatten: a view of its input as a vector.
public struct FlattenOp: Operation, Equatable {
  public func moduleName(input: Shape) -> String { "Flatten" }
  public var spelling: (keyword: String, arguments: [String]) { ("flatten", []) }
  public var isCompact: Bool { true }
  public var role: LoweringRole { .view }
  public var planText: String { "flatten" }
  public func pytorch(_ x: PyTorchOperands) -> PyTorchCode { .expression("torch.flatten(\(x.x), 1)") }
  /// A view: lowering leaves no node, and the ONNX emitter reshapes the value where it is read.
  public func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String { x.x }
}

/// torchvision's Permute([0, 2, 3, 1]) and Permute([0, 3, 1, 2]): a CxHxW map channels-last and back. A
/// view: netc's kernels keep a channels-last map in channels-first storage and read it as such.
public struct PermuteOp: Operation, Equatable {
  public var toChannelsLast: Bool
  public var order: [Int] { toChannelsLast ? [0, 2, 3, 1] : [0, 3, 1, 2] }
  public func moduleName(input: Shape) -> String { "Permute" }
  public var spelling: (keyword: String, arguments: [String]) { ("permute", order.map(String.init)) }
  public var isCompact: Bool { true }
  public var role: LoweringRole { .view }
  public var planText: String { "permute" }
  public func pytorch(_ x: PyTorchOperands) -> PyTorchCode {
    .expression("\(x.x).permute(\(order.map(String.init).joined(separator: ", ")))")
  }
  /// A view: the ONNX emitter transposes the value where it is read.
  public func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String { x.x }
}

/// torchvision's StochasticDepth: in training, drops a whole residual branch with probability p per
/// batch item ("row") or for the whole batch ("batch"); the identity at inference.
public struct StochasticDepthOp: Operation, Equatable {
  public var p: Double
  public var perRow: Bool
  public var mode: String { perRow ? "row" : "batch" }
  public func moduleName(input: Shape) -> String { "StochasticDepth" }
  public var spelling: (keyword: String, arguments: [String]) {
    ("stochastic_depth", [Spelling.number(p)] + (perRow ? [] : ["batch"]))
  }
  public var isCompact: Bool { true }
  public var role: LoweringRole { .view }
  public var planText: String { "stochastic_depth" }
  public func pytorch(_ x: PyTorchOperands) -> PyTorchCode {
    .expression("stochastic_depth(\(x.x), \(Spelling.pythonFloat(p)), '\(mode)', self.training)")
  }
  public var pytorchDefinition: String? {
    """
    def stochastic_depth(x, p, mode, training):
        \"\"\"torchvision.ops.stochastic_depth: in training, zeroes whole batch items ('row') or the whole
        batch ('batch') with probability p and scales the rest by 1 / (1 - p); the identity at inference.\"\"\"
        if not training or p == 0.0:
            return x
        survival = 1.0 - p
        size = [x.shape[0]] + [1] * (x.ndim - 1) if mode == "row" else [1] * x.ndim
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise
    """
  }
  public func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String { x.x }
}

/// Dropout: the identity at inference.
public struct DropoutOp: Operation, Equatable {
  public var p: Double
  public func moduleName(input: Shape) -> String { "Dropout" }
  public var spelling: (keyword: String, arguments: [String]) { ("dropout", [Spelling.number(p)]) }
  public var isCompact: Bool { true }
  public var role: LoweringRole { .view }
  public var planText: String { "dropout" }
  public func pytorch(_ x: PyTorchOperands) -> PyTorchCode {
    .expression("F.dropout(\(x.x), \(Spelling.pythonFloat(p)), self.training)")
  }
  public func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String { x.x }
}

/// `fc`/`linear`, `flatten`, `dropout`, `stochastic_depth` and `permute`.
enum DenseLayers {
  static let specs: [LayerSpec] = [linear("fc"), linear("linear"),
    LayerSpec(keyword: "flatten",
              signature: LayerSignature(positional: [], required: 0, options: [:], flags: [], usage: "flatten"),
              check: { a, input, at, diags in
                guard LayerCheck.refuseChannelsLast(a.keyword, input, at, &diags) else { return nil }
                guard let n = try? cproduct(input.shape.dims) else {
                  diags.error("size-overflow", "the flattened size overflows", at: at)
                  return nil
                }
                return Resolved(op: FlattenOp(), output: Shape([n]))
              }),
    LayerSpec(keyword: "dropout",
              signature: LayerSignature(positional: ["p"], required: 0, options: ["p": "p"], flags: [],
                                        usage: "dropout 0.5", preservesShape: true),
              check: { a, input, _, diags in
                guard let p = a.double("p", default: 0.5, &diags) else { return nil }
                guard p >= 0, p <= 1 else {
                  diags.error("out-of-range", "dropout probability must be between 0 and 1, found \(p)", at: a.range("p"))
                  return nil
                }
                return Resolved(op: DropoutOp(p: p), output: input.shape)
              }),
    LayerSpec(keyword: "stochastic_depth",
              signature: LayerSignature(positional: ["p"], required: 1, options: ["p": "p"], flags: ["row", "batch"],
                                        usage: "stochastic_depth 0.1", preservesShape: true),
              check: { a, input, at, diags in
                guard let p = a.double("p", default: 0, &diags) else { return nil }
                guard p >= 0, p <= 1 else {
                  diags.error("out-of-range", "stochastic depth probability must be between 0 and 1, found \(p)", at: a.range("p"))
                  return nil
                }
                if a.flag("row") && a.flag("batch") {
                  diags.error("conflicting-options", "choose one of 'row' and 'batch'", at: at)
                  return nil
                }
                return Resolved(op: StochasticDepthOp(p: p, perRow: !a.flag("batch")), output: input.shape)
              }),
    LayerSpec(keyword: "permute",
              signature: LayerSignature(positional: permuteDimensions, required: 4, options: [:], flags: [],
                                        usage: "permute 0 2 3 1"),
              check: permute),
  ]

  /// PyTorch's `dims`, the batch's first: the names its diagnostics give them.
  static let permuteDimensions = ["first dimension", "second dimension", "third dimension", "fourth dimension"]

  /// `permute 0 2 3 1` takes a CxHxW map channels-last, `permute 0 3 1 2` back: the two permutations
  /// ConvNeXt uses, and the only ones whose result netc's layers know how to read.
  static func permute(_ a: any LayerArguments, _ input: LayerInput, _ at: SourceRange, _ diags: inout DiagnosticEngine) -> Resolved? {
    var order: [Int] = []
    for d in permuteDimensions {
      guard let v = a.int(d, min: 0, &diags) else { return nil }
      order.append(v)
    }
    let x = input.shape
    let written = "permute " + order.map(String.init).joined(separator: " ")
    let range = a.range(permuteDimensions[0]).union(a.range(permuteDimensions[3]))
    guard order == [0, 2, 3, 1] || order == [0, 3, 1, 2] else {
      diags.error("unsupported-permutation", "netc permutes a feature map channels-last and back only, not as '\(written)'",
                  at: range, notes: [Note("'permute 0 2 3 1' makes a CxHxW map HxWxC, 'permute 0 3 1 2' makes it CxHxW again")])
      return nil
    }
    let toChannelsLast = order == [0, 2, 3, 1]
    guard x.dims.count == 3 else {
      var notes: [Note] = []
      if let r = input.flattenedAt { notes.append(Note("the input was flattened here", at: r)) }
      diags.error("needs-spatial-input", "'permute' needs a feature map, found the flat shape \(x)", at: at, notes: notes)
      return nil
    }
    guard toChannelsLast != x.channelsLast else {
      let other = toChannelsLast ? "permute 0 3 1 2" : "permute 0 2 3 1"
      diags.error("permute-mismatch",
                  "'\(written)' expects a \(toChannelsLast ? "CxHxW" : "channels-last") map, found \(x.described)",
                  at: range, notes: [Note("'\(other)' permutes this input")])
      return nil
    }
    return Resolved(op: PermuteOp(toChannelsLast: toChannelsLast), output: x.permuted(channelsLast: toChannelsLast))
  }

  static func linear(_ keyword: String) -> LayerSpec {
    LayerSpec(keyword: keyword,
              signature: LayerSignature(positional: ["size", "second size"], required: 1, options: [:],
                                        flags: ["nobias", "frozen"], usage: "\(keyword) 4096  (or '\(keyword) 9216 4096')"),
              check: { a, input, at, diags in
                let x = input.shape
                if x.isSpatial {
                  diags.error("needs-flat-input", "'\(a.keyword)' needs a flat input, found \(x)", at: at,
                              notes: [Note("insert 'flatten' (a Flatten module) or 'flatten()' (torch.flatten) before it"),
                                      Note("or, for a linear layer on the channels of each pixel, 'permute 0 2 3 1' before it")],
                              fixIts: [FixIt(range: SourceRange.point(at.start), replacement: "flatten, ")])
                }
                // The sizes are read whatever the input: a mistake in them does not depend on it.
                let first = a.int("size", &diags)
                let second = a.has("second size") ? a.int("second size", &diags) : first
                guard let first, let second else { return nil }
                // Its output is its size whatever the input: after the error the layers after it are checked.
                if x.isSpatial { return Resolved(op: IdentityOp(), output: Shape([second])) }
                // On a channels-last map it acts on the channels of each pixel (PyTorch's last dimension).
                let features = x.channelsLast ? x.channels : x.dims[0]
                var outF = first
                if a.has("second size") {
                  outF = second
                  if first != features {
                    var notes: [Note] = []
                    if let from = input.flattenedFrom, let r = input.flattenedAt {
                      notes.append(Note("the input is \(from) = \(grouped(x.dims[0])), flattened here", at: r))
                    }
                    notes.append(Note("write '\(a.keyword) \(features) \(second)', or just '\(a.keyword) \(second)' to take the size from the input"))
                    let received = x.channelsLast ? "\(grouped(features)) per pixel of \(x.described)"
                      : "\(input.flattenedFrom.map { "\($0) = " } ?? "")\(grouped(features))"
                    diags.error("fc-input-mismatch", "'\(a.keyword)' expects \(grouped(first)) inputs but receives \(received)",
                                at: a.range("size"), notes: notes)
                    // The output is the second size whatever the first: the layers after it can be checked.
                  }
                }
                let trainable = !a.flag("frozen")
                var params = [LayerCheck.tensor("weight", [outF, features], trainable: trainable, .heNormal(fanIn: features))]
                if !a.flag("nobias") { params.append(LayerCheck.tensor("bias", [outF], trainable: trainable, .zeros)) }
                var op = LinearOp(inFeatures: features, outFeatures: outF, bias: !a.flag("nobias"))
                guard x.channelsLast else { return Resolved(op: op, output: Shape([outF]), params: params) }
                (op.mapHeight, op.mapWidth) = (x.height, x.width)
                return Resolved(op: op, output: Shape([x.height, x.width, outF], channelsLast: true), params: params)
              })
  }
}

// MARK: Kernel binding

extension LinearOp {
  /// Over a channels-last map, which netc stores channels-first, the layer is a 1x1 convolution: its
  /// weight [out][in] is the convolution's [out][in][1][1].
  var pixelwise: ConvOp {
    ConvOp(inChannels: inFeatures, outChannels: outFeatures, kernel: (1, 1), stride: (1, 1), padTop: 0, padLeft: 0,
           padBottom: 0, padRight: 0, dilation: (1, 1), groups: 1, bias: bias, transposed: false, outputPadding: (0, 0))
  }
  /// The 1x1 convolution's node: its input and output as channels-first maps.
  func pixelwiseNode(_ node: KernelNode) -> KernelNode {
    var n = node
    n.inputShapes = node.inputShapes.map { $0.permuted(channelsLast: false) }
    n.outputShape = node.outputShape.permuted(channelsLast: false)
    return n
  }

  public func prepare(_ weights: NetcPreparedWeights, _ reader: any NetcTensorReader, _ node: KernelNode) throws -> NetcPreparedLayer {
    if isOverMap { return try pixelwise.prepare(weights, reader, pixelwiseNode(node)) }
    return try weights.appendLinear(reader, name: node.name, hasBias: bias, batchNorm: node.netcBatchNorm, inFeatures: inFeatures,
                                    outFeatures: outFeatures)
  }
  public func prepareText(_ node: KernelNode) -> String {
    if isOverMap { return pixelwise.prepareText(pixelwiseNode(node)) }
    return "try p.appendLinear(t, name: \"\(node.name)\", hasBias: \(bias), batchNorm: \(node.netcBatchNormText), inFeatures: \(inFeatures), outFeatures: \(outFeatures))"
  }
  public func scratchFloats(_ node: KernelNode) -> Int { isOverMap ? pixelwise.scratchFloats(pixelwiseNode(node)) : 0 }
  public func scratchText(_ node: KernelNode) -> String? { isOverMap ? pixelwise.scratchText(pixelwiseNode(node)) : nil }
  public func run(_ k: KernelRun) {
    if isOverMap {
      var c = k
      c.node = pixelwiseNode(k.node)
      return pixelwise.run(c)
    }
    netcLinear(inFeatures: inFeatures, outFeatures: outFeatures, batch: k.batch, input: k.x, inStride: k.xs,
               weight: k.weight!, bias: k.bias, output: k.y, outStride: k.ys, act: k.act, slope: k.slope)
  }
  public func runText(_ k: KernelCallText) -> String {
    if isOverMap {
      var c = k
      c.node = pixelwiseNode(k.node)
      return pixelwise.runText(c)
    }
    return "netcLinear(inFeatures: \(inFeatures), outFeatures: \(outFeatures), batch: batch, \(k.x), weight: \(k.weight)!, bias: \(k.bias), \(k.y), \(k.epilogue))"
  }
}

// Views: lowering makes them aliases of their input, so no kernel ever runs them.
extension FlattenOp {
  public func run(_ k: KernelRun) { unreachable(self) }
  public func runText(_ k: KernelCallText) -> String { unreachable(self) }
}

extension DropoutOp {
  public func run(_ k: KernelRun) { unreachable(self) }
  public func runText(_ k: KernelCallText) -> String { unreachable(self) }
}

extension PermuteOp {
  public func run(_ k: KernelRun) { unreachable(self) }
  public func runText(_ k: KernelCallText) -> String { unreachable(self) }
}

extension StochasticDepthOp {
  public func run(_ k: KernelRun) { unreachable(self) }
  public func runText(_ k: KernelCallText) -> String { unreachable(self) }
}
