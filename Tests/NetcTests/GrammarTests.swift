import Foundation
import NetcBasic
import NetcDriver
import NetcOps
@testable import NetcSema
import NetcSyntax
import Testing

/// Grammar.md stays the language: every example in it parses, and the complete ones check.
@Suite struct GrammarTests {
  static func examples() throws -> [String] {
    let text = try readText(Paths.root.appendingPathComponent("Grammar.md"))
    var blocks: [String] = []
    var current: [Substring]?
    var inFence = false
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
      if line.hasPrefix("```") {
        if inFence {
          if let c = current { blocks.append(c.joined(separator: "\n")) }
          current = nil
        } else if line == "```" {
          current = []  // ```ebnf blocks are grammar, not examples
        }
        inFence.toggle()
        continue
      }
      current?.append(line)
    }
    return blocks
  }

  @Test func everyExampleParses() throws {
    let examples = try Self.examples()
    #expect(examples.count >= 10)  // one per construct
    for source in examples {
      let file = SourceFile(path: "Grammar.md", text: source)
      var diags = DiagnosticEngine(file: file)
      _ = Parser.parse(file, diagnostics: &diags)
      let text = DiagnosticRenderer(useColor: false).render(diags.diagnostics, in: file)
      let ok = !diags.hasErrors
      #expect(ok, "\(text)")
    }
  }

  /// Every example but the layer catalogue is a whole network and checks without errors.
  @Test func examplesCheck() throws {
    for source in try Self.examples() where !source.contains("conv 3x3 64 s1 p1") {
      let c = compile(source)
      let text = DiagnosticRenderer(useColor: false).render(c.diagnostics.diagnostics, in: c.file)
      let ok = !c.diagnostics.hasErrors && c.network != nil
      #expect(ok, "\(source)\n\(text)")
    }
  }

  /// Each line of the layer catalogue checks on its own after a suitable input.
  @Test func layerCatalogueLines() throws {
    let catalogue = try #require(try Self.examples().first { $0.contains("conv 3x3 64 s1 p1") })
    for line in catalogue.split(separator: "\n") {
      let layer = line.split(separator: "#")[0].trimmingCharacters(in: .whitespaces)
      let input = layer.hasPrefix("fc") || layer.hasPrefix("dropout") ? "89888" : "192x28x28"
      let c = compile("input \(input)\n\(layer)\n")
      let text = DiagnosticRenderer(useColor: false).render(c.diagnostics.diagnostics, in: c.file)
      let ok = !c.diagnostics.hasErrors
      #expect(ok, "\(layer)\n\(text)")
    }
  }

  /// Grammar.md's table of layers lists every layer of the registry, and no other, each with the PyTorch
  /// modules it prints as.
  @Test func layerTableIsTheRegistry() throws {
    let text = try readText(Paths.root.appendingPathComponent("Grammar.md"))
    let section = try #require(text.components(separatedBy: "\n## Layers\n").dropFirst().first)
    var listed: [String: String] = [:]
    for row in section.split(separator: "\n") where row.hasPrefix("| `") {
      let columns = row.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
      // The first column names one or more layers: `conv K C`, or `relu`, `relu6`, ...; `fc OUT` or `fc IN OUT`;
      // `chunk(N I)`, a function only.
      for spelled in columns[1].split(separator: "`", omittingEmptySubsequences: false).enumerated().filter({ $0.offset % 2 == 1 }).map(\.element) {
        let keyword = String(spelled.split(whereSeparator: { $0 == " " || $0 == "(" })[0])
        listed[keyword] = columns[columns.count - 2]
      }
    }
    #expect(Set(listed.keys) == OperationRegistry.keywords)
    for spec in OperationRegistry.layers {
      for module in LayerNames.moduleNames(of: spec) {
        #expect(listed[spec.keyword]?.contains("`\(module)`") == true, "\(spec.keyword): \(module)")
      }
    }
  }

  /// The fuzzers' dictionary holds every layer and flag of the registry, and every option as written
  /// (`stride=2` or `s2`).
  @Test func fuzzDictionaryHasEveryWord() throws {
    let dictionary = try readText(Paths.root.appendingPathComponent("Fuzz/netc.dict"))
    let words = Set(dictionary.split(separator: "\n").filter { $0.hasPrefix("\"") }.map { $0.dropFirst().dropLast() }.map(String.init))
    for spec in OperationRegistry.layers {
      for word in [spec.keyword] + spec.signature.flags.sorted() {
        #expect(words.contains(word), "Fuzz/netc.dict lacks \"\(word)\" (\(spec.keyword))")
      }
      for option in spec.signature.options.keys.sorted() {
        let written = words.contains { w in
          w.hasPrefix(option) && (w.dropFirst(option.count).first.map { $0 == "=" || $0.isNumber } ?? false)
        }
        #expect(written, "Fuzz/netc.dict lacks \"\(option)=\" (\(spec.keyword))")
      }
    }
  }
}
