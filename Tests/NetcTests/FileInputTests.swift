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
  /// Seconds `body` takes.
  func seconds(_ body: () throws -> Void) rethrows -> Double {
    let clock = ContinuousClock()
    let d = try clock.measure(body)
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
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
}
