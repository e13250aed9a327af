import Dispatch
#if canImport(Glibc)
  import Glibc
#endif
import NetcBackends
import NetcBasic
import NetcIR
import NetcTensors
import NetcRuntime
import NetcSema

/// Largest weight file netc reads: VGG-19 in f32 is 575 MB.
let maxWeightBytes = 4 << 30
/// Largest .npy input.
let maxTensorBytes = 2 << 30

struct UserError: Error { var message: String }

/// A spec, or a plan file made by `netc emit --target plan`: the plan's embedded spec is compiled again and
/// must lower to exactly the plan in the file.
func loweredSpecOrPlan(_ common: CommonOptions, _ path: String, _ r: inout CommandResult) throws
  -> (Compilation, LoweredGraph, BufferPlan)?
{
  guard path.hasSuffix(".plan") else { return lowered(common, path, &r) }
  let bytes = try Files.read(path, limit: Pipeline.maxSourceBytes * 4)
  let loaded: (Compilation, (LoweredGraph, BufferPlan)?)
  do { loaded = try Pipeline.loadPlan(bytes, batch: common.batch) } catch let e as PlanFileError {
    throw UserError(message: "'\(path)': \(e.description)")
  }
  var (c, lowered) = loaded
  common.report(c, into: &r)
  guard let (g, plan) = lowered else { return nil }
  c.timings = []
  return (c, g, plan)
}

/// Compiles a spec and lowers it, or reports and returns nil.
func lowered(_ common: CommonOptions, _ path: String, _ r: inout CommandResult) -> (Compilation, LoweredGraph, BufferPlan)? {
  guard let c = common.compile(path, into: &r), let net = c.network else { return nil }
  let g = Lowering.lower(net)
  return (c, g, BufferPlan(g))
}

enum InitCommand {
  static func run(_ args: [String], _ terminal: Terminal, _ r: inout CommandResult) throws {
    let a = try Arguments(args, command: "init", valued: CommonOptions.valued.union(["--seed", "-o", "--dtype"]),
                          flags: CommonOptions.flags)
    if a.flags.contains("--help") { r.stdout = Help.initHelp; return }
    let common = try CommonOptions(a, command: "init", terminal: terminal)
    let seed = try a.int("--seed", default: 0, range: 0...Int.max, command: "init")
    let dtype = try a.choice("--dtype", ["f32", "f16", "bf16"], default: "f32", command: "init")
    guard a.positional.count == 1 else { throw UsageError(message: "'init' takes one spec", command: "init") }
    guard let out = a.values["-o"] else { throw UsageError(message: "give the output file with '-o W.safetensors'", command: "init") }
    guard let (_, g, _) = lowered(common, a.positional[0], &r) else { r.status = 1; return }
    let tensors = WeightLoader.heInit(g, seed: UInt64(seed))
    let type: ElementType = dtype == "f16" ? .f16 : dtype == "bf16" ? .bf16 : .f32
    try Files.writeAtomically(SafeTensors.write(tensors, as: type), to: out)
    let count = tensors.reduce(0) { $0 + $1.data.count }
    r.stderr += "wrote \(tensors.count) tensors (\(grouped(count)) values, \(dtype)) to \(out)\n"
  }
}

enum RunCommand {
  static func run(_ args: [String], _ terminal: Terminal, _ r: inout CommandResult) throws {
    let a = try Arguments(args, command: "run",
                          valued: CommonOptions.valued.union(["--weights", "--input", "--seed", "-o", "--memory-limit"]),
                          flags: CommonOptions.flags.union(["--serve", "--profile"]))
    if a.flags.contains("--help") { r.stdout = Help.runHelp; return }
    let common = try CommonOptions(a, command: "run", terminal: terminal)
    guard a.positional.count == 1 else { throw UsageError(message: "'run' takes one spec", command: "run") }
    guard let weightsPath = a.values["--weights"] else {
      throw UsageError(message: "give the weights with '--weights W.safetensors' (make some with 'netc init')", command: "run")
    }
    guard let inputArg = a.values["--input"] else {
      throw UsageError(message: "give an input with '--input X.npy' or '--input random'", command: "run")
    }
    let seed = try a.int("--seed", default: 0, range: 0...Int.max, command: "run")
    let limitMB = try a.int("--memory-limit", default: Interpreter.defaultMemoryLimit >> 20, range: 1...(1 << 30), command: "run")
    guard let (_, g, plan) = try loweredSpecOrPlan(common, a.positional[0], &r) else { r.status = 1; return }
    do {
      let file = try Files.RangeReader(weightsPath, limit: maxWeightBytes)
      let weights = try WeightLoader.open(g, fileSize: file.size, read: file.read)
      let prepared = try RunInput.load(inputArg, item: g.shapes[g.input], batch: common.batch, seed: seed, memoryLimit: limitMB << 20)
      let (batch, input) = (prepared.batch, prepared.values)
      r.stderr += prepared.warnings
      let interpreter = try Interpreter(graph: g, plan: plan, weights: weights, batch: batch, memoryLimit: limitMB << 20)
      r.stderr += NonFinite.warnings(weights.nonFinite, file: weightsPath)
      let outputs = interpreter.run(input)
      if let out = a.values["-o"] {
        let shape = [batch] + g.shapes[g.outputs[0]].dims
        try Files.writeAtomically(NPY.write(shape: shape, data: outputs[0]), to: out)
      } else if !a.flags.contains("--serve") {
        r.stdout += summary(g, outputs, batch: batch)
      }
      if a.flags.contains("--serve") { serve(interpreter, input) }
      if a.flags.contains("--profile") { r.stderr += profile(interpreter, input) }
    } catch let e as TensorFileError {
      throw UserError(message: e.message)
    }
  }

  /// Benchmark mode: one more inference per line read from stdin, each answered at once with its time in
  /// milliseconds, so a harness can interleave netc with other runtimes in one process each.
  static func serve(_ interpreter: Interpreter, _ input: [Float]) {
    print("ready")
    fflush(nil)
    while readLine() != nil {
      let t0 = DispatchTime.now().uptimeNanoseconds
      input.withUnsafeBufferPointer { interpreter.runInPlace($0.baseAddress!) }
      let t1 = DispatchTime.now().uptimeNanoseconds
      print(Double(t1 - t0) / 1e6)
      fflush(nil)
    }
  }

  /// Each node's time, the median of five runs after the first, slowest first.
  static func profile(_ interpreter: Interpreter, _ input: [Float]) -> String {
    let runs = (0..<5).map { _ in input.withUnsafeBufferPointer { interpreter.profile($0.baseAddress!) } }
    let g = interpreter.graph
    var rows: [(ms: Double, text: String)] = []
    for (i, n) in g.nodes.enumerated() {
      let ms = Double(runs.map { $0[i] }.sorted()[2]) / 1e6
      rows.append((ms, "\(PlanPrinter.describe(n)) -> \(g.shapes[n.output])"))
    }
    let total = rows.reduce(0) { $0 + $1.ms }
    var s = "time per node, median of 5 runs (total \(fixed(total, 2)) ms):\n"
    for r in rows.sorted(by: { $0.ms > $1.ms }) {
      s += "  \(fixed(r.ms, 3)) ms  \(fixed(100 * r.ms / max(total, 1e-9), 1))%  \(r.text)\n"
    }
    return s
  }

  /// The output shape and, for a classifier, each item's five most likely classes.
  static func summary(_ g: LoweredGraph, _ outputs: [[Float]], batch: Int) -> String {
    let shape = g.shapes[g.outputs[0]]
    var s = "output: \(batch)x\(shape)\n"
    guard shape.dims.count == 1, shape.dims[0] >= 2 else { return s }
    let n = shape.dims[0]
    let endsInSoftmax = g.nodes.last.map { if case .softmax = $0.kind { return true }; return false } ?? false
    for b in 0..<batch {
      let row = Array(outputs[0][(b * n)..<((b + 1) * n)])
      var probs = row
      if !endsInSoftmax {
        let m = row.max()!
        let e = row.map { Double(netcExpPublic($0 - m)) }
        let total = e.reduce(0, +)
        probs = e.map { Float($0 / total) }
      }
      let top = probs.enumerated().sorted { $0.element > $1.element }.prefix(5)
      s += batch > 1 ? "item \(b):\n" : ""
      for (cls, p) in top { s += "  class \(cls): \(fixed(Double(p), 4))\n" }
    }
    return s
  }
}

enum EmitCommand {
  static let targets = ["swift", "pytorch", "plan", "onnx"]

  static func run(_ args: [String], _ terminal: Terminal, _ r: inout CommandResult) throws {
    let a = try Arguments(args, command: "emit", valued: CommonOptions.valued.union(["--target", "-o", "--weights"]),
                          flags: CommonOptions.flags)
    if a.flags.contains("--help") { r.stdout = Help.emitHelp; return }
    let common = try CommonOptions(a, command: "emit", terminal: terminal)
    guard let target = a.values["--target"] else {
      throw UsageError(message: "choose a target with '--target swift', '--target pytorch', '--target plan' or '--target onnx'", command: "emit")
    }
    guard targets.contains(target) else {
      throw UsageError(message: "'--target' must be one of \(targets.joined(separator: ", ")), found '\(target)'", command: "emit")
    }
    if a.values["--weights"] != nil && target != "onnx" {
      throw UsageError(message: "'--weights' applies to '--target onnx' only: the other targets load weights when they run", command: "emit")
    }
    guard a.positional.count == 1 else { throw UsageError(message: "'emit' takes one spec", command: "emit") }
    guard let out = a.values["-o"] else { throw UsageError(message: "give the output file with '-o FILE'", command: "emit") }
    guard let (c, g, plan) = lowered(common, a.positional[0], &r), let net = c.network else { r.status = 1; return }
    let bytes: [UInt8]
    switch target {
    case "pytorch": bytes = Array(PyTorchEmitter.emit(net, file: c.file).utf8)
    case "swift": bytes = Array(SwiftEmitter.emit(g, plan, file: c.file).utf8)
    case "onnx":
      guard let model = try onnx(g, c, common, weightsPath: a.values["--weights"], &r) else { r.status = 1; return }
      bytes = model
    default: bytes = Array(PlanFile.write(g, plan, source: c.file).utf8)
    }
    try Files.writeAtomically(bytes, to: out)
  }

  /// The ONNX model with the given weights, or with `netc init`'s (seed 0) when none are given; an
  /// operation ONNX cannot express is reported as a diagnostic at its line.
  static func onnx(_ g: LoweredGraph, _ c: Compilation, _ common: CommonOptions, weightsPath: String?,
                   _ r: inout CommandResult) throws -> [UInt8]? {
    var weights: [String: [Float]] = [:]
    if let weightsPath {
      do {
        weights = try WeightLoader.load(g, safetensors: try Files.read(weightsPath, limit: maxWeightBytes))
        r.stderr += NonFinite.warnings(WeightLoader.nonFinite(weights, of: g), file: weightsPath)
      } catch let e as TensorFileError {
        throw UserError(message: "'\(weightsPath)': \(e.message)")
      }
    } else {
      for t in WeightLoader.heInit(g, seed: 0) { weights[t.name] = t.data }
    }
    do {
      return try ONNXEmitter.emit(g, weights: weights, file: c.file, producerVersion: Help.versionNumber)
    } catch let e as ONNXExportError {
      var failed = c
      failed.diagnostics = DiagnosticEngine(file: c.file)
      failed.diagnostics.error("onnx-unsupported", e.message, at: e.range, notes: e.notes)
      common.report(failed, into: &r)
      return nil
    }
  }
}
