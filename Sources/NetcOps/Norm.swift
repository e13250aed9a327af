import NetcBasic
import NetcKernels

/// BatchNorm2d (BatchNorm1d on a flat input), in inference: `(x - mean) / sqrt(var + eps) * weight + bias`.
public struct BatchNormOp: Operation, Equatable {
  public var channels: Int
  public var eps: Double
  public var momentum: Double
  public var affine: Bool

  public func moduleName(input: Shape) -> String { input.isSpatial ? "BatchNorm2d" : "BatchNorm1d" }
  public var family: OperationFamily { .norm }
  public var isCompact: Bool { true }
  public var spelling: (keyword: String, arguments: [String]) { ("bn", []) }
  public var role: LoweringRole { .batchNorm(eps: eps, affine: affine) }
  public var parameterPrefix: String { "bn" }
  public var planText: String { "bn" }
  public var planName: String { "batch_norm" }

  func reference(_ name: String?) -> BatchNormRef {
    BatchNormRef(name: name ?? "bn", channels: channels, eps: eps, affine: affine)
  }

  public func planJSON(_ node: NodeTensors) -> [(String, JSONValue)] { [("batch_norm", reference(node.weights).json)] }

  public func pytorch(_ x: PyTorchOperands) -> PyTorchCode {
    var args = "\(channels)"
    if eps != 1e-5 { args += ", eps=\(eps)" }
    if momentum != 0.1 { args += ", momentum=\(momentum)" }
    if !affine { args += ", affine=False" }
    return .module("nn.\(x.inputShapes[0].isSpatial ? "BatchNorm2d" : "BatchNorm1d")(\(args))")
  }

  public func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String {
    Self.onnx(w, reference(x.weights), x.x)
  }

  /// BatchNormalization with the layer's own tensors, standalone or folded into the layer before it at
  /// inference. Without affine parameters (`bn noaffine`) the scale and shift are constants of ones and
  /// zeros, `<bn>.unit_scale` and `<bn>.zero_shift`.
  public static func onnx(_ w: any ONNXWriting, _ bn: BatchNormRef, _ x: String) -> String {
    let scale = bn.affine ? "\(bn.name).weight" : w.constant("\(bn.name).unit_scale", [Float](repeating: 1, count: bn.channels), dims: [bn.channels])
    let shift = bn.affine ? "\(bn.name).bias" : w.constant("\(bn.name).zero_shift", [Float](repeating: 0, count: bn.channels), dims: [bn.channels])
    return w.step("BatchNormalization", [x, scale, shift, "\(bn.name).running_mean", "\(bn.name).running_var"],
                  [.float("epsilon", Float(bn.eps))], name: bn.name, suffix: "bn")
  }
}

/// LocalResponseNorm: x / (k + alpha/size * sum of squares over channels [c - size/2, c + (size-1)/2])^beta.
public struct LRNOp: Operation, Equatable {
  public var size: Int
  public var alpha: Double
  public var beta: Double
  public var k: Double

  public func moduleName(input: Shape) -> String { "LocalResponseNorm" }
  public var family: OperationFamily { .norm }
  public var isCompact: Bool { true }
  public var spelling: (keyword: String, arguments: [String]) { ("lrn", [String(size)]) }
  public var planText: String { "lrn \(size)" }
  public func planJSON(_ node: NodeTensors) -> [(String, JSONValue)] {
    [("size", .int(size)), ("alpha", .double(alpha)), ("beta", .double(beta)), ("k", .double(k))]
  }

  public func pytorch(_ x: PyTorchOperands) -> PyTorchCode {
    .expression("F.local_response_norm(\(x.x), \(size), alpha=\(alpha), beta=\(beta), k=\(Spelling.pythonFloat(k)))")
  }

  /// ONNX's LRN centres an even window the other way ([c - (size-1)/2, c + size/2]), so for even sizes the
  /// sum is a 1x1 convolution of x^2 with a band of ones (`netc.lrn_window.<C>x<size>`).
  public func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String {
    if size % 2 == 1 {
      return w.step("LRN", [x.x], [.int("size", size), .float("alpha", Float(alpha)), .float("beta", Float(beta)),
                                   .float("bias", Float(k))], suffix: "lrn")
    }
    let c = x.inputDims[0][0]
    var band = [Float](repeating: 0, count: c * c)
    for o in 0..<c {
      for i in max(0, o - size / 2)...min(c - 1, o + (size - 1) / 2) { band[o * c + i] = 1 }
    }
    let final = w.nodeName
    let window = w.constant("netc.lrn_window.\(c)x\(size)", band, dims: [c, c, 1, 1])
    let sq = w.step("Mul", [x.x, x.x], suffix: "lrn_square")
    let sum = w.step("Conv", [sq, window], [.ints("kernel_shape", [1, 1])], suffix: "lrn_sum")
    let scaled = w.step("Mul", [sum, w.constant("netc.\(final).alpha_over_size", [Float(alpha / Double(size))], dims: [])], suffix: "lrn_scale")
    let base = w.step("Add", [scaled, w.constant("netc.\(final).k", [Float(k)], dims: [])], suffix: "lrn_base")
    let div = w.step("Pow", [base, w.constant("netc.\(final).beta", [Float(beta)], dims: [])], suffix: "lrn_pow")
    return w.step("Div", [x.x, div], suffix: "lrn")
  }
}

/// A layer norm over the channels at each pixel: nn.LayerNorm(C) on a channels-last map or a flat vector,
/// torchvision's LayerNorm2d (ConvNeXt's stem, downsampling and head) on a CxHxW map, which permutes its
/// input channels-last around F.layer_norm and back. Both compute (x - mean) / sqrt(var + eps) * weight +
/// bias over the C values of each pixel, with the biased variance.
public struct LayerNormOp: Operation, Equatable {
  public var channels: Int
  public var eps: Double
  public var affine: Bool
  /// On a CxHxW map: LayerNorm2d.
  public var channelsFirst: Bool

  public func moduleName(input: Shape) -> String { input.isSpatial ? "LayerNorm2d" : "LayerNorm" }
  public var family: OperationFamily { .norm }
  public var isCompact: Bool { true }
  public var spelling: (keyword: String, arguments: [String]) { ("layernorm", []) }
  public var parameterPrefix: String { "ln" }
  public var planText: String { "layernorm" }
  public var planName: String { "layer_norm" }
  public func planJSON(_ node: NodeTensors) -> [(String, JSONValue)] {
    [("weights", node.weights.map { .string($0) } ?? .null), ("channels", .int(channels)), ("eps", .double(eps)),
     ("affine", .bool(affine)), ("channels_first", .bool(channelsFirst))]
  }

  public func pytorch(_ x: PyTorchOperands) -> PyTorchCode {
    let eps = Spelling.pythonFloat(self.eps)
    guard affine else {
      let norm = { (v: String) in "F.layer_norm(\(v), (\(channels),), eps=\(eps))" }
      return .expression(channelsFirst ? norm("\(x.x).permute(0, 2, 3, 1)") + ".permute(0, 3, 1, 2)" : norm(x.x))
    }
    return .module("\(channelsFirst ? "LayerNorm2d" : "nn.LayerNorm")(\(channels), eps=\(eps))")
  }

  public var pytorchDefinition: String? {
    guard channelsFirst && affine else { return nil }
    return """
      class LayerNorm2d(nn.LayerNorm):
          \"\"\"torchvision's: a layer norm over the channels at each pixel of a CxHxW map.\"\"\"

          def forward(self, x):
              x = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps)
              return x.permute(0, 3, 1, 2)
      """
  }

  /// LayerNormalization over the last axis (opset 17), between Transposes on a CxHxW map, as LayerNorm2d
  /// computes it. Without affine parameters the scale and shift are constants of ones and zeros.
  public func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String {
    let name = x.weights ?? "ln"
    let scale = affine ? "\(name).weight" : w.constant("netc.layer_norm.unit_scale.\(channels)", [Float](repeating: 1, count: channels), dims: [channels])
    let shift = affine ? "\(name).bias" : w.constant("netc.layer_norm.zero_shift.\(channels)", [Float](repeating: 0, count: channels), dims: [channels])
    let attrs: [ONNXAttribute] = [.int("axis", -1), .float("epsilon", Float(eps))]
    guard channelsFirst else { return w.step("LayerNormalization", [x.x, scale, shift], attrs, name: x.weights, suffix: "ln") }
    let d = x.inputDims[0]
    let last = [d[1], d[2], d[0]]
    let t = w.step("Transpose", [x.x], [.ints("perm", [0, 2, 3, 1])], name: nil, suffix: "ln_channels_last", dims: last)
    let n = w.step("LayerNormalization", [t, scale, shift], attrs, name: x.weights, suffix: "ln_norm", dims: last)
    return w.step("Transpose", [n], [.ints("perm", [0, 3, 1, 2])], suffix: "ln")
  }
}

/// `bn` (BatchNorm2d / BatchNorm1d), `lrn` (LocalResponseNorm) and `layernorm` (LayerNorm, LayerNorm2d).
enum NormLayers {
  static let specs: [LayerSpec] = [
    LayerSpec(keyword: "bn",
              signature: LayerSignature(positional: [], required: 0, options: ["eps": "eps", "momentum": "momentum"],
                                        flags: ["noaffine", "frozen"], usage: "bn eps=0.001",
                                        preservesShape: true),
              check: { a, input, at, diags in
                guard let eps = a.double("eps", default: 1e-5, &diags),
                  let momentum = a.double("momentum", default: 0.1, &diags) else { return nil }
                guard eps > 0 else {
                  diags.error("out-of-range", "eps of 'bn' must be positive", at: a.range("eps"))
                  return nil
                }
                guard LayerCheck.refuseChannelsLast(a.keyword, input, at, &diags) else { return nil }
                let c = input.shape.dims[0]
                let affine = !a.flag("noaffine")
                let trainable = !a.flag("frozen")
                let params = affine ? [LayerCheck.tensor("weight", [c], trainable: trainable, .ones),
                                       LayerCheck.tensor("bias", [c], trainable: trainable, .zeros)] : []
                let buffers = [LayerCheck.tensor("running_mean", [c], trainable: false, .zeros),
                               LayerCheck.tensor("running_var", [c], trainable: false, .ones)]
                return Resolved(op: BatchNormOp(channels: c, eps: eps, momentum: momentum, affine: affine),
                                output: input.shape, params: params, buffers: buffers)
              }),
    LayerSpec(keyword: "lrn",
              signature: LayerSignature(positional: ["size"], required: 1,
                                        options: ["size": "size", "alpha": "alpha", "beta": "beta", "k": "k"], flags: [],
                                        usage: "lrn 5 alpha=0.0001 beta=0.75 k=1", preservesShape: true),
              check: { a, input, at, diags in
                guard LayerCheck.requireSpatial(a.keyword, input, at, &diags),
                  let size = a.int("size", &diags), let alpha = a.double("alpha", default: 1e-4, &diags),
                  let beta = a.double("beta", default: 0.75, &diags), let k = a.double("k", default: 1, &diags)
                else { return nil }
                return Resolved(op: LRNOp(size: size, alpha: alpha, beta: beta, k: k), output: input.shape)
              }),
    LayerSpec(keyword: "layernorm",
              signature: LayerSignature(positional: [], required: 0, options: ["eps": "eps"], flags: ["noaffine", "frozen"],
                                        usage: "layernorm eps=1e-6", preservesShape: true),
              check: { a, input, at, diags in
                guard let eps = a.double("eps", default: 1e-5, &diags) else { return nil }
                guard eps > 0 else {
                  diags.error("out-of-range", "eps of 'layernorm' must be positive", at: a.range("eps"))
                  return nil
                }
                // Over the channels: of a CxHxW map or a channels-last one, or the values of a flat vector.
                let c = input.shape.channels
                let affine = !a.flag("noaffine")
                let trainable = !a.flag("frozen")
                let params = affine ? [LayerCheck.tensor("weight", [c], trainable: trainable, .ones),
                                       LayerCheck.tensor("bias", [c], trainable: trainable, .zeros)] : []
                return Resolved(op: LayerNormOp(channels: c, eps: eps, affine: affine, channelsFirst: input.shape.isSpatial),
                                output: input.shape, params: params)
              }),
  ]
}

// MARK: Kernel binding

extension BatchNormOp {
  func kernelBatchNorm(_ node: KernelNode) -> NetcBatchNorm { NetcBatchNorm(name: node.name, eps: eps, affine: affine) }

  /// A batch norm with nothing to fold into: a per-channel scale and shift.
  public func prepare(_ weights: NetcPreparedWeights, _ reader: any NetcTensorReader, _ node: KernelNode) throws -> NetcPreparedLayer {
    try weights.appendBatchNorm(reader, kernelBatchNorm(node), channels: node.input.dims[0])
  }
  public func prepareText(_ node: KernelNode) -> String {
    "try p.appendBatchNorm(t, NetcBatchNorm(name: \"\(node.name)\", eps: \(eps), affine: \(affine)), channels: \(node.input.dims[0]))"
  }
  public func run(_ k: KernelRun) { k.channelAffine() }
  public func runText(_ k: KernelCallText) -> String { k.channelAffine() }
}

extension LRNOp {
  public func run(_ k: KernelRun) {
    let x = k.node.input
    netcLRN(channels: x.dims[0], pixels: x.elementCount / x.dims[0], size: size, alpha: Float(alpha), beta: Float(beta),
            k: Float(self.k), batch: k.batch, input: k.x, inStride: k.xs, output: k.y, outStride: k.ys, act: k.act,
            slope: k.slope)
  }
  public func runText(_ k: KernelCallText) -> String {
    let x = k.node.input
    return "netcLRN(channels: \(x.dims[0]), pixels: \(x.elementCount / x.dims[0]), size: \(size), alpha: \(Float(alpha)), beta: \(Float(beta)), k: \(Float(self.k)), batch: batch, \(k.x), \(k.y), \(k.epilogue))"
  }
}

extension LayerNormOp {
  public func prepare(_ weights: NetcPreparedWeights, _ reader: any NetcTensorReader, _ node: KernelNode) throws -> NetcPreparedLayer {
    guard affine else { return weights.appendNone() }
    return try weights.appendPerChannel(reader, weight: "\(node.name).weight", bias: "\(node.name).bias", channels: channels)
  }
  public func prepareText(_ node: KernelNode) -> String {
    guard affine else { return "p.appendNone()" }
    return "try p.appendPerChannel(t, weight: \"\(node.name).weight\", bias: \"\(node.name).bias\", channels: \(channels))"
  }
  public func run(_ k: KernelRun) {
    let (c, pixels) = k.node.input.channelsAndPixels
    netcLayerNorm(channels: c, pixels: pixels, batch: k.batch, weight: k.weight, bias: k.bias, eps: Float(eps), input: k.x,
                  inStride: k.xs, output: k.y, outStride: k.ys, act: k.act, slope: k.slope)
  }
  public func runText(_ k: KernelCallText) -> String {
    let (c, pixels) = k.node.input.channelsAndPixels
    return "netcLayerNorm(channels: \(c), pixels: \(pixels), batch: batch, weight: \(k.weight), bias: \(k.bias), eps: \(Float(eps)), \(k.x), \(k.y), \(k.epilogue))"
  }
}
