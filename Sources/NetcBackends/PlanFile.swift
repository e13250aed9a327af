import NetcBasic
import NetcOps
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
    var kv: [(String, JSONValue)] = [("op", .string(n.op.planName))] + n.op.planJSON(n.tensors)
    kv.append(("inputs", .array(n.inputs.map { .int($0) })))
    kv.append(("output", .int(n.output)))
    if let r = n.residual { kv.append(("residual", .int(r))) }
    if let a = n.activation { kv.append(("activation", .string(a.name))) }
    return .object(kv)
  }
}

public struct PlanFileError: Error, CustomStringConvertible {
  public var description: String
  public init(_ d: String) { description = d }
}
