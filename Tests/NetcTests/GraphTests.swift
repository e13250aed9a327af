import Foundation
#if canImport(FoundationXML)
  import FoundationXML
#endif
import NetcDriver
@testable import NetcGraph
@testable import NetcOps
import NetcSema
import Testing

/// `netc graph`: what the diagram model keeps of blocks, branches, residuals and repetition, and that
/// every printer writes well-formed text for every spec. Tests/graph/run.sh renders the SVGs with a real
/// SVG renderer; Snapshots/*.svg.golden, *.dot.golden and *.mermaid.golden hold small diagrams whole.
@Suite struct GraphTests {
  static let specNames = Paths.specNames

  func diagram(_ spec: String, depth: Int = Diagram.allLevels) throws -> Diagram {
    let source = try readText(Paths.specs.appendingPathComponent(spec))
    return Diagram.build(try network(source), depth: depth)
  }

  /// Every frame and box in a diagram, depth first.
  func walk(_ items: [DiagramItem], _ visit: (DiagramItem) -> Void) {
    for item in items {
      visit(item)
      switch item {
      case .frame(let f): walk(f.body, visit)
      case .parallel(let branches, _): branches.forEach { walk($0, visit) }
      case .residual(let body, let shortcut, _):
        walk(body, visit)
        walk(shortcut ?? [], visit)
      case .side(let branch, _): walk(branch, visit)
      case .box, .jump: break
      }
    }
  }

  func frames(_ d: Diagram) -> [DiagramFrame] {
    var out: [DiagramFrame] = []
    walk(d.body) { if case .frame(let f) = $0 { out.append(f) } }
    return out
  }

  @Test func checkerKeepsWhatTheDiagramNeeds() throws {
    let net = try network("""
      input 3x8x8
      block B(c, s=1) { conv 3x3 c stride=s p1 }
      conv 1x1 4 => a
      B(4) x2
      B(8, s=2)
      @a, inception< conv 1x1 2 | @input >
      """)
    let blocks = net.scopes.enumerated().filter { if case .block = $0.element.kind { return true } else { return false } }
    #expect(blocks.map(\.element.arguments) == [
      [BlockArgument(label: nil, value: 4)], [BlockArgument(label: nil, value: 4)],
      [BlockArgument(label: nil, value: 8), BlockArgument(label: "s", value: 2)],
    ])
    // The two uses of `B(4) x2` come from one element: one range.
    #expect(blocks[0].element.range == blocks[1].element.range)
    #expect(blocks[1].element.range != blocks[2].element.range)
    // Each block starts from the previous output and opens before its first op.
    #expect(blocks.map(\.element.input) == [1, 2, 3])
    #expect(blocks.map(\.element.firstOp) == [1, 2, 3])
    #expect(net.tensorNames == [1: "a"])
    let inception = try #require(net.scopes.first { $0.kind == .combinator("inception") })
    #expect(inception.input == 1)
  }

  @Test func resNet152FoldsItsStagesAndStaysSmall() throws {
    let d = try diagram("resnet/resnet152.net")
    let titles = frames(d).map { "\($0.title) x\($0.repeats)" }
    #expect(titles == [
      "DownBottleneck(64, s=1) x1", "Bottleneck(64) x2", "DownBottleneck(128) x1", "Bottleneck(128) x7",
      "DownBottleneck(256) x1", "Bottleneck(256) x35", "DownBottleneck(512) x1", "Bottleneck(512) x2",
    ])
    // Folded runs whose blocks all end at one shape say nothing more.
    #expect(frames(d).allSatisfy { $0.finalShape == nil })
    let svg = SVGRenderer.render(d)
    #expect(svg.contains("\u{D7}35"))
    #expect(svg.utf8.count < 60_000)
    // The same picture as ResNet-50's, but for the counts.
    let r50 = try diagram("resnet/resnet50.net")
    #expect(frames(r50).map(\.title) == frames(d).map(\.title))
  }

  @Test func depthCollapsesBlocksIntoBoxes() throws {
    let full = try diagram("inception/googlenet.net")
    #expect(frames(full).count == 9 + 3 + 9 * 6)  // 9 inceptions, 3 stem convs, 6 BasicConv2d in each inception
    let one = try diagram("inception/googlenet.net", depth: 1)
    #expect(frames(one).count == 9 + 3)
    var blockBoxes: [String] = []
    walk(one.body) { if case .box(let b) = $0, b.style == .block { blockBoxes.append(b.title) } }
    #expect(blockBoxes.count == 9 * 6)
    #expect(blockBoxes.first == "BasicConv2d(64)")
    #expect(blockBoxes.contains("BasicConv2d(128, k=3, p=1)"))
    let none = try diagram("inception/googlenet.net", depth: 0)
    #expect(frames(none).isEmpty)
    #expect(none.body.count == 4 + 3 + 9 + 4)  // maxpools, stem blocks, inceptions, the head
  }

  @Test func foldsRepetitionsAndIdenticalBlocksButNotDifferentOnes() throws {
    let source = try readText(Paths.inputs.appendingPathComponent("graph/constructs.net"))
    let d = Diagram.build(try network(source))
    let top = frames(d).filter { ["Res(16)", "Res(32)", "Down(32)", "residual", "Unit(16)"].contains($0.title) }
    // `Res(16) x3` (one element), `Res(32), Res(32)` (identical), `residual<...> x2` (no block).
    #expect(top.map { "\($0.title) x\($0.repeats)" } == ["Unit(16) x1", "Res(16) x3", "Unit(16) x1", "Down(32) x1",
                                                         "Res(32) x2", "residual x2"])
    var jumps: [String] = []
    walk(d.body) { if case .jump(let b) = $0 { jumps.append(b.title) } }
    #expect(jumps == ["@stem", "@d"])
    // A collapsed run is one box.
    let collapsed = Diagram.build(try network(source), depth: 0)
    var boxes: [String] = []
    walk(collapsed.body) { if case .box(let b) = $0, b.style == .block { boxes.append("\(b.title) x\(b.repeats)") } }
    #expect(boxes == ["Unit(16) x1", "Res(16) x3", "Down(32) x1", "Res(32) x2"])
  }

  @Test(arguments: specNames)
  func everyPrinterWritesWellFormedText(spec: String) throws {
    for depth in [0, 1, Diagram.allLevels] {
      let d = try diagram(spec, depth: depth)
      let svg = SVGRenderer.render(d)
      #expect(try parsesAsXML(svg), "\(spec) depth \(depth)")
      #expect(svg.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "))
      let dot = DotPrinter.render(d)
      #expect(dot.contains("digraph \"\(d.name)\" {") && dot.hasSuffix("}\n"))
      #expect(dot.filter { $0 == "{" }.count == dot.filter { $0 == "}" }.count)
      let mermaid = MermaidPrinter.render(d)
      let lines = mermaid.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
      #expect(lines.filter { $0.hasPrefix("subgraph ") }.count == lines.filter { $0 == "end" }.count)
    }
  }

  @Test func textIsEscaped() throws {
    let hostile = "a<b & \"c\" 'd'>"
    let box = DiagramBox(title: hostile, shape: "1", style: .conv, compact: false, value: 1)
    let d = Diagram(name: hostile, summary: hostile, input: box,
                    body: [.frame(DiagramFrame(title: hostile, repeats: 2, finalShape: nil, body: [.box(box)], output: 1))],
                    output: box)
    let svg = SVGRenderer.render(d)
    #expect(try parsesAsXML(svg))
    #expect(svg.contains("a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"))
    #expect(!svg.contains(hostile))
    #expect(DotPrinter.render(d).contains("label=\"a<b & \\\"c\\\" 'd'>\\n1\""))
    #expect(MermaidPrinter.render(d).contains("[\"a#lt;b #amp; #quot;c#quot; 'd'#gt;<br/>1\"]"))
  }

  /// Box widths come from the font's advance widths: a title never runs past its box.
  @Test func boxesAreWideEnoughForTheirText() {
    for title in ["conv 3x3 512 p1", "BasicConv2d(128, k=3, p=1)", "maxpool 3x3 s1 p1 ceil", "WWWWWWWWWWWWWWWWWWWW"] {
      for compact in [false, true] {
        let b = DiagramBox(title: title, shape: "1024x14x14", style: .block, compact: compact, repeats: 3, value: 1)
        let p = Layout().box(b)
        let size = compact ? 11.0 : 12.0
        let text = TextMetrics.width(title, size: size, bold: !compact) / TextMetrics.slack
          + (compact ? TextMetrics.width("1024x14x14", size: 10) / TextMetrics.slack : 0)
        #expect(p.left * 2 >= text + 2 * Layout.padding, "\(title)")
      }
    }
  }

  /// The layers before the first error are drawn, the failing one in their place: after a syntax error,
  /// those that start before it; inside a combinator left open, its branches' layers in sequence.
  @Test func partialDiagrams() throws {
    func titles(_ source: String) throws -> [String] {
      let c = compile(source)
      #expect(c.network == nil)
      let d = Diagram.build(try #require(c.partial), file: c.file)
      let g = DotPrinter.render(d)
      #expect(g.hasPrefix("// N: up to the first error: "))
      return d.body.map { item -> String in
        if case .box(let b) = item { return b.title }
        if case .jump(let b) = item { return b.title }
        if case .frame(let f) = item { return f.title }
        return "?"
      } + [d.output.title, d.output.shape, d.failure ?? "-"]
    }
    let syntax = "4:12: error: expected a layer, found '8'"
    #expect(try titles("network N\ninput 3x8x8\nconv 3x3 4, relu\nconv 3x3 , 8\nfc 10\n")
      == ["conv 3x3 4", "relu", "conv 3x3 , 8", syntax, syntax])
    let concat = "4:1: error: 'concat' branches disagree on height and width: branch 1 gives 2x8x8, branch 2 gives 2x4x4"
    #expect(try titles("network N\ninput 3x8x8\nconv 1x1 4\nconcat< conv 1x1 2 | conv 1x1 2 s2 >\nfc 10\n")
      == ["conv 1x1 4", "conv 1x1 2", "from conv 1x1 4", "conv 1x1 2 s2", "concat< conv 1x1 2 | conv 1x1 2 s2 >", concat, concat])
    // A syntax error before the first layer may be in the input line: nothing is drawn.
    #expect(compile("network N\ninput 3xx8\nconv 3x3 4\n").partial == nil)
  }

  @Test func commandWritesFilesAndPrintsToStdout() throws {
    let spec = Paths.spec("lenet5").path
    let svg = Driver.run(["graph", spec])
    #expect(svg.status == 0)
    #expect(svg.stdout.hasPrefix("<?xml"))
    #expect(svg.stderr.isEmpty)
    #expect(Driver.run(["graph", "--format", "dot", spec]).stdout.hasPrefix("// LeNet5"))
    #expect(Driver.run(["graph", "--format=mermaid", spec]).stdout.contains("flowchart TB\n"))
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("netc-graph-\(getpid()).svg")
    defer { try? FileManager.default.removeItem(at: out) }
    let written = Driver.run(["graph", spec, "-o", out.path])
    #expect(written.status == 0 && written.stdout.isEmpty)
    #expect(try String(contentsOf: out, encoding: .utf8) == svg.stdout)
    let bug = Driver.run(["graph", Paths.specs.appendingPathComponent("examples/simple_inception_bug.net").path])
    // Drawn up to the error, which is marked; still a failure.
    #expect(bug.status == 1 && bug.stdout.hasPrefix("<?xml") && bug.stdout.contains("class=\"failure\"")
      && bug.stderr.contains("error:"))
    for (args, message) in [(["graph", "--format", "png", spec], "'--format' must be one of svg, dot, mermaid"),
                            (["graph", "--depth", "-1", spec], "'--depth' must be an integer from 0 to 64"),
                            (["graph"], "no input file"), (["graph", spec, spec], "'graph' takes one file, found 2")] {
      let r = Driver.run(args)
      #expect(r.status == 2, "\(args)")
      #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
    }
    for args in [["help", "graph"], ["graph", "--help"]] {
      let r = Driver.run(args)
      #expect(r.status == 0 && r.stdout.contains("USAGE: netc graph"))
    }
  }

  /// The diagrams in docs/ are what the README's commands draw now (NETC_RECORD=1 redraws them).
  @Test func readmeDiagramsAreCurrent() throws {
    let readme = try readText(Paths.root.appendingPathComponent("README.md"))
    let commands = readme.split(separator: "\n").filter { $0.hasPrefix("netc graph ") && $0.contains(" -o docs/") }
    #expect(commands.count == 3)
    for command in commands {
      let words = command.split(separator: " ").map(String.init).dropFirst()
      let outIndex = try #require(words.firstIndex(of: "-o"))
      let path = words[outIndex + 1]
      let args = Array(words[..<outIndex]) + Array(words[(outIndex + 2)...])
      let r = inDirectory(Paths.root.path) { Driver.run(args) }
      #expect(r.status == 0, "\(command): \(r.stderr)")
      let url = Paths.root.appendingPathComponent(path)
      if ProcessInfo.processInfo.environment["NETC_RECORD"] == "1" {
        try r.stdout.write(to: url, atomically: true, encoding: .utf8)
        Issue.record("redrew \(path); run again without NETC_RECORD")
        continue
      }
      #expect(try readText(url) == r.stdout, "\(path) is not what '\(command)' draws now")
    }
  }

  func parsesAsXML(_ text: String) throws -> Bool {
    let parser = XMLParser(data: Data(text.utf8))
    return parser.parse()
  }
}
