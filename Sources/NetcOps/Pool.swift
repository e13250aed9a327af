import NetcBasic
import NetcKernels

public enum PoolKind: String, Sendable { case max, avg }

/// MaxPool2d or AvgPool2d.
public struct PoolOp: Operation, Equatable {
  public var kind: PoolKind
  public var kernel: (h: Int, w: Int)
  public var stride: (h: Int, w: Int)
  public var pad: (h: Int, w: Int)
  public var dilation: (h: Int, w: Int)
  public var ceilMode: Bool
  public var countIncludePad: Bool

  public static func == (a: PoolOp, b: PoolOp) -> Bool {
    a.kind == b.kind && a.kernel == b.kernel && a.stride == b.stride && a.pad == b.pad
      && a.dilation == b.dilation && a.ceilMode == b.ceilMode && a.countIncludePad == b.countIncludePad
  }

  public func moduleName(input: Shape) -> String { kind == .max ? "MaxPool2d" : "AvgPool2d" }
  public var family: OperationFamily { .pool }

  public var spelling: (keyword: String, arguments: [String]) {
    var args = [Spelling.size(kernel)]
    if stride != kernel { args.append("s" + Spelling.pair(stride)) }
    if pad != (0, 0) { args.append("p" + Spelling.pair(pad)) }
    if dilation != (1, 1) { args.append("d" + Spelling.pair(dilation)) }
    if ceilMode { args.append("ceil") }
    return (kind == .max ? "maxpool" : "avgpool", args)
  }

  public var moduleWindow: ModuleWindow? {
    ModuleWindow(kernel: kernel, stride: stride, padding: pad, dilation: kind == .max ? dilation : nil, groups: nil,
                 keepsTuples: false)
  }

  public func receptiveWindow(input: Shape, output: Shape) -> ReceptiveWindow {
    .window(kernel: kernel, stride: stride, padding: pad, dilation: dilation)
  }

  public var planText: String {
    var s = "\(kind == .max ? "maxpool" : "avgpool") \(kernel.h)x\(kernel.w) s\(stride.h)"
    if pad != (0, 0) { s += " p\(pad.h)" }
    if ceilMode { s += " ceil" }
    return s
  }

  public func planJSON(_ node: NodeTensors) -> [(String, JSONValue)] {
    [("kernel", Spelling.json(kernel)), ("stride", Spelling.json(stride)), ("padding", Spelling.json(pad)),
     ("dilation", Spelling.json(dilation)), ("ceil_mode", .bool(ceilMode)), ("count_include_pad", .bool(countIncludePad))]
  }
  public var planName: String { kind == .max ? "max_pool" : "avg_pool" }

  public func pytorch(_ x: PyTorchOperands) -> PyTorchCode {
    let pair = Spelling.python
    var args = "\(x.x), \(pair(kernel.h, kernel.w)), stride=\(pair(stride.h, stride.w))"
    if pad != (0, 0) { args += ", padding=\(pair(pad.h, pad.w))" }
    if kind == .max && dilation != (1, 1) { args += ", dilation=\(pair(dilation.h, dilation.w))" }
    if ceilMode { args += ", ceil_mode=True" }
    if kind == .avg && !countIncludePad { args += ", count_include_pad=False" }
    return .expression("F.\(kind == .max ? "max" : "avg")_pool2d(\(args))")
  }

  /// MaxPool or AveragePool. PyTorch's ceil mode drops a last window that would start in the right
  /// padding; when it does, the size is the floor mode's, so the node asks for floor mode there.
  public func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String {
    let inDims = x.inputDims[0], outDims = x.outputDims
    func sizes(_ input: Int, _ k: Int, _ s: Int, _ pad: Int, _ d: Int) -> (floor: Int, ceil: Int) {
      let span = input + 2 * pad - d * (k - 1) - 1
      return (span / s + 1, (span + s - 1) / s + 1)
    }
    let h = sizes(inDims[1], kernel.h, stride.h, pad.h, dilation.h)
    let wd = sizes(inDims[2], kernel.w, stride.w, pad.w, dilation.w)
    let ceil = outDims[1] != h.floor || outDims[2] != wd.floor
    if ceil && (outDims[1] != h.ceil || outDims[2] != wd.ceil) {
      throw ONNXExportError(
        message: "cannot export this pooling to ONNX: ceil mode keeps the last window in one direction and drops it in the other",
        range: x.source,
        notes: [Note("ONNX's 'ceil_mode' applies to both directions; pad the input so the windows fit evenly")])
    }
    var attrs: [ONNXAttribute] = [
      .ints("kernel_shape", [kernel.h, kernel.w]), .ints("strides", [stride.h, stride.w]),
      .ints("pads", [pad.h, pad.w, pad.h, pad.w]), .int("ceil_mode", ceil ? 1 : 0),
    ]
    if kind == .max {
      attrs.append(.ints("dilations", [dilation.h, dilation.w]))
      return w.step("MaxPool", [x.x], attrs, suffix: "maxpool")
    }
    attrs.append(.int("count_include_pad", countIncludePad ? 1 : 0))
    return w.step("AveragePool", [x.x], attrs, suffix: "avgpool")
  }
}

/// AdaptiveAvgPool2d or AdaptiveMaxPool2d; to 1x1, global pooling.
public struct AdaptivePoolOp: Operation, Equatable {
  public var kind: PoolKind
  public var outH: Int
  public var outW: Int

  public func moduleName(input: Shape) -> String { kind == .max ? "AdaptiveMaxPool2d" : "AdaptiveAvgPool2d" }
  public var family: OperationFamily { .pool }

  public var spelling: (keyword: String, arguments: [String]) {
    if outH == 1 && outW == 1 { return (kind == .max ? "global_maxpool" : "global_avgpool", []) }
    return (kind == .max ? "adaptive_maxpool" : "adaptive_avgpool", [Spelling.size((outH, outW))])
  }

  /// torchscan's convention: a window as wide as it moves, ceil(input/output), with no padding. Exact when
  /// the input is a multiple of the output (global pooling; AlexNet's 6x6 -> 6x6 is the identity).
  public func receptiveWindow(input: Shape, output: Shape) -> ReceptiveWindow {
    guard input.isSpatial, output.isSpatial, output.height > 0, output.width > 0 else { return .samePlace }
    func ceilDiv(_ a: Int, _ b: Int) -> Int { a / b + (a % b == 0 ? 0 : 1) }
    let window = (h: ceilDiv(input.height, output.height), w: ceilDiv(input.width, output.width))
    return .window(kernel: window, stride: window, padding: (0, 0), dilation: (1, 1))
  }

  public var planText: String { "adaptive_\(kind == .max ? "max" : "avg")pool \(outH)x\(outW)" }
  public var planName: String { kind == .max ? "adaptive_max_pool" : "adaptive_avg_pool" }
  public func planJSON(_ node: NodeTensors) -> [(String, JSONValue)] { [("size", .array([.int(outH), .int(outW)]))] }

  public func pytorch(_ x: PyTorchOperands) -> PyTorchCode {
    .expression("F.adaptive_\(kind == .max ? "max" : "avg")_pool2d(\(x.x), \(Spelling.python(outH, outW)))")
  }

  /// Adaptive pooling: window i spans [floor(i*in/out), ceil((i+1)*in/out)). To 1x1 it is global pooling;
  /// where every window has the same size and they start at a constant stride (whenever the input size
  /// divides by the output size, and in some other cases, 7 -> 3 among them), it is ordinary pooling.
  public func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String {
    let inDims = x.inputDims[0]
    if outH == 1 && outW == 1 {
      return w.step(kind == .max ? "GlobalMaxPool" : "GlobalAveragePool", [x.x], suffix: kind == .max ? "gmaxpool" : "gavgpool")
    }
    guard let h = Self.uniformWindows(inDims[1], outH), let wd = Self.uniformWindows(inDims[2], outW) else {
      let bad = Self.uniformWindows(inDims[1], outH) == nil ? (inDims[1], outH) : (inDims[2], outW)
      throw ONNXExportError(
        message: "cannot export adaptive pooling from \(inDims[1])x\(inDims[2]) to \(outH)x\(outW) to ONNX: its windows differ in size",
        range: x.source,
        notes: [Note("from \(bad.0) to \(bad.1) the windows are \(Self.windowSizes(bad.0, bad.1)) wide; ONNX's pooling operators need one kernel size and one stride"),
                Note("choose an output size that divides the input size (\(inDims[1])x\(inDims[2])), or 1x1")])
    }
    let attrs: [ONNXAttribute] = [.ints("kernel_shape", [h.kernel, wd.kernel]), .ints("strides", [h.stride, wd.stride])]
    return w.step(kind == .max ? "MaxPool" : "AveragePool", [x.x], attrs, suffix: kind == .max ? "maxpool" : "avgpool")
  }

  static func windows(_ input: Int, _ output: Int) -> [(start: Int, end: Int)] {
    (0..<output).map { i in (i * input / output, ((i + 1) * input + output - 1) / output) }
  }

  static func windowSizes(_ input: Int, _ output: Int) -> String {
    var seen: [Int] = []
    for w in windows(input, output) where !seen.contains(w.end - w.start) { seen.append(w.end - w.start) }
    return seen.map(String.init).joined(separator: " or ")
  }

  /// The kernel and stride of adaptive pooling along one axis, if its windows are those of a plain pool.
  public static func uniformWindows(_ input: Int, _ output: Int) -> (kernel: Int, stride: Int)? {
    let ws = windows(input, output)
    let kernel = ws[0].end - ws[0].start
    let stride = output > 1 ? ws[1].start - ws[0].start : 1
    for (i, w) in ws.enumerated() where w.end - w.start != kernel || w.start != i * stride { return nil }
    guard stride >= 1 else { return nil }
    return (kernel, stride)
  }
}

/// `maxpool`, `avgpool`, `adaptive_avgpool`, `adaptive_maxpool`, `global_avgpool`, `global_maxpool`.
enum PoolLayers {
  static let poolOptions: [String: String] = [
    "s": "stride", "stride": "stride", "p": "pad", "pad": "pad", "padding": "pad",
    "d": "dilation", "dilation": "dilation",
  ]

  static let specs: [LayerSpec] = [
    LayerSpec(keyword: "maxpool",
              signature: LayerSignature(positional: ["kernel"], required: 1, options: poolOptions, flags: ["ceil"],
                                        usage: "maxpool 3x3 s2 p1 ceil"),
              check: { pool($0, $1, $2, .max, &$3) }),
    LayerSpec(keyword: "avgpool",
              signature: LayerSignature(positional: ["kernel"], required: 1,
                                        options: poolOptions.filter { $0.value != "dilation" },
                                        flags: ["ceil", "exclude_pad"], usage: "avgpool 2x2 s2"),
              check: { pool($0, $1, $2, .avg, &$3) }),
    adaptive("adaptive_avgpool", .avg), adaptive("adaptive_maxpool", .max),
    global("global_avgpool", .avg), global("global_maxpool", .max),
  ]

  static func adaptive(_ keyword: String, _ kind: PoolKind) -> LayerSpec {
    LayerSpec(keyword: keyword,
              signature: LayerSignature(positional: ["size"], required: 1, options: [:], flags: [],
                                        usage: "\(keyword) 6x6"),
              check: { a, input, at, diags in
                let spatial = LayerCheck.requireSpatial(a.keyword, input, at, &diags)
                guard let size = a.pair("size", &diags), spatial else { return nil }
                let x = input.shape
                return Resolved(op: AdaptivePoolOp(kind: kind, outH: size.0, outW: size.1),
                                output: Shape([x.channels, size.0, size.1]))
              })
  }

  static func global(_ keyword: String, _ kind: PoolKind) -> LayerSpec {
    LayerSpec(keyword: keyword,
              signature: LayerSignature(positional: [], required: 0, options: [:], flags: [], usage: keyword),
              check: { a, input, at, diags in
                guard LayerCheck.requireSpatial(a.keyword, input, at, &diags) else { return nil }
                return Resolved(op: AdaptivePoolOp(kind: kind, outH: 1, outW: 1), output: Shape([input.shape.channels, 1, 1]))
              })
  }

  static func pool(_ a: any LayerArguments, _ input: LayerInput, _ at: SourceRange, _ kind: PoolKind,
                   _ diags: inout DiagnosticEngine) -> Resolved? {
    // The input is checked first and the arguments still read: a mistake in them does not depend on it.
    let spatial = LayerCheck.requireSpatial(a.keyword, input, at, &diags)
    let x = input.shape
    guard let kernel = a.pair("kernel", &diags), let stride = a.pair("stride", default: kernel, &diags),
      let pad = a.pair("pad", default: (0, 0), min: 0, &diags),
      let dilation = a.pair("dilation", default: (1, 1), &diags), spatial
    else { return nil }
    // PyTorch: padding at most half the kernel, dilated or not (max_pool2d checks kW / 2 >= padW).
    if pad.0 > kernel.0 / 2 || pad.1 > kernel.1 / 2 {
      diags.error("pool-padding", "padding \(pad.0 == pad.1 ? "\(pad.0)" : "\(pad.0)x\(pad.1)") is more than half the \(kernel.0)x\(kernel.1) kernel",
                  at: a.range("pad"), notes: [Note("PyTorch requires pad <= kernel/2 for pooling")])
      return nil
    }
    let ceil = a.flag("ceil")
    var outH = 0, outW = 0
    do {
      outH = try SpatialRule.outputSize(input: x.height, kernel: kernel.0, stride: stride.0, padBefore: pad.0,
                                        padAfter: pad.0, dilation: dilation.0, ceil: ceil)
      outW = try SpatialRule.outputSize(input: x.width, kernel: kernel.1, stride: stride.1, padBefore: pad.1,
                                        padAfter: pad.1, dilation: dilation.1, ceil: ceil)
    } catch {
      diags.error("size-overflow", "the output size of '\(a.keyword)' overflows", at: at)
      return nil
    }
    if outH <= 0 || outW <= 0 {
      diags.error("kernel-too-large",
                  "the \(kernel.0)x\(kernel.1) window does not fit in the \(x.height + 2 * pad.0)x\(x.width + 2 * pad.1) padded input",
                  at: at, notes: [Note("the input is \(x)")])
      return nil
    }
    if !ceil {
      ConvLayers.warnDropped(a, x, kernel, stride, pad, pad, dilation, at, &diags)
    }
    let attrs = PoolOp(kind: kind, kernel: kernel, stride: stride, pad: pad, dilation: dilation, ceilMode: ceil,
                          countIncludePad: !a.flag("exclude_pad"))
    return Resolved(op: attrs, output: Shape([x.channels, outH, outW]))
  }
}

// MARK: Kernel binding

extension PoolOp {
  func geometry(_ node: KernelNode) -> NetcConvGeometry {
    let x = node.input.dims, y = node.outputShape.dims
    return NetcConvGeometry(inC: x[0], inH: x[1], inW: x[2], outC: y[0], outH: y[1], outW: y[2], kH: kernel.h, kW: kernel.w,
                            sH: stride.h, sW: stride.w, padT: pad.h, padL: pad.w, dH: dilation.h, dW: dilation.w, groups: 1)
  }
  public func run(_ k: KernelRun) {
    netcPool(geometry(k.node), isMax: kind == .max, countIncludePad: countIncludePad, batch: k.batch, input: k.x,
             inStride: k.xs, output: k.y, outStride: k.ys, act: k.act, slope: k.slope)
  }
  public func runText(_ k: KernelCallText) -> String {
    "netcPool(\(geometry(k.node).literal), isMax: \(kind == .max), countIncludePad: \(countIncludePad), batch: batch, \(k.x), \(k.y), \(k.epilogue))"
  }
}

extension AdaptivePoolOp {
  public func run(_ k: KernelRun) {
    let x = k.node.input.dims
    netcAdaptivePool(channels: x[0], inH: x[1], inW: x[2], outH: outH, outW: outW, isMax: kind == .max, batch: k.batch,
                     input: k.x, inStride: k.xs, output: k.y, outStride: k.ys, act: k.act, slope: k.slope)
  }
  public func runText(_ k: KernelCallText) -> String {
    let x = k.node.input.dims
    return "netcAdaptivePool(channels: \(x[0]), inH: \(x[1]), inW: \(x[2]), outH: \(outH), outW: \(outW), isMax: \(kind == .max), batch: batch, \(k.x), \(k.y), \(k.epilogue))"
  }
}
