import Foundation
import NetcDriver
import Testing

/// Golden files for the formats that have no external reference. Re-record with NETC_RECORD=1.
@Suite struct SnapshotTests {
  /// Every construct `netc graph` draws, in one small network.
  static let constructs = "Tests/NetcTests/Inputs/graph/constructs.net"

  static let cases: [(args: [String], snapshot: String)] = [
    (["params", "--format", "torchinfo", "specs/resnet/resnet18.net"], "resnet18.torchinfo.golden"),
    (["params", "--format", "torchinfo", "--depth", "1", "specs/resnet/resnet50.net"], "resnet50.depth1.torchinfo.golden"),
    (["params", "--format", "torchinfo", "specs/inception/googlenet.net"], "googlenet.torchinfo.golden"),
    (["params", "--format", "torchinfo", "specs/inception/simple_inception.net"], "simple_inception.torchinfo.golden"),
    // Each CNBlock's total holds its layer scale, a parameter of the block that prints no row of its own.
    (["params", "--format", "torchinfo", "--depth", "1", "specs/convnext/convnext_tiny.net"], "convnext_tiny.depth1.torchinfo.golden"),
    (["params", "--format", "json", "specs/lenet/lenet5.net"], "lenet5.json.golden"),
    (["params", "--format", "json", "--batch", "2", "--dtype", "f16", "specs/inception/simple_inception.net"],
     "simple_inception.b2.f16.json.golden"),
    (["params", "--format", "markdown", "specs/lenet/lenet5.net"], "lenet5.markdown.golden"),
    // Nested blocks: each row's parent and depth; joins with several inputs.
    (["params", "--format", "json", constructs], "constructs.json.golden"),
    (["params", "--format", "markdown", "--depth", "2", "--columns",
      "input_size,output_size,num_params,params_percent,kernel_size,mult_adds,trainable,receptive_field", constructs],
     "constructs.depth2.columns.markdown.golden"),
    (["params", "--format", "torchinfo", "--columns", "output_size,receptive_field,effective_stride,effective_padding", constructs],
     "constructs.field_columns.torchinfo.golden"),
    (["params", "--format", "markdown", "--dtype", "bf16", "specs/alexnet/alexnet.net"], "alexnet.bf16.markdown.golden"),
    (["params", "--batch", "4", "specs/lenet/lenet5.net"], "lenet5.b4.torchsummary.golden"),
    (["check", "--format", "json", "specs/lenet/lenet5.net", "specs/inception/googlenet_paper.net"], "check.json.golden"),
    (["graph", "specs/lenet/lenet5.net"], "lenet5.svg.golden"),
    (["graph", "specs/inception/simple_inception.net"], "simple_inception.svg.golden"),
    (["graph", "--format", "dot", "specs/inception/simple_inception.net"], "simple_inception.dot.golden"),
    (["graph", "--format", "mermaid", "specs/inception/simple_inception.net"], "simple_inception.mermaid.golden"),
    (["graph", constructs], "constructs.svg.golden"),
    (["graph", "--depth", "1", constructs], "constructs.depth1.svg.golden"),
    (["graph", "--depth", "0", constructs], "constructs.depth0.svg.golden"),
    (["graph", "--format", "dot", constructs], "constructs.dot.golden"),
    (["graph", "--format", "mermaid", "--depth", "0", constructs], "constructs.depth0.mermaid.golden"),
  ]

  /// A spec with an error: drawn up to it, the failing layer marked, the diagnostics on stderr, status 1.
  static let partial = "Tests/NetcTests/Inputs/graph/partial.net"
  static let partialCases: [(args: [String], snapshot: String)] = [
    (["graph", partial], "partial.svg.golden"),
    (["graph", "--format", "dot", partial], "partial.dot.golden"),
    (["graph", "--format", "mermaid", "--depth", "0", partial], "partial.depth0.mermaid.golden"),
  ]

  @Test(arguments: partialCases)
  func diagramUpToTheFirstError(args: [String], snapshot: String) throws {
    let r = inDirectory(Paths.root.path) { Driver.run(args) }
    #expect(r.status == 1)
    #expect(r.stderr.hasPrefix("\(Self.partial):7:45: error: the kernel leaves no output: kernel 31x31 on a padded input of 30x30\n"))
    #expect(r.stderr.hasSuffix("1 error generated.\n"))
    try assertSnapshot(r.stdout, snapshot)
  }

  /// The README's example of a `--format json` row is the row netc prints.
  @Test func readmeJSONRowExample() throws {
    let readme = try readText(Paths.root.appendingPathComponent("README.md"))
    let after = try #require(readme.range(of: "Row 4 of `Tests/NetcTests/Inputs/graph/constructs.net`"))
    let open = try #require(readme.range(of: "```json\n", range: after.upperBound..<readme.endIndex))
    let close = try #require(readme.range(of: "```", range: open.upperBound..<readme.endIndex))
    let example = try #require(try JSONSerialization.jsonObject(with: Data(readme[open.upperBound..<close.lowerBound].utf8)) as? NSDictionary)
    let r = inDirectory(Paths.root.path) { Driver.run(["params", "--format", "json", Self.constructs]) }
    let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    let layers = try #require(json["layers"] as? [NSDictionary])
    #expect(layers[3] == example)
  }

  @Test(arguments: cases)
  func output(args: [String], snapshot: String) throws {
    // Paths relative to the package root, so the golden files do not hold a machine's absolute path.
    let r = inDirectory(Paths.root.path) { Driver.run(args) }
    #expect(r.status == 0, "\(r.stderr)")
    try assertSnapshot(r.stdout, snapshot)
  }
}
