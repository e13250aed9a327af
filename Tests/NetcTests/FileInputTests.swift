import Foundation
import NetcBasic
import NetcDriver
import NetcFormat
@testable import NetcOps
import NetcSema
import NetcSyntax
import NetcTensors
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
  /// engine's set of seen diagnostics (2.7 million took 25 s and 1.3 GB). Now the errors up to the limit
  /// are reported, the first with its suggestion, and the rest are counted.
  @Test func manyUnknownOptionsOnOneLine() {
    let source = "input 1x8x8\nconv 3x3 4 strid=2" + String(repeating: " zq", count: 300_000) + "\n"
    var c: Compilation?
    let t = seconds { c = compile(source) }
    guard let c else { return }
    let text = DiagnosticRenderer(useColor: false).render(c.diagnostics.diagnostics, in: c.file)
    #expect(text.contains("test.net:2:12: error: 'conv' has no option 'strid'; did you mean 'stride'?"))
    #expect(c.diagnostics.errorCount == 20 && c.diagnostics.suppressedErrors == 300_000 - 19)
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

  /// A FIFO blocked open() forever wherever a file was read: spec, weights (run and emit), input, plan, fmt.
  @Test func fifosAreRefusedWithoutWaiting() throws {
    try withDirectory { dir in
      let fifo = dir.appendingPathComponent("w.fifo").path
      let plan = dir.appendingPathComponent("p.plan").path
      #expect(mkfifo(fifo, 0o600) == 0 && mkfifo(plan, 0o600) == 0)
      let spec = Paths.spec("lenet5").path
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
      p.arguments = ["run", Paths.spec("lenet5").path, "--weights", fifo, "--input", "random"]
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

  // MARK: Tensor files, built byte by byte

  /// A .npy file: version `major`, this header text (unpadded) and body.
  func npy(_ header: String, body: [UInt8] = [], major: UInt8 = 1) -> [UInt8] {
    let h = Array(header.utf8)
    let length: [UInt8] = major == 1 ? [UInt8(h.count & 0xFF), UInt8(h.count >> 8)]
      : (0..<4).map { UInt8((h.count >> (8 * $0)) & 0xFF) }
    return [0x93] + Array("NUMPY".utf8) + [major, 0] + length + h + body
  }

  func floats(_ xs: [Float]) -> [UInt8] {
    xs.flatMap { x in (0..<4).map { UInt8((x.bitPattern >> (8 * UInt32($0))) & 0xFF) } }
  }

  /// The error NPY.read gives, or "ok".
  func npyError(_ bytes: [UInt8]) -> String {
    do {
      _ = try NPY.read(bytes)
      return "ok"
    } catch {
      return "\(error)"
    }
  }

  /// A header padded to 100 MB took 19.7 s and 300 MB: every header byte was searched for each key. The
  /// header is refused from its length, as numpy refuses it, after reading 12 bytes of the file.
  @Test func npyHeadersOverNumpysLimitAreRefusedUnread() {
    let length = 100 << 20
    var bytesRead = 0
    let prefix: [UInt8] = [0x93] + Array("NUMPY".utf8) + [2, 0] + (0..<4).map { UInt8((length >> (8 * $0)) & 0xFF) }
    do {
      _ = try NPY.read(fileSize: 12 + length + 4096) { range in
        bytesRead += range.count
        return range.map { $0 < prefix.count ? prefix[$0] : 0x20 }
      }
      Issue.record("a 100 MB header was accepted")
    } catch {
      #expect("\(error)" == "the .npy header is 104,857,600 bytes; numpy itself refuses headers over 10,000 bytes as unsafe")
    }
    #expect(bytesRead <= 12)
    // At the limit, a header of padding before its keys (the slow case before) reads at once.
    let keys = "'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n"
    let padded = "{" + String(repeating: " ", count: NPY.maxHeaderBytes - 1 - keys.utf8.count) + keys
    #expect(npyError(npy(padded, body: floats([1, 2]), major: 2)) == "ok")
    #expect(npyError(npy(padded + " ", body: floats([1, 2]), major: 2)).contains("numpy itself refuses headers over 10,000 bytes"))
  }

  /// Every way a .npy header can lie or stray from what numpy writes ends in an error naming it.
  @Test func npyHeadersAreCheckedStrictly() throws {
    let dict = { (descr: String, shape: String) in "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }" }
    let cases: [([UInt8], String)] = [
      (npy(dict("<f4", "(2, 3)"), body: floats([1, 2, 3, 4, 5, 6])), "ok"),
      (npy(dict("<f4", "()"), body: floats([7])), "ok"),
      (npy(dict("<f4", "(0, 3)")), "ok"),
      (npy(dict("<f4", "(2L, 1L)"), body: floats([1, 2])), "ok"),
      (npy("{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (1,)}\n", body: floats([1]), major: 3), "ok"),
      (npy(dict("<f4", "(2, 3)"), body: floats([1, 2, 3, 4, 5])), "the .npy array of shape [2, 3] needs 24 bytes of data, the file holds 20"),
      (npy(dict("<f4", "(2,)"), body: floats([1, 2, 3])), "needs 8 bytes of data, the file holds 12"),
      (npy(dict(">f4", "(1,)"), body: floats([1])), "the .npy array has dtype '>f4'; netc reads float32, float16 and float64 (little-endian)"),
      (npy(dict("<i8", "(1,)"), body: [UInt8](repeating: 0, count: 8)), "has dtype '<i8'"),
      (npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }"), "the .npy header is malformed: expected a quoted string"),
      (npy("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", body: floats([1])), "the .npy array is in Fortran order; save it in C order"),
      (npy("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }"), "expected True or False"),
      (npy(dict("<f4", "(-1, 3)")), "the .npy shape is malformed: a dimension is negative"),
      (npy(dict("<f4", "(1 2)")), "the .npy shape is malformed: expected ',' or ')'"),
      (npy(dict("<f4", "(1, 2")), "the .npy shape is malformed: expected a dimension"),
      (npy(dict("<f4", "[1, 2]")), "the .npy shape is malformed: it is not a tuple"),
      (npy(dict("<f4", "(" + String(repeating: "1, ", count: 65) + ")")), "more than 64 dimensions"),
      (npy(dict("<f4", "(1048576, 1048576, 1048576)")), "the .npy array is impossibly large"),
      (npy(dict("<f4", "(99999999999999999999999,)")), "the .npy array is impossibly large"),
      (npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,), }"), "the .npy header gives 'descr' twice"),
      (npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1, }"), "the .npy header has the unknown key 'extra'"),
      (npy("{'descr': '<f4', 'shape': (1,), }"), "the .npy header lacks descr, fortran_order or shape"),
      (npy(dict("<f4", "(1,)") + " x", body: floats([1])), "text after the header's dict"),
      (npy("{'descr': '<f4\n', 'fortran_order': False, 'shape': (1,), }"), "unexpected character in a string"),
      (npy(dict("<f4", "(1,)"), body: floats([1]), major: 4), ".npy version 4 is not supported"),
      (Array(npy(dict("<f4", "(1,)")).prefix(20)), "the .npy header is truncated"),
    ]
    for (bytes, expected) in cases {
      let got = npyError(bytes)
      #expect(expected == "ok" ? got == "ok" : got.contains(expected), "\(String(decoding: bytes.prefix(90), as: UTF8.self).debugDescription): \(got)")
    }
    let (shape, values) = try NPY.read(npy(dict("<f4", "(2, 3)"), body: floats([1, 2, 3, 4, 5, 6])))
    #expect(shape == [2, 3] && values == [1, 2, 3, 4, 5, 6])
  }

  /// The weights and input of a run: NaN or infinite values are accepted (the formats allow them), with a
  /// warning naming the file, the tensor and the count; the run goes on. Before, not a word.
  @Test func nonFiniteValuesAreWarnedAbout() throws {
    try withDirectory { dir in
      let spec = dir.appendingPathComponent("t.net").path
      try "input 1x2x2\nflatten, fc 2\n".write(toFile: spec, atomically: true, encoding: .utf8)
      let header = #"{"fc1.weight":{"dtype":"F32","shape":[2,4],"data_offsets":[0,32]},"fc1.bias":{"dtype":"F32","shape":[2],"data_offsets":[32,40]}}"#
      let w = dir.appendingPathComponent("w.safetensors").path
      try Data(safetensors(header, data: floats([1, .nan, .infinity, -.infinity, 0, 0, 0, 0, .nan, 0]))).write(to: URL(fileURLWithPath: w))
      let x = dir.appendingPathComponent("x.npy").path
      try Data(NPY.write(shape: [1, 1, 2, 2], data: [1, .nan, 2, 3])).write(to: URL(fileURLWithPath: x))
      let r = Driver.run(["run", spec, "--weights", w, "--input", x])
      #expect(r.status == 0)
      #expect(r.stdout.hasPrefix("output: 1x2 (raw scores"))
      #expect(r.stderr == """
        netc: warning: '\(x)': 1 of 4 values is not finite (1 NaN)
        netc: warning: '\(w)': tensor 'fc1.weight': 3 of 8 values are not finite (1 NaN, 2 infinite)
        netc: warning: '\(w)': tensor 'fc1.bias': 1 of 2 values is not finite (1 NaN)

        """)
      let onnx = Driver.run(["emit", "--target", "onnx", spec, "--weights", w, "-o", dir.appendingPathComponent("m.onnx").path])
      #expect(onnx.status == 0)
      #expect(onnx.stderr == """
        netc: warning: '\(w)': tensor 'fc1.weight': 3 of 8 values are not finite (1 NaN, 2 infinite)
        netc: warning: '\(w)': tensor 'fc1.bias': 1 of 2 values is not finite (1 NaN)

        """)
    }
  }

  /// `--input random` at a batch whose input alone is beyond the memory limit crashed in the allocation
  /// (39 GB at batch 65,536 for 3x224x224) before the interpreter's limit was checked.
  @Test func inputsAreCheckedAgainstTheMemoryLimit() throws {
    try withDirectory { dir in
      let spec = dir.appendingPathComponent("t.net").path
      try "input 3x224x224\nconv 1x1 1\n".write(toFile: spec, atomically: true, encoding: .utf8)
      let w = dir.appendingPathComponent("w.safetensors").path
      #expect(Driver.run(["init", spec, "-o", w]).status == 0)
      let r = Driver.run(["run", spec, "--weights", w, "--input", "random", "--batch", "65536"])
      #expect(r.status == 1)
      #expect(r.stderr == "netc: error: running this network at batch 65536 needs 92,074,412,032 bytes (activations 52,614,400,000, input 39,460,012,032), above the limit of 16,384 MiB (17,179,869,184 bytes); lower '--batch' or raise '--memory-limit'\n")
      // An .npy file's batch is checked from its header, before its data is read.
      let file = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 3, 224, 224), }")
      var bytesRead = 0
      do {
        _ = try RunInput.tensor(path: "x.npy", item: NetcOps.Shape([3, 224, 224]), memoryLimit: 1 << 30,
                                fileSize: file.count + 602_112_000_000) { range in
          bytesRead += range.count
          return range.map { $0 < file.count ? file[$0] : 0 }
        }
        Issue.record("a 602 GB input was accepted")
      } catch {
        #expect("\(error)".contains("an input of 1,000,000 items of shape 3x224x224 needs 602,112,000,000 bytes, above the limit of 1073741824"))
      }
      #expect(bytesRead < 100, "read \(bytesRead) bytes")
    }
  }

  /// A safetensors file: this header, padded to 8 bytes, and this data.
  func safetensors(_ json: String, data: [UInt8]) -> [UInt8] {
    var h = Array(json.utf8)
    while h.count % 8 != 0 { h.append(0x20) }
    return (0..<8).map { UInt8((h.count >> (8 * $0)) & 0xFF) } + h + data
  }

  /// The error SafeTensors.entries gives, or "ok".
  func safetensorsError(_ json: String, data: Int) -> String {
    do {
      _ = try SafeTensors.entries(safetensors(json, data: [UInt8](repeating: 0, count: data)))
      return "ok"
    } catch {
      return "\(error)"
    }
  }

  /// Overlapping tensors were accepted: two names read the same bytes. The format requires the tensors to
  /// cover the data section exactly; overlaps, gaps, trailing bytes and duplicate names are refused, and
  /// the header's JSON is read strictly and within bounds.
  @Test func safetensorsHeadersAreCheckedStrictly() {
    func t(_ name: String, _ shape: [Int], _ begin: Int, _ end: Int) -> String {
      "\"\(name)\":{\"dtype\":\"F32\",\"shape\":\(shape),\"data_offsets\":[\(begin),\(end)]}"
    }
    let cases: [(String, Int, String)] = [
      ("{" + t("a", [2], 0, 8) + "," + t("b", [2], 8, 16) + "}", 16, "ok"),
      ("{" + t("b", [2], 8, 16) + "," + t("e", [0], 8, 8) + "," + t("a", [2], 0, 8) + "}", 16, "ok"),
      ("{" + t("a", [4], 0, 16) + "," + t("b", [2], 8, 16) + "}", 16,
       "tensors 'a' (bytes 0..<16) and 'b' (bytes 8..<16) overlap; safetensors gives each tensor bytes of its own"),
      ("{" + t("a", [2], 0, 8) + "," + t("b", [2], 0, 8) + "}", 8, "tensors 'a' (bytes 0..<8) and 'b' (bytes 0..<8) overlap"),
      ("{" + t("a", [2], 0, 8) + "," + t("b", [2], 12, 20) + "}", 20,
       "bytes 8..<12 of the data section belong to no tensor (safetensors allows no gaps)"),
      ("{" + t("a", [2], 4, 12) + "}", 12, "bytes 0..<4 of the data section belong to no tensor"),
      ("{" + t("a", [2], 0, 8) + "}", 24, "the last 16 bytes of the file belong to no tensor (safetensors allows no gaps)"),
      ("{" + t("a", [2], 0, 8) + "," + t("a", [2], 8, 16) + "}", 16, "the safetensors header names 'a' twice"),
      (#"{"a":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}}"#, 8, "tensor 'a' gives 'dtype' twice"),
      ("{" + t("a", [2], 0, 800) + "}", 8, "tensor 'a' claims bytes 0..<800 but the data section holds 8 bytes"),
      ("{" + t("a", [2], 8, 0) + "}", 8, "tensor 'a' claims bytes 8..<0"),
      ("{" + t("a", [2], -8, 0) + "}", 8, "tensor 'a' claims bytes -8..<0"),
      ("{" + t("a", [3], 0, 8) + "}", 8, "tensor 'a': shape [3] of F32 needs 12 bytes, its offsets span 8"),
      ("{" + t("a", [1 << 30, 1 << 30, 1 << 30], 0, 8) + "}", 8, "tensor 'a' is impossibly large"),
      ("{" + t("a", [-2], 0, 8) + "}", 8, "tensor 'a' has a bad shape"),
      ("{" + t("a", Array(repeating: 1, count: 65), 0, 4) + "}", 4, "an array longer than 64 elements"),
      (#"{"a":{"dtype":"F32","shape":[1e400],"data_offsets":[0,4]}}"#, 4, "tensor 'a' has a bad shape"),
      (#"{"a":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,4]}}"#, 4, "tensor 'a' has a bad shape"),
      (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8.5]}}"#, 8, "tensor 'a' lacks a shape or data_offsets"),
      (#"{"a":{"dtype":"F32","shape":[01],"data_offsets":[0,4]}}"#, 4, "not valid JSON: a number with a leading zero"),
      (#"{"a":{"dtype":"F32","shape":[+1],"data_offsets":[0,4]}}"#, 4, "not valid JSON: unexpected character"),
      (#"{"a\q":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, 4, #"not valid JSON: unknown escape '\q' in a string"#),
      ("{\"a\u{01}\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "not valid JSON: control character in a string"),
      (#"{"a\u12":{}}"#, 0, #"not valid JSON: bad \u escape"#),
      (String(repeating: "[", count: 10) + String(repeating: "]", count: 10), 0, "not valid JSON: JSON nested deeper than 8"),
      ("[]", 0, "the safetensors header is not a JSON object"),
      (#"{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,8]}}"#, 8, "tensor 'a' has dtype Q4, which safetensors does not define"),
      // An integer tensor is read (a state_dict's num_batches_tracked); the loader refuses it where floats are needed.
      (#"{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, 8, "ok"),
    ]
    for (json, data, expected) in cases {
      let got = safetensorsError(json, data: data)
      #expect(expected == "ok" ? got == "ok" : got.contains(expected), "\(json): \(got)")
    }
    // UTF-16 escapes, with a surrogate pair and a lone surrogate, name the tensor as the text they spell.
    let names = try? SafeTensors.entries(safetensors(#"{"\u00e9\ud83d\ude00\ud800":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])).map(\.name)
    #expect(names == ["\u{E9}\u{1F600}\u{FFFD}"])
  }

  /// Through `netc run`: an overlap is refused with both names, exit 1.
  @Test func overlappingWeightsAreRefusedByRun() throws {
    try withDirectory { dir in
      let spec = dir.appendingPathComponent("t.net").path
      try "input 1x2x2\nflatten, fc 2\n".write(toFile: spec, atomically: true, encoding: .utf8)
      let header = #"{"fc1.weight":{"dtype":"F32","shape":[2,4],"data_offsets":[0,32]},"fc1.bias":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}}"#
      let w = dir.appendingPathComponent("w.safetensors").path
      try Data(safetensors(header, data: floats(Array(repeating: 1, count: 8)))).write(to: URL(fileURLWithPath: w))
      let r = Driver.run(["run", spec, "--weights", w, "--input", "random"])
      #expect(r.status == 1)
      #expect(r.stderr == "netc: error: '\(w)': tensors 'fc1.weight' (bytes 0..<32) and 'fc1.bias' (bytes 24..<32) overlap; safetensors gives each tensor bytes of its own\n")
    }
  }

  /// A plan file may be 32 MiB; the spec inside it is held to the 8 MiB of a spec file.
  @Test func planSpecsAreHeldToTheSpecLimit() {
    let source = "input 1x8x8\n" + String(repeating: "#", count: Pipeline.maxSourceBytes)
    let plan = JSONValue.object([("format", .string("netc-plan")), ("version", .int(1)), ("source_path", .string("big.net")),
                                 ("source", .string(source))]).rendered()
    do {
      _ = try Pipeline.loadPlan(Array(plan.utf8))
      Issue.record("a plan with a 8 MiB spec was accepted")
    } catch {
      #expect("\(error)" == "the spec it holds is 8,388,620 bytes; netc reads specs up to 8,388,608 bytes")
    }
  }

  /// `netc init` of 20,000 layers (40,000 tensors): the safetensors writer reserved each tensor's exact
  /// size in turn, reallocating the whole file per tensor (10 s in a release build). Now the file is
  /// reserved once.
  @Test func initIsLinearInTheTensors() throws {
    try withDirectory { dir in
      let spec = dir.appendingPathComponent("deep.net").path
      try ("input 8\n" + String(repeating: "fc 8\n", count: 20_000)).write(toFile: spec, atomically: true, encoding: .utf8)
      let out = dir.appendingPathComponent("w.safetensors").path
      var r: CommandResult?
      let t = seconds { r = Driver.run(["init", spec, "-o", out]) }
      #expect(r?.status == 0, "\(r?.stderr ?? "")")
      #expect(r?.stderr.hasPrefix("wrote 40000 tensors (1,440,000 values, f32)") == true)
      #expect(t < 4, "init of 40,000 tensors took \(t) s")
    }
  }

  /// `netc plan` of a concatenation of 2,000 branches: every row was padded to the width of the concat's
  /// list of inputs (2,500 branches: 35 MB in 10 s). Now a cell wider than 48 characters overflows its row.
  @Test func planIsLinearInConcatWidth() throws {
    try withDirectory { dir in
      let spec = dir.appendingPathComponent("wide.net").path
      try ("input 3x8x8\nconcat< " + Array(repeating: "conv 1x1 1", count: 2000).joined(separator: " | ") + " >\n")
        .write(toFile: spec, atomically: true, encoding: .utf8)
      var r: CommandResult?
      let t = seconds { r = Driver.run(["plan", spec]) }
      #expect(r?.status == 0)
      let size = r?.stdout.utf8.count ?? 0
      #expect(size > 2000 * 40 && size < 2000 * 200, "\(size) bytes")
      #expect(t < 4, "took \(t) s")
    }
  }

  /// An 'add' of 20,000 branches holds 20,000 values live at once: the buffer plan sorted them all for
  /// every placement, and the ONNX writer tried every earlier name for each of its 'Add' steps (99,000
  /// branches: the plan 30 s, the ONNX model over 30 s).
  @Test func planAndONNXAreFastForWideElementwiseOps() throws {
    try withDirectory { dir in
      let spec = dir.appendingPathComponent("wide.net").path
      try ("input 3x8x8\nadd< " + Array(repeating: "relu", count: 20_000).joined(separator: " | ") + " >\n")
        .write(toFile: spec, atomically: true, encoding: .utf8)
      for args in [["plan", spec], ["emit", "--target", "onnx", spec, "-o", dir.appendingPathComponent("w.onnx").path]] {
        var r: CommandResult?
        let t = seconds { r = Driver.run(args) }
        #expect(r?.status == 0, "\(args[0]): \(r?.stderr ?? "")")
        #expect(t < 6, "\(args[0]) took \(t) s")
      }
    }
  }

  /// An output is written only to a new path or a regular file: renaming over '/dev/null', a FIFO or a
  /// directory replaced it (as root, '/dev/null' became a regular file), and an output that is one of the
  /// command's inputs silently destroyed it. A symbolic link is written through and stays a link.
  @Test func outputsNeverReplaceInputsOrSpecialFiles() throws {
    try withDirectory { dir in
      let spec = dir.appendingPathComponent("t.net").path
      let source = "input 1x2x2\nflatten, fc 2\n"
      try source.write(toFile: spec, atomically: true, encoding: .utf8)
      let w = dir.appendingPathComponent("w.safetensors").path
      #expect(Driver.run(["init", spec, "-o", w]).status == 0)
      let weights = try Data(contentsOf: URL(fileURLWithPath: w))
      let x = dir.appendingPathComponent("x.npy").path
      try Data(NPY.write(shape: [1, 1, 2, 2], data: [1, 2, 3, 4])).write(to: URL(fileURLWithPath: x))
      let fifo = dir.appendingPathComponent("fifo").path
      #expect(mkfifo(fifo, 0o600) == 0)
      let cases: [([String], String)] = [
        (["emit", "--target", "pytorch", spec, "-o", spec], "the output '\(spec)' is the input '\(spec)'"),
        (["init", spec, "-o", spec], "the output '\(spec)' is the input '\(spec)'"),
        (["graph", spec, "-o", spec], "the output '\(spec)' is the input '\(spec)'"),
        (["emit", "--target", "onnx", spec, "--weights", w, "-o", w], "the output '\(w)' is the input '\(w)'"),
        (["run", spec, "--weights", w, "--input", x, "-o", x], "the output '\(x)' is the input '\(x)'"),
        (["run", spec, "--weights", w, "--input", x, "-o", w], "the output '\(w)' is the input '\(w)'"),
        (["emit", "--target", "pytorch", spec, "-o", "/dev/null"], "'/dev/null' is a device"),
        (["emit", "--target", "pytorch", spec, "-o", fifo], "'\(fifo)' is a FIFO"),
        (["emit", "--target", "pytorch", spec, "-o", dir.path], "'\(dir.path)' is a directory"),
      ]
      for (args, message) in cases {
        let r = Driver.run(args)
        #expect(r.status == 2, "\(args)")
        #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
      }
      #expect(try String(contentsOfFile: spec, encoding: .utf8) == source)
      #expect(try Data(contentsOf: URL(fileURLWithPath: w)) == weights)
      var st = stat()
      #expect(lstat("/dev/null", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR)
      #expect(lstat(fifo, &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO)
      // Through a link to a regular file: the file is rewritten, the link stays.
      let target = dir.appendingPathComponent("model.py").path, link = dir.appendingPathComponent("link.py").path
      try "old".write(toFile: target, atomically: true, encoding: .utf8)
      #expect(symlink(target, link) == 0)
      #expect(Driver.run(["emit", "--target", "pytorch", spec, "-o", link]).status == 0)
      #expect(lstat(link, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK)
      #expect(try String(contentsOfFile: target, encoding: .utf8).hasPrefix("# Generated by netc"))
    }
  }
}

extension FileInputTests {
  /// A safetensors file of `tensors` (name, dtype, shape, raw little-endian bytes), in the given order.
  static func safetensors(_ tensors: [(name: String, dtype: String, shape: [Int], bytes: [UInt8])]) -> [UInt8] {
    var entries: [String] = []
    var data: [UInt8] = []
    for t in tensors {
      entries.append("\"\(t.name)\":{\"dtype\":\"\(t.dtype)\",\"shape\":\(t.shape),\"data_offsets\":[\(data.count),\(data.count + t.bytes.count)]}")
      data += t.bytes
    }
    let header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
    return (0..<8).map { UInt8((header.count >> (8 * $0)) & 0xFF) } + header + data
  }

  /// A state_dict as `safetensors.torch.save_file(model.state_dict(), ...)` saves it holds batch norm's
  /// `num_batches_tracked` as I64 (and a model may hold other integer buffers): `netc run` and the ONNX
  /// export read such a file, ignore those tensors, and say so with --verbose; an integer tensor the
  /// network needs, or a dtype the format does not define, is refused by name.
  @Test func stateDictIntegerBuffersAreIgnored() throws {
    try withDirectory { dir in
      let spec = dir.appendingPathComponent("bn.net").path
      try "input 3x4x4\nconv 3x3 2 p1, bn, relu\nflatten, fc 2\n".write(toFile: spec, atomically: true, encoding: .utf8)
      let plain = dir.appendingPathComponent("plain.safetensors").path
      #expect(Driver.run(["init", spec, "-o", plain, "--seed", "3"]).status == 0)
      let floats = try SafeTensors.entries(Array(try Data(contentsOf: URL(fileURLWithPath: plain))))
      let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: plain)))
      var tensors = floats.sorted { $0.range.lowerBound < $1.range.lowerBound }.map {
        (name: $0.name, dtype: $0.dtype, shape: $0.shape, bytes: Array(bytes[$0.range]))
      }
      // PyTorch's order: the batch norm's counter after its running statistics.
      let counter = (name: "bn2.num_batches_tracked", dtype: "I64", shape: [Int](), bytes: [UInt8](repeating: 0, count: 8))
      tensors.insert(counter, at: tensors.firstIndex { $0.name == "bn2.running_var" }! + 1)
      tensors.append((name: "mask", dtype: "BOOL", shape: [2], bytes: [1, 0]))
      let stateDict = dir.appendingPathComponent("state_dict.safetensors").path
      try Data(Self.safetensors(tensors)).write(to: URL(fileURLWithPath: stateDict))
      let x = dir.appendingPathComponent("x.npy").path
      try Data(NPY.write(shape: [1, 3, 4, 4], data: (0..<48).map { Float($0) / 10 })).write(to: URL(fileURLWithPath: x))
      let y1 = dir.appendingPathComponent("y1.npy").path, y2 = dir.appendingPathComponent("y2.npy").path
      #expect(Driver.run(["run", spec, "--weights", plain, "--input", x, "-o", y1]).status == 0)
      let r = Driver.run(["run", spec, "--weights", stateDict, "--input", x, "-o", y2, "--verbose"])
      #expect(r.status == 0, "\(r.stderr)")
      #expect(r.stderr.contains("ignored 2 integer tensors that inference does not use: 'bn2.num_batches_tracked', 'mask'"), "\(r.stderr)")
      #expect(try Data(contentsOf: URL(fileURLWithPath: y1)) == (try Data(contentsOf: URL(fileURLWithPath: y2))))
      #expect(!Driver.run(["run", spec, "--weights", stateDict, "--input", x, "-o", y2]).stderr.contains("ignored"))
      let onnx = Driver.run(["emit", "--target", "onnx", spec, "--weights", stateDict, "-o", dir.appendingPathComponent("m.onnx").path, "--verbose"])
      #expect(onnx.status == 0 && onnx.stderr.contains("ignored 2 integer tensors"), "\(onnx.stderr)")

      // An integer tensor where the network needs floats, a dtype the format lacks, a float tensor too many.
      let cases: [(String, String, String)] = [
        ("bn2.running_var", "I32", "tensor 'bn2.running_var' has dtype I32; netc reads F32, F16 and BF16"),
        ("bn2.running_var", "Q4", "tensor 'bn2.running_var' has dtype Q4, which safetensors does not define"),
      ]
      for (name, dtype, message) in cases {
        let bad = tensors.map { $0.name == name ? (name: $0.name, dtype: dtype, shape: $0.shape, bytes: $0.bytes) : $0 }
        let path = dir.appendingPathComponent("bad.safetensors").path
        try Data(Self.safetensors(bad)).write(to: URL(fileURLWithPath: path))
        let r = Driver.run(["run", spec, "--weights", path, "--input", x])
        #expect(r.status == 1 && r.stderr.contains(message), "\(r.stderr)")
      }
      let extra = tensors + [(name: "head.weight", dtype: "F64", shape: [1], bytes: [UInt8](repeating: 0, count: 8))]
      let path = dir.appendingPathComponent("extra.safetensors").path
      try Data(Self.safetensors(extra)).write(to: URL(fileURLWithPath: path))
      let e = Driver.run(["run", spec, "--weights", path, "--input", x])
      #expect(e.status == 1 && e.stderr.contains("has 1 tensor this network does not: 'head.weight'"), "\(e.stderr)")
    }
  }
}
