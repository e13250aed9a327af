import Foundation
import NetcBasic
import NetcDriver
import Testing

/// Bad input of any kind ends in diagnostics, never a crash, a trap or a hang.
@Suite struct RobustnessTests {
  /// xorshift: deterministic, so a failure reproduces.
  struct Random {
    var state: UInt64
    mutating func next() -> UInt64 {
      state ^= state << 13
      state ^= state >> 7
      state ^= state << 17
      return state
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
  }

  static let fragments: [String] = [
    "(", ")", "<", ">", "{", "}", "|", ",", "\n", "x", "x9", "x99999999", "99999999999999999999", "-", "*", "/0",
    "=>", "->", "@", "@input", "conv", "3x3", "0x0", "residual<", "inception<", "block", "input", "network",
    "relu()", "fc", "flatten", "p1x2", "s0", "g0", "=", "same", "ceil", "\u{FF}", "\u{00}", "é", "1e999", "0.5",
  ]

  @Test func mutatedSpecsNeverCrash() throws {
    let files = Paths.specNames
    var rng = Random(state: 0x9E37_79B9_7F4A_7C15)
    var rejected = 0
    for round in 0..<600 {
      let source = try readText(Paths.specs.appendingPathComponent(files[round % files.count]))
      var bytes = Array(source.utf8)
      for _ in 0..<(1 + rng.below(4)) {
        let at = rng.below(bytes.count + 1)
        switch rng.below(4) {
        case 0: if at < bytes.count { bytes.remove(at: at) }
        case 1: bytes.insert(contentsOf: Array(Self.fragments[rng.below(Self.fragments.count)].utf8), at: at)
        case 2: if at < bytes.count { bytes[at] = UInt8(truncatingIfNeeded: rng.next()) }
        default: bytes = Array(bytes.prefix(at))
        }
      }
      let c = Pipeline.compile(path: "mutant.net", bytes: bytes)
      if c.diagnostics.hasErrors {
        rejected += 1
        #expect(c.network == nil)
        _ = DiagnosticRenderer(useColor: true).render(c.diagnostics.diagnostics, in: c.file)
        _ = DiagnosticRenderer.json(c.diagnostics.diagnostics, in: c.file)
      }
    }
    #expect(rejected > 300)
  }

  @Test func absurdInputsAreDiagnosed() {
    let cases: [(String, String)] = [
      ("", "describes no network"),
      ("\u{00}\u{01}\u{02}", "not a text file"),
      ("input 3x224x224\n" + String(repeating: "(", count: 100_000), "nesting is deeper than 64 levels"),
      ("input 3x224x224\n" + String(repeating: "residual< ", count: 5000), "nesting is deeper than 64 levels"),
      ("input 3x4x4\nconv 1x1 c*" + String(repeating: "(", count: 5000) + "1", "nested deeper"),
      ("input 3x224x224\nconv 3x3 99999999999999999999999", "does not fit in 64 bits"),
      ("input 3x4611686018427387904x4", "more than 1,099,511,627,776 elements"),
      ("input 3x65536x65536\nconv 1x1 65536", "more than 1,099,511,627,776 elements"),
      ("input 0x224x224", "input sizes must be at least 1"),
      ("input 1048576\nfc 2147483648", "the weight of 'fc' would hold more than 1,099,511,627,776 elements"),
      ("input 3x8x8\nconv 3x3 4294967296", "channels of 'conv' is 4,294,967,296, beyond netc's limit of 2,147,483,648"),
      ("input 1x1024x1024\n(conv 1024x1024 1 p1023 d1) x1000", "multiply-adds no longer fit in 64 bits"),
      ("input 3x8x8\nconv 3x3 -4", "channels of 'conv' must be at least 1, found -4"),
      ("input 3x8x8\nconv 0x3 4", "kernel of 'conv' must be at least 1, found 0"),
      ("input 3x8x8\n(relu) x100001", "above netc's limit of 100,000"),
      ("input 3x8x8\n((((relu) x1000) x1000) x1000)", "more than 100,000 layers"),
      ("input 3x8x8\n(relu) x100000\n(relu) x1000", "more than 100,000 layers"),
      ("input 3x8x8\nblock A() { B() }\nblock B() { A() }\nA()", "block 'A' uses itself"),
      ("input 3x8x8\nconv 3x3 9223372036854775807*2", "arithmetic overflow"),
      ("input 3x8x8\nconv 1x1 4/0", "division by zero"),
      // Regressions: each of these once trapped, overflowed the stack or ran for hours.
      ("input 3x8x8\nconv 1x1 (-9223372036854775807-1)/-1", "arithmetic overflow"),
      ("input 3x8x8\nconv 1x1 " + Array(repeating: "1", count: 5000).joined(separator: "+"), "more than 256 operators"),
      ("input 3x8x8\nconv 1x1 " + String(repeating: "-", count: 5000) + "1", "nested deeper than 64"),
      ("input " + Array(repeating: "1", count: 20_000).joined(separator: "x"), "input"),
      ("input 3x8x8\ncovn\n(((relu) x1000) x1000) x1000", "unknown layer 'covn'"),
      ("input 3x8x8\n((@input) x100000) x100000", "more than 1,000,000 elements"),
      ("input 3x8x8\n(() x100000) x100000", "x"),
      // Found by fuzzing: `0x8E2` once parsed as the size 0 and the number 8E2, which `netc fmt` then wrote
      // as `0 8E2`, another network.
      ("input 15x8x8\nconvt 3x3 8 0x8E2 out_pad=2", "expected a whole number after 'x' in a size, found '8E2'"),
      ("input 1x8192x8192\nconv 4097x4097 16384 p2048", "the multiply-adds of 'conv' do not fit in 64 bits"),
    ]
    for (source, message) in cases {
      let c = compile(source)
      let text = DiagnosticRenderer(useColor: false).render(c.diagnostics.diagnostics, in: c.file)
      let failed = c.diagnostics.hasErrors
      #expect(failed, "\(source.prefix(60)) was accepted")
      #expect(text.contains(message), "\(source.prefix(60)):\n\(text)")
    }
  }

  /// Blocks nest their bodies inside every place they are used: 64 blocks each nested 60 deep once
  /// overflowed the checker's stack (found by fuzzing). The expanded network's depth has a limit, and a
  /// network at that limit goes through every stage.
  @Test func deeplyNestedBlocksAreDiagnosedAndTheLimitIsSafe() throws {
    func nested(blocks: Int, levels: Int) -> String {
      var lines = ["input 3x8x8", "block b0() { relu }"]
      for i in 1..<blocks {
        lines.append("block b\(i)() { " + String(repeating: "residual< ", count: levels) + "b\(i - 1)()"
                     + String(repeating: " >", count: levels) + " }")
      }
      return (lines + ["b\(blocks - 1)()"]).joined(separator: "\n") + "\n"
    }
    let tooDeep = compile(nested(blocks: 64, levels: 60))
    let text = DiagnosticRenderer(useColor: false).render(tooDeep.diagnostics.diagnostics, in: tooDeep.file)
    #expect(text.contains("error: the network is nested more than 160 levels deep once its blocks are expanded"), "\(text)")
    #expect(text.contains("note: in block 'b"), "\(text)")
    // 157 levels: the call of b5, then five times 30 residuals and a call, then b0's relu.
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("netc-deep-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let spec = dir.appendingPathComponent("deep.net").path
    try nested(blocks: 6, levels: 30).write(toFile: spec, atomically: true, encoding: .utf8)
    let weights = dir.appendingPathComponent("w.safetensors").path
    for arguments in [["check", spec], ["params", "--format", "torchinfo", spec], ["graph", spec, "-o", "-"],
                      ["plan", spec], ["emit", "--target", "swift", spec, "-o", "-"], ["emit", "--target", "pytorch", spec, "-o", "-"],
                      ["init", spec, "-o", weights], ["emit", "--target", "onnx", spec, "--weights", weights, "-o", "-"],
                      ["run", spec, "--weights", weights, "--input", "random"]] {
      let r = Driver.run(arguments)
      #expect(r.status == 0, "netc \(arguments[0]): \(r.stderr)")
    }
  }

  @Test func invalidUTF8IsNamedByteForByte() {
    let c = Pipeline.compile(path: "t.net", bytes: Array("input 3".utf8) + [0xFF] + Array("x8x8\n# ok \u{E9}\n# bad ".utf8) + [0xC3, 0x28])
    let text = DiagnosticRenderer(useColor: false).render(c.diagnostics.diagnostics, in: c.file)
    #expect(text.contains("t.net:1:8: error: invalid UTF-8 byte 0xFF"))
    #expect(text.contains("t.net:3:7: error: invalid UTF-8 byte 0xC3 in comment"))
  }

  /// Found by scripts/fuzz.sh (fuzz-source): a diagnostic at a lone carriage return once indexed past the
  /// end of its line in the snippet.
  @Test func snippetsOfCarriageReturnLines() {
    for source in ["\n\r", "input 3x8x8\r\nconv 3x3 0\r\n", "\r", "input 3x8x8\nconv\r"] {
      let c = compile(source)
      #expect(c.diagnostics.hasErrors, "\(source.debugDescription) was accepted")
      _ = DiagnosticRenderer(useColor: false).render(c.diagnostics.diagnostics, in: c.file)
    }
  }

  @Test func errorsAreCappedAndOnePerLine() {
    let source = "input 3x8x8\n" + String(repeating: "conv 3x3 ; ; ;\n", count: 100)
    let c = compile(source)
    #expect(c.diagnostics.errorCount == 20)
    #expect(c.diagnostics.suppressedErrors > 0)
  }
}
