import Dispatch
import NetcBasic
import NetcSema
import NetcTensors

/// `netc weights`: the commands that make weight files. `init` draws them (as `netc init`); `import`
/// converts a PyTorch state_dict to netc's tensor names.
enum WeightsCommand {
  static let subcommands = ["import", "init"]

  static func run(_ args: [String], _ terminal: Terminal, _ r: inout CommandResult) throws {
    guard let sub = args.first, !sub.hasPrefix("-") || sub == "--help" || sub == "-h" else {
      if args.isEmpty { throw UsageError(message: "name a subcommand: 'netc weights import' or 'netc weights init'", command: "weights") }
      throw UsageError(message: "unknown option '\(args[0])'; name a subcommand first: 'netc weights import' or 'netc weights init'",
                       command: "weights")
    }
    switch sub {
    case "--help", "-h": r.stdout = Help.weights
    case "import": try ImportCommand.run(Array(args.dropFirst()), terminal, &r)
    case "init": try InitCommand.run(Array(args.dropFirst()), terminal, &r)
    default:
      let hint = Suggest.closest(to: sub, in: subcommands).map { "; did you mean '\($0)'?" } ?? ""
      throw UsageError(message: "unknown subcommand '\(sub)'\(hint)", command: "weights")
    }
  }
}

/// `netc weights import STATE_DICT --spec NET -o OUT`.
enum ImportCommand {
  static let command = "weights import"

  static func run(_ args: [String], _ terminal: Terminal, _ r: inout CommandResult) throws {
    let a = try Arguments(args, command: command, valued: CommonOptions.valued.union(["--spec", "-o", "--dtype", "--format"]),
                          flags: CommonOptions.flags.union(["--map", "--verbose"]))
    if a.flags.contains("--help") { r.stdout = Help.weightsImport; return }
    let common = try CommonOptions(a, command: command, terminal: terminal)
    let dtype = try a.choice("--dtype", ["f32", "f16", "bf16"], default: "f32", command: command)
    let json = try a.choice("--format", ["text", "json"], default: "text", command: command) == "json"
    let printsMap = a.flags.contains("--map") || json
    guard a.positional.count == 1 else {
      throw UsageError(message: a.positional.isEmpty ? "give the state_dict to import (a .safetensors file)"
                         : "'weights import' takes one state_dict, found \(a.positional.count)", command: command)
    }
    let stateDict = a.positional[0]
    guard let spec = a.values["--spec"] else {
      throw UsageError(message: "give the network with '--spec NET.net': its layers decide netc's names", command: command)
    }
    let out = a.values["-o"]
    if out == nil && !printsMap {
      throw UsageError(message: "give the output file with '-o W.safetensors' (or print the pairing alone with '--map')", command: command)
    }
    if let out, printsMap, Files.isStandardOutput(out) {
      throw UsageError(message: "the pairing goes to standard output: write the weights to a file with '-o'", command: command)
    }
    guard let (c, g, _) = lowered(common, spec, &r), let net = c.network else {
      r.status = 1
      return
    }
    let t0 = DispatchTime.now()
    func since(_ t: DispatchTime) -> Double { Double(DispatchTime.now().uptimeNanoseconds - t.uptimeNanoseconds) / 1e9 }
    let file = try Files.RangeReader(stateDict, limit: maxWeightBytes)
    let imported: StateDictImport
    do {
      imported = try StateDictImport(net, entries: try SafeTensors.entries(fileSize: file.size, read: file.read))
    } catch let e as TensorFileError {
      throw UserError(message: "'\(stateDict)': \(e.message)")
    }
    let pairing = since(t0)
    if a.flags.contains("--verbose") {
      r.stderr += WeightLoader.ignoredNote(imported.ignored, file: stateDict)
      r.stderr += "netc: note: '\(stateDict)': \(describe(imported.pairing.method, layers: imported.layers.count))\n"
    }
    var report = c
    report.diagnostics = DiagnosticEngine(file: c.file)
    report.diagnostics.oneErrorPerLine = false
    for d in imported.diagnostics(net, file: stateDict) { report.diagnostics.emit(d) }
    common.report(report, into: &r)
    guard !imported.pairing.hasErrors else {
      r.status = 1
      return
    }
    if printsMap { r.stdout += json ? jsonMap(imported, spec: spec, stateDict: stateDict) : textMap(imported) }
    guard let out else {
      common.printTimings(c.timings, extra: [("pair", pairing)], into: &r)
      return
    }
    let t1 = DispatchTime.now()
    let type: ElementType = dtype == "f16" ? .f16 : dtype == "bf16" ? .bf16 : .f32
    let bytes = weightBytes(g, elementSize: type.size)
    guard let bytes, bytes <= maxWeightBytes else {
      throw UserError(message: "the weights of this network would take \(bytes.map(grouped) ?? "more than 2^63") bytes in \(dtype), above the limit of \(grouped(maxWeightBytes)) for a weight file")
    }
    let tensors: [(name: String, shape: [Int], data: [Float])]
    do { tensors = try imported.tensors(read: file.read) } catch let e as TensorFileError {
      throw UserError(message: "'\(stateDict)': \(e.message)")
    }
    try Files.writeAtomically(SafeTensors.write(tensors, as: type), to: out, inputs: [spec, stateDict])
    let nonFinite = tensors.compactMap { NonFinite($0.name, $0.data) }
    r.stderr += NonFinite.warnings(nonFinite, file: out)
    let count = tensors.reduce(0) { $0 + $1.data.count }
    common.printTimings(c.timings, extra: [("pair", pairing), ("convert and write", since(t1))], into: &r)
    r.stderr += "wrote \(tensors.count) tensors (\(grouped(count)) values, \(dtype)) to \(out)\n"
  }

  static func describe(_ method: StateDictPairing.Method, layers: Int) -> String {
    switch method {
    case .names: return "its tensors have netc's names already (\(layers) layers)"
    case .structure: return "paired \(layers) layers with its modules by their structure"
    case .layers: return "paired \(layers) layers with its modules one by one"
    }
  }

  /// One line per netc tensor: its name, shape and the key it comes from, in aligned columns.
  static func textMap(_ imported: StateDictImport) -> String {
    let rows = imported.tensorKeys.map { ($0.name, "\($0.shape)", $0.key) }
    let nameWidth = rows.reduce(11) { max($0, $1.0.count) }, shapeWidth = rows.reduce(5) { max($0, $1.1.count) }
    func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: n - s.count) }
    var text = "\(pad("netc tensor", nameWidth))  \(pad("shape", shapeWidth))  PyTorch key\n"
    for (name, shape, key) in rows { text += "\(pad(name, nameWidth))  \(pad(shape, shapeWidth))  \(key)\n" }
    return text
  }

  static func jsonMap(_ imported: StateDictImport, spec: String, stateDict: String) -> String {
    let tensors: [JSONValue] = imported.tensorKeys.map { t in
      .object([("name", .string(t.name)), ("key", .string(t.key)), ("shape", .array(t.shape.map { .int($0) })),
               ("dtype", .string(imported.dtype(t.key)))])
    }
    return JSONValue.object([
      ("spec", .string(spec)), ("state_dict", .string(stateDict)), ("pairing", .string(imported.pairing.method.rawValue)),
      ("tensors", .array(tensors)), ("ignored", .array(imported.ignored.map { .string($0) })),
    ]).rendered() + "\n"
  }
}
