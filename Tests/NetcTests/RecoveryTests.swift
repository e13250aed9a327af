import Foundation
import NetcBasic
import NetcDriver
import Testing

/// The checker's error recovery: one mistake gives one error, however much of the network depends on it,
/// and every independent mistake is reported (the goldens `independent-errors*.net` and
/// `dependent-errors-silent.net` show the messages).
@Suite struct RecoveryTests {
  static let networks: [String] = {
    let ops = Paths.root.appendingPathComponent("Tests/parity/ops")
    return Paths.specNames.map { Paths.specs.appendingPathComponent($0).path }
      + ((try? FileManager.default.contentsOfDirectory(atPath: ops.path)) ?? [])
        .filter { $0.hasSuffix(".net") }.sorted().map { ops.appendingPathComponent($0).path }
  }()

  /// One mistake in a layer's arguments, written into the `index`-th convolution of `source`.
  static func mutate(_ source: String, convolution index: Int, with mistake: String) -> String? {
    var lines = source.components(separatedBy: "\n")
    var seen = 0
    for (i, line) in lines.enumerated() {
      guard let r = line.range(of: #"\bconv [0-9]+x[0-9]+ [^ ,]+"#, options: .regularExpression) else { continue }
      if seen == index {
        lines[i] = line.replacingCharacters(in: r, with: line[r] + " " + mistake)
        return lines.joined(separator: "\n")
      }
      seen += 1
    }
    return nil
  }

  /// Each mistake is written into every convolution of every spec in turn (up to 40 per spec): each run
  /// reports exactly one error, at the mistake's line, whatever depends on the broken layer.
  @Test(arguments: ["g0", "s0", "d-1", "bogus=3", "1x1"])
  func oneMistakeGivesOneError(mistake: String) throws {
    var runs = 0
    for path in Self.networks {
      let source = try String(contentsOfFile: path, encoding: .utf8)
      for index in 0..<40 {
        guard let mutant = Self.mutate(source, convolution: index, with: mistake) else { break }
        let c = Pipeline.compile(path: "mutant.net", bytes: Array(mutant.utf8))
        let errors = c.diagnostics.diagnostics.filter { $0.severity == .error }
        let name = (path as NSString).lastPathComponent
        #expect(errors.count == 1, "\(name), convolution \(index), '\(mistake)': \(errors.map(\.message))")
        if let e = errors.first {
          let line = c.file.lineAndColumn(of: e.range.start).line
          #expect(c.file.lineText(line).contains(mistake), "\(name), convolution \(index): error on line \(line)")
        }
        runs += 1
      }
    }
    #expect(runs > 90)
  }

  /// Two mistakes in the arguments of two layers: both are reported, even when the second layer depends on
  /// the first (a mistake in a layer's own arguments does not depend on its input).
  @Test(arguments: [("s0", "bogus=3"), ("1x1", "g0"), ("d-1", "d-1")])
  func twoMistakesGiveTwoErrors(first: String, second: String) throws {
    var runs = 0
    for path in Self.networks {
      let source = try String(contentsOfFile: path, encoding: .utf8)
      for index in stride(from: 0, to: 40, by: 3) {
        guard let once = Self.mutate(source, convolution: index, with: first),
          let twice = Self.mutate(once, convolution: index + 2, with: second)
        else { break }
        let c = Pipeline.compile(path: "mutant.net", bytes: Array(twice.utf8))
        let errors = c.diagnostics.diagnostics.filter { $0.severity == .error }
        let name = (path as NSString).lastPathComponent
        #expect(errors.count == 2, "\(name), convolutions \(index) and \(index + 2): \(errors.map(\.message))")
        runs += 1
      }
    }
    #expect(runs > 20)
  }

  /// The projection shortcut that the residual-mismatch note suggests makes the residual check, for
  /// even and odd sizes, strides 1 to 3, and a change of channels.
  @Test func suggestedProjectionFits() throws {
    var checked = 0
    for size in [5, 7, 8, 13, 28, 56] {
      for stride in 1...3 {
        for pad in 0...1 {
          let body = "conv 3x3 32 s\(stride) p\(pad), relu"
          let spec = "input 16x\(size)x\(size)\nresidual< \(body) >\n"
          let c = Pipeline.compile(path: "r.net", bytes: Array(spec.utf8))
          let errors = c.diagnostics.diagnostics.filter { $0.severity == .error }
          try #require(errors.count == 1, "\(spec)")
          #expect(errors[0].id == "residual-mismatch")
          let note = try #require(errors[0].notes.first { $0.message.hasPrefix("add a projection shortcut") })
          let suggested = try #require(note.message.components(separatedBy: "| ").last?.dropLast(2))
          let fixed = "input 16x\(size)x\(size)\nresidual< \(body) | \(suggested) >\n"
          let f = Pipeline.compile(path: "fixed.net", bytes: Array(fixed.utf8))
          #expect(!f.diagnostics.hasErrors, "\(fixed): \(f.diagnostics.diagnostics.map(\.message))")
          checked += 1
        }
      }
    }
    #expect(checked == 36)
  }
}
