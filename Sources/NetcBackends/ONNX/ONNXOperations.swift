import NetcBasic
import NetcIR
import NetcSema

/// Each lowered operation as ONNX operators, with PyTorch's (and netc's) exact semantics.
extension ONNXBuilder {
  /// The node's operation without its epilogue; returns the tensor it wrote.
  mutating func operation(_ n: Node) throws -> String {
    let x = input(n.inputs[0])
    let inDims = g.shapes[n.inputs[0]].dims, outDims = g.shapes[n.output].dims
    switch n.kind {
    case .conv(let a, let w, let bias, let bn):
      var attrs: [ONNXAttribute] = [
        .ints("kernel_shape", [a.kernel.h, a.kernel.w]), .ints("strides", [a.stride.h, a.stride.w]),
        .ints("pads", [a.padTop, a.padLeft, a.padBottom, a.padRight]),
        .ints("dilations", [a.dilation.h, a.dilation.w]), .int("group", a.groups),
      ]
      if a.transposed { attrs.append(.ints("output_padding", [a.outputPadding.h, a.outputPadding.w])) }
      let y = step(a.transposed ? "ConvTranspose" : "Conv", [x, "\(w).weight"] + (bias ? ["\(w).bias"] : []), attrs,
                   name: w, suffix: a.transposed ? "convt" : "conv")
      return bn.map { batchNorm($0, y) } ?? y
    case .linear(_, _, let w, let bias, let bn):
      let y = step("Gemm", [x, "\(w).weight"] + (bias ? ["\(w).bias"] : []), [.int("transB", 1)], name: w, suffix: "fc")
      return bn.map { batchNorm($0, y) } ?? y
    case .batchNorm(let bn):
      return batchNorm(bn, x)
    case .pool(let p):
      return try pool(p, x, inDims, outDims, n.source)
    case .adaptivePool(let kind, let oh, let ow):
      return try adaptivePool(kind, oh, ow, x, inDims, n.source)
    case .lrn(let size, let alpha, let beta, let k):
      return lrn(size: size, alpha: alpha, beta: beta, k: k, x, channels: inDims[0])
    case .upsample(let mode, let align, let sh, let sw):
      return try upsample(mode, align, sh, sw, x, inDims, outDims, n.source)
    case .softmax:
      return step("Softmax", [x], [.int("axis", 1)], suffix: "softmax")
    case .activation:
      return x
    case .add, .mul:
      var isMul = false
      if case .mul = n.kind { isMul = true }
      // Shapes of equal rank, broadcasting where a size is 1: ONNX's broadcasting, the batch before them.
      var y = x
      for v in n.inputs.dropFirst() {
        y = step(isMul ? "Mul" : "Add", [y, input(v)], suffix: isMul ? "mul" : "add")
      }
      return y
    case .concat:
      return step("Concat", n.inputs.map { input($0) }, [.int("axis", 1)], suffix: "concat")
    }
  }

  /// BatchNormalization with the layer's own tensors. Without affine parameters (`bn noaffine`) the
  /// scale and shift are constants of ones and zeros, `<bn>.unit_scale` and `<bn>.zero_shift`.
  mutating func batchNorm(_ bn: BatchNormRef, _ x: String) -> String {
    let scale = bn.affine ? "\(bn.name).weight" : constant("\(bn.name).unit_scale", [Float](repeating: 1, count: bn.channels), dims: [bn.channels])
    let shift = bn.affine ? "\(bn.name).bias" : constant("\(bn.name).zero_shift", [Float](repeating: 0, count: bn.channels), dims: [bn.channels])
    return step("BatchNormalization", [x, scale, shift, "\(bn.name).running_mean", "\(bn.name).running_var"],
                [.float("epsilon", Float(bn.eps))], name: bn.name, suffix: "bn")
  }

  /// MaxPool or AveragePool. PyTorch's ceil mode drops a last window that would start in the right
  /// padding; when it does, the size is the floor mode's, so the node asks for floor mode there.
  mutating func pool(_ p: PoolAttrs, _ x: String, _ inDims: [Int], _ outDims: [Int], _ range: SourceRange) throws -> String {
    func sizes(_ input: Int, _ k: Int, _ s: Int, _ pad: Int, _ d: Int) -> (floor: Int, ceil: Int) {
      let span = input + 2 * pad - d * (k - 1) - 1
      return (span / s + 1, (span + s - 1) / s + 1)
    }
    let h = sizes(inDims[1], p.kernel.h, p.stride.h, p.pad.h, p.dilation.h)
    let w = sizes(inDims[2], p.kernel.w, p.stride.w, p.pad.w, p.dilation.w)
    let ceil = outDims[1] != h.floor || outDims[2] != w.floor
    if ceil && (outDims[1] != h.ceil || outDims[2] != w.ceil) {
      throw ONNXExportError(
        message: "cannot export this pooling to ONNX: ceil mode keeps the last window in one direction and drops it in the other",
        range: range,
        notes: [Note("ONNX's 'ceil_mode' applies to both directions; pad the input so the windows fit evenly")])
    }
    var attrs: [ONNXAttribute] = [
      .ints("kernel_shape", [p.kernel.h, p.kernel.w]), .ints("strides", [p.stride.h, p.stride.w]),
      .ints("pads", [p.pad.h, p.pad.w, p.pad.h, p.pad.w]), .int("ceil_mode", ceil ? 1 : 0),
    ]
    if p.kind == .max {
      attrs.append(.ints("dilations", [p.dilation.h, p.dilation.w]))
      return step("MaxPool", [x], attrs, suffix: "maxpool")
    }
    attrs.append(.int("count_include_pad", p.countIncludePad ? 1 : 0))
    return step("AveragePool", [x], attrs, suffix: "avgpool")
  }

  /// Adaptive pooling: window i spans [floor(i*in/out), ceil((i+1)*in/out)). To 1x1 it is global pooling;
  /// where every window has the same size and they start at a constant stride (whenever the input size
  /// divides by the output size, and in some other cases, 7 -> 3 among them), it is ordinary pooling.
  mutating func adaptivePool(_ kind: PoolKind, _ oh: Int, _ ow: Int, _ x: String, _ inDims: [Int],
                             _ range: SourceRange) throws -> String {
    if oh == 1 && ow == 1 {
      return step(kind == .max ? "GlobalMaxPool" : "GlobalAveragePool", [x], suffix: kind == .max ? "gmaxpool" : "gavgpool")
    }
    guard let h = Self.uniformWindows(inDims[1], oh), let w = Self.uniformWindows(inDims[2], ow) else {
      let bad = Self.uniformWindows(inDims[1], oh) == nil ? (inDims[1], oh) : (inDims[2], ow)
      throw ONNXExportError(
        message: "cannot export adaptive pooling from \(inDims[1])x\(inDims[2]) to \(oh)x\(ow) to ONNX: its windows differ in size",
        range: range,
        notes: [Note("from \(bad.0) to \(bad.1) the windows are \(Self.windowSizes(bad.0, bad.1)) wide; ONNX's pooling operators need one kernel size and one stride"),
                Note("choose an output size that divides the input size (\(inDims[1])x\(inDims[2])), or 1x1")])
    }
    let attrs: [ONNXAttribute] = [.ints("kernel_shape", [h.kernel, w.kernel]), .ints("strides", [h.stride, w.stride])]
    return step(kind == .max ? "MaxPool" : "AveragePool", [x], attrs, suffix: kind == .max ? "maxpool" : "avgpool")
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
  static func uniformWindows(_ input: Int, _ output: Int) -> (kernel: Int, stride: Int)? {
    let ws = windows(input, output)
    let kernel = ws[0].end - ws[0].start
    let stride = output > 1 ? ws[1].start - ws[0].start : 1
    for (i, w) in ws.enumerated() where w.end - w.start != kernel || w.start != i * stride { return nil }
    guard stride >= 1 else { return nil }
    return (kernel, stride)
  }

  /// LocalResponseNorm: x / (k + alpha/size * sum of squares over channels [c - size/2, c + (size-1)/2])^beta.
  /// ONNX's LRN centres an even window the other way ([c - (size-1)/2, c + size/2]), so for even sizes the
  /// sum is a 1x1 convolution of x^2 with a band of ones (`netc.lrn_window.<C>x<size>`).
  mutating func lrn(size: Int, alpha: Double, beta: Double, k: Double, _ x: String, channels c: Int) -> String {
    if size % 2 == 1 {
      return step("LRN", [x], [.int("size", size), .float("alpha", Float(alpha)), .float("beta", Float(beta)),
                               .float("bias", Float(k))], suffix: "lrn")
    }
    var band = [Float](repeating: 0, count: c * c)
    for o in 0..<c {
      for i in max(0, o - size / 2)...min(c - 1, o + (size - 1) / 2) { band[o * c + i] = 1 }
    }
    let final = current?.final ?? x
    let window = constant("netc.lrn_window.\(c)x\(size)", band, dims: [c, c, 1, 1])
    let sq = step("Mul", [x, x], suffix: "lrn_square")
    let sum = step("Conv", [sq, window], [.ints("kernel_shape", [1, 1])], suffix: "lrn_sum")
    let scaled = step("Mul", [sum, constant("netc.\(final).alpha_over_size", [Float(alpha / Double(size))])], suffix: "lrn_scale")
    let base = step("Add", [scaled, constant("netc.\(final).k", [Float(k)])], suffix: "lrn_base")
    let div = step("Pow", [base, constant("netc.\(final).beta", [Float(beta)])], suffix: "lrn_pow")
    return step("Div", [x, div], suffix: "lrn")
  }

  /// Resize on the two spatial axes. netc (like PyTorch) finds source pixels with its input-per-output
  /// ratio: nearest takes floor(dst * ratio) (`asymmetric`, `floor`); bilinear samples (dst + 0.5) *
  /// ratio - 0.5 clamped at 0 (`half_pixel`) or dst * (in - 1) / (out - 1) (`align_corners`). ONNX
  /// divides by its scale instead: the output size over the input size when `sizes` is given, else the
  /// `scales` given. Sizes are given when the ratio is in/out (a size was written, or the scale makes
  /// whole pixels), scales otherwise.
  mutating func upsample(_ mode: UpsampleMode, _ align: Bool, _ sh: Double, _ sw: Double, _ x: String,
                         _ inDims: [Int], _ outDims: [Int], _ range: SourceRange) throws -> String {
    let final = current?.final ?? x
    var attrs: [ONNXAttribute] = [.ints("axes", [2, 3])]
    if mode == .nearest {
      attrs += [.string("mode", "nearest"), .string("coordinate_transformation_mode", "asymmetric"),
                .string("nearest_mode", "floor")]
    } else {
      attrs += [.string("mode", "linear"),
                .string("coordinate_transformation_mode", align ? "align_corners" : "half_pixel")]
    }
    func isSizeRatio(_ ratio: Double, _ i: Int, _ o: Int) -> Bool {
      abs(ratio * Double(o) - Double(i)) <= 1e-12 * Double(i)
    }
    if align || (isSizeRatio(sh, inDims[1], outDims[1]) && isSizeRatio(sw, inDims[2], outDims[2])) {
      let sizes = constant("netc.\(final).sizes", int64: [outDims[1], outDims[2]])
      return step("Resize", [x, "", "", sizes], attrs, suffix: "resize")
    }
    let scales = [Float(1 / sh), Float(1 / sw)]
    // ONNX Runtime's output size: floor(scale * input) in float.
    guard Int(scales[0] * Float(inDims[1])) == outDims[1], Int(scales[1] * Float(inDims[2])) == outDims[2] else {
      throw ONNXExportError(
        message: "cannot export this upsampling to ONNX: scale \(1 / sh)x\(1 / sw) of \(inDims[1])x\(inDims[2]) does not give \(outDims[1])x\(outDims[2]) in float arithmetic",
        range: range, notes: [Note("write the output size instead: 'upsample size=\(outDims[1])x\(outDims[2])'")])
    }
    let s = constant("netc.\(final).scales", scales, dims: [2])
    return step("Resize", [x, "", s], attrs, suffix: "resize")
  }
}
