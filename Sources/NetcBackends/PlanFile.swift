import NetcBasic
import NetcIR
import NetcSema

/// The plan file `netc emit --target plan` writes: JSON, `"format": "netc-plan"`, `"version": 1`, holding
/// the lowered graph (values with shapes, nodes with every attribute, views, in-place concatenations,
/// weight tensors) and the buffer plan. README.md documents the fields.
public enum PlanFile {
  public static func write(_ g: LoweredGraph, _ plan: BufferPlan) -> String {
    JSONValue.object([
      ("format", .string("netc-plan")), ("version", .int(1)), ("network", .string(g.name)),
      ("input", .int(g.input)), ("outputs", .array(g.outputs.map { .int($0) })),
      ("shapes", .array(g.shapes.map { .array($0.dims.map { .int($0) }) })),
      ("aliases", .array(g.aliases.sorted { $0.key < $1.key }.map { .array([.int($0.key), .int($0.value)]) })),
      ("in_place_concats", .array(g.inPlaceConcats.sorted().map { .int($0) })),
      ("tensors", .array(g.tensors.map { .object([("name", .string($0.name)), ("shape", .array($0.shape.map { .int($0) }))]) })),
      ("nodes", .array(g.nodes.map(node))),
    ]).rendered() + "\n"
  }

  static func node(_ n: Node) -> JSONValue {
    var kv: [(String, JSONValue)] = []
    func pair(_ p: (h: Int, w: Int)) -> JSONValue { .array([.int(p.h), .int(p.w)]) }
    func bn(_ b: BatchNormRef?) -> JSONValue {
      guard let b else { return .null }
      return .object([("name", .string(b.name)), ("channels", .int(b.channels)), ("eps", .double(b.eps)), ("affine", .bool(b.affine))])
    }
    switch n.kind {
    case .conv(let a, let w, let bias, let b):
      kv = [("op", .string(a.transposed ? "conv_transpose" : "conv")), ("weights", .string(w)), ("bias", .bool(bias)),
            ("batch_norm", bn(b)), ("in_channels", .int(a.inChannels)), ("out_channels", .int(a.outChannels)),
            ("kernel", pair(a.kernel)), ("stride", pair(a.stride)),
            ("padding", .array([.int(a.padTop), .int(a.padLeft), .int(a.padBottom), .int(a.padRight)])),
            ("dilation", pair(a.dilation)), ("groups", .int(a.groups)), ("output_padding", pair(a.outputPadding))]
    case .linear(let i, let o, let w, let bias, let b):
      kv = [("op", .string("linear")), ("weights", .string(w)), ("bias", .bool(bias)), ("batch_norm", bn(b)),
            ("in_features", .int(i)), ("out_features", .int(o))]
    case .batchNorm(let b): kv = [("op", .string("batch_norm")), ("batch_norm", bn(b))]
    case .pool(let a):
      kv = [("op", .string(a.kind == .max ? "max_pool" : "avg_pool")), ("kernel", pair(a.kernel)), ("stride", pair(a.stride)),
            ("padding", pair(a.pad)), ("dilation", pair(a.dilation)), ("ceil_mode", .bool(a.ceilMode)),
            ("count_include_pad", .bool(a.countIncludePad))]
    case .adaptivePool(let k, let h, let w):
      kv = [("op", .string(k == .max ? "adaptive_max_pool" : "adaptive_avg_pool")), ("size", .array([.int(h), .int(w)]))]
    case .lrn(let size, let alpha, let beta, let k):
      kv = [("op", .string("lrn")), ("size", .int(size)), ("alpha", .double(alpha)), ("beta", .double(beta)), ("k", .double(k))]
    case .upsample(let mode, let align, let sh, let sw):
      kv = [("op", .string("upsample")), ("mode", .string(mode.rawValue)), ("align_corners", .bool(align)),
            ("source_scale", .array([.double(sh), .double(sw)]))]
    case .softmax: kv = [("op", .string("softmax"))]
    case .activation: kv = [("op", .string("activation"))]
    case .add: kv = [("op", .string("add"))]
    case .mul: kv = [("op", .string("mul"))]
    case .concat: kv = [("op", .string("concat"))]
    }
    kv.append(("inputs", .array(n.inputs.map { .int($0) })))
    kv.append(("output", .int(n.output)))
    if let r = n.residual { kv.append(("residual", .int(r))) }
    if let a = n.activation { kv.append(("activation", .string(PlanPrinter.name(a)))) }
    return .object(kv)
  }
}
