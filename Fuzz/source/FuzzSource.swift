// Fuzz target: any bytes as a `.net` file through every stage: parse, check, every report and diagram,
// lowering, the buffer plan, every emitter, and a plan file's round trip; and `netc fmt`, which must keep
// the meaning (it parses its own output) and be idempotent. Run by scripts/fuzz.sh.
import NetcBackends
import NetcBasic
import NetcDriver
import NetcFormat
import NetcGraph
import NetcIR
import NetcReport

/// Lowering and emitting grow with the layer count; a fuzzer that writes `x100000` should spend its time
/// on the front end, which must still check such a network quickly.
let maxLoweredOps = 4000
/// The reports and diagrams are linear in the layers, but a 100,000-row table under AddressSanitizer
/// takes longer than libFuzzer's timeout; their code paths are the same at this size.
let maxReportedOps = 20_000

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSource(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  checkFormatter(bytes)
  let c = Pipeline.compile(path: "fuzz.net", bytes: bytes, batch: 2)
  _ = DiagnosticRenderer(useColor: true).render(c.diagnostics.diagnostics, in: c.file)
  _ = DiagnosticRenderer.json(c.diagnostics.diagnostics, in: c.file).map { $0.rendered() }
  guard let net = c.network else {
    precondition(c.diagnostics.hasErrors, "a network was rejected without an error")
    return 0
  }
  guard net.ops.count <= maxReportedOps else { return 0 }
  let summary = Summary(net, batch: 2, dtype: .f16)
  _ = TorchSummaryPrinter.render(summary, batchGiven: true)
  _ = TorchInfoPrinter.render(summary, depth: 2)
  _ = JSONPrinter.value(summary, file: c.file).rendered()
  _ = MarkdownPrinter.render(summary)
  for depth in [0, Diagram.allLevels] {
    let diagram = Diagram.build(net, depth: depth)
    _ = SVGRenderer.render(diagram)
    _ = DotPrinter.render(diagram)
    _ = MermaidPrinter.render(diagram)
  }
  guard net.ops.count <= maxLoweredOps else { return 0 }
  let g = Lowering.lower(net)
  let plan = BufferPlan(g)
  _ = PlanPrinter.render(g, plan, file: c.file)
  _ = SwiftEmitter.emit(g, plan, file: c.file)
  _ = PyTorchEmitter.emit(net, file: c.file)
  // The ONNX model, with zero weights where they are small enough to make quickly; an operation ONNX
  // cannot express must be an export error, never a trap.
  if g.tensors.reduce(0, { $0 + $1.shape.reduce(1, *) }) <= 1 << 20 {
    var weights: [String: [Float]] = [:]
    for t in g.tensors { weights[t.name] = [Float](repeating: 0, count: t.shape.reduce(1, *)) }
    _ = try? ONNXEmitter.emit(g, weights: weights, file: c.file, producerVersion: "fuzz", sideFile: nil)
  }
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

/// A file that parses formats to text with the same syntax tree (`SourceFormatter.format` checks that and
/// reports `fmt-internal-error` otherwise), and formatting that text again changes nothing.
func checkFormatter(_ bytes: [UInt8]) {
  let file = SourceFile(path: "fuzz.net", bytes: bytes)
  var diagnostics = DiagnosticEngine(file: file)
  guard let once = SourceFormatter.format(file, diagnostics: &diagnostics) else {
    precondition(!diagnostics.diagnostics.contains { $0.id == "fmt-internal-error" },
                 "netc fmt would change what a file means")
    precondition(diagnostics.hasErrors, "netc fmt refused a file without an error")
    return
  }
  let formatted = SourceFile(path: "fuzz.net", bytes: Array(once.utf8))
  var again = DiagnosticEngine(file: formatted)
  precondition(SourceFormatter.format(formatted, diagnostics: &again) == once, "netc fmt is not idempotent")
}
