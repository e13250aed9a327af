import Foundation
import NetcDriver
import Testing

/// The bad-input suite: each `Inputs/diagnostics/NAME.net` beside `NAME.expected`, which holds the exact
/// stderr of `netc check NAME.net` and a last line `exit: N`.
@Suite struct DiagnosticTests {
  static let folder = Paths.inputs.appendingPathComponent("diagnostics")

  static var cases: [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
      .filter { $0.hasSuffix(".net") }.map { String($0.dropLast(4)) }.sorted()
  }

  @Test func suiteIsLarge() {
    #expect(Self.cases.count >= 60)
  }

  @Test(arguments: cases)
  func golden(name: String) throws {
    let r = inDirectory(Self.folder.path) { Driver.run(["check", "--color", "never", "\(name).net"]) }
    let actual = r.stderr + "exit: \(r.status)\n"
    let expectedURL = Self.folder.appendingPathComponent("\(name).expected")
    if ProcessInfo.processInfo.environment["NETC_RECORD"] == "1" {
      try actual.write(to: expectedURL, atomically: true, encoding: .utf8)
      Issue.record("recorded \(name).expected")
      return
    }
    let expected = try readText(expectedURL)
    #expect(actual == expected, "\(firstDifference(actual, expected))")
    // Whatever the input, netc answers with a diagnostic and a clean status, never a crash.
    #expect(r.status == 0 || r.status == 1)
  }

  /// The same diagnostics as JSON: one object per line, with file, line, column, severity and message.
  @Test func jsonDiagnostics() throws {
    let path = Paths.specs.appendingPathComponent("examples/simple_inception_bug.net").path
    let r = Driver.run(["check", "--diagnostics-format", "json", path])
    #expect(r.status == 1)
    let lines = r.stderr.split(separator: "\n")
    #expect(lines.count == 1)
    let obj = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
    #expect(obj["line"] as? Int == 20)
    #expect(obj["column"] as? Int == 4)
    #expect(obj["severity"] as? String == "error")
    #expect(obj["id"] as? String == "fc-input-mismatch")
    #expect((obj["notes"] as? [[String: Any]])?.count == 2)
  }
}
