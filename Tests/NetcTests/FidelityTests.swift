import Foundation
import NetcBasic
import NetcDriver
import NetcReport
import Testing

/// netc against PyTorch's own tools: every spec with a reference table prints it byte for byte, and every
/// total equals the figures measured with torch, torchsummary and torchinfo.
@Suite struct FidelityTests {
  /// Every spec with a reference: its table and totals are compared.
  static let references = tableReferences + segmentationReferences

  /// specs/NAME.net -> the reference name in ../shared/reference, whose table netc prints byte for byte.
  static let tableReferences: [(spec: String, reference: String)] = [
    ("lenet5", "seed_lenet_table"), ("lenet_224", "seed_lenet_224"), ("alexnet_table", "seed_alexnet_table"),
    ("simple_inception", "seed_simple_inception_fixed"),
    ("alexnet", "torchvision.alexnet"), ("vgg11", "torchvision.vgg11"), ("vgg13", "torchvision.vgg13"),
    ("vgg16", "torchvision.vgg16"), ("vgg19", "torchvision.vgg19"), ("googlenet", "torchvision.googlenet"),
    ("resnet18", "torchvision.resnet18"), ("resnet34", "torchvision.resnet34"), ("resnet50", "torchvision.resnet50"),
    ("resnet101", "torchvision.resnet101"), ("resnet152", "torchvision.resnet152"),
  ] + localReferences

  /// The references made for the specs added since, in Inputs/reference (by its make_reference.py), the
  /// same way: torchsummary 1.5.1's text and torchinfo 1.8.0's totals for torchvision 0.29.2's models and
  /// for the papers' networks of Tests/parity/paper_models.py (Tests/parity/parity.py makes them again from
  /// the models themselves). Inception v3's are taken with its auxiliary classifier run (parity.py's
  /// InceptionAuxOutputs), LR-ASPP's with its head's modules called one by one (SegmentationTensors).
  static let localReferences: [(spec: String, reference: String)] = [
    ("mobilenet_v2", "torchvision.mobilenet_v2"), ("mobilenet_v3_large", "torchvision.mobilenet_v3_large"),
    ("mobilenet_v3_small", "torchvision.mobilenet_v3_small"), ("mnasnet1_0", "torchvision.mnasnet1_0"),
    ("shufflenet_v2_x0_5", "torchvision.shufflenet_v2_x0_5"), ("shufflenet_v2_x1_0", "torchvision.shufflenet_v2_x1_0"),
    ("shufflenet_v2_x1_5", "torchvision.shufflenet_v2_x1_5"), ("shufflenet_v2_x2_0", "torchvision.shufflenet_v2_x2_0"),
    ("inception_v3", "torchvision.inception_v3"), ("lraspp_mobilenet_v3_large", "torchvision.lraspp_mobilenet_v3_large"),
    ("unet", "paper.unet"), ("dcgan_generator", "paper.dcgan_generator"),
    ("efficientnet_b0", "torchvision.efficientnet_b0"), ("efficientnet_b1", "torchvision.efficientnet_b1"),
    ("efficientnet_b2", "torchvision.efficientnet_b2"), ("efficientnet_b3", "torchvision.efficientnet_b3"),
    ("efficientnet_b4", "torchvision.efficientnet_b4"), ("efficientnet_b5", "torchvision.efficientnet_b5"),
    ("efficientnet_b6", "torchvision.efficientnet_b6"), ("efficientnet_b7", "torchvision.efficientnet_b7"),
    ("efficientnet_v2_s", "torchvision.efficientnet_v2_s"), ("efficientnet_v2_m", "torchvision.efficientnet_v2_m"),
    ("efficientnet_v2_l", "torchvision.efficientnet_v2_l"),
    ("mnasnet0_5", "torchvision.mnasnet0_5"), ("mnasnet0_75", "torchvision.mnasnet0_75"),
    ("mnasnet1_3", "torchvision.mnasnet1_3"),
    ("vgg11_bn", "torchvision.vgg11_bn"), ("vgg13_bn", "torchvision.vgg13_bn"), ("vgg19_bn", "torchvision.vgg19_bn"),
    ("resnext50_32x4d", "torchvision.resnext50_32x4d"), ("resnext101_32x8d", "torchvision.resnext101_32x8d"),
    ("resnext101_64x4d", "torchvision.resnext101_64x4d"), ("wide_resnet50_2", "torchvision.wide_resnet50_2"),
    ("wide_resnet101_2", "torchvision.wide_resnet101_2"),
    // torchsummary measures the DenseNets with each dense layer given the concatenation of its input list
    // (make_reference.py, parity.py's `measurable`): on the list itself it fails.
    ("densenet121", "torchvision.densenet121"), ("densenet161", "torchvision.densenet161"),
    ("densenet169", "torchvision.densenet169"), ("densenet201", "torchvision.densenet201"),
    ("squeezenet1_0", "torchvision.squeezenet1_0"), ("squeezenet1_1", "torchvision.squeezenet1_1"),
  ] + ["y_400mf", "y_800mf", "y_1_6gf", "y_3_2gf", "y_8gf", "y_16gf", "y_32gf", "y_128gf",
       "x_400mf", "x_800mf", "x_1_6gf", "x_3_2gf", "x_8gf", "x_16gf", "x_32gf"].map { ("regnet_\($0)", "torchvision.regnet_\($0)") }

  /// The diagnostics a spec gives because the model it describes has what they point out, as
  /// "line:column: id: message"; every other spec gives none. torchvision's SqueezeNets start with an
  /// unpadded stride-2 convolution (7x7 in 1.0, 3x3 in 1.1) that never reads the last row and column of a
  /// 224x224 input, as PyTorch floors the output size.
  static let expectedDiagnostics: [String: [String]] = [
    "squeezenet1_0": ["14:1: dropped-input: 'conv' never reads the last row and the last column of its 3x224x224 input"],
    "squeezenet1_1": ["15:1: dropped-input: 'conv' never reads the last row and the last column of its 3x224x224 input"],
  ]

  /// The diagnostics of a run with `--diagnostics-format json`, one "line:column: id: message" each; any
  /// other line of stderr is kept as it is, so that it fails a comparison.
  static func diagnostics(in stderr: String) -> [String] {
    stderr.split(separator: "\n").map { line in
      guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let row = object["line"] as? Int, let column = object["column"] as? Int,
            let id = object["id"] as? String, let message = object["message"] as? String
      else { return String(line) }
      return "\(row):\(column): \(id): \(message)"
    }
  }

  /// torchvision's segmentation models (Inputs/reference too), whose tables are torchsummary's but for the
  /// rows of the heads torchvision derives from nn.Sequential, which torchsummary does not list and a netc
  /// block does (`sequentialBlocks`).
  static let segmentationReferences: [(spec: String, reference: String)] = [
    ("fcn_resnet50", "torchvision.fcn_resnet50"), ("deeplabv3_resnet50", "torchvision.deeplabv3_resnet50"),
    ("fcn_resnet101", "torchvision.fcn_resnet101"), ("deeplabv3_resnet101", "torchvision.deeplabv3_resnet101"),
    ("deeplabv3_mobilenet_v3_large", "torchvision.deeplabv3_mobilenet_v3_large"),
  ]
  static let sequentialBlocks: Set<String> = ["FCNHead", "DeepLabHead", "ASPPConv", "ASPPPooling"]

  static func folder(of reference: String) -> URL {
    (localReferences + segmentationReferences).contains { $0.reference == reference }
      ? Paths.inputs.appendingPathComponent("reference") : Paths.reference
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

  @Test(arguments: tableReferences)
  func torchsummaryTableIsByteForByte(spec: String, reference: String) throws {
    let expected = try readText(Self.folder(of: reference).appendingPathComponent("torchsummary/\(reference).txt"))
    let r = Driver.run(["params", "--diagnostics-format", "json", Paths.spec(spec).path])
    #expect(r.status == 0)
    #expect(Self.diagnostics(in: r.stderr) == Self.expectedDiagnostics[spec, default: []])
    #expect(r.stdout == expected, "\(firstDifference(r.stdout, expected))")
  }

  /// netc's table less the rows of `sequentialBlocks`, renumbered, with the footer's forward/backward and
  /// total sizes summed again without them as torchsummary sums them, is torchsummary's byte for byte.
  @Test(arguments: segmentationReferences)
  func segmentationTableIsTorchsummarysLessSequentialRows(spec: String, reference: String) throws {
    let expected = try readText(Self.folder(of: reference).appendingPathComponent("torchsummary/\(reference).txt"))
    let r = Driver.run(["params", Paths.spec(spec).path])
    #expect(r.status == 0)
    var lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let rule = String(repeating: "=", count: 64)
    let first = try #require(lines.firstIndex(of: rule)) + 1
    let end = try #require(lines[first...].firstIndex(of: rule))
    func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
    var rows: [String] = [], elements = 0, dropped = 0
    for line in lines[first..<end] {
      // "{:>20}  {:>25} {:>15}": the name and index, the output shape, the parameters.
      let open = try #require(line.firstIndex(of: "[")), close = try #require(line.firstIndex(of: "]"))
      let name = line[..<open].trimmingCharacters(in: .whitespaces)
      let kind = String(name[..<(try #require(name.lastIndex(of: "-")))])
      if Self.sequentialBlocks.contains(kind) { dropped += 1; continue }
      let shape = String(line[open...close]), params = line[line.index(after: close)...].trimmingCharacters(in: .whitespaces)
      rows.append(pad("\(kind)-\(rows.count + 1)", 20) + "  " + pad(shape, 25) + " " + pad(params, 15))
      elements += shape.dropFirst().dropLast().split(separator: ",").reduce(1) { $0 * abs(Int($1.trimmingCharacters(in: .whitespaces))!) }
    }
    #expect(dropped == (spec.hasPrefix("fcn") ? 2 : 6))
    let json = try #require(try JSONSerialization.jsonObject(with: Data(Driver.run(["params", "--format", "json",
      Paths.spec(spec).path]).stdout.utf8)) as? [String: Any])
    let params = try #require(json["total_params"] as? Int), input = try #require(json["input_shape"] as? [Int])
    // torchsummary: total = params + forward/backward + input, each in MiB of 4-byte values.
    let forwardBackward = 2.0 * Double(elements) * 4.0 / 1048576.0
    let total = Double(params) * 4.0 / 1048576.0 + forwardBackward + Double(input.dropFirst().reduce(1, *)) * 4.0 / 1048576.0
    for i in end..<lines.count {
      if lines[i].hasPrefix("Forward/backward pass size (MB):") {
        lines[i] = "Forward/backward pass size (MB): " + String(format: "%0.2f", forwardBackward)
      } else if lines[i].hasPrefix("Estimated Total Size (MB):") {
        lines[i] = "Estimated Total Size (MB): " + String(format: "%0.2f", total)
      }
    }
    let filtered = (lines[..<first] + rows + lines[end...]).joined(separator: "\n")
    #expect(filtered == expected, "\(firstDifference(filtered, expected))")
  }

  @Test(arguments: references)
  func totalsMatchFigures(spec: String, reference: String) throws {
    let all = try Self.figures()
    let fig = try #require(all[reference] as? [String: Any])
    let r = Driver.run(["params", "--format", "json", Paths.spec(spec).path])
    #expect(r.status == 0)
    let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    #expect((json["total_params"] as? Int) == (fig["params"] as? Int))
    #expect((json["trainable_params"] as? Int) == (fig["params"] as? Int))
    #expect((json["total_mult_adds"] as? Int) == (fig["mult_adds"] as? Int))
    let input = try #require(fig["input"] as? [Int])
    #expect((json["input_shape"] as? [Int]) == [1] + input)
  }

  /// `--columns` against torchinfo 1.8.0's own tables for the same `col_names` and depth, made by
  /// Inputs/reference/make_torchinfo_references.py (whose CASES are these) from PyTorch models written
  /// module for module as the specs describe them.
  static let torchinfoColumnReferences: [(args: [String], reference: String)] = {
    let every = "input_size,output_size,num_params,params_percent,kernel_size,mult_adds,trainable"
    return [
      (["--columns", every, "lenet5"], "lenet5.every_column"),
      (["--batch", "3", "--columns", "kernel_size,num_params,mult_adds", "lenet5"], "lenet5.b3.kernel_params"),
      (["--columns", "output_size,num_params", "resnet18"], "resnet18.default_columns"),
      (["--depth", "1", "--columns", every, "resnet18"], "resnet18.depth1.every_column"),
      (["--columns", every, "resnet18"], "resnet18.every_column"),
    ]
  }()

  @Test(arguments: torchinfoColumnReferences)
  func torchinfoColumnsAreByteForByte(args: [String], reference: String) throws {
    let expected = try readText(Self.ownReference.appendingPathComponent("torchinfo/\(reference).txt"))
    let r = Driver.run(["params", "--format", "torchinfo"] + args.dropLast() + [Paths.spec(args.last!).path])
    #expect(r.status == 0)
    #expect(r.stderr == "")
    #expect(r.stdout == expected, "\(firstDifference(r.stdout, expected))")
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
    let r = Driver.run(["params", Paths.spec(spec).path])
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
    let r = Driver.run(["params", "--format", "json", Paths.spec(spec).path])
    #expect(r.status == 0)
    let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    #expect((json["total_params"] as? Int) == (fig["params"] as? Int))
    #expect((json["total_params"] as? Int) == (fig["torchinfo_params"] as? Int))
    #expect((json["trainable_params"] as? Int) == (fig["params"] as? Int))
    #expect((json["total_mult_adds"] as? Int) == (fig["mult_adds"] as? Int))
    let info = Driver.run(["params", "--format", "torchinfo", Paths.spec(spec).path])
    let total = grouped(try #require(fig["params"] as? Int))
    #expect(info.stdout.contains("\nTotal params: \(total)\n"))
  }

  @Test func vgg16WithBatchNormMatchesTorchvision() throws {
    // torchvision.models.vgg16_bn(): 138,365,992 parameters (13 BatchNorm2d layers add 8,448).
    let r = Driver.run(["params", "--format", "json", Paths.spec("vgg16_bn").path])
    let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    #expect((json["total_params"] as? Int) == 138_365_992)
  }

  @Test func googlenetPaperHasTwoAuxiliaryOutputs() throws {
    let r = Driver.run(["check", "--format", "json", Paths.spec("googlenet_paper").path])
    #expect(r.status == 0)
    let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
    #expect((json.first?["output_shapes"] as? [[Int]]) == [[1, 1000], [1, 1000], [1, 1000]])
  }

  /// Inception v3's auxiliary classifier is its second output, as in torchvision's training-mode
  /// InceptionOutputs(logits, aux_logits).
  @Test func inceptionV3HasItsAuxiliaryOutput() throws {
    let r = Driver.run(["check", "--format", "json", Paths.spec("inception_v3").path])
    #expect(r.status == 0)
    let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
    #expect((json.first?["output_shapes"] as? [[Int]]) == [[1, 1000], [1, 1000]])
  }

  @Test func theBuggyInceptionExampleIsRejected() throws {
    let r = Driver.run(["check", Paths.specs.appendingPathComponent("examples/simple_inception_bug.net").path])
    #expect(r.status == 1)
    #expect(r.stderr.contains("error: 'fc' expects 262,144 inputs but receives 352x32x32 = 360,448"))
  }

  /// Every spec checks without an error, and without a warning but those of `expectedDiagnostics`.
  @Test func everySpecChecksWithoutWarnings() throws {
    let files = Paths.specNames
    // Every spec with a reference is among those found in the family folders.
    let found = Set(files.map { String($0.split(separator: "/").last!.dropLast(4)) })
    #expect(Set(Self.references.map(\.spec)).subtracting(found).isEmpty)
    #expect(Set(Self.expectedDiagnostics.keys).subtracting(found).isEmpty)
    #expect(files.count == found.count, "two specs of one name")
    for f in files {
      let r = Driver.run(["check", "--diagnostics-format", "json", Paths.specs.appendingPathComponent(f).path])
      #expect(r.status == 0, "\(f): \(r.stderr)")
      let name = String(f.split(separator: "/").last!.dropLast(4))
      #expect(Self.diagnostics(in: r.stderr) == Self.expectedDiagnostics[name, default: []], "\(f): \(r.stderr)")
    }
  }
}
