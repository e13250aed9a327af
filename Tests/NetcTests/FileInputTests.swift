import Foundation
import NetcBasic
import NetcDriver
import NetcFormat
import NetcSyntax
import Testing

/// Hostile and oversized user input: every reader of a user file runs in time linear in its size and
/// refuses what it cannot use with a message, never a hang, a trap or a quadratic stall. Time bounds are
/// generous for a loaded machine yet far below what the quadratic versions took at these sizes.
@Suite struct FileInputTests {
  /// CPU seconds `body` takes on this thread: tests run in parallel on few cores, and wall time would
  /// measure the others too.
  func seconds(_ label: String = #function, _ body: () throws -> Void) rethrows -> Double {
    func now() -> Double {
      var ts = timespec()
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
      return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
    let t0 = now()
    try body()
    let t = now() - t0
    return t
  }

  // MARK: Long specs

  /// Each parameter used to be looked up in the list of those before it: 20,000 took 9.7 s.
  @Test func blockWithManyParametersParsesInLinearTime() {
    let names = (0..<100_000).map { "k\($0)" }
    let source = "input 1x8x8\nblock b(\(names.joined(separator: ", ")), k5) {\n  conv 3x3 4\n}\nb()\n"
    var c: Compilation?
    let t = seconds { c = compile(source) }
    let text = c.map { DiagnosticRenderer(useColor: false).render($0.diagnostics.diagnostics, in: $0.file) } ?? ""
    #expect(text.contains("error: block 'b' declares 'k5' twice"))
    #expect(text.contains("note: first declared here"))
    #expect(t < 2, "100,000 parameters took \(t) s")
  }

  /// A line of 300,000 unknown options: each used to get a did-you-mean search and a place in the
  /// engine's set of seen diagnostics, though only the first error of a line is shown (2.7 million took
  /// 25 s and 1.3 GB). Now the first is reported with its suggestion and the rest cost a set lookup.
  @Test func manyUnknownOptionsOnOneLine() {
    let source = "input 1x8x8\nconv 3x3 4 strid=2" + String(repeating: " zq", count: 300_000) + "\n"
    var c: Compilation?
    let t = seconds { c = compile(source) }
    guard let c else { return }
    let text = DiagnosticRenderer(useColor: false).render(c.diagnostics.diagnostics, in: c.file)
    #expect(text.contains("test.net:2:12: error: 'conv' has no option 'strid'; did you mean 'stride'?"))
    #expect(c.diagnostics.errorCount == 1 && c.diagnostics.suppressedErrors == 0)
    #expect(t < 4, "300,000 unknown options took \(t) s")
  }

  /// Past the error limit an error still claims its line, so errors are counted once per line; a line
  /// already holding an error is not searched for suggestions again.
  @Test func engineCountsOneErrorPerLineAndSaysWhatItWouldShow() {
    let file = SourceFile(path: "t.net", text: String(repeating: "x x x\n", count: 30))
    var d = DiagnosticEngine(file: file, errorLimit: 2)
    #expect(d.wouldShowError(at: .point(0)))
    for line in 0..<30 {
      for column in [0, 2, 4] { d.error("e", "bad", at: .point(6 * line + column)) }
    }
    #expect(d.errorCount == 2)
    #expect(d.suppressedErrors == 28)
    #expect(d.diagnostics.count == 2)
    #expect(!d.wouldShowError(at: .point(2)))  // line 1 has its error
    #expect(!d.wouldShowError(at: .point(6 * 29)))  // the limit is reached
  }

  /// A block of 30,000 parameters and 30,000 lines with an unknown word each: every error searched all
  /// the parameters for a suggestion (over 120 s). Sets larger than `Suggest.maxCandidates` are not searched.
  @Test func suggestionsDoNotSearchHugeScopes() {
    let n = 30_000
    let params = (0..<n).map { "k\($0)=1" }.joined(separator: ", ")
    let source = "input 1x8x8\nblock b(\(params)) {\n" + String(repeating: "  relu zq\n", count: n) + "}\nb()\n"
    var c: Compilation?
    let t = seconds { c = compile(source) }
    guard let c else { return }
    let text = DiagnosticRenderer(useColor: false).render(c.diagnostics.diagnostics, in: c.file)
    #expect(text.contains("test.net:4:8: error: 'zq' is neither an option of 'relu' nor a parameter of the block\n"))
    #expect(c.diagnostics.errorCount + c.diagnostics.suppressedErrors == n)
    #expect(t < 4, "took \(t) s")
    // Small scopes still get their suggestion.
    #expect(diagnostics("input 1x8x8\nblock b(width=4) {\n  conv 3x3 widht\n}\nb()\n").contains("did you mean 'width'?"))
    #expect(Suggest.closest(to: "k1", in: (0..<(Suggest.maxCandidates + 1)).map { "k\($0)" }) == nil)
    #expect(Suggest.closest(to: "k1x", in: (0..<Suggest.maxCandidates).map { "k\($0)" }) == "k1")
  }

  /// 20,000 uses of a block on one line, each warned about with a note at its use: every note printed
  /// the whole 120 KB line (84 s, 7.8 GB, 3.6 GB of output). A long line is shown as a window around the
  /// caret.
  @Test func longLinesAreShownAsAWindow() {
    let uses = Array(repeating: "b()", count: 20_000).joined(separator: " | ")
    let source = "input 1x5x5\nblock b {\n  conv 2x2 1 s2\n}\nconcat< \(uses) >\n"
    var text = ""
    let t = seconds {
      let c = compile(source)
      text = DiagnosticRenderer(useColor: false).render(c.diagnostics.diagnostics, in: c.file)
    }
    let lines = text.split(separator: "\n")
    #expect(lines.filter { $0.contains("warning: 'conv' never reads the last row and the last column") }.count == 20_000)
    #expect(lines.allSatisfy { $0.utf8.count <= DiagnosticRenderer.widestLine + 80 })
    #expect(t < 6, "took \(t) s")
    // The 1000th use: the window starts 128 bytes before it, after '...', and the caret lines up.
    let at = lines.firstIndex { $0.hasSuffix(":5:\(9 + 999 * 6): note: in block 'b' used here") }
    if let at {
      let shown = lines[at + 1]
      let caret = lines[at + 2]
      #expect(shown.hasPrefix("...") && shown.hasSuffix("..."))
      #expect(caret == String(repeating: " ", count: 3 + DiagnosticRenderer.contextBeforeCaret) + "^~~")
      let caretAt = shown.index(shown.startIndex, offsetBy: 3 + DiagnosticRenderer.contextBeforeCaret)
      #expect(shown[caretAt...].hasPrefix("b() | "))
    } else {
      Issue.record("no note at the 1000th use")
    }
  }

  /// `( ` and a million spaces before a literal: the formatter trimmed them one by one from the front of
  /// a string (15 s; 4 million took 152 s).
  @Test func formatterTrimsLongParenthesisedLiteralsInLinearTime() {
    let file = SourceFile(path: "t.net", text: "input 1x8x8\ndropout (" + String(repeating: " ", count: 1_000_000) + "0.5)\n")
    var diagnostics = DiagnosticEngine(file: file)
    var formatted: String?
    let t = seconds { formatted = SourceFormatter.format(file, diagnostics: &diagnostics) }
    #expect(formatted == "input 1x8x8\ndropout 0.5\n")
    #expect(t < 3, "took \(t) s")
  }

  // MARK: Files that are not regular files

  /// A fresh directory for one test's files, removed afterwards.
  func withDirectory(_ body: (URL) throws -> Void) throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("netc-files-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    try body(dir)
  }

  /// Runs `body`; should it block in open() of one of `fifos` (the bug these tests guard against), a
  /// watchdog opens the FIFO for writing after a few seconds, which lets the reader through: the test then
  /// fails on its message instead of hanging the suite.
  func guardingAgainstHangs<T>(_ fifos: [String], _ body: () throws -> T) rethrows -> T {
    let done = ManagedAtomicFlag()
    DispatchQueue.global().async {
      for _ in 0..<50 where !done.isSet { usleep(100_000) }
      while !done.isSet {
        for f in fifos {
          let fd = open(f, O_WRONLY | O_NONBLOCK)
          if fd >= 0 { close(fd) }
        }
        usleep(100_000)
      }
    }
    defer { done.set() }
    return try body()
  }

  /// A FIFO blocked open() forever wherever a file was read: spec, weights (run and emit), input, plan, fmt.
  @Test func fifosAreRefusedWithoutWaiting() throws {
    try withDirectory { dir in
      let fifo = dir.appendingPathComponent("w.fifo").path
      let plan = dir.appendingPathComponent("p.plan").path
      #expect(mkfifo(fifo, 0o600) == 0 && mkfifo(plan, 0o600) == 0)
      let spec = Paths.specs.appendingPathComponent("lenet5.net").path
      let weights = dir.appendingPathComponent("w.safetensors").path
      #expect(Driver.run(["init", spec, "-o", weights]).status == 0)
      let refusal = "netc: error: '\(fifo)' is a FIFO, not a regular file\n"
      let cases: [([String], String)] = [
        (["run", spec, "--weights", fifo, "--input", "random"], refusal),
        (["emit", "--target", "onnx", spec, "--weights", fifo, "-o", dir.appendingPathComponent("m.onnx").path], refusal),
        (["run", spec, "--weights", weights, "--input", fifo], refusal),
        (["run", plan, "--weights", weights, "--input", "random"], "netc: error: '\(plan)' is a FIFO, not a regular file\n"),
        (["check", fifo], "\(fifo): error: is a FIFO, not a regular file\n"),
        (["fmt", fifo], "\(fifo): error: is a FIFO, not a regular file\n"),
        (["check", "/dev/null"], "/dev/null: error: is a character device, not a regular file\n"),
        (["run", spec, "--weights", dir.path, "--input", "random"], "netc: error: '\(dir.path)' is a directory, not a regular file\n"),
      ]
      for (args, message) in cases {
        let start = ContinuousClock.now
        let r = guardingAgainstHangs([fifo, plan]) { Driver.run(args) }
        #expect(ContinuousClock.now - start < .seconds(4), "\(args) waited for the watchdog")
        #expect(r.status == 1, "\(args)")
        #expect(r.stderr == message, "\(args)")
        #expect(r.stdout.isEmpty)
      }
    }
  }

  /// The same through the executable, which must exit at once with status 1.
  @Test func executableRefusesAFIFOAsWeights() throws {
    let exe = Paths.root.appendingPathComponent(".build/debug/netc")
    guard FileManager.default.isExecutableFile(atPath: exe.path) else {
      Issue.record("no built netc at \(exe.path)")
      return
    }
    try withDirectory { dir in
      let fifo = dir.appendingPathComponent("w.fifo").path
      #expect(mkfifo(fifo, 0o600) == 0)
      let p = Process()
      p.executableURL = exe
      p.arguments = ["run", Paths.specs.appendingPathComponent("lenet5.net").path, "--weights", fifo, "--input", "random"]
      let err = Pipe()
      p.standardError = err
      p.standardOutput = Pipe()
      try p.run()
      var waited = 0
      while p.isRunning && waited < 100 {
        usleep(100_000)
        waited += 1
      }
      if p.isRunning {
        p.terminate()
        Issue.record("netc run blocked on a FIFO given as its weights")
      }
      p.waitUntilExit()
      #expect(p.terminationStatus == 1)
      let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      #expect(text == "netc: error: '\(fifo)' is a FIFO, not a regular file\n")
    }
  }
}

/// A flag one thread sets and another polls.
final class ManagedAtomicFlag: @unchecked Sendable {
  private let lock = NSLock()
  private var value = false
  var isSet: Bool { lock.withLock { value } }
  func set() { lock.withLock { value = true } }
}
