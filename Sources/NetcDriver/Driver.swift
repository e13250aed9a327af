import Dispatch
#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import NetcBasic
import NetcOps
import NetcGraph
import NetcIR
import NetcLanguageServer
import NetcReport
import NetcSema

/// What a command printed and how it ended; `main` writes it out, tests read it.
public struct CommandResult: Sendable {
  public var stdout = ""
  public var stderr = ""
  public var status: Int32 = 0
}

/// Where the output goes, so colour is decided once per run.
public struct Terminal: Sendable {
  public var stderrIsTerminal: Bool
  public var environment: [String: String]
  public init(stderrIsTerminal: Bool = false, environment: [String: String] = [:]) {
    self.stderrIsTerminal = stderrIsTerminal
    self.environment = environment
  }
}

public enum Driver {
  /// Runs the command `argv` names and writes its output. `kernelSources` are NetcKernels' files by name
  /// and text, for `emit --self-contained` (the netc executable passes NetcKernelSources' list).
  public static func main(_ argv: [String], kernelSources: [(file: String, text: String)] = []) -> Int32 {
    var environment: [String: String] = [:]
    for name in ["NO_COLOR", "TERM"] {
      if let v = getenv(name) { environment[name] = String(cString: v) }
    }
    let terminal = Terminal(stderrIsTerminal: isatty(2) == 1, environment: environment)
    let result = run(Array(argv.dropFirst()), terminal: terminal, kernelSources: kernelSources)
    writeAll(1, result.stdout)
    writeAll(2, result.stderr)
    return result.status
  }

  private static func writeAll(_ fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { return }  // a closed pipe: nothing more can be said
      offset += n
    }
  }

  public static func run(_ args: [String], terminal: Terminal = Terminal(),
                         kernelSources: [(file: String, text: String)] = []) -> CommandResult {
    var r = CommandResult()
    do {
      guard let command = args.first else {
        r.stderr = Help.overview
        r.status = 2
        return r
      }
      let rest = Array(args.dropFirst())
      switch command {
      case "--help", "-h":
        r.stdout = Help.overview
      case "--version":
        r.stdout = Help.version + "\n"
      case "help":
        guard let topic = rest.first else { r.stdout = Help.overview; return r }
        guard let text = Help.text(for: rest.prefix(2).joined(separator: " ")) ?? Help.text(for: topic) else {
          throw UsageError(message: "no help for '\(topic)': netc's commands are check, params, plan, graph, emit, init, run, weights, fmt and lsp", command: nil)
        }
        r.stdout = text
      case "check":
        try CheckCommand.run(rest, terminal, &r)
      case "params":
        try ParamsCommand.run(rest, terminal, &r)
      case "plan":
        try PlanCommand.run(rest, terminal, &r)
      case "graph":
        try GraphCommand.run(rest, terminal, &r)
      case "init":
        try InitCommand.run(rest, terminal, &r)
      case "run":
        try RunCommand.run(rest, terminal, &r)
      case "emit":
        try EmitCommand.run(rest, terminal, kernelSources: kernelSources, &r)
      case "fmt":
        try FmtCommand.run(rest, terminal, &r)
      case "weights":
        try WeightsCommand.run(rest, terminal, &r)
      case "lsp":
        // '--stdio' is what language clients pass when they name the transport; stdio is the only one.
        let a = try Arguments(rest, command: "lsp", valued: [], flags: ["--stdio"])
        if a.flags.contains("--help") { r.stdout = Help.lsp; return r }
        guard a.positional.isEmpty else { throw UsageError(message: "'netc lsp' takes no files: the editor sends them", command: "lsp") }
        r.status = LanguageServer.serveStandardStreams(version: Help.versionNumber)
      default:
        let hint = Suggest.closest(to: command, in: ["check", "params", "plan", "graph", "init", "run", "emit", "weights", "fmt", "lsp", "help"]).map { "; did you mean '\($0)'?" } ?? ""
        throw UsageError(message: "unknown command '\(command)'\(hint)", command: nil)
      }
    } catch let e as UserError {
      r.stderr += "netc: error: \(e.message)\n"
      r.status = 1
    } catch let e as Files.WriteError {
      r.stderr += "netc: error: \(e.message)\n"
      r.status = 1
    } catch let e as UsageError {
      r.stderr += "netc\(e.command.map { " " + $0 } ?? ""): error: \(e.message)\n"
      r.stderr += "See 'netc help\(e.command.map { " " + $0 } ?? "")'.\n"
      r.status = 2
    } catch {
      r.stderr += "netc: error: \(error)\n"
      r.status = 1
    }
    return r
  }
}

/// Options every command shares: batch, colour, diagnostics format, stage timing.
struct CommonOptions {
  static let valued: Set<String> = ["--batch", "--color", "--diagnostics-format"]
  static let flags: Set<String> = ["--time-stages"]

  var batch: Int
  var useColor: Bool
  var jsonDiagnostics: Bool
  var timeStages: Bool

  init(_ a: Arguments, command: String, terminal: Terminal) throws {
    batch = try a.int("--batch", default: 1, range: 1...65536, command: command)
    let color = try a.choice("--color", ["auto", "always", "never"], default: "auto", command: command)
    let noColorEnv = terminal.environment["NO_COLOR"].map { !$0.isEmpty } ?? false
    let dumb = terminal.environment["TERM"] == "dumb"
    useColor = color == "always" || (color == "auto" && terminal.stderrIsTerminal && !noColorEnv && !dumb)
    jsonDiagnostics = try a.choice("--diagnostics-format", ["text", "json"], default: "text", command: command) == "json"
    timeStages = a.flags.contains("--time-stages")
  }

  /// Compiles one file and writes its diagnostics to stderr; returns the compilation.
  func compile(_ path: String, into r: inout CommandResult) -> Compilation? {
    let t0 = DispatchTime.now()
    switch Pipeline.read(path: path) {
    case .failure(let e):
      if jsonDiagnostics {
        r.stderr += JSONValue.object([("file", .string(path)), ("severity", .string("error")),
                                      ("id", .string("cannot-read")), ("message", .string(e.message))]).rendered(indent: 0) + "\n"
      } else {
        r.stderr += "\(path): error: \(e.message)\n"
      }
      return nil
    case .success(let bytes):
      let readSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e9
      var c = Pipeline.compile(path: path, bytes: bytes, batch: batch)
      c.timings.insert(("read", readSeconds), at: 0)
      report(c, into: &r)
      return c
    }
  }

  func report(_ c: Compilation, into r: inout CommandResult) {
    let ds = c.diagnostics.diagnostics
    if jsonDiagnostics {
      for d in DiagnosticRenderer.json(ds, in: c.file) { r.stderr += d.rendered(indent: 0) + "\n" }
      return
    }
    r.stderr += DiagnosticRenderer(useColor: useColor).render(ds, in: c.file)
    let errors = c.diagnostics.errorCount + c.diagnostics.suppressedErrors
    let warnings = ds.filter { $0.severity == .warning }.count
    if c.diagnostics.suppressedErrors > 0 {
      r.stderr += "\(c.file.path): note: \(c.diagnostics.suppressedErrors) more errors not shown\n"
    }
    if errors > 0 || warnings > 0 {
      var parts: [String] = []
      if warnings > 0 { parts.append("\(warnings) warning\(warnings == 1 ? "" : "s")") }
      if errors > 0 { parts.append("\(errors) error\(errors == 1 ? "" : "s")") }
      r.stderr += parts.joined(separator: " and ") + " generated.\n"
    }
  }

  func printTimings(_ timings: [(stage: String, seconds: Double)], extra: [(String, Double)] = [], into r: inout CommandResult) {
    guard timeStages else { return }
    let all = timings + extra
    let total = all.reduce(0) { $0 + $1.1 }
    let parts = all.map { "\($0.0) \(fixed($0.1 * 1000, 3)) ms" }
    r.stderr += "time: " + parts.joined(separator: ", ") + ", total \(fixed(total * 1000, 3)) ms\n"
  }
}

enum CheckCommand {
  static func run(_ args: [String], _ terminal: Terminal, _ r: inout CommandResult) throws {
    let a = try Arguments(args, command: "check", valued: CommonOptions.valued.union(["--format"]),
                          flags: CommonOptions.flags)
    if a.flags.contains("--help") { r.stdout = Help.check; return }
    let common = try CommonOptions(a, command: "check", terminal: terminal)
    let json = try a.choice("--format", ["text", "json"], default: "text", command: "check") == "json"
    guard !a.positional.isEmpty else { throw UsageError(message: "no input files", command: "check") }
    var results: [JSONValue] = []
    var failed = false
    for path in a.positional {
      let c = common.compile(path, into: &r)
      guard let c, let net = c.network else {
        failed = true
        results.append(.object([("file", .string(path)), ("ok", .bool(false)),
                                ("errors", .int((c?.diagnostics.errorCount ?? 1) + (c?.diagnostics.suppressedErrors ?? 0)))]))
        continue
      }
      let t0 = DispatchTime.now()
      let s = Summary(net, batch: common.batch)
      if json {
        results.append(.object([
          ("file", .string(path)), ("ok", .bool(true)), ("network", .string(net.name)),
          ("input_shape", .array(([common.batch] + net.input.dims).map { .int($0) })),
          ("output_shapes", .array(net.outputs.map { .array(([common.batch] + net.values[$0].dims).map { .int($0) }) })),
          ("total_params", .int(s.totalParams)), ("trainable_params", .int(s.trainableParams)),
          ("total_mult_adds", .int(s.totalMultAdds)),
          ("warnings", .int(c.diagnostics.diagnostics.filter { $0.severity == .warning }.count)),
        ]))
      } else {
        let outs = net.outputs.map { "\(common.batch)x\(net.values[$0])" }.joined(separator: ", ")
        r.stdout += "\(path): \(net.name): \(common.batch)x\(net.input) -> \(outs), "
          + "\(grouped(s.totalParams)) params, \(grouped(s.totalMultAdds)) mult-adds\n"
      }
      let report = Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e9
      common.printTimings(c.timings, extra: [("report", report)], into: &r)
    }
    if json { r.stdout += JSONValue.array(results).rendered() + "\n" }
    r.status = failed ? 1 : 0
  }
}

enum ParamsCommand {
  static func run(_ args: [String], _ terminal: Terminal, _ r: inout CommandResult) throws {
    let a = try Arguments(args, command: "params",
                          valued: CommonOptions.valued.union(["--format", "--dtype", "--depth", "--columns"]),
                          flags: CommonOptions.flags)
    if a.flags.contains("--help") { r.stdout = Help.params; return }
    let common = try CommonOptions(a, command: "params", terminal: terminal)
    let format = try a.choice("--format", ["torchsummary", "torchinfo", "json", "markdown"], default: "torchsummary",
                              command: "params")
    let dtype = DType(rawValue: try a.choice("--dtype", DType.allCases.map(\.rawValue), default: "f32", command: "params"))!
    let depth = try a.int("--depth", default: 3, range: 1...64, command: "params")
    var columns: [SummaryColumn]?
    if let list = a.values["--columns"] {
      switch SummaryColumn.parse(list) {
      case .success(let chosen): columns = chosen
      case .failure(let e): throw UsageError(message: e.message, command: "params")
      }
    }
    // torchsummary has no depth and no choice of columns; json lists every row with every figure, and
    // markdown does too unless columns are chosen. The table is printed all the same, with a warning.
    let columnsApply = format == "torchinfo" || format == "markdown"
    if columns != nil && !columnsApply {
      r.stderr += "netc params: warning: '--columns' applies only to '--format torchinfo' and '--format markdown'; "
        + "the \(format) format has its own columns\n"
    }
    if a.values["--depth"] != nil && !(format == "torchinfo" || (format == "markdown" && columns != nil)) {
      r.stderr += "netc params: warning: '--depth' applies only to '--format torchinfo' and to '--format markdown' with '--columns'; "
        + "the \(format) format lists every layer\n"
    }
    guard let c = common.compile(try a.singleFile(command: "params"), into: &r), let net = c.network else {
      r.status = 1
      return
    }
    let t0 = DispatchTime.now()
    // torchsummary's table stays byte for byte torchsummary's, and so does torchinfo's with chosen columns;
    // the other formats also print the buffer plan's peak.
    let toolsOwnTable = format == "torchsummary" || (format == "torchinfo" && columns != nil)
    let peakLive = toolsOwnTable ? nil : BufferPlan(Lowering.lower(net)).arenaSize
    let s = Summary(net, batch: common.batch, dtype: dtype, peakLiveElements: peakLive)
    switch (format, columns) {
    case ("torchinfo", let chosen?): r.stdout += TorchInfoColumnsPrinter.render(s, columns: chosen, depth: depth)
    case ("torchinfo", nil): r.stdout += TorchInfoPrinter.render(s, depth: depth)
    case ("json", _): r.stdout += JSONPrinter.value(s, file: c.file).rendered() + "\n"
    case ("markdown", let chosen?): r.stdout += TorchInfoColumnsPrinter.markdown(s, columns: chosen, depth: depth)
    case ("markdown", nil): r.stdout += MarkdownPrinter.render(s)
    default: r.stdout += TorchSummaryPrinter.render(s, batchGiven: a.values["--batch"] != nil)
    }
    let report = Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e9
    common.printTimings(c.timings, extra: [("report", report)], into: &r)
  }
}

enum PlanCommand {
  static func run(_ args: [String], _ terminal: Terminal, _ r: inout CommandResult) throws {
    let a = try Arguments(args, command: "plan", valued: CommonOptions.valued, flags: CommonOptions.flags)
    if a.flags.contains("--help") { r.stdout = Help.plan; return }
    let common = try CommonOptions(a, command: "plan", terminal: terminal)
    guard let c = common.compile(try a.singleFile(command: "plan"), into: &r), let net = c.network else {
      r.status = 1
      return
    }
    let t0 = DispatchTime.now()
    let graph = Lowering.lower(net)
    let plan = BufferPlan(graph)
    r.stdout += PlanPrinter.render(graph, plan, file: c.file)
    let lowering = Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e9
    common.printTimings(c.timings, extra: [("lower", lowering)], into: &r)
  }
}

enum GraphCommand {
  static let formats = ["svg", "dot", "mermaid"]

  static func run(_ args: [String], _ terminal: Terminal, _ r: inout CommandResult) throws {
    let a = try Arguments(args, command: "graph", valued: CommonOptions.valued.union(["--format", "--depth", "-o"]),
                          flags: CommonOptions.flags)
    if a.flags.contains("--help") { r.stdout = Help.graph; return }
    let common = try CommonOptions(a, command: "graph", terminal: terminal)
    let format = try a.choice("--format", formats, default: "svg", command: "graph")
    let depth = try a.int("--depth", default: Checker.maxCallDepth, range: 0...Checker.maxCallDepth, command: "graph")
    let spec = try a.singleFile(command: "graph")
    guard let c = common.compile(spec, into: &r) else {
      r.status = 1
      return
    }
    // A spec with errors is drawn up to the first, which is marked; it still fails.
    let diagram: Diagram
    let t0 = DispatchTime.now()
    if let net = c.network {
      diagram = Diagram.build(net, depth: depth)
    } else if let partial = c.partial {
      diagram = Diagram.build(partial, file: c.file, depth: depth)
      r.status = 1
    } else {
      r.status = 1
      return
    }
    let text: String
    switch format {
    case "dot": text = DotPrinter.render(diagram)
    case "mermaid": text = MermaidPrinter.render(diagram)
    default: text = SVGRenderer.render(diagram)
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e9
    if let out = a.values["-o"] {
      try Files.writeAtomically(Array(text.utf8), to: out, inputs: [spec])
    } else {
      r.stdout += text
    }
    common.printTimings(c.timings, extra: [("graph", seconds)], into: &r)
  }
}
