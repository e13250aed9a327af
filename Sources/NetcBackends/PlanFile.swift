import NetcBasic
import NetcIR
import NetcSema

/// The plan file `netc emit --target plan` writes: JSON, `"format": "netc-plan"`, `"version": 1`, holding
/// the lowered graph (values with shapes, nodes with every attribute, views, in-place concatenations,
/// weight tensors), the buffer plan, and the spec it came from. README.md documents the fields.
///
/// A plan is not trusted: `netc run` checks and lowers the embedded spec again and requires the result to
/// be the plan in the file, so an edited or corrupted plan is refused instead of driving the kernels out
/// of bounds.
public enum PlanFile {
  public static let format = "netc-plan"
  public static let version = 1

  public static func write(_ g: LoweredGraph, _ plan: BufferPlan, source: SourceFile) -> String {
    JSONValue.object([
      ("format", .string(format)), ("version", .int(version)), ("network", .string(g.name)),
      ("source_path", .string(source.path)), ("source", .string(String(decoding: source.bytes, as: UTF8.self))),
      ("arena_floats_per_item", .int(plan.arenaSize)),
      ("placements", .array(plan.placements.sorted { $0.key < $1.key }.map {
        .array([.int($0.key), .int($0.value.base), .int($0.value.itemOffset), .int($0.value.itemStride)])
      })),
      ("input", .int(g.input)), ("outputs", .array(g.outputs.map { .int($0) })),
      ("shapes", .array(g.shapes.map { .array($0.dims.map { .int($0) }) })),
      ("aliases", .array(g.aliases.sorted { $0.key < $1.key }.map { .array([.int($0.key), .int($0.value)]) })),
      ("in_place_concats", .array(g.inPlaceConcats.sorted().map { .int($0) })),
      ("tensors", .array(g.tensors.map { .object([("name", .string($0.name)), ("shape", .array($0.shape.map { .int($0) }))]) })),
      ("nodes", .array(g.nodes.map(node))),
    ]).rendered() + "\n"
  }

  /// The spec a plan file holds, after checking the format and version; the caller compiles it and
  /// compares `write` of the result with the file.
  public static func source(of bytes: [UInt8]) throws -> (path: String, text: String) {
    let json: JSONValue
    do { json = try JSONValue.parse(bytes) } catch { throw PlanFileError("not a netc plan: \(error)") }
    guard json["format"]?.stringValue == format else { throw PlanFileError("not a netc plan (no \"format\": \"\(format)\")") }
    guard let v = json["version"]?.intValue, v == version else {
      throw PlanFileError("plan version \(json["version"]?.intValue.map(String.init) ?? "?") is not supported; this netc reads version \(version)")
    }
    guard let path = json["source_path"]?.stringValue, let text = json["source"]?.stringValue else {
      throw PlanFileError("the plan lacks its source spec")
    }
    return (path, text)
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

public struct PlanFileError: Error, CustomStringConvertible {
  public var description: String
  public init(_ d: String) { description = d }
}
