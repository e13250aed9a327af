import Foundation
import NetcDriver
import NetcReport
import Testing

/// netc against PyTorch's own tools: every spec with a reference table prints it byte for byte, and every
/// total equals the figures measured with torch, torchsummary and torchinfo.
@Suite struct FidelityTests {
  /// specs/NAME.net -> the reference name in ../shared/reference.
  static let references: [(spec: String, reference: String)] = [
    ("lenet5", "seed_lenet_table"), ("lenet_224", "seed_lenet_224"), ("alexnet_table", "seed_alexnet_table"),
    ("simple_inception", "seed_simple_inception_fixed"),
    ("alexnet", "torchvision.alexnet"), ("vgg11", "torchvision.vgg11"), ("vgg13", "torchvision.vgg13"),
    ("vgg16", "torchvision.vgg16"), ("vgg19", "torchvision.vgg19"), ("googlenet", "torchvision.googlenet"),
    ("resnet18", "torchvision.resnet18"), ("resnet34", "torchvision.resnet34"), ("resnet50", "torchvision.resnet50"),
    ("resnet101", "torchvision.resnet101"), ("resnet152", "torchvision.resnet152"),
  ] + localReferences

  /// The references made for the specs added since, in Inputs/reference (by its make_reference.py), the
  /// same way: torchsummary 1.5.1's text and torchinfo 1.8.0's totals for torchvision 0.29.2's models
  /// (Tests/parity/parity.py makes them again from the models themselves).
  static let localReferences: [(spec: String, reference: String)] = [
    ("mobilenet_v2", "torchvision.mobilenet_v2"), ("mobilenet_v3_large", "torchvision.mobilenet_v3_large"),
    ("mobilenet_v3_small", "torchvision.mobilenet_v3_small"), ("mnasnet1_0", "torchvision.mnasnet1_0"),
    ("shufflenet_v2_x0_5", "torchvision.shufflenet_v2_x0_5"), ("shufflenet_v2_x1_0", "torchvision.shufflenet_v2_x1_0"),
    ("shufflenet_v2_x1_5", "torchvision.shufflenet_v2_x1_5"), ("shufflenet_v2_x2_0", "torchvision.shufflenet_v2_x2_0"),
  ]

  static func folder(of reference: String) -> URL {
    localReferences.contains { $0.reference == reference } ? Paths.inputs.appendingPathComponent("reference") : Paths.reference
  }

  /// Every figure, the shared ones and the local ones.
  static func figures() throws -> [String: Any] {
    var all: [String: Any] = [:]
    for folder in [Paths.reference, Paths.inputs.appendingPathComponent("reference")] {
      let data = try Data(contentsOf: folder.appendingPathComponent("figures.json"))
      let figures = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
      all.merge(figures) { first, _ in first }
    }
    return all
  }

  @Test(arguments: references)
  func torchsummaryTableIsByteForByte(spec: String, reference: String) throws {
    let expected = try readText(Self.folder(of: reference).appendingPathComponent("torchsummary/\(reference).txt"))
    let r = Driver.run(["params", Paths.specs.appendingPathComponent("\(spec).net").path])
    #expect(r.status == 0)
    #expect(r.stderr == "")
    #expect(r.stdout == expected, "\(firstDifference(r.stdout, expected))")
  }

  @Test(arguments: references)
  func totalsMatchFigures(spec: String, reference: String) throws {
    let all = try Self.figures()
    let fig = try #require(all[reference] as? [String: Any])
    let r = Driver.run(["params", "--format", "json", Paths.specs.appendingPathComponent("\(spec).net").path])
    #expect(r.status == 0)
    let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    #expect((json["total_params"] as? Int) == (fig["params"] as? Int))
    #expect((json["trainable_params"] as? Int) == (fig["params"] as? Int))
    #expect((json["total_mult_adds"] as? Int) == (fig["mult_adds"] as? Int))
    let input = try #require(fig["input"] as? [Int])
    #expect((json["input_shape"] as? [Int]) == [1] + input)
  }

  /// Every torchvision figure in figures.json has a spec that reproduces it (vgg16_bn and googlenet with
  /// its auxiliary heads have no table, only totals).
  @Test func everyReferenceFigureHasASpec() throws {
    let all = try Self.figures()
    let covered = Set(Self.references.map(\.reference))
    for key in all.keys { #expect(covered.contains(key), "no spec is compared with \(key)") }
  }

  @Test func vgg16WithBatchNormMatchesTorchvision() throws {
    // torchvision.models.vgg16_bn(): 138,365,992 parameters (13 BatchNorm2d layers add 8,448).
    let r = Driver.run(["params", "--format", "json", Paths.specs.appendingPathComponent("vgg16_bn.net").path])
    let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    #expect((json["total_params"] as? Int) == 138_365_992)
  }

  @Test func googlenetPaperHasTwoAuxiliaryOutputs() throws {
    let r = Driver.run(["check", "--format", "json", Paths.specs.appendingPathComponent("googlenet_paper.net").path])
    #expect(r.status == 0)
    let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
    #expect((json.first?["output_shapes"] as? [[Int]]) == [[1, 1000], [1, 1000], [1, 1000]])
  }

  @Test func theBuggyInceptionExampleIsRejected() throws {
    let r = Driver.run(["check", Paths.specs.appendingPathComponent("examples/simple_inception_bug.net").path])
    #expect(r.status == 1)
    #expect(r.stderr.contains("error: 'fc' expects 262,144 inputs but receives 352x32x32 = 360,448"))
  }

  @Test func everySpecChecksWithoutWarnings() throws {
    let files = try FileManager.default.contentsOfDirectory(atPath: Paths.specs.path).filter { $0.hasSuffix(".net") }
    #expect(files.count == 29)
    for f in files {
      let r = Driver.run(["check", Paths.specs.appendingPathComponent(f).path])
      #expect(r.status == 0, "\(f): \(r.stderr)")
      #expect(r.stderr == "", "\(f): \(r.stderr)")
    }
  }
}
