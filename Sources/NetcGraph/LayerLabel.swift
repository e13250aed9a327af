import NetcSema

/// How a layer is named in a diagram: as a spec would write it (`conv 3x3 64 s2 p1`, `maxpool 3x3 s2
/// ceil`, `fc 1000`), with the functional form in parentheses (`relu()`).
enum LayerLabel {
  static func title(_ op: CheckedOp) -> String {
    let (keyword, args) = words(op.op)
    if !op.isModule { return "\(keyword)(\(args.joined(separator: " ")))" }
    return ([keyword] + args).joined(separator: " ")
  }

  static func words(_ op: Op) -> (String, [String]) {
    switch op {
    case .conv(let a):
      var args = [size(a.kernel), String(a.outChannels)]
      if a.stride != (1, 1) { args.append("s" + pair(a.stride)) }
      if a.padTop == a.padBottom && a.padLeft == a.padRight {
        if a.padTop != 0 || a.padLeft != 0 { args.append("p" + pair((a.padTop, a.padLeft))) }
      } else {
        args.append("pad=same")
      }
      if a.dilation != (1, 1) { args.append("d" + pair(a.dilation)) }
      if a.groups > 1 {
        args.append(a.groups == a.inChannels && a.groups == a.outChannels ? "dw" : "g\(a.groups)")
      }
      if a.transposed && a.outputPadding != (0, 0) { args.append("out_pad=" + pair(a.outputPadding)) }
      return (a.transposed ? "convt" : "conv", args)
    case .pool(let a):
      var args = [size(a.kernel)]
      if a.stride != a.kernel { args.append("s" + pair(a.stride)) }
      if a.pad != (0, 0) { args.append("p" + pair(a.pad)) }
      if a.dilation != (1, 1) { args.append("d" + pair(a.dilation)) }
      if a.ceilMode { args.append("ceil") }
      return (a.kind == .max ? "maxpool" : "avgpool", args)
    case .adaptivePool(let kind, let h, let w):
      if h == 1 && w == 1 { return (kind == .max ? "global_maxpool" : "global_avgpool", []) }
      return (kind == .max ? "adaptive_maxpool" : "adaptive_avgpool", [size((h, w))])
    case .linear(_, let out, _):
      return ("fc", [String(out)])
    case .flatten: return ("flatten", [])
    case .dropout(let p): return ("dropout", [number(p)])
    case .batchNorm: return ("bn", [])
    case .lrn(let size, _, _, _): return ("lrn", [String(size)])
    case .upsample(let sh, let sw, let mode, _, let sizeGiven):
      var args = sizeGiven ? [] : [sh == sw ? number(sh) : "\(number(sh))x\(number(sw))"]
      if mode == .bilinear { args.append("bilinear") }
      return ("upsample", args)
    case .identity: return ("identity", [])
    case .activation(let a):
      switch a {
      case .relu: return ("relu", [])
      case .relu6: return ("relu6", [])
      case .sigmoid: return ("sigmoid", [])
      case .tanh: return ("tanh", [])
      case .silu: return ("silu", [])
      case .gelu: return ("gelu", [])
      case .leakyRelu(let slope): return ("leaky_relu", [number(slope)])
      }
    case .softmax: return ("softmax", [])
    case .concat: return ("concat", [])
    case .add: return ("add", [])
    case .mul: return ("mul", [])
    }
  }

  static func style(_ op: Op) -> DiagramBox.Style {
    switch op {
    case .conv: return .conv
    case .pool, .adaptivePool, .upsample: return .pool
    case .linear: return .linear
    case .batchNorm, .lrn: return .norm
    case .concat, .add, .mul: return .join
    case .flatten, .dropout, .identity, .activation, .softmax: return .pointwise
    }
  }

  /// Layers drawn on one line: those that keep the shape and have nothing to say beyond their name.
  static func isCompact(_ op: Op) -> Bool {
    switch op {
    case .batchNorm, .lrn, .dropout, .identity, .activation, .softmax, .flatten: return true
    default: return false
    }
  }

  /// A kernel or output size: `3x3`, `1x7`.
  static func size(_ p: (Int, Int)) -> String { "\(p.0)x\(p.1)" }

  /// A stride, padding or dilation: `2`, or `2x1` when they differ.
  static func pair(_ p: (Int, Int)) -> String { p.0 == p.1 ? String(p.0) : "\(p.0)x\(p.1)" }

  static func number(_ x: Double) -> String {
    x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : "\(x)"
  }
}
