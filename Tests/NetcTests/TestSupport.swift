import Foundation
import NetcBasic
import NetcDriver
import NetcReport
@testable import NetcOps
import NetcSema
import NetcSyntax
import Testing

/// Paths of the package and of the reference figures beside it.
enum Paths {
  static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  static let root = tests.deletingLastPathComponent().deletingLastPathComponent()
  static let specs = root.appendingPathComponent("specs")
  /// Every network in specs/, as paths relative to it (`resnet/resnet50.net`): one folder per family;
  /// specs/examples holds the networks with deliberate mistakes, which are not among them.
  static let specNames: [String] = {
    let families = ((try? FileManager.default.contentsOfDirectory(atPath: specs.path)) ?? []).filter { $0 != "examples" }
    return families.flatMap { family in
      ((try? FileManager.default.contentsOfDirectory(atPath: specs.appendingPathComponent(family).path)) ?? [])
        .filter { $0.hasSuffix(".net") }.map { "\(family)/\($0)" }
    }.sorted()
  }()
  /// The spec named NAME (specs/FAMILY/NAME.net), whichever family folder holds it.
  static func spec(_ name: String) -> URL {
    let relative = specNames.first { $0.hasSuffix("/\(name).net") } ?? "\(name).net"
    return specs.appendingPathComponent(relative)
  }
  /// The specs of Examples/NAME/ (trained in PyTorch there), as paths.
  static let exampleSpecs: [String] = {
    let examples = root.appendingPathComponent("Examples")
    return ((try? FileManager.default.contentsOfDirectory(atPath: examples.path)) ?? []).flatMap { name in
      let folder = examples.appendingPathComponent(name)
      return ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
        .filter { $0.hasSuffix(".net") }.map { folder.appendingPathComponent($0).path }
    }.sorted()
  }()
  static let inputs = tests.appendingPathComponent("Inputs")
  static let snapshots = tests.appendingPathComponent("Snapshots")
  /// `../shared/reference`, which CI places beside the clone.
  static let reference = root.deletingLastPathComponent().appendingPathComponent("shared/reference")
}

func readText(_ url: URL) throws -> String {
  try String(contentsOf: url, encoding: .utf8)
}

/// Compiles source text in memory.
func compile(_ source: String, path: String = "test.net", batch: Int = 1) -> Compilation {
  Pipeline.compile(path: path, bytes: Array(source.utf8), batch: batch)
}

/// Checks a source that must be free of errors and returns the network.
func network(_ source: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> CheckedNetwork {
  let c = compile(source)
  let rendered = DiagnosticRenderer(useColor: false).render(c.diagnostics.diagnostics, in: c.file)
  let ok = !c.diagnostics.hasErrors
  #expect(ok, "unexpected diagnostics:\n\(rendered)", sourceLocation: sourceLocation)
  return try #require(c.network, sourceLocation: sourceLocation)
}

/// The rendered diagnostics of a source, for tests that expect errors.
func diagnostics(_ source: String) -> String {
  let c = compile(source)
  return DiagnosticRenderer(useColor: false).render(c.diagnostics.diagnostics, in: c.file)
}

/// Compares `actual` with the snapshot file `name`; with NETC_RECORD=1 rewrites it (and fails, so a
/// recording run is never mistaken for a passing one).
func assertSnapshot(_ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
  let url = Paths.snapshots.appendingPathComponent(name)
  if ProcessInfo.processInfo.environment["NETC_RECORD"] == "1" {
    try actual.write(to: url, atomically: true, encoding: .utf8)
    Issue.record("recorded snapshot \(name); run again without NETC_RECORD", sourceLocation: sourceLocation)
    return
  }
  guard FileManager.default.fileExists(atPath: url.path) else {
    Issue.record("missing snapshot \(name); run with NETC_RECORD=1 to create it", sourceLocation: sourceLocation)
    return
  }
  let expected = try readText(url)
  #expect(actual == expected, "output differs from Snapshots/\(name)", sourceLocation: sourceLocation)
  if actual != expected { print(firstDifference(actual, expected)) }
}

func firstDifference(_ a: String, _ b: String) -> String {
  let la = a.split(separator: "\n", omittingEmptySubsequences: false)
  let lb = b.split(separator: "\n", omittingEmptySubsequences: false)
  for i in 0..<max(la.count, lb.count) {
    let x = i < la.count ? String(la[i]) : "<none>"
    let y = i < lb.count ? String(lb[i]) : "<none>"
    if x != y { return "line \(i + 1):\n  actual:   \(x)\n  expected: \(y)" }
  }
  return "no difference"
}

/// The working directory is one per process and tests run in parallel: every test that needs a particular
/// directory (to see relative paths in netc's messages) runs its body under this lock.
private let workingDirectoryLock = NSLock()

func inDirectory<T>(_ path: String, _ body: () throws -> T) rethrows -> T {
  workingDirectoryLock.lock()
  defer { workingDirectoryLock.unlock() }
  let previous = FileManager.default.currentDirectoryPath
  FileManager.default.changeCurrentDirectoryPath(path)
  defer { FileManager.default.changeCurrentDirectoryPath(previous) }
  return try body()
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

/// A flag one thread sets and another polls.
final class ManagedAtomicFlag: @unchecked Sendable {
  private let lock = NSLock()
  private var value = false
  var isSet: Bool { lock.withLock { value } }
  func set() { lock.withLock { value = true } }
}
