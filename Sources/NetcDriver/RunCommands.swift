import Dispatch
#if canImport(Glibc)
  import Glibc
#endif
import NetcBackends
import NetcBasic
import NetcOps
import NetcIR
import NetcKernels
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
    let type: ElementType = dtype == "f16" ? .f16 : dtype == "bf16" ? .bf16 : .f32
    // The weights are drawn and encoded in memory whole: refuse a file 'netc run' would not read before
    // allocating any of it.
    let fileBytes = weightBytes(g, elementSize: type.size)
    guard let fileBytes, fileBytes <= maxWeightBytes else {
      throw UserError(message: "the weights of this network would take \(fileBytes.map(grouped) ?? "more than 2^63") bytes in \(dtype), above the limit of \(grouped(maxWeightBytes)) for a weight file")
    }
    let tensors = WeightLoader.heInit(g, seed: UInt64(seed))
    try Files.writeAtomically(SafeTensors.write(tensors, as: type), to: out, inputs: [a.positional[0]])
    let count = tensors.reduce(0) { $0 + $1.data.count }
    r.stderr += "wrote \(tensors.count) tensors (\(grouped(count)) values, \(dtype)) to \(out)\n"
  }
}

/// Bytes of all the graph's weight tensors at `elementSize` bytes a value; nil if that does not fit an Int.
func weightBytes(_ g: LoweredGraph, elementSize: Int) -> Int? {
  var total = 0
  for t in g.tensors {
    var n = elementSize
    for d in t.shape {
      let (m, overflow) = n.multipliedReportingOverflow(by: d)
      guard !overflow else { return nil }
      n = m
    }
    let (sum, overflow) = total.addingReportingOverflow(n)
    guard !overflow else { return nil }
    total = sum
  }
  return total
}

enum RunCommand {
  static func run(_ args: [String], _ terminal: Terminal, _ r: inout CommandResult) throws {
    let a = try Arguments(args, command: "run",
                          valued: CommonOptions.valued.union(["--weights", "--input", "--seed", "-o", "--output-index", "--memory-limit"]),
                          flags: CommonOptions.flags.union(["--serve", "--profile", "--verbose"]))
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
    let outputIndex = try a.int("--output-index", default: 0, range: 0...Int.max, command: "run")
    if a.values["--output-index"] != nil, a.values["-o"] == nil {
      throw UsageError(message: "'--output-index' chooses the output '-o' writes: give '-o' too", command: "run")
    }
    guard let (_, g, plan) = try loweredSpecOrPlan(common, a.positional[0], &r) else { r.status = 1; return }
    guard outputIndex < g.outputs.count else {
      let outputs = g.outputs.count == 1 ? "one output (index 0)" : "\(g.outputs.count) outputs (indices 0 to \(g.outputs.count - 1))"
      throw UsageError(message: "'--output-index' is \(outputIndex), but the network has \(outputs)", command: "run")
    }
    var batch = common.batch
    do {
      let file = try Files.RangeReader(weightsPath, limit: maxWeightBytes)
      let weights = try WeightLoader.open(g, fileSize: file.size, read: file.read)
      if a.flags.contains("--verbose") { r.stderr += WeightLoader.ignoredNote(weights.ignored, file: weightsPath) }
      let batchGiven = a.values["--batch"] != nil
      // Everything the run allocates by the batch is checked against the limit before any of it is
      // allocated, the random input drawn or the file's data read.
      let checkMemory = { (batch: Int) in
        try Self.checkMemory(g, plan, batch: batch, writesOutput: a.values["-o"] != nil ? outputIndex : nil, limitMB: limitMB)
      }
      if batchGiven || inputArg == "random" { try checkMemory(common.batch) }
      let input = try RunInput.load(inputArg, item: g.shapes[g.input], batch: common.batch, batchGiven: batchGiven,
                                    seed: seed, memoryLimit: limitMB << 20, checkMemory: checkMemory)
      batch = input.batch
      r.stderr += input.warnings
      // The output's buffer comes before the arena: memory the system refuses for it is refused before
      // the run, not after all of its work.
      let output = try a.values["-o"].map { _ in try OutputFile(g, outputIndex, batch: batch) }
      let interpreter = try Interpreter(graph: g, plan: plan, weights: weights, batch: batch, memoryLimit: limitMB << 20)
      r.stderr += NonFinite.warnings(weights.nonFinite, file: weightsPath)
      try input.withValues { input in
        try interpreter.runInPlace(input)
        if let out = a.values["-o"], let output {
          try output.write(interpreter, to: out, inputs: [a.positional[0], weightsPath] + (inputArg == "random" ? [] : [inputArg]))
        } else if !a.flags.contains("--serve") {
          r.stdout += summary(interpreter)
        }
        if a.flags.contains("--serve") { try serve(interpreter, input) }
        if a.flags.contains("--profile") { r.stderr += try profile(interpreter, input) }
      }
    } catch let e as TensorFileError {
      // Only the weights are read as tensors here: the input's errors name its file already.
      throw UserError(message: "'\(weightsPath)': \(e.message)")
    } catch let e as InterpreterError {
      let hint = e.kind == .outOfMemory && batch > 1 ? "; lower '--batch'" : ""
      throw UserError(message: e.message + hint)
    }
  }

  /// Refuses a run whose activations, input and written output together need more than the limit.
  /// `writesOutput` is the index of the output '-o' writes, if it is given.
  static func checkMemory(_ g: LoweredGraph, _ plan: BufferPlan, batch: Int, writesOutput: Int?, limitMB: Int) throws {
    let limit = limitMB << 20
    var parts: [(String, Int)] = []
    var total = 0
    var overflow = false
    func add(_ name: String, _ bytes: Int?) {
      guard let bytes else { overflow = true; return }
      let (sum, o) = total.addingReportingOverflow(bytes)
      overflow = overflow || o
      total = sum
      parts.append((name, bytes))
    }
    func bytes(_ shape: Shape) -> Int? {
      let (items, o1) = shape.dims.reduce((1, false)) { acc, d in
        let (m, o) = acc.0.multipliedReportingOverflow(by: d)
        return (m, acc.1 || o)
      }
      let (floats, o2) = items.multipliedReportingOverflow(by: batch)
      let (b, o3) = floats.multipliedReportingOverflow(by: 4)
      return o1 || o2 || o3 ? nil : b
    }
    add("activations", Interpreter.activationBytes(graph: g, plan: plan, batch: batch))
    add("input", bytes(g.shapes[g.input]))
    // The .npy file is built in memory before it is written.
    if let k = writesOutput { add("output", bytes(g.shapes[g.outputs[k]])) }
    guard overflow || total > limit else { return }
    let needed = overflow ? "more than 2^63" : grouped(total)
    let detail = overflow ? "" : " (" + parts.map { "\($0.0) \(grouped($0.1))" }.joined(separator: ", ") + ")"
    let advice = batch > 1 ? "lower '--batch' or raise '--memory-limit'" : "raise '--memory-limit'"
    throw UserError(message: "running this network at batch \(batch) needs \(needed) bytes\(detail), above the limit of \(grouped(limitMB)) MiB (\(grouped(limit)) bytes); \(advice)")
  }

  /// Output `index` (0: the main output, then the side outputs in order) as an .npy file, built in one
  /// buffer allocated so that running out of memory is an error, and filled straight from the arena.
  struct OutputFile {
    let index: Int
    let file: FloatBuffer
    let header: [UInt8]

    init(_ g: LoweredGraph, _ index: Int, batch: Int) throws {
      let item = g.shapes[g.outputs[index]]
      header = NPY.write(shape: [batch] + item.dims, data: [])
      // NPY pads its header to a multiple of 64 bytes, so the values start aligned.
      guard header.count % 4 == 0 else { throw UserError(message: "netc internal error: a .npy header of \(header.count) bytes") }
      file = try FloatBuffer(count: header.count / 4 + item.elementCount * batch, for: "the output file")
      self.index = index
    }

    func write(_ interpreter: Interpreter, to path: String, inputs: [String]) throws {
      let g = interpreter.graph
      let item = g.shapes[g.outputs[index]].elementCount
      let raw = UnsafeMutableRawBufferPointer(file.buffer)
      raw.copyBytes(from: header)
      let values = file.base + header.count / 4
      for b in 0..<interpreter.batch {
        let y = interpreter.output(index, item: b)
        #if _endian(little)
          if let base = y.baseAddress { (values + b * item).update(from: base, count: item) }
        #else
          for i in 0..<item { values[b * item + i] = Float(bitPattern: y[i].bitPattern.littleEndian) }
        #endif
      }
      try Files.writeAtomically(UnsafeRawBufferPointer(raw), to: path, inputs: inputs)
    }
  }

  /// Benchmark mode: one more inference per line read from stdin, each answered at once with its time in
  /// milliseconds, so a harness can interleave netc with other runtimes in one process each.
  static func serve(_ interpreter: Interpreter, _ input: UnsafeBufferPointer<Float>) throws {
    print("ready")
    fflush(nil)
    while readLine() != nil {
      let t0 = DispatchTime.now().uptimeNanoseconds
      try interpreter.runInPlace(input)
      let t1 = DispatchTime.now().uptimeNanoseconds
      print(Double(t1 - t0) / 1e6)
      fflush(nil)
    }
  }

  /// Each node's time, the median of five runs after the first, slowest first.
  static func profile(_ interpreter: Interpreter, _ input: UnsafeBufferPointer<Float>) throws -> String {
    let runs = try (0..<5).map { _ in try interpreter.profile(input) }
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

  /// The output shape and, for a classifier, each item's five most likely classes. A network that ends in
  /// softmax prints its own probabilities; otherwise the printout says that the softmax is netc's, applied
  /// for display, and shows each class's raw score beside its probability. Read from the arena item by item
  /// without copies: a classifier's row can be as long as the network allows.
  static func summary(_ interpreter: Interpreter) -> String {
    let g = interpreter.graph, batch = interpreter.batch
    let shape = g.shapes[g.outputs[0]]
    var s = "output: \(batch)x\(shape)"
    guard shape.dims.count == 1, shape.dims[0] >= 2 else { return s + "\n" }
    let endsInSoftmax = g.nodes.last?.op is SoftmaxOp
    let shown = min(5, shape.dims[0])
    if endsInSoftmax {
      s += " (the network's softmax probabilities)\ntop \(shown) classes:\n"
    } else {
      s += " (raw scores: the network ends without a softmax)\n"
      s += "top \(shown) classes, with probabilities from a softmax applied for display:\n"
    }
    for b in 0..<batch {
      let row = interpreter.output(0, item: b)
      s += batch > 1 ? "item \(b):\n" : ""
      for (cls, p) in topFive(row, softmax: !endsInSoftmax) {
        s += "  class \(cls): \(fixed(Double(p), 4))"
        s += endsInSoftmax ? "\n" : "  (score \(fixed(Double(row[cls]), 4)))\n"
      }
    }
    return s
  }

  /// The five largest probabilities of a row (after a softmax if asked), largest first, the lower class
  /// first among equals; NaN sorts last.
  static func topFive(_ row: UnsafeBufferPointer<Float>, softmax: Bool) -> [(Int, Float)] {
    var m = -Float.infinity, total = 0.0
    if softmax {
      for x in row where x > m { m = x }
      for x in row { total += Double(netcExpPublic(x - m)) }
    }
    func ranksAbove(_ p: Float, _ q: Float) -> Bool { p > q || (q.isNaN && !p.isNaN) }
    var top: [(Int, Float)] = []
    for (i, x) in row.enumerated() {
      let p = softmax ? Float(Double(netcExpPublic(x - m)) / total) : x
      guard top.count < 5 || ranksAbove(p, top[top.count - 1].1) else { continue }
      top.insert((i, p), at: top.firstIndex { ranksAbove(p, $0.1) } ?? top.count)
      if top.count > 5 { top.removeLast() }
    }
    return top
  }
}

enum EmitCommand {
  static let targets = Backends.all.map { $0.target }

  static func run(_ args: [String], _ terminal: Terminal, kernelSources: [(file: String, text: String)],
                  _ r: inout CommandResult) throws {
    let a = try Arguments(args, command: "emit", valued: CommonOptions.valued.union(["--target", "-o", "--weights", "--name"]),
                          flags: CommonOptions.flags.union(["--self-contained", "--verbose", "--external-data"]))
    if a.flags.contains("--help") { r.stdout = Help.emitHelp; return }
    let common = try CommonOptions(a, command: "emit", terminal: terminal)
    guard let target = a.values["--target"] else {
      throw UsageError(message: "choose a target with '--target swift', '--target pytorch', '--target plan' or '--target onnx'", command: "emit")
    }
    guard let backend = Backends.named(target) else {
      throw UsageError(message: "'--target' must be one of \(targets.joined(separator: ", ")), found '\(target)'", command: "emit")
    }
    if a.values["--weights"] != nil && !backend.embedsWeights {
      throw UsageError(message: "'--weights' applies to '--target onnx' only: the other targets load weights when they run", command: "emit")
    }
    let selfContained = a.flags.contains("--self-contained")
    if selfContained && target != "swift" {
      throw UsageError(message: "'--self-contained' applies to '--target swift' only: the other targets import no netc library", command: "emit")
    }
    let externalData = a.flags.contains("--external-data")
    if externalData && target != "onnx" {
      throw UsageError(message: "'--external-data' applies to '--target onnx' only: the other targets hold no weights", command: "emit")
    }
    let name = a.values["--name"]
    if let name {
      guard target == "swift" || target == "pytorch" else {
        throw UsageError(message: "'--name' applies to '--target swift' and '--target pytorch', which write a class", command: "emit")
      }
      guard EmittedNames.isValid(name) else {
        throw UsageError(message: "'--name' must be an identifier (a letter or '_', then letters, digits and '_'), found '\(name)'", command: "emit")
      }
    }
    guard a.positional.count == 1 else { throw UsageError(message: "'emit' takes one spec", command: "emit") }
    guard let out = a.values["-o"] else { throw UsageError(message: "give the output file with '-o FILE'", command: "emit") }
    let toStandardOutput = Files.isStandardOutput(out)
    if externalData && toStandardOutput {
      throw UsageError(message: "'--external-data' writes a second file beside the model, which standard output cannot carry; write the model with '-o FILE'", command: "emit")
    }
    if selfContained && kernelSources.isEmpty {
      throw UserError(message: "this build of netc holds no copy of NetcKernels' sources for '--self-contained' (the NetcPlugin build plugin's tool has none); use the netc executable")
    }
    guard var (c, g, plan) = lowered(common, a.positional[0], &r), var net = c.network else { r.status = 1; return }
    if let name { (g.name, net.name) = (name, name) }
    // ONNX's external data goes beside the model, named after it as torch.onnx names it: OUT.data.
    let sidePath = out + ".data"
    var input = BackendInput(network: net, graph: g, plan: plan, file: c.file, selfContained: selfContained,
                             kernelSources: kernelSources, version: Help.versionNumber,
                             sideFile: toStandardOutput ? nil : Files.split(sidePath).name, externalData: externalData)
    if backend.embedsWeights {
      input.weights = try weights(g, weightsPath: a.values["--weights"], verbose: a.flags.contains("--verbose"), &r)
    }
    // For the tests of the automatic side file, which cannot write 2 GiB: a smaller limit.
    if let v = getenv("NETC_TEST_ONNX_SIZE_LIMIT"), let limit = Int(String(cString: v)), limit > 0 {
      input.sizeLimit = min(limit, input.sizeLimit)
    }
    let protobufLimit = "\(grouped(input.sizeLimit - 1)) bytes one protobuf message can hold"
    let output: BackendOutput
    do {
      output = try backend.emit(input)
    } catch let e as ONNXExportError {
      var failed = c
      failed.diagnostics = DiagnosticEngine(file: c.file)
      failed.diagnostics.error("onnx-unsupported", e.message, at: e.range, notes: e.notes)
      common.report(failed, into: &r)
      r.status = 1
      return
    } catch let e as ONNXNeedsSideFile {
      throw UsageError(message: "the ONNX model would be \(grouped(e.inlineSize ?? 0)) bytes with its weights inside, above the \(protobufLimit); its weights must go to a file beside it, which standard output cannot carry: write the model with '-o FILE'", command: "emit")
    }
    // An ONNX model is one protobuf message, its weights inside or not.
    guard target != "onnx" || output.bytes.count < input.sizeLimit else {
      throw UserError(message: "the ONNX model would be \(grouped(output.bytes.count)) bytes\(output.sideFile == nil ? "" : " without its weights"), above the \(protobufLimit)")
    }
    let inputs = [a.positional[0]] + (a.values["--weights"].map { [$0] } ?? [])
    guard let side = output.sideFile else {
      try Files.writeAtomically(output.bytes, to: out, inputs: inputs)
      return
    }
    if let inlineSize = output.inlineSize {
      r.stderr += "netc: note: the ONNX model would be \(grouped(inlineSize)) bytes with its weights inside, above the \(protobufLimit): its weights are in '\(sidePath)' (ONNX external data), which must stay beside it\n"
    }
    try Files.writeAtomically([
      Files.Output(path: sidePath) { try side.write(to: $0) },
      Files.Output(path: out) { write in try output.bytes.withUnsafeBytes { try write($0) } },
    ], inputs: inputs)
  }

  /// The weights a backend embeds: from the given file, or `netc init`'s (seed 0) when none is given.
  static func weights(_ g: LoweredGraph, weightsPath: String?, verbose: Bool, _ r: inout CommandResult) throws
    -> [String: [Float]]
  {
    // The one target that embeds weights, ONNX, stores them as f32, and whether drawn here or read, they
    // are in memory whole before the model is written: no more than the largest weight file netc reads.
    let bytes = weightBytes(g, elementSize: 4)
    guard let bytes, bytes <= maxWeightBytes else {
      throw UserError(message: "the weights of this network take \(bytes.map(grouped) ?? "more than 2^63") bytes in f32, above the limit of \(grouped(maxWeightBytes)) for a model's weights")
    }
    var weights: [String: [Float]] = [:]
    if let weightsPath {
      do {
        let loaded = try WeightLoader.loadReportingIgnored(g, safetensors: try Files.read(weightsPath, limit: maxWeightBytes))
        weights = loaded.weights
        if verbose { r.stderr += WeightLoader.ignoredNote(loaded.ignored, file: weightsPath) }
        r.stderr += NonFinite.warnings(WeightLoader.nonFinite(weights, of: g), file: weightsPath)
      } catch let e as TensorFileError {
        throw UserError(message: "'\(weightsPath)': \(e.message)")
      }
    } else {
      for t in WeightLoader.heInit(g, seed: 0) { weights[t.name] = t.data }
    }
    return weights
  }
}
