import Foundation
import NetcBasic
import NetcDriver
import NetcFormat
import NetcReport
import NetcRuntime
import NetcSyntax
import Testing

/// `netc fmt`: golden layouts, idempotence, fixed points, unchanged meaning, and files left alone.
@Suite struct FormatterTests {
  static let folder = Paths.inputs.appendingPathComponent("fmt")

  /// Inputs/fmt/NAME.net beside NAME.golden, its canonical layout.
  static var goldenCases: [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
      .filter { $0.hasSuffix(".net") }.map { String($0.dropLast(4)) }.sorted()
  }

  static var specPaths: [String] {
    var paths: [String] = []
    paths = Paths.specNames.map { Paths.specs.appendingPathComponent($0).path }
    // The networks with deliberate mistakes, the parity test's operation specs, and the examples'.
    for folder in [Paths.specs.appendingPathComponent("examples"), Paths.root.appendingPathComponent("Tests/parity/ops")] {
      let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
      paths += names.filter { $0.hasSuffix(".net") }.sorted().map { folder.appendingPathComponent($0).path }
    }
    return paths + Paths.exampleSpecs
  }

  static var diagnosticInputs: [String] {
    let dir = Paths.inputs.appendingPathComponent("diagnostics")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
    return names.filter { $0.hasSuffix(".net") }.sorted().map { dir.appendingPathComponent($0).path }
  }

  /// Formats source bytes; nil on syntax errors.
  static func fmt(_ bytes: [UInt8], path: String = "test.net") -> String? {
    let file = SourceFile(path: path, bytes: bytes)
    var diags = DiagnosticEngine(file: file)
    let out = SourceFormatter.format(file, diagnostics: &diags)
    #expect(!diags.diagnostics.contains { $0.id == "fmt-internal-error" }, "\(path): the formatter changed the meaning")
    return out
  }

  static func fmt(_ text: String) -> String? { fmt(Array(text.utf8)) }

  static func bytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
  }

  /// What netc makes of a source: the check line and the layer table, without positions. Compiled under one
  /// path, so a network named after its file keeps its name.
  static func meaning(_ bytes: [UInt8], path: String) -> String {
    let c = Pipeline.compile(path: path, bytes: bytes)
    guard let net = c.network else { return "errors: \(c.diagnostics.errorCount + c.diagnostics.suppressedErrors)" }
    let s = Summary(net, batch: 1)
    var json = JSONPrinter.value(s, file: c.file).rendered()
    // Rows point at their source line and column, which formatting may move.
    json = json.split(separator: "\n").filter { !$0.contains("\"line\"") && !$0.contains("\"column\"") }
      .joined(separator: "\n")
    return TorchSummaryPrinter.render(s, batchGiven: true) + TorchInfoPrinter.render(s, depth: 8) + json
  }

  // MARK: Golden layouts

  @Test func goldenCasesExist() {
    #expect(Self.goldenCases.contains("messy"))
  }

  @Test(arguments: goldenCases)
  func golden(name: String) throws {
    let input = Self.folder.appendingPathComponent("\(name).net").path
    let goldenURL = Self.folder.appendingPathComponent("\(name).golden")
    let r = Driver.run(["fmt", input])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stderr.isEmpty)
    if ProcessInfo.processInfo.environment["NETC_RECORD"] == "1" {
      try r.stdout.write(to: goldenURL, atomically: true, encoding: .utf8)
      Issue.record("recorded \(name).golden")
      return
    }
    let golden = try readText(goldenURL)
    #expect(r.stdout == golden, "\(firstDifference(r.stdout, golden))")
    // The golden is canonical itself, and means what the messy input meant.
    #expect(Self.fmt(golden) == golden)
    #expect(Self.meaning(Array(golden.utf8), path: input) == Self.meaning(try Self.bytes(input), path: input))
  }

  // MARK: Specs and bad inputs

  /// The committed specs are canonical: formatting one changes nothing.
  @Test(arguments: specPaths)
  func specIsAFixedPoint(path: String) throws {
    let original = try readText(URL(fileURLWithPath: path))
    let formatted = try #require(Self.fmt(original))
    #expect(formatted == original, "\(path) is not in canonical layout (run 'netc fmt -i \(path)'): \(firstDifference(formatted, original))")
    let check = Driver.run(["fmt", "--check", path])
    #expect(check.status == 0, "\(check.stderr)")
  }

  /// Formatting a spec leaves its network exactly as it was: same check line, same layer tables, same JSON.
  @Test(arguments: specPaths)
  func specMeansTheSameAfterFormatting(path: String) throws {
    let original = try Self.bytes(path)
    let formatted = try #require(Self.fmt(original, path: path))
    #expect(Self.meaning(Array(formatted.utf8), path: path) == Self.meaning(original, path: path))
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("netc-fmt-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let copy = dir.appendingPathComponent(URL(fileURLWithPath: path).lastPathComponent).path
    try formatted.write(toFile: copy, atomically: true, encoding: .utf8)
    let before = Driver.run(["check", "--format", "json", path])
    let after = Driver.run(["check", "--format", "json", copy])
    #expect(before.status == after.status)
    #expect(before.stdout.replacingOccurrences(of: path, with: "F") == after.stdout.replacingOccurrences(of: copy, with: "F"))
  }

  /// fmt(fmt(x)) == fmt(x) for every spec, every golden input and every bad input that parses; what checked
  /// before checks to the same network after.
  @Test func idempotentOnEveryInputThatParses() throws {
    let goldens = Self.goldenCases.map { Self.folder.appendingPathComponent("\($0).net").path }
    var parsed = 0
    for path in Self.specPaths + goldens + Self.diagnosticInputs {
      let original = try Self.bytes(path)
      guard let once = Self.fmt(original, path: path) else { continue }
      parsed += 1
      let twice = Self.fmt(Array(once.utf8), path: path)
      #expect(twice == once, "\(path): not idempotent\n\(firstDifference(twice ?? "", once))")
      #expect(Self.meaning(Array(once.utf8), path: path) == Self.meaning(original, path: path), "\(path)")
    }
    #expect(parsed >= 100)
  }

  /// Every example of Grammar.md and README.md (a bare fenced block that parses) is in canonical layout.
  @Test func documentationExamplesAreCanonical() throws {
    var examples = 0
    for doc in ["Grammar.md", "README.md"] {
      let text = try readText(Paths.root.appendingPathComponent(doc))
      var block: [Substring]?
      var inFence = false
      for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.hasPrefix("```") {
          if inFence, let b = block {
            let source = b.joined(separator: "\n") + "\n"
            // Shell sessions and listings do not parse; every network does.
            if let formatted = Self.fmt(source) {
              examples += 1
              #expect(formatted == source, "\(doc): \(firstDifference(formatted, source))")
            }
          }
          block = !inFence && line == "```" ? [] : nil
          inFence.toggle()
          continue
        }
        block?.append(line)
      }
    }
    #expect(examples >= 12)
  }

  /// Whatever the layout of the input, the output is the same: perturbing the spaces, line breaks, blank
  /// lines and comments of every spec (a fixed seed) never changes its canonical form, except for the
  /// comments, which are all kept.
  @Test func layoutNoiseIsRemoved() throws {
    var rng = SplitMix64(seed: 7)
    func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
    for path in Self.specPaths {
      let original = try readText(URL(fileURLWithPath: path))
      let canonical = try #require(Self.fmt(original))
      for _ in 0..<12 {
        var noisy = ""
        var addedComments: [String] = []
        for line in original.split(separator: "\n", omittingEmptySubsequences: false) {
          // Only the code before a comment is disturbed; the comment's text is kept as it is.
          let hash = line.firstIndex(of: "#") ?? line.endIndex
          var code = String(line[..<hash])
          let comment = String(line[hash...])
          if pick(4) == 0 { code = String(repeating: " ", count: pick(5)) + code }
          code = code.replacingOccurrences(of: ", ", with: [",", ",  ", " , ", ",\t"][pick(4)])
          code = code.replacingOccurrences(of: "| ", with: ["|", "|   "][pick(2)])
          // '=>' is one token: the noise for '=' leaves it whole, and spaces it its own way; so are the
          // comparisons '==', '!=', '<=', '>='.
          let whole = ["=>", "==", "!=", "<=", ">="]
          for (i, token) in whole.enumerated() { code = code.replacingOccurrences(of: token, with: "\u{1}\(i)\u{1}") }
          code = code.replacingOccurrences(of: "=", with: [" = ", "="][pick(2)])
          for (i, token) in whole.enumerated() {
            code = code.replacingOccurrences(of: "\u{1}\(i)\u{1}", with: [token, "   \(token)  "][pick(2)])
          }
          code = code.replacingOccurrences(of: " -> ", with: ["->", "   ->  "][pick(2)])
          if comment.isEmpty && !code.trimmingCharacters(in: .whitespaces).isEmpty && pick(6) == 0 {
            let c = "# noise \(addedComments.count)"
            addedComments.append(c)
            code += "   " + c
          }
          noisy += code + comment + (pick(8) == 0 ? "\n\n\n" : "\n")
        }
        let formatted = try #require(Self.fmt(noisy), "\(noisy)")
        #expect(Self.fmt(formatted) == formatted, "\(path): not idempotent\n\(noisy)")
        var stripped = formatted
        // Longest first: stripping "# noise 1" first would leave a "0" of "# noise 10" behind.
        for c in addedComments.sorted(by: { $0.count > $1.count }) {
          #expect(formatted.contains(c), "\(path): lost '\(c)'")
          stripped = stripped.replacingOccurrences(of: c, with: "")
        }
        // Without the added comments it is the canonical spec again, up to the blank lines and the
        // alignment that the noise changed: the same lines, with the same indentation and words.
        let words = { (s: String) in
          s.split(separator: "\n").map { l in
            String(repeating: " ", count: l.prefix(while: { $0 == " " }).count) + l.split(separator: " ").joined(separator: " ")
          }
        }
        #expect(words(stripped) == words(canonical), "\(path)\n\(formatted)")
      }
    }
  }

  // MARK: Comments

  @Test func everyCommentIsKept() throws {
    for path in Self.specPaths + Self.goldenCases.map({ Self.folder.appendingPathComponent("\($0).net").path }) {
      let file = SourceFile(path: path, bytes: try Self.bytes(path))
      var diags = DiagnosticEngine(file: file)
      let (_, comments) = Lexer.tokenizeWithComments(file, diagnostics: &diags)
      let formatted = try #require(Self.fmt(file.bytes, path: path))
      for c in comments {
        var text = file.text(c.range)
        while text.last == " " || text.last == "\t" { text.removeLast() }
        #expect(formatted.contains(text), "\(path): lost \(text)")
      }
    }
  }

  /// Comments are a side list: the tokens the parser sees are the same with or without it.
  @Test func commentsDoNotChangeTheTokens() throws {
    for path in Self.specPaths + Self.diagnosticInputs {
      let file = SourceFile(path: path, bytes: try Self.bytes(path))
      var a = DiagnosticEngine(file: file)
      var b = DiagnosticEngine(file: file)
      let plain = Lexer.tokenize(file, diagnostics: &a)
      let (tokens, comments) = Lexer.tokenizeWithComments(file, diagnostics: &b)
      #expect(plain == tokens, "\(path)")
      #expect(a.diagnostics == b.diagnostics, "\(path)")
      #expect(comments.allSatisfy { $0.kind == .comment && file.bytes[$0.range.start] == UInt8(ascii: "#") })
      #expect(comments.allSatisfy { !file.text($0.range).contains("\n") && !file.text($0.range).hasSuffix("\r") })
    }
  }

  @Test func placementOfComments() {
    // Two comments that meet on one line (a block header whose '{' has a line of its own) are joined.
    #expect(Self.fmt("block B(\n  s=1)   # first\n{ relu }  # second\ninput 1x2x2\nB()\n")
      == "block B(\n  s=1,\n) { relu }  # first # second\ninput 1x2x2\nB()\n")
    // A comment alone on its line takes the indentation of the lines around it, even before a closer.
    #expect(Self.fmt("input 3x4x4\nresidual<\nconv 3x3 3 p1\n      # end of body\n>\n")
      == "input 3x4x4\nresidual<\n  conv 3x3 3 p1\n  # end of body\n>\n")
    // Comments only, and an empty file.
    #expect(Self.fmt("\n\n#a\n\n\n  #b   \n\n") == "#a\n\n#b\n")
    #expect(Self.fmt("") == "")
  }

  /// Layouts that would change what the text means if printed naively.
  @Test func printingNeverChangesTheMeaning() {
    let cases: [(String, String)] = [
      // After 'relu,' and a line break these are calls; at the start of a line they would be statements.
      ("input 1x4x4\nrelu,\ninput(3),\nnetwork(2)\n", "input 1x4x4\nrelu, input(3), network(2)\n"),
      // 'relu (x)' is relu with an argument, 'relu()' the functional form, 'B (1)' a call.
      ("input 1x4x4\nrelu (1), relu(), B (1)\n", "input 1x4x4\nrelu 1, relu(), B(1)\n"),
      // Precedence, negation and literals in parentheses.
      ("input 1x4x4\nfc (1+2)*3 (4*5)-(6-7) -(8+9) --1 ((2.5e-1\r))\n", "input 1x4x4\nfc (1+2)*3 4*5-(6-7)-(8+9)--1 2.5e-1\n"),
      // Repetitions: a literal, a name, an expression; suffixes in their order.
      ("block B(n) { (relu) x n, (relu) x (n+1), relu x 2 => a -> 1x4x4 }\ninput 1x4x4\nB(1)\n",
       "block B(n) { (relu) x n, (relu) x (n+1), relu x2 => a -> 1x4x4 }\ninput 1x4x4\nB(1)\n"),
      // Compact and keyed options stay as written; leading zeros go.
      ("input 1x4x4\nconv 3x3 04 s1 stride=1 p0x1 pad=0x1 g1\n", "input 1x4x4\nconv 3x3 4 s1 stride=1 p0x1 pad=0x1 g1\n"),
      // A name that would read as a repetition or a compact option keeps its parentheses (found by fuzzing).
      ("input 1x4x4\nrelu xralf(x37)2 (s2) (g4)*2 (x) (p1x2) (g1x2) (p13x3a)\n",
       "input 1x4x4\nrelu xralf (x37) 2 (s2) (g4)*2 (x) (p1x2) g1x2 p13x3a\n"),
      ("ilearelunput p13x32x3input 2", "ilearelunput p13x32x3input 2\n"),
      // A negative argument after another keeps its parentheses: `relu -3` is one argument, relu minus 3
      // (found by fuzzing); first or keyed, it needs none.
      ("input 1x4x4\nino uses relu(-3) k=(-2)\nconv (-3) 3x3\n", "input 1x4x4\nino uses relu (-3) k=-2\nconv -3 3x3\n"),
    ]
    for (source, expected) in cases {
      let once = Self.fmt(source)
      #expect(once == expected, "\(source)")
      #expect(once.flatMap { Self.fmt($0) } == once)
    }
  }

  // MARK: The command

  @Test func malformedInputIsNotFormatted() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("netc-fmt-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let bad = dir.appendingPathComponent("bad.net").path
    let source = "input 3x8x8\nconv 3x3 16 p1,   relu\nconv 3x3 (16\n"
    try source.write(toFile: bad, atomically: true, encoding: .utf8)
    let before = try FileManager.default.attributesOfItem(atPath: bad)[.modificationDate] as? Date
    for args in [["fmt", bad], ["fmt", "-i", bad], ["fmt", "--check", bad]] {
      let r = Driver.run(args + ["--color", "never"])
      #expect(r.status == 1, "\(args)")
      #expect(r.stdout.isEmpty, "\(args)")
      // The same diagnostics as 'netc check' prints for the syntax error.
      #expect(r.stderr.hasPrefix("\(bad):3:13: error: expected ')' to close the expression, found end of line\n"), "\(r.stderr)")
      #expect(r.stderr.hasSuffix("1 error generated.\n"), "\(r.stderr)")
      #expect(try readText(URL(fileURLWithPath: bad)) == source)
    }
    let after = try FileManager.default.attributesOfItem(atPath: bad)[.modificationDate] as? Date
    #expect(before == after)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["bad.net"])
    // A file with a shape error but no syntax error is formatted: fmt is about layout.
    let shapeError = dir.appendingPathComponent("shape.net").path
    try "input 3x8x8\nfc  10\n".write(toFile: shapeError, atomically: true, encoding: .utf8)
    let r = Driver.run(["fmt", shapeError])
    #expect(r.status == 0 && r.stdout == "input 3x8x8\nfc 10\n" && r.stderr.isEmpty)
  }

  @Test func inPlaceAndCheck() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("netc-fmt-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let messy = try readText(Self.folder.appendingPathComponent("messy.net"))
    let golden = try readText(Self.folder.appendingPathComponent("messy.golden"))
    let a = dir.appendingPathComponent("a.net").path
    let b = dir.appendingPathComponent("b.net").path
    try messy.write(toFile: a, atomically: true, encoding: .utf8)
    try golden.write(toFile: b, atomically: true, encoding: .utf8)
    chmod(a, 0o600)

    // --check names the file that is not formatted, at its first difference, and changes nothing.
    let check = Driver.run(["fmt", "--check", "--color", "never", a, b])
    #expect(check.status == 1)
    #expect(check.stdout.isEmpty)
    #expect(check.stderr.hasPrefix("\(a):1:1: error: '\(a)' is not formatted; the first difference is here\n"), "\(check.stderr)")
    #expect(check.stderr.contains("note: 'netc fmt -i \(a)' rewrites it in canonical layout"))
    #expect(!check.stderr.contains(b))
    #expect(try readText(URL(fileURLWithPath: a)) == messy)
    #expect(Driver.run(["fmt", "--check", b]).status == 0)
    let json = Driver.run(["fmt", "--check", "--diagnostics-format", "json", a])
    #expect(json.stderr.contains("\"id\": \"not-formatted\"") || json.stderr.contains("\"id\":\"not-formatted\""), "\(json.stderr)")

    // -i rewrites it to exactly what fmt prints, keeps its permissions, and leaves no temporary file.
    let inPlace = Driver.run(["fmt", "-i", a, b])
    #expect(inPlace.status == 0, "\(inPlace.stderr)")
    #expect(inPlace.stdout.isEmpty && inPlace.stderr.isEmpty)
    #expect(try readText(URL(fileURLWithPath: a)) == golden)
    let mode = try FileManager.default.attributesOfItem(atPath: a)[.posixPermissions] as? Int
    #expect(mode == 0o600)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["a.net", "b.net"])
    #expect(Driver.run(["fmt", "--check", a, b]).status == 0)

    // Through a symbolic link, the file it points to is rewritten and the link stays a link.
    let link = dir.appendingPathComponent("link.net").path
    try messy.write(toFile: a, atomically: true, encoding: .utf8)
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: a)
    #expect(Driver.run(["fmt", "-i", link]).status == 0)
    #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == a)
    #expect(try readText(URL(fileURLWithPath: a)) == golden)
  }

  @Test func usage() {
    let spec = Paths.spec("lenet5").path
    let cases: [([String], String)] = [
      (["fmt"], "no input file"),
      (["fmt", spec, spec], "'fmt' prints one file, found 2; use '-i' or '--check' for several"),
      (["fmt", "-i", "--check", spec], "'-i' and '--check' cannot be combined"),
      (["fmt", "--batch", "2", spec], "unknown option '--batch'"),
      (["fmt", "--write", spec], "unknown option '--write'"),
    ]
    for (args, message) in cases {
      let r = Driver.run(args)
      #expect(r.status == 2, "\(args)")
      #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
    }
    for args in [["help", "fmt"], ["fmt", "--help"], ["fmt", "-h"]] {
      let r = Driver.run(args)
      #expect(r.status == 0 && r.stdout.contains("USAGE: netc fmt"), "\(args)")
    }
    #expect(Driver.run(["--help"]).stdout.contains("fmt "))
    #expect(Driver.run(["fmr", spec]).stderr.contains("did you mean 'fmt'?"))
    let missing = Driver.run(["fmt", "/nonexistent/x.net"])
    #expect(missing.status == 1 && missing.stderr == "/nonexistent/x.net: error: no such file\n")
  }
}
