import NetcBackends
import NetcBasic
import NetcOps
import NetcIR
import NetcSema

extension Pipeline {
  /// Compiles the spec a plan file holds and lowers it again; the result must be exactly the plan in the
  /// file, so a plan edited by hand or written by another version of netc is refused rather than trusted.
  /// Returns nil when the embedded spec has errors (they are in the compilation's diagnostics).
  public static func loadPlan(_ bytes: [UInt8], batch: Int = 1) throws -> (Compilation, (LoweredGraph, BufferPlan)?) {
    let (sourcePath, text) = try PlanFile.source(of: bytes)
    // The spec inside a plan is held to the limit of a spec read from its own file.
    guard text.utf8.count <= maxSourceBytes else {
      throw PlanFileError("the spec it holds is \(grouped(text.utf8.count)) bytes; netc reads specs up to \(grouped(maxSourceBytes)) bytes")
    }
    let c = compile(path: sourcePath, bytes: Array(text.utf8), batch: batch)
    guard let net = c.network else { return (c, nil) }
    let g = Lowering.lower(net)
    let plan = BufferPlan(g)
    guard Array(PlanFile.write(g, plan, source: c.file).utf8) == bytes else {
      throw PlanFileError("it does not match the spec it holds (edited, or written by another version of netc); emit it again")
    }
    return (c, (g, plan))
  }
}
