import NetcBasic
import NetcKernels

public enum UpsampleMode: String, Sendable { case nearest, bilinear }

/// Softmax over the channels (dim=1).
public struct SoftmaxOp: Operation, Equatable {
  public func moduleName(input: Shape) -> String { "Softmax" }
  public var spelling: (keyword: String, arguments: [String]) { ("softmax", []) }
  public var isCompact: Bool { true }
  public var acceptsActivation: Bool { false }
  public var planText: String { "softmax" }
  public func pytorch(_ x: PyTorchOperands) -> PyTorchCode { .expression("F.softmax(\(x.x), dim=1)") }
  public func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String {
    w.step("Softmax", [x.x], [.int("axis", 1)], suffix: "softmax")
  }
}

/// The identity: a view of its input.
public struct IdentityOp: Operation, Equatable {
  public init() {}
  public func moduleName(input: Shape) -> String { "Identity" }
  public var spelling: (keyword: String, arguments: [String]) { ("identity", []) }
  public var isCompact: Bool { true }
  public var role: LoweringRole { .view }
  public var planText: String { "identity" }
  public func pytorch(_ x: PyTorchOperands) -> PyTorchCode { .expression(x.x) }
  public func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String { x.x }
}

/// Upsample (F.interpolate), nearest or bilinear.
public struct UpsampleOp: Operation, Equatable {
  /// Output over input size, as written (`upsample 2`) or as the written size makes it.
  public var scaleH: Double
  public var scaleW: Double
  public var mode: UpsampleMode
  public var alignCorners: Bool
  /// The output size was written (PyTorch's `size=`), else the scale (`scale_factor=`); they place
  /// source pixels differently for fractional scales.
  public var sizeGiven: Bool

  /// PyTorch's input-per-output ratios, used to find source pixels.
  public var sourceScale: (h: Double, w: Double) { (1 / scaleH, 1 / scaleW) }

  public func moduleName(input: Shape) -> String { "Upsample" }
  public var family: OperationFamily { .pool }
  public var spelling: (keyword: String, arguments: [String]) {
    var args = sizeGiven ? [] : [scaleH == scaleW ? Spelling.number(scaleH) : "\(Spelling.number(scaleH))x\(Spelling.number(scaleW))"]
    if mode == .bilinear { args.append("bilinear") }
    return ("upsample", args)
  }
  public func receptiveWindow(input: Shape, output: Shape) -> ReceptiveWindow { .fractional }
  public var planText: String { "upsample \(mode.rawValue)" }
  public func planJSON(_ node: NodeTensors) -> [(String, JSONValue)] {
    [("mode", .string(mode.rawValue)), ("align_corners", .bool(alignCorners)),
     ("source_scale", .array([.double(sourceScale.h), .double(sourceScale.w)]))]
  }

  public func pytorch(_ x: PyTorchOperands) -> PyTorchCode {
    let out = x.output
    let sizeOrScale = sizeGiven ? "size=\(Spelling.python(out.height, out.width))" : "scale_factor=\(Spelling.pythonFloat(scaleH))"
    return .expression("F.interpolate(\(x.x), \(sizeOrScale), mode='\(mode.rawValue)'\(mode == .bilinear ? ", align_corners=\(alignCorners ? "True" : "False")" : ""))")
  }

  /// Resize on the two spatial axes. netc (like PyTorch) finds source pixels with its input-per-output
  /// ratio: nearest takes floor(dst * ratio) (`asymmetric`, `floor`); bilinear samples (dst + 0.5) *
  /// ratio - 0.5 clamped at 0 (`half_pixel`) or dst * (in - 1) / (out - 1) (`align_corners`). ONNX
  /// divides by its scale instead: the output size over the input size when `sizes` is given, else the
  /// `scales` given. Sizes are given when the ratio is in/out (a size was written, or the scale makes
  /// whole pixels), scales otherwise.
  public func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String {
    let (sh, sw) = sourceScale
    let inDims = x.inputDims[0], outDims = x.outputDims
    let final = w.nodeName
    var attrs: [ONNXAttribute] = [.ints("axes", [2, 3])]
    if mode == .nearest {
      attrs += [.string("mode", "nearest"), .string("coordinate_transformation_mode", "asymmetric"),
                .string("nearest_mode", "floor")]
    } else {
      attrs += [.string("mode", "linear"),
                .string("coordinate_transformation_mode", alignCorners ? "align_corners" : "half_pixel")]
    }
    func isSizeRatio(_ ratio: Double, _ i: Int, _ o: Int) -> Bool {
      abs(ratio * Double(o) - Double(i)) <= 1e-12 * Double(i)
    }
    if alignCorners || (isSizeRatio(sh, inDims[1], outDims[1]) && isSizeRatio(sw, inDims[2], outDims[2])) {
      let sizes = w.constant("netc.\(final).sizes", int64: [outDims[1], outDims[2]])
      return w.step("Resize", [x.x, "", "", sizes], attrs, suffix: "resize")
    }
    let scales = [Float(1 / sh), Float(1 / sw)]
    // ONNX Runtime's output size: floor(scale * input) in float.
    guard Int(scales[0] * Float(inDims[1])) == outDims[1], Int(scales[1] * Float(inDims[2])) == outDims[2] else {
      throw ONNXExportError(
        message: "cannot export this upsampling to ONNX: scale \(1 / sh)x\(1 / sw) of \(inDims[1])x\(inDims[2]) does not give \(outDims[1])x\(outDims[2]) in float arithmetic",
        range: x.source, notes: [Note("write the output size instead: 'upsample size=\(outDims[1])x\(outDims[2])'")])
    }
    let s = w.constant("netc.\(final).scales", scales, dims: [2])
    return w.step("Resize", [x.x, "", s], attrs, suffix: "resize")
  }
}

/// ConvNeXt's layer scale, a learnt per-channel multiplier: `self.layer_scale * x`, where `layer_scale` is
/// a parameter of the enclosing module ([C, 1, 1] for a CxHxW map; [C] for a channels-last map or a flat
/// vector), not a module of its own. It is written in the functional form and prints no row; its
/// parameter counts in its block's.
public struct LayerScaleOp: Operation, Equatable {
  public var channels: Int
  public var initialValue: Double
  public var parameterShape: [Int]

  /// Never printed (it is no module): the name PyTorch users know it by, for did-you-mean.
  public func moduleName(input: Shape) -> String { "LayerScale" }
  public var spelling: (keyword: String, arguments: [String]) { ("layer_scale", [Spelling.number(initialValue)]) }
  public var isCompact: Bool { true }
  /// torchinfo counts only the tensors named weight and bias: a layer scale adds none.
  public func multAdds(params: [ParamTensor], output: Shape) -> Int? { 0 }
  public var parameterPrefix: String { "scale" }
  /// ConvNeXt's block adds its input to the scaled branch: the scale's kernel adds it as it writes.
  public var acceptsResidual: Bool { true }
  public var planText: String { "layer_scale" }
  public func planJSON(_ node: NodeTensors) -> [(String, JSONValue)] {
    [("weights", .string(node.weights ?? "")), ("channels", .int(channels))]
  }
  public func pytorch(_ x: PyTorchOperands) -> PyTorchCode {
    .module("LayerScale((\(parameterShape.map(String.init).joined(separator: ", "))\(parameterShape.count == 1 ? "," : "")), \(Spelling.pythonFloat(initialValue)))")
  }
  public var pytorchDefinition: String? {
    """
    class LayerScale(nn.Module):
        \"\"\"ConvNeXt's layer scale: torchvision keeps it as a parameter of the block, `layer_scale * x`.\"\"\"

        def __init__(self, shape, value):
            super().__init__()
            self.layer_scale = nn.Parameter(torch.full(shape, value))

        def forward(self, x):
            return self.layer_scale * x
    """
  }
  public func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String {
    let name = x.weights ?? "scale"
    return w.step("Mul", ["\(name).layer_scale", x.x], [], name: name, suffix: "scale")
  }
}

/// `softmax`, `identity`, `upsample` and `layer_scale`: layers that are not activations.
enum PointwiseLayers {
  static func simple(_ keyword: String, _ op: any Operation) -> LayerSpec {
    LayerSpec(keyword: keyword,
              signature: LayerSignature(positional: [], required: 0, options: [:], flags: [], usage: keyword,
                                        preservesShape: true),
              check: { _, input, _, _ in Resolved(op: op, output: input.shape) })
  }

  static let specs: [LayerSpec] = [
    LayerSpec(keyword: "softmax",
              signature: LayerSignature(positional: [], required: 0, options: [:], flags: [], usage: "softmax",
                                        preservesShape: true),
              check: { a, input, at, diags in
                // Over dim 1: the height of a channels-last map.
                guard LayerCheck.refuseChannelsLast(a.keyword, input, at, &diags) else { return nil }
                return Resolved(op: SoftmaxOp(), output: input.shape)
              }),
    simple("identity", IdentityOp()),
    LayerSpec(keyword: "upsample",
              signature: LayerSignature(positional: ["scale"], required: 0, options: ["scale": "scale", "size": "size"],
                                        flags: ["nearest", "bilinear", "align_corners"], usage: "upsample 2 bilinear"),
              check: upsample),
    LayerSpec(keyword: "layer_scale",
              signature: LayerSignature(positional: ["value"], required: 1, options: ["value": "value"], flags: ["frozen"],
                                        usage: "layer_scale(1e-6)", preservesShape: true, parameterOfEnclosingModule: true),
              check: { a, input, _, diags in
                guard let value = a.double("value", default: 1e-6, &diags) else { return nil }
                let x = input.shape
                let shape = x.isSpatial ? [x.channels, 1, 1] : [x.channels]
                let param = LayerCheck.tensor("layer_scale", shape, trainable: !a.flag("frozen"), .constant(value))
                return Resolved(op: LayerScaleOp(channels: x.channels, initialValue: value, parameterShape: shape),
                                output: x, params: [param])
              }),
  ]

  static func upsample(_ a: any LayerArguments, _ input: LayerInput, _ at: SourceRange, _ diags: inout DiagnosticEngine) -> Resolved? {
    guard LayerCheck.requireSpatial(a.keyword, input, at, &diags) else { return nil }
    let x = input.shape
    if a.flag("nearest") && a.flag("bilinear") {
      diags.error("conflicting-options", "choose one of 'nearest' and 'bilinear'", at: at)
      return nil
    }
    let mode: UpsampleMode = a.flag("bilinear") ? .bilinear : .nearest
    if a.flag("align_corners") && mode != .bilinear {
      diags.error("conflicting-options", "'align_corners' applies to 'bilinear' only", at: at)
      return nil
    }
    var outH = 0, outW = 0
    var scaleH = 0.0, scaleW = 0.0
    if a.has("size") == a.has("scale") {
      diags.error("missing-argument", "'upsample' needs either a scale or 'size=HxW'", at: at,
                  notes: [Note("usage: upsample 2 bilinear, or upsample size=56x56")])
      return nil
    }
    if a.has("size") {
      guard let size = a.pair("size", &diags) else { return nil }
      (outH, outW) = size
      scaleH = Double(outH) / Double(x.height)
      scaleW = Double(outW) / Double(x.width)
    } else {
      guard let s = a.double("scale", default: 1, &diags) else { return nil }
      guard s > 0, s <= 1024 else {
        diags.error("out-of-range", "upsample scale must be positive and at most 1024, found \(s)", at: a.range("scale"))
        return nil
      }
      scaleH = s; scaleW = s
      outH = Int((Double(x.height) * s).rounded(.down))
      outW = Int((Double(x.width) * s).rounded(.down))
      if outH <= 0 || outW <= 0 {
        diags.error("kernel-too-large", "upsampling \(x) by \(s) leaves no output", at: at)
        return nil
      }
    }
    return Resolved(op: UpsampleOp(scaleH: scaleH, scaleW: scaleW, mode: mode, alignCorners: a.flag("align_corners"),
                                   sizeGiven: a.has("size")),
                    output: Shape([x.channels, outH, outW]))
  }
}

// MARK: Kernel binding

extension SoftmaxOp {
  public func run(_ k: KernelRun) {
    let x = k.node.input
    netcSoftmax(channels: x.dims[0], pixels: x.elementCount / x.dims[0], batch: k.batch, input: k.x, inStride: k.xs,
                output: k.y, outStride: k.ys)
  }
  public func runText(_ k: KernelCallText) -> String {
    let x = k.node.input
    return "netcSoftmax(channels: \(x.dims[0]), pixels: \(x.elementCount / x.dims[0]), batch: batch, \(k.x), \(k.y))"
  }
}

extension IdentityOp {
  public func run(_ k: KernelRun) { unreachable(self) }
  public func runText(_ k: KernelCallText) -> String { unreachable(self) }
}

extension LayerScaleOp {
  public func prepare(_ weights: NetcPreparedWeights, _ reader: any NetcTensorReader, _ node: KernelNode) throws -> NetcPreparedLayer {
    try weights.appendPerChannel(reader, weight: "\(node.name).layer_scale", bias: nil, channels: channels)
  }
  public func prepareText(_ node: KernelNode) -> String {
    "try p.appendPerChannel(t, weight: \"\(node.name).layer_scale\", bias: nil, channels: \(channels))"
  }
  /// A per-channel scale without shift.
  public func run(_ k: KernelRun) { k.channelAffine() }
  public func runText(_ k: KernelCallText) -> String { k.channelAffine() }
}

extension UpsampleOp {
  public func run(_ k: KernelRun) {
    let x = k.node.input.dims, y = k.node.outputShape.dims
    netcUpsample(channels: x[0], inH: x[1], inW: x[2], outH: y[1], outW: y[2], bilinear: mode == .bilinear,
                 alignCorners: alignCorners, scaleH: sourceScale.h, scaleW: sourceScale.w, batch: k.batch, input: k.x,
                 inStride: k.xs, output: k.y, outStride: k.ys, act: k.act, slope: k.slope)
  }
  public func runText(_ k: KernelCallText) -> String {
    let x = k.node.input.dims, y = k.node.outputShape.dims
    return "netcUpsample(channels: \(x[0]), inH: \(x[1]), inW: \(x[2]), outH: \(y[1]), outW: \(y[2]), bilinear: \(mode == .bilinear), alignCorners: \(alignCorners), scaleH: \(sourceScale.h), scaleW: \(sourceScale.w), batch: batch, \(k.x), \(k.y), \(k.epilogue))"
  }
}
