// Fuzz target: any bytes as a `.net` file through every stage: parse, check, every report, lowering, the
// buffer plan, every emitter, and a plan file's round trip. Run by scripts/fuzz.sh.
import NetcBackends
import NetcBasic
import NetcDriver
import NetcIR
import NetcReport

/// Lowering and emitting grow with the layer count; a fuzzer that writes `x100000` should spend its time
/// on the front end, which must still check such a network quickly.
let maxLoweredOps = 4000

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSource(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  let c = Pipeline.compile(path: "fuzz.net", bytes: bytes, batch: 2)
  _ = DiagnosticRenderer(useColor: true).render(c.diagnostics.diagnostics, in: c.file)
  _ = DiagnosticRenderer.json(c.diagnostics.diagnostics, in: c.file).map { $0.rendered() }
  guard let net = c.network else {
    precondition(c.diagnostics.hasErrors, "a network was rejected without an error")
    return 0
  }
  let summary = Summary(net, batch: 2, dtype: .f16)
  _ = TorchSummaryPrinter.render(summary, batchGiven: true)
  _ = TorchInfoPrinter.render(summary, depth: 2)
  _ = JSONPrinter.value(summary, file: c.file).rendered()
  _ = MarkdownPrinter.render(summary)
  guard net.ops.count <= maxLoweredOps else { return 0 }
  let g = Lowering.lower(net)
  let plan = BufferPlan(g)
  _ = PlanPrinter.render(g, plan, file: c.file)
  _ = SwiftEmitter.emit(g, plan, file: c.file)
  _ = PyTorchEmitter.emit(net, file: c.file)
  // A plan file netc writes must load back as the same plan.
  let planText = PlanFile.write(g, plan, source: c.file)
  do {
    let (_, reloaded) = try Pipeline.loadPlan(Array(planText.utf8), batch: 2)
    precondition(reloaded != nil, "a plan file of a valid network does not load")
  } catch {
    preconditionFailure("a plan file netc wrote is refused: \(error)")
  }
  return 0
}
