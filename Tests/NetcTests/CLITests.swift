import Foundation
import NetcDriver
import Testing

@Suite struct CLITests {
  let spec = Paths.spec("lenet5").path

  @Test func helpAndVersion() {
    for args in [["--help"], ["-h"], ["help"], ["help", "check"], ["help", "params"], ["check", "--help"], ["params", "-h"]] {
      let r = Driver.run(args)
      #expect(r.status == 0, "\(args)")
      #expect(r.stdout.contains("USAGE: netc"), "\(args)")
      #expect(r.stderr.isEmpty)
    }
    let v = Driver.run(["--version"])
    #expect(v.stdout == "netc 0.1.0\n")
  }

  @Test func usageErrorsExitTwo() {
    let cases: [([String], String)] = [
      ([], "USAGE"),
      (["chek", spec], "unknown command 'chek'; did you mean 'check'?"),
      (["params", "--fromat", "json", spec], "unknown option '--fromat'; did you mean '--format'?"),
      (["params", "--format", "yaml", spec], "'--format' must be one of torchsummary, torchinfo, json, markdown"),
      (["params", "--batch", "0", spec], "'--batch' must be an integer from 1"),
      (["params", "--batch", spec], "'--batch' must be an integer"),
      (["params", "--dtype", "f64", spec], "'--dtype' must be one of f32, f16, bf16"),
      (["params", "--format", "torchinfo", "--columns", "output_size,kernel_shape", spec],
       "netc params: error: unknown column 'kernel_shape'; did you mean 'kernel_size'? (the columns are input_size, output_size, num_params, params_percent, kernel_size, mult_adds, trainable, receptive_field, effective_stride, effective_padding)\n"),
      (["params", "--format", "markdown", "--columns", "num_params,num_params", spec],
       "netc params: error: column 'num_params' is given twice\n"),
      (["params", "--format", "torchinfo", "--columns", "", spec], "netc params: error: '--columns' has an empty column name"),
      (["params"], "no input file"),
      (["params", spec, spec], "'params' takes one file, found 2"),
      (["check"], "no input files"),
      (["help", "frobnicate"], "no help for 'frobnicate'"),
      // A repeated option would silently take its last value.
      (["emit", "--target", "swift", "--target=pytorch", spec, "-o", "x.py"],
       "netc emit: error: option '--target' is given twice ('swift' and 'pytorch'); give it once\n"),
      (["params", "--batch", "2", "--batch", "3", spec], "option '--batch' is given twice ('2' and '3')"),
      (["emit", "--target", "swift", "--self-contained", "--self-contained", spec, "-o", "x.swift"],
       "netc emit: error: option '--self-contained' is given twice; give it once\n"),
      (["emit", "--target", "onnx", "--self-contained", spec, "-o", "x.onnx"],
       "netc emit: error: '--self-contained' applies to '--target swift' only"),
      (["emit", "--self-contained=yes", "--target", "swift", spec, "-o", "x.swift"], "option '--self-contained' takes no value"),
    ]
    for (args, message) in cases {
      let r = Driver.run(args)
      #expect(r.status == 2, "\(args)")
      #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
      #expect(r.stdout.isEmpty)
    }
  }

  /// A format that has no depth or no choice of columns says it ignores them, and prints its table all the
  /// same: the table it would print without them.
  @Test func ignoredDepthAndColumnsWarn() {
    let depthWarning = "netc params: warning: '--depth' applies only to '--format torchinfo' and to '--format markdown' with '--columns'; "
    let columnsWarning = "netc params: warning: '--columns' applies only to '--format torchinfo' and '--format markdown'; "
    let cases: [([String], String)] = [
      (["--depth", "2"], depthWarning + "the torchsummary format lists every layer\n"),
      (["--format", "json", "--depth", "1"], depthWarning + "the json format lists every layer\n"),
      (["--format", "markdown", "--depth", "1"], depthWarning + "the markdown format lists every layer\n"),
      (["--columns", "num_params"], columnsWarning + "the torchsummary format has its own columns\n"),
      (["--format", "json", "--columns", "num_params", "--depth", "2"],
       columnsWarning + "the json format has its own columns\n" + depthWarning + "the json format lists every layer\n"),
    ]
    for (options, warning) in cases {
      let plain = Driver.run(["params"] + options.filter { $0.hasPrefix("--format") || ["json", "markdown"].contains($0) } + [spec])
      let r = Driver.run(["params"] + options + [spec])
      #expect(r.status == 0, "\(options)")
      #expect(r.stderr == warning, "\(options): \(r.stderr)")
      #expect(!plain.stdout.isEmpty && r.stdout == plain.stdout, "\(options)")
    }
    // Where they apply, nothing is said.
    for options in [["--format", "torchinfo", "--depth", "1"], ["--format", "markdown", "--columns", "num_params", "--depth", "1"]] {
      let r = Driver.run(["params"] + options + [spec])
      #expect(r.status == 0 && r.stderr.isEmpty, "\(options): \(r.stderr)")
    }
  }

  @Test func userErrorsExitOne() {
    let missing = Driver.run(["check", "/nonexistent/x.net"])
    #expect(missing.status == 1)
    #expect(missing.stderr == "/nonexistent/x.net: error: no such file\n")
    let dir = Driver.run(["check", Paths.specs.path])
    #expect(dir.status == 1)
    #expect(dir.stderr.contains("is a directory"))
  }

  @Test func checkPrintsOneLinePerFileAndFailsIfAnyFails() {
    let bug = Paths.specs.appendingPathComponent("examples/simple_inception_bug.net").path
    let r = Driver.run(["check", spec, bug])
    #expect(r.status == 1)
    #expect(r.stdout.hasSuffix("LeNet5: 1x1x32x32 -> 1x2, 61,026 params, 422,358 mult-adds\n"))
    #expect(r.stderr.contains("1 error generated."))
  }

  @Test func colourOnlyWhenAsked() {
    let bug = Paths.specs.appendingPathComponent("examples/simple_inception_bug.net").path
    #expect(!Driver.run(["check", bug]).stderr.contains("\u{1B}["))
    #expect(Driver.run(["check", "--color", "always", bug]).stderr.contains("\u{1B}[1;31merror:"))
    let tty = Terminal(stderrIsTerminal: true, environment: [:])
    #expect(Driver.run(["check", bug], terminal: tty).stderr.contains("\u{1B}["))
    let noColor = Terminal(stderrIsTerminal: true, environment: ["NO_COLOR": "1"])
    #expect(!Driver.run(["check", bug], terminal: noColor).stderr.contains("\u{1B}["))
  }

  @Test func timeStagesReportsEveryStage() {
    let r = Driver.run(["check", "--time-stages", spec])
    #expect(r.status == 0)
    for stage in ["read", "parse", "check", "report", "total"] { #expect(r.stderr.contains(stage)) }
  }

  /// Starts `netc emit --target swift` (or the command `arguments`) writing to `out` with a long pause while
  /// its temporary file is open, and returns once netc says it is writing, `pauses` times: one for each
  /// file it writes (an ONNX model and its side file), the pause shorter when there are several.
  func startPausedWrite(to out: URL, named: Bool = false, arguments: [String]? = nil, pauses: Int = 1) throws -> Process? {
    let exe = Paths.root.appendingPathComponent(".build/debug/netc")
    guard FileManager.default.isExecutableFile(atPath: exe.path) else {
      Issue.record("no built netc at \(exe.path)")
      return nil
    }
    let p = Process()
    p.executableURL = exe
    p.arguments = (arguments ?? ["emit", "--target", "swift", spec]) + ["-o", out.path]
    p.environment = ["NETC_TEST_WRITE_PAUSE_MS": pauses == 1 ? "10000" : "1000"]
      .merging(named ? ["NETC_TEST_NAMED_TEMPORARY": "1"] : [:]) { a, _ in a }
    let stderr = Pipe()
    p.standardError = stderr
    try p.run()
    let said = stderr.fileHandleForReading.readData(ofLength: 14 * pauses)
    #expect(String(decoding: said, as: UTF8.self) == String(repeating: "netc: writing\n", count: pauses),
            "netc never opened its temporary files")
    return p
  }

  func withOutputDirectory(_ body: (URL) throws -> Void) throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("netc-interrupt-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    try body(dir)
  }

  /// An interrupt, or SIGKILL, while an output file is being written leaves neither a truncated target nor
  /// a temporary file: the old file stays as it was.
  @Test(arguments: [SIGINT, SIGKILL]) func interruptedWriteLeavesNoFile(signal: Int32) throws {
    try withOutputDirectory { dir in
      let out = dir.appendingPathComponent("net.swift")
      try Data("the previous version\n".utf8).write(to: out)
      guard let p = try startPausedWrite(to: out) else { return }
      kill(p.processIdentifier, signal)
      p.waitUntilExit()
      #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == signal)
      #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["net.swift"])
      #expect(try String(contentsOf: out, encoding: .utf8) == "the previous version\n")
    }
  }

  /// Where the temporary file has a name, an interrupt removes it, and SIGKILL leaves it hidden until the
  /// next write to the same output removes it.
  @Test(arguments: [SIGINT, SIGKILL]) func namedTemporaryFileIsRemoved(signal: Int32) throws {
    try withOutputDirectory { dir in
      let out = dir.appendingPathComponent("net.swift")
      try Data("the previous version\n".utf8).write(to: out)
      guard let p = try startPausedWrite(to: out, named: true) else { return }
      kill(p.processIdentifier, signal)
      p.waitUntilExit()
      let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
      #expect(left == (signal == SIGKILL ? [".net.swift.netc-tmp-\(p.processIdentifier)", "net.swift"] : ["net.swift"]))
      #expect(try String(contentsOf: out, encoding: .utf8) == "the previous version\n")
      #expect(Driver.run(["emit", "--target", "pytorch", spec, "-o", out.path]).status == 0)
      #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["net.swift"])
    }
  }

  /// An ONNX model and its side file are written as a pair: interrupted once the side file is complete and
  /// the model is being written, neither old file is touched and no temporary file stays (with named
  /// temporary files, SIGKILL leaves them hidden, and the next write removes them).
  @Test(arguments: [(SIGKILL, false), (SIGINT, true), (SIGKILL, true)]) func interruptedPairLeavesBothOldFiles(signal: Int32, named: Bool) throws {
    try withOutputDirectory { dir in
      let model = dir.appendingPathComponent("net.onnx"), side = dir.appendingPathComponent("net.onnx.data")
      try Data("the previous model\n".utf8).write(to: model)
      try Data("the previous data\n".utf8).write(to: side)
      let onnx = ["emit", "--target", "onnx", spec, "--external-data"]
      guard let p = try startPausedWrite(to: model, named: named, arguments: onnx, pauses: 2) else { return }
      kill(p.processIdentifier, signal)
      p.waitUntilExit()
      #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == signal)
      let hidden = signal == SIGKILL && named
        ? [".net.onnx.data.netc-tmp-\(p.processIdentifier)", ".net.onnx.netc-tmp-\(p.processIdentifier)"] : []
      #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == hidden + ["net.onnx", "net.onnx.data"])
      #expect(try String(contentsOf: model, encoding: .utf8) == "the previous model\n")
      #expect(try String(contentsOf: side, encoding: .utf8) == "the previous data\n")
      #expect(Driver.run(onnx + ["-o", model.path]).status == 0)
      #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["net.onnx", "net.onnx.data"])
      #expect(try Data(contentsOf: side).count > 200_000)
    }
  }

  /// A temporary file that a killed writer left under its name (where the file system has no unnamed
  /// files) is removed by the next write to the same output; another output's, or a live writer's, stays.
  @Test func staleTemporaryFilesAreRemoved() throws {
    try withOutputDirectory { dir in
      // A pid that is not running: pid_max is at most 2^22.
      let stale = [".net.swift.netc-tmp-4194305", "net.swift.netc-tmp-4194306"]
      let kept = [".other.swift.netc-tmp-4194305", ".net.swift.netc-tmp-1"]  // pid 1 is always running
      for name in stale + kept { try Data("partial".utf8).write(to: dir.appendingPathComponent(name)) }
      let r = Driver.run(["emit", "--target", "pytorch", spec, "-o", dir.appendingPathComponent("net.swift").path])
      #expect(r.status == 0, "\(r.stderr)")
      #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == (kept + ["net.swift"]).sorted())
    }
  }

  /// A rewritten output keeps its permissions: renaming the new file over it made a private (0600) file
  /// readable by everyone (0644). A new one gets 0644 less the umask.
  @Test func rewrittenOutputKeepsItsPermissions() throws {
    try withOutputDirectory { dir in
      let out = dir.appendingPathComponent("net.py").path, new = dir.appendingPathComponent("new.py").path
      try Data("the previous version\n".utf8).write(to: URL(fileURLWithPath: out))
      #expect(chmod(out, 0o600) == 0)
      for path in [out, new] { #expect(Driver.run(["emit", "--target", "pytorch", spec, "-o", path]).status == 0) }
      func permissions(_ path: String) -> mode_t {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mode & 0o777 : 0
      }
      // What the umask leaves of 0644.
      let reference = dir.appendingPathComponent("reference").path
      close(open(reference, O_WRONLY | O_CREAT, 0o644))
      #expect(permissions(out) == 0o600 && permissions(new) == permissions(reference))
      #expect(try String(contentsOfFile: out, encoding: .utf8).hasPrefix("# Generated by netc"))
    }
  }

  /// A symbolic link to nothing is refused: renaming over it replaced the link with a regular file (as
  /// root, `-o /dev/stdout` with standard output closed replaced /dev/stdout).
  @Test func linkToNothingIsRefused() throws {
    try withOutputDirectory { dir throws in
      let link = dir.appendingPathComponent("net.py").path, missing = dir.appendingPathComponent("missing/net.py").path
      #expect(symlink(missing, link) == 0)
      let r = Driver.run(["emit", "--target", "pytorch", spec, "-o", link])
      #expect(r.status == 2)
      #expect(r.stderr.hasPrefix("netc: error: '\(link)' is a symbolic link to '\(missing)', which does not exist;"), "\(r.stderr)")
      var st = stat()
      #expect(lstat(link, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK)
      #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["net.py"])
    }
  }

  /// `-o -`, or `-o /dev/stdout`, writes the output to standard output, byte for byte (a binary ONNX
  /// model too): renaming over /dev/stdout printed nothing.
  @Test(arguments: ["-", "/dev/stdout"]) func dashIsStandardOutput(path: String) throws {
    let exe = Paths.root.appendingPathComponent(".build/debug/netc")
    try withOutputDirectory { dir in
      let file = dir.appendingPathComponent("lenet5.onnx")
      #expect(Driver.run(["emit", "--target", "onnx", spec, "-o", file.path]).status == 0)
      let p = Process()
      p.executableURL = exe
      p.arguments = ["emit", "--target", "onnx", spec, "-o", path]
      let stdout = Pipe()
      p.standardOutput = stdout
      try p.run()
      let bytes = stdout.fileHandleForReading.readDataToEndOfFile()
      p.waitUntilExit()
      #expect(p.terminationStatus == 0)
      #expect(bytes == (try Data(contentsOf: file)))
      #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["lenet5.onnx"])
    }
  }

  /// The built executable: exit statuses and streams reach the shell.
  @Test func executableEndToEnd() throws {
    let exe = Paths.root.appendingPathComponent(".build/debug/netc")
    guard FileManager.default.isExecutableFile(atPath: exe.path) else {
      Issue.record("no built netc at \(exe.path)")
      return
    }
    func run(_ args: [String]) throws -> (Int32, String, String) {
      let p = Process()
      p.executableURL = exe
      p.arguments = args
      let out = Pipe(), err = Pipe()
      p.standardOutput = out
      p.standardError = err
      try p.run()
      let o = out.fileHandleForReading.readDataToEndOfFile()
      let e = err.fileHandleForReading.readDataToEndOfFile()
      p.waitUntilExit()
      return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
    let ok = try run(["check", spec])
    #expect(ok.0 == 0)
    #expect(ok.1.contains("61,026 params"))
    let bad = try run(["check", Paths.specs.appendingPathComponent("examples/simple_inception_bug.net").path])
    #expect(bad.0 == 1)
    #expect(bad.2.contains("error:"))
    let usage = try run(["params", "--nope"])
    #expect(usage.0 == 2)
  }
}
