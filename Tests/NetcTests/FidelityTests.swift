import Foundation
import NetcBasic
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
  ]

  static func figures() throws -> [String: Any] {
    let data = try Data(contentsOf: Paths.reference.appendingPathComponent("figures.json"))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
  }

  @Test(arguments: references)
  func torchsummaryTableIsByteForByte(spec: String, reference: String) throws {
    let expected = try readText(Paths.reference.appendingPathComponent("torchsummary/\(reference).txt"))
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

  /// torchvision's ConvNeXts: references made by Inputs/reference/make_convnext_references.py (torchsummary
  /// and torchinfo on the models themselves), kept in this repository.
  static let convnexts = ["convnext_tiny", "convnext_small", "convnext_base", "convnext_large"]
  static let ownReference = Paths.inputs.appendingPathComponent("reference")

  @Test(arguments: convnexts)
  func convnextTorchsummaryTableIsByteForByte(spec: String) throws {
    let expected = try readText(Self.ownReference.appendingPathComponent("torchvision.\(spec).txt"))
    let r = Driver.run(["params", Paths.specs.appendingPathComponent("\(spec).net").path])
    #expect(r.status == 0)
    #expect(r.stderr == "")
    #expect(r.stdout == expected, "\(firstDifference(r.stdout, expected))")
  }

  /// Every parameter counts in netc's totals, as in torch's and torchinfo's: the layer scales too, which
  /// torchsummary's table leaves out (above).
  @Test(arguments: convnexts)
  func convnextTotalsMatchTorchinfo(spec: String) throws {
    let data = try Data(contentsOf: Self.ownReference.appendingPathComponent("convnext_figures.json"))
    let all = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let fig = try #require(all["torchvision.\(spec)"] as? [String: Any])
    let r = Driver.run(["params", "--format", "json", Paths.specs.appendingPathComponent("\(spec).net").path])
    #expect(r.status == 0)
    let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    #expect((json["total_params"] as? Int) == (fig["params"] as? Int))
    #expect((json["total_params"] as? Int) == (fig["torchinfo_params"] as? Int))
    #expect((json["trainable_params"] as? Int) == (fig["params"] as? Int))
    #expect((json["total_mult_adds"] as? Int) == (fig["mult_adds"] as? Int))
    let info = Driver.run(["params", "--format", "torchinfo", Paths.specs.appendingPathComponent("\(spec).net").path])
    let total = grouped(try #require(fig["params"] as? Int))
    #expect(info.stdout.contains("\nTotal params: \(total)\n"))
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
    #expect(files.count == 21)
    for f in files {
      let r = Driver.run(["check", Paths.specs.appendingPathComponent(f).path])
      #expect(r.status == 0, "\(f): \(r.stderr)")
      #expect(r.stderr == "", "\(f): \(r.stderr)")
    }
  }
}
