import NetcBasic
import NetcKernels

/// A convolution, Conv2d or ConvTranspose2d.
public struct ConvOp: Operation, Equatable {
  public var inChannels: Int
  public var outChannels: Int
  public var kernel: (h: Int, w: Int)
  public var stride: (h: Int, w: Int)
  /// Padding on each side; `same` can make bottom/right one larger than top/left, as PyTorch does.
  public var padTop: Int, padLeft: Int, padBottom: Int, padRight: Int
  public var dilation: (h: Int, w: Int)
  public var groups: Int
  public var bias: Bool
  public var transposed: Bool
  public var outputPadding: (h: Int, w: Int)

  public static func == (a: ConvOp, b: ConvOp) -> Bool {
    a.inChannels == b.inChannels && a.outChannels == b.outChannels && a.kernel == b.kernel
      && a.stride == b.stride && a.padTop == b.padTop && a.padLeft == b.padLeft
      && a.padBottom == b.padBottom && a.padRight == b.padRight && a.dilation == b.dilation
      && a.groups == b.groups && a.bias == b.bias && a.transposed == b.transposed
      && a.outputPadding == b.outputPadding
  }

  var symmetricPadding: Bool { padTop == padBottom && padLeft == padRight }

  public func moduleName(input: Shape) -> String { transposed ? "ConvTranspose2d" : "Conv2d" }
  public var family: OperationFamily { .conv }

  public var spelling: (keyword: String, arguments: [String]) {
    var args = [Spelling.size(kernel), String(outChannels)]
    if stride != (1, 1) { args.append("s" + Spelling.pair(stride)) }
    if symmetricPadding {
      if padTop != 0 || padLeft != 0 { args.append("p" + Spelling.pair((padTop, padLeft))) }
    } else {
      args.append("pad=same")
    }
    if dilation != (1, 1) { args.append("d" + Spelling.pair(dilation)) }
    if groups > 1 { args.append(groups == inChannels && groups == outChannels ? "dw" : "g\(groups)") }
    if transposed && outputPadding != (0, 0) { args.append("out_pad=" + Spelling.pair(outputPadding)) }
    return (transposed ? "convt" : "conv", args)
  }

  public var moduleWindow: ModuleWindow? {
    ModuleWindow(kernel: kernel, stride: stride, padding: symmetricPadding ? (padTop, padLeft) : nil, dilation: dilation,
                 groups: groups, keepsTuples: true)
  }

  public func receptiveWindow(input: Shape, output: Shape) -> ReceptiveWindow {
    transposed ? .fractional : .window(kernel: kernel, stride: stride, padding: (padTop, padLeft), dilation: dilation)
  }

  /// torchinfo counts a convolution's parameters (bias included) once per output pixel.
  public func multAdds(params: [ParamTensor], output: Shape) -> Int? {
    let count = params.reduce(0) { $0 + $1.elementCount }
    return output.isSpatial ? try? cmul(count, cmul(output.height, output.width)) : count
  }

  public var absorbsBatchNorm: Bool { true }
  public var acceptsResidual: Bool { true }
  /// A pointwise convolution reads its input as the GEMM's B, which its kernel packs scaled row by row.
  public var acceptsInputScale: Bool {
    !transposed && kernel == (1, 1) && stride == (1, 1) && groups == 1
      && padTop == 0 && padLeft == 0 && padBottom == 0 && padRight == 0
  }

  public var planText: String {
    var s = (transposed ? "convt " : "conv ") + "\(kernel.h)x\(kernel.w)"
    if stride != (1, 1) { s += " s\(stride.h == stride.w ? "\(stride.h)" : "\(stride.h)x\(stride.w)")" }
    if padTop != 0 || padLeft != 0 || padBottom != 0 || padRight != 0 {
      s += symmetricPadding
        ? " p\(padTop == padLeft ? "\(padTop)" : "\(padTop)x\(padLeft)")"
        : " p\(padTop),\(padLeft),\(padBottom),\(padRight)"
    }
    if dilation != (1, 1) { s += " d\(dilation.h)" }
    if groups != 1 { s += " g\(groups)" }
    return s
  }

  public var planName: String { transposed ? "conv_transpose" : "conv" }

  public func planJSON(_ node: NodeTensors) -> [(String, JSONValue)] {
    [("weights", .string(node.weights ?? "")), ("bias", .bool(bias)), ("batch_norm", node.batchNorm?.json ?? .null),
     ("in_channels", .int(inChannels)), ("out_channels", .int(outChannels)),
     ("kernel", Spelling.json(kernel)), ("stride", Spelling.json(stride)),
     ("padding", .array([.int(padTop), .int(padLeft), .int(padBottom), .int(padRight)])),
     ("dilation", Spelling.json(dilation)), ("groups", .int(groups)), ("output_padding", Spelling.json(outputPadding))]
  }

  public func pytorch(_ x: PyTorchOperands) -> PyTorchCode {
    let pair = Spelling.python
    var args = "\(inChannels), \(outChannels), kernel_size=\(pair(kernel.h, kernel.w))"
    if stride != (1, 1) { args += ", stride=\(pair(stride.h, stride.w))" }
    if !symmetricPadding {
      args += ", padding='same'"
    } else if padTop != 0 || padLeft != 0 {
      args += ", padding=\(pair(padTop, padLeft))"
    }
    if transposed && outputPadding != (0, 0) { args += ", output_padding=\(pair(outputPadding.h, outputPadding.w))" }
    if dilation != (1, 1) { args += ", dilation=\(pair(dilation.h, dilation.w))" }
    if groups != 1 { args += ", groups=\(groups)" }
    if !bias { args += ", bias=False" }
    return .module("nn.\(transposed ? "ConvTranspose2d" : "Conv2d")(\(args))")
  }

  public func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String {
    var attrs: [ONNXAttribute] = [
      .ints("kernel_shape", [kernel.h, kernel.w]), .ints("strides", [stride.h, stride.w]),
      .ints("pads", [padTop, padLeft, padBottom, padRight]),
      .ints("dilations", [dilation.h, dilation.w]), .int("group", groups),
    ]
    if transposed { attrs.append(.ints("output_padding", [outputPadding.h, outputPadding.w])) }
    let name = x.weights ?? "conv"
    // A fused input scale (squeeze-and-excitation's product) is the Mul it replaced.
    let input = x.inputs.count == 2 ? w.intermediate("Mul", [x.x, x.inputs[1]], [], dims: x.inputDims[0], suffix: "mul") : x.x
    return w.step(transposed ? "ConvTranspose" : "Conv", [input, "\(name).weight"] + (bias ? ["\(name).bias"] : []), attrs,
                  name: name, suffix: transposed ? "convt" : "conv")
  }
}

/// `conv` (Conv2d) and `convt` (ConvTranspose2d).
enum ConvLayers {
  static let options: [String: String] = [
    "s": "stride", "stride": "stride", "p": "pad", "pad": "pad", "padding": "pad",
    "d": "dilation", "dilation": "dilation", "g": "groups", "groups": "groups",
  ]

  static let specs: [LayerSpec] = [
    LayerSpec(
      keyword: "conv",
      signature: LayerSignature(positional: ["kernel", "channels"], required: 2, options: options,
                                flags: ["nobias", "dw", "frozen"], usage: "conv 3x3 64 s1 p1"),
      check: { check($0, $1, $2, transposed: false, &$3) }),
    LayerSpec(
      keyword: "convt",
      signature: LayerSignature(positional: ["kernel", "channels"], required: 2,
                                options: options.merging(["out_pad": "out_pad", "output_padding": "out_pad"]) { a, _ in a },
                                flags: ["nobias", "dw", "frozen"], usage: "convt 4x4 64 s2 p1"),
      check: { check($0, $1, $2, transposed: true, &$3) }),
  ]

  static func check(_ a: any LayerArguments, _ input: LayerInput, _ at: SourceRange, transposed: Bool,
                    _ diags: inout DiagnosticEngine) -> Resolved? {
    // The input is checked first and the arguments still read: a mistake in them does not depend on it.
    let spatial = LayerCheck.requireSpatial(a.keyword, input, at, &diags)
    let x = input.shape
    guard let kernel = a.pair("kernel", &diags), let outC = a.int("channels", &diags),
      let stride = a.pair("stride", default: (1, 1), &diags),
      let dilation = a.pair("dilation", default: (1, 1), &diags),
      var groups = a.int("groups", default: 1, &diags),
      let outPad = a.pair("out_pad", default: (0, 0), min: 0, &diags), spatial
    else { return nil }
    if a.flag("dw") {
      if a.has("groups") {
        diags.error("conflicting-options", "'dw' and 'groups' both set the groups", at: a.range("groups"))
        return nil
      }
      groups = x.channels
    }
    var padTop = 0, padLeft = 0, padBottom = 0, padRight = 0
    if a.word("pad") == "same" {
      if transposed || stride != (1, 1) {
        diags.error("same-padding-stride", "'pad=same' needs stride 1\(transposed ? " and a plain conv" : ""), as in PyTorch",
                    at: a.range("pad"), notes: [Note("write the padding out, such as 'p1' for a 3x3 kernel")])
        return nil
      }
      let totalH = dilation.0 * (kernel.0 - 1), totalW = dilation.1 * (kernel.1 - 1)
      padTop = totalH / 2; padBottom = totalH - padTop
      padLeft = totalW / 2; padRight = totalW - padLeft
    } else if let w = a.word("pad") {
      diags.error("bad-padding", "padding must be a number, a pair such as 1x2, or 'same'; found '\(w)'",
                  at: a.range("pad"))
      return nil
    } else {
      guard let p = a.pair("pad", default: (0, 0), min: 0, &diags) else { return nil }
      padTop = p.0; padBottom = p.0; padLeft = p.1; padRight = p.1
    }
    // The output's shape does not depend on the groups: after either error the layers after it can still
    // be checked. The output channels are the layer's own argument; the input channels come from before.
    let badOutput = outC % groups != 0, badInput = x.channels % groups != 0
    if badOutput || badInput {
      let which = badOutput && badInput ? "input channels (\(x.channels)) and output channels (\(outC))"
        : badOutput ? "output channels (\(outC))" : "input channels (\(x.channels))"
      // Only the input's channels can be wrong because of an earlier mistake.
      diags.error(badOutput ? "groups-output-mismatch" : "groups-mismatch", "\(which) must divide by groups (\(groups))",
                  at: a.has("groups") ? a.range("groups") : at,
                  notes: [Note("Conv2d needs both in_channels and out_channels divisible by groups")])
    }
    if transposed && (outPad.0 >= max(stride.0, dilation.0) || outPad.1 >= max(stride.1, dilation.1)) {
      diags.error("bad-output-padding", "output padding must be smaller than the stride or the dilation",
                  at: a.range("out_pad"))
      return nil
    }
    var outH = 0, outW = 0
    do {
      if transposed {
        outH = try SpatialRule.transposedOutputSize(input: x.height, kernel: kernel.0, stride: stride.0, pad: padTop,
                                                    dilation: dilation.0, outputPadding: outPad.0)
        outW = try SpatialRule.transposedOutputSize(input: x.width, kernel: kernel.1, stride: stride.1, pad: padLeft,
                                                    dilation: dilation.1, outputPadding: outPad.1)
      } else {
        outH = try SpatialRule.outputSize(input: x.height, kernel: kernel.0, stride: stride.0, padBefore: padTop,
                                          padAfter: padBottom, dilation: dilation.0, ceil: false)
        outW = try SpatialRule.outputSize(input: x.width, kernel: kernel.1, stride: stride.1, padBefore: padLeft,
                                          padAfter: padRight, dilation: dilation.1, ceil: false)
      }
    } catch {
      diags.error("size-overflow", "the output size of '\(a.keyword)' overflows", at: at)
      return nil
    }
    if transposed && (outH <= 0 || outW <= 0) {
      diags.error("kernel-too-large",
                  "the transposed conv leaves no output: it would be \(outH)x\(outW), (in - 1) x stride - 2 x pad + kernel span",
                  at: at, notes: [Note("the input is \(x); reduce the padding \(padTop)x\(padLeft)")])
      return nil
    }
    if outH <= 0 || outW <= 0 {
      let spanH = dilation.0 * (kernel.0 - 1) + 1, spanW = dilation.1 * (kernel.1 - 1) + 1
      let padded = "\(x.height + padTop + padBottom)x\(x.width + padLeft + padRight)"
      diags.error("kernel-too-large",
                  "\(a.keyword == "conv" ? "the kernel" : "the transposed conv") leaves no output: kernel \(spanH)x\(spanW) on a padded input of \(padded)",
                  at: at, notes: [Note("the input is \(x)")])
      return nil
    }
    if !transposed {
      warnDropped(a, x, kernel, stride, (padTop, padLeft), (padBottom, padRight), dilation, at, &diags)
    }
    let trainable = !a.flag("frozen")
    let weight = transposed ? [x.channels, outC / groups, kernel.0, kernel.1] : [outC, x.channels / groups, kernel.0, kernel.1]
    // He initialisation's fan-in is the second dimension times the kernel, for both kinds, as PyTorch's
    // `_calculate_fan_in_and_fan_out` computes it.
    let fanIn = weight[1] * kernel.0 * kernel.1
    var params = [LayerCheck.tensor("weight", weight, trainable: trainable, .heNormal(fanIn: fanIn))]
    if !a.flag("nobias") { params.append(LayerCheck.tensor("bias", [outC], trainable: trainable, .zeros)) }
    let attrs = ConvOp(inChannels: x.channels, outChannels: outC, kernel: kernel, stride: stride,
                          padTop: padTop, padLeft: padLeft, padBottom: padBottom, padRight: padRight,
                          dilation: dilation, groups: groups, bias: !a.flag("nobias"), transposed: transposed,
                          outputPadding: outPad)
    return Resolved(op: attrs, output: Shape([outC, outH, outW]), params: params)
  }

  /// PyTorch silently ignores input rows and columns after the last full window; say so when real data
  /// (not padding) is lost.
  static func warnDropped(_ a: any LayerArguments, _ x: Shape, _ kernel: (Int, Int), _ stride: (Int, Int),
                          _ before: (Int, Int), _ after: (Int, Int), _ dilation: (Int, Int), _ at: SourceRange,
                          _ diags: inout DiagnosticEngine) {
    let rows = SpatialRule.droppedInput(input: x.height, kernel: kernel.0, stride: stride.0, padBefore: before.0,
                                        padAfter: after.0, dilation: dilation.0)
    let cols = SpatialRule.droppedInput(input: x.width, kernel: kernel.1, stride: stride.1, padBefore: before.1,
                                        padAfter: after.1, dilation: dilation.1)
    guard rows > 0 || cols > 0 else { return }
    var parts: [String] = []
    if rows > 0 { parts.append("the last \(rows == 1 ? "row" : "\(rows) rows")") }
    if cols > 0 { parts.append("the last \(cols == 1 ? "column" : "\(cols) columns")") }
    diags.warning("dropped-input",
                  "'\(a.keyword)' never reads \(parts.joined(separator: " and ")) of its \(x) input",
                  at: at, notes: [Note("stride \(stride.0 == stride.1 ? "\(stride.0)" : "\(stride.0)x\(stride.1)") does not divide the padded input evenly, and PyTorch floors; adjust the padding or the input size to use every pixel")])
  }
}

// MARK: Kernel binding

extension ConvOp {
  /// The kernels' view of the convolution on its input and output.
  public func geometry(_ node: KernelNode) -> NetcConvGeometry {
    let x = node.input, y = node.outputShape
    return NetcConvGeometry(inC: x.dims[0], inH: x.dims[1], inW: x.dims[2], outC: y.dims[0], outH: y.dims[1],
                            outW: y.dims[2], kH: kernel.h, kW: kernel.w, sH: stride.h, sW: stride.w,
                            padT: padTop, padL: padLeft, dH: dilation.h, dW: dilation.w, groups: groups)
  }

  public func prepare(_ weights: NetcPreparedWeights, _ reader: any NetcTensorReader, _ node: KernelNode) throws -> NetcPreparedLayer {
    try weights.appendConv(reader, name: node.name, hasBias: bias, batchNorm: node.netcBatchNorm, geometry: geometry(node),
                           transposed: transposed)
  }
  public func prepareText(_ node: KernelNode) -> String {
    "try p.appendConv(t, name: \"\(node.name)\", hasBias: \(bias), batchNorm: \(node.netcBatchNormText), geometry: \(geometry(node).literal), transposed: \(transposed))"
  }

  public func scratchFloats(_ node: KernelNode) -> Int { transposed ? 0 : netcConvScratch(geometry(node)) }
  public func scratchText(_ node: KernelNode) -> String? {
    transposed ? nil : "netcConvScratch(\(geometry(node).literal))"
  }

  public func run(_ k: KernelRun) {
    let r = k.residual.map { UnsafePointer($0.data) }, rs = k.residual?.stride ?? 0
    if transposed {
      netcConvTranspose2d(geometry(k.node), batch: k.batch, input: k.x, inStride: k.xs, weight: k.weight!, bias: k.bias,
                          residual: r, resStride: rs, output: k.y, outStride: k.ys, act: k.act, slope: k.slope)
    } else {
      let scale = k.inputs.count == 2 ? k.inputs[1] : nil
      netcConv2d(geometry(k.node), batch: k.batch, input: k.x, inStride: k.xs, packedWeight: k.weight!, bias: k.bias,
                 residual: r, resStride: rs, output: k.y, outStride: k.ys, act: k.act, slope: k.slope, scratch: k.scratch,
                 inputScale: scale.map { UnsafePointer($0.data) }, scaleStride: scale?.stride ?? 0)
    }
  }
  public func runText(_ k: KernelCallText) -> String {
    let g = geometry(k.node).literal
    let scale = k.inputs.count == 2 ? ", inputScale: \(k.inputs[1].data), scaleStride: \(k.inputs[1].stride)" : ""
    return transposed
      ? "netcConvTranspose2d(\(g), batch: batch, \(k.x), weight: \(k.weight)!, bias: \(k.bias), \(k.residualArguments), \(k.y), \(k.epilogue))"
      : "netcConv2d(\(g), batch: batch, \(k.x), packedWeight: \(k.weight)!, bias: \(k.bias), \(k.residualArguments), \(k.y), \(k.epilogue), scratch: scratch\(scale))"
  }
}
