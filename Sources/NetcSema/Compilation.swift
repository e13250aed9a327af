// The front end every tool shares: source bytes -> tokens and syntax tree -> checked network, with the
// diagnostics of both. `netc check` and the other commands (NetcDriver) and the language server
// (NetcLanguageServer) compile through this one function, so they report the same diagnostics.
import Dispatch
import NetcBasic
import NetcSyntax

/// The compiler's stages, top to bottom: read -> tokens and syntax tree -> checked network.
public struct Compilation {
  public var file: SourceFile
  public var diagnostics: DiagnosticEngine
  public var syntax: NetworkSyntax?
  public var network: CheckedNetwork?
  /// With errors: the network up to the first one, for a diagram.
  public var partial: PartialNetwork?
  public var timings: [(stage: String, seconds: Double)] = []

  public init(file: SourceFile, diagnostics: DiagnosticEngine, syntax: NetworkSyntax? = nil,
              network: CheckedNetwork? = nil) {
    self.file = file
    self.diagnostics = diagnostics
    self.syntax = syntax
    self.network = network
  }

  /// Largest source file netc reads; a network description is a few kilobytes.
  public static let maxSourceBytes = 8 << 20

  /// Parses and checks `bytes`; the diagnostics come out in source order.
  public static func compile(path: String, bytes: [UInt8], batch: Int = 1) -> Compilation {
    let file = SourceFile(path: path, bytes: bytes)
    var c = Compilation(file: file, diagnostics: DiagnosticEngine(file: file))
    var t0 = DispatchTime.now()
    func lap(_ stage: String) {
      let t1 = DispatchTime.now()
      c.timings.append((stage, Double(t1.uptimeNanoseconds - t0.uptimeNanoseconds) / 1e9))
      t0 = t1
    }
    // A JSON file (a plan from 'netc emit --target plan', a safetensors header) would give an error per
    // quote; no spec begins with '{"'.
    let text = bytes.drop { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 || $0 == 0xEF || $0 == 0xBB || $0 == 0xBF }
    if text.first == UInt8(ascii: "{"), text.dropFirst().first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) == UInt8(ascii: "\"") {
      let at = bytes.count - text.count
      c.diagnostics.error("not-a-spec", "this is JSON, not a .net spec",
                          at: SourceRange(at, at + 1),
                          notes: [Note("a plan written by 'netc emit --target plan' runs with 'netc run PLAN'; the other commands take the spec it came from")])
      return c
    }
    let syntax = Parser.parse(file, diagnostics: &c.diagnostics)
    c.syntax = syntax
    lap("parse")
    // Shapes are checked even after syntax errors: the parser recovered, and the checker skips what
    // it could not parse, so one run reports both kinds of mistake.
    var partial: PartialNetwork?
    c.network = Checker.check(syntax, file: file, batch: batch, diagnostics: &c.diagnostics, partial: &partial)
    c.partial = partial
    c.diagnostics.sortBySourcePosition()
    lap("check")
    return c
  }
}
