import Foundation
import NetcBasic
import NetcDriver
import NetcIR
import NetcReport
@testable import NetcOps
import NetcSema
import Testing

/// Receptive field r, effective stride j and effective padding p by torchscan's rule, from r=1, j=1, p=0 at the
/// input: a window of k taps d apart (k_eff = d(k-1)+1), stride s and padding pad gives
/// r += (k_eff-1)j, p += pad*j, j *= s.
@Suite struct ReceptiveFieldTests {
  /// (receptive field, effective stride, effective padding) along height and width of the network's output.
  func outputField(_ source: String) throws -> ReceptiveField? {
    let net = try network(source)
    return ReceptiveField.of(net)[net.outputs[0]]
  }

  func square(_ size: Int, _ stride: Int, _ padding: Int) -> ReceptiveField {
    let axis = AxisField(size: size, stride: stride, padding: padding)
    return ReceptiveField(height: axis, width: axis)
  }

  /// The receptive field of the row printed as `Type-index` in `netc params` of a spec.
  func rowField(_ spec: String, _ name: String) throws -> ReceptiveField? {
    let source = try readText(Paths.spec(spec))
    let summary = Summary(try network(source))
    let row = try #require(summary.rows.first { "\($0.type)-\($0.index)" == name }, "no row \(name) in \(spec)")
    return row.receptiveField
  }

  @Test func handComputedChains() throws {
    #expect(try outputField("input 1x5x5\nidentity") == square(1, 1, 0))
    // 3x3 p1 twice: r = 1 + 2 = 3, then 3 + 2 = 5; p = 1, then 2.
    #expect(try outputField("input 1x16x16\nconv 3x3 4 p1\nconv 3x3 4 p1") == square(5, 1, 2))
    // 3x3 s2, then 3x3: r = 3 (j becomes 2), then 3 + 2*2 = 7.
    #expect(try outputField("input 1x16x16\nconv 3x3 4 s2\nconv 3x3 4") == square(7, 2, 0))
    // Dilation 2: k_eff = 2*2+1 = 5 per layer: r = 5, then 5 + 4 = 9; p = 2, then 4.
    #expect(try outputField("input 1x16x16\nconv 3x3 4 d2 p2") == square(5, 1, 2))
    #expect(try outputField("input 1x16x16\nconv 3x3 4 d2 p2\nconv 3x3 4 d2 p2") == square(9, 1, 4))
    // Pooling windows count like convolutions; ceil mode moves no window start.
    #expect(try outputField("input 1x16x16\nmaxpool 3x3 s2 p1 ceil") == square(3, 2, 1))
    // Pointwise layers, batch norm, flattening and linear layers pass the field through.
    #expect(try outputField("input 1x8x8\nconv 3x3 2 s2, bn, relu, dropout\nflatten\nfc 10\nsoftmax") == square(3, 2, 0))
  }

  @Test func axesAreIndependent() throws {
    // 1x7 with padding (0, 3), then stride (1, 2): height untouched, width 7.
    let net = try network("input 1x9x21\nconv 1x7 2 p0x3\nconv 3x3 2 s1x2")
    let f = try #require(ReceptiveField.of(net)[net.outputs[0]])
    #expect(f.height == AxisField(size: 3, stride: 1, padding: 0))
    #expect(f.width == AxisField(size: 9, stride: 2, padding: 3))
    let text = TorchInfoPrinter.render(Summary(net))
    #expect(text.contains("├─Conv2d: 1-1                            [1, 2, 9, 21]             16"
      + "                        3,024                 1x7              1            0x3\n"))
    #expect(text.contains("├─Conv2d: 1-2                            [1, 2, 7, 10]             38"
      + "                        2,660                 3x9              1x2          0x3\n"))
  }

  /// Joined branches: the first output pixel's window is the union of the branches' windows.
  @Test func joinsUniteTheBranchWindows() throws {
    // Inception branches 1x1, 3x3 p1, 5x5 p2, pool 3x3 p1 + 1x1, all centred: the union is the 5x5's.
    #expect(try outputField("""
      input 8x8x8
      inception< conv 1x1 4 | conv 3x3 4 p1 | conv 5x5 4 p2 | maxpool 3x3 s1 p1, conv 1x1 4 >
      """) == square(5, 1, 2))
    // Residual: body 3x3 p1 twice (r 5, p 2) + identity (r 1, p 0) -> the body's.
    #expect(try outputField("input 4x8x8\nresidual< conv 3x3 4 p1, relu, conv 3x3 4 p1 >") == square(5, 1, 2))
    // Off centre: 3x3 s2 p1 covers input [-1, 1], 5x5 s1 covers [0, 4]; both give 4x4 from 8x8. The union
    // [-1, 4] is 6 pixels with 1 of padding, more than either branch; the strides differ, the larger is kept.
    #expect(try outputField("input 1x8x8\nconcat< conv 3x3 2 s2 p1 | conv 5x5 2 >") == square(6, 2, 1))
  }

  @Test func adaptivePoolingTakesTheInputOverOutputRatio() throws {
    // 8 -> 2: a window of 4 moving by 4.
    #expect(try outputField("input 1x8x8\nadaptive_avgpool 2x2") == square(4, 4, 0))
    // Global pooling after 3x3 p1 (r 3, p 1): 8 -> 1 is a window of 8, r = 3 + 7 = 10, j = 8.
    #expect(try outputField("input 1x8x8\nconv 3x3 2 p1\nglobal_avgpool") == square(10, 8, 1))
    // 7 -> 3 is not a multiple: torchscan's window of ceil(7/3) = 3.
    #expect(try outputField("input 1x7x7\nadaptive_maxpool 3x3") == square(3, 3, 0))
    // Output equal to input: the identity.
    #expect(try outputField("input 1x6x6\nadaptive_avgpool 6x6") == square(1, 1, 0))
  }

  @Test func fractionalStridesAreNotDefined() throws {
    #expect(try outputField("input 1x8x8\nconvt 2x2 1 s2") == nil)
    #expect(try outputField("input 1x8x8\nupsample 2\nconv 3x3 1 p1") == nil)
    #expect(try outputField("input 1x8x8\nresidual< upsample 2, maxpool 2x2 >") == nil)
    let source = "input 1x8x8\nconv 3x3 2 p1\nupsample 2"
    let json = JSONPrinter.value(Summary(try network(source)), file: compile(source).file).rendered()
    #expect(json.contains("\"receptive_field\": [3, 3]"))
    #expect(json.contains("\"receptive_field\": null"))
    #expect(json.contains("\"effective_stride\": null"))
  }

  @Test func figuresPast64BitsAreNotDefinedInsteadOfTrapping() throws {
    // Strides of 10^9 on a 1x1 map: the third makes the effective stride 10^27.
    let net = try network("input 1x1x1\n(conv 1x1 1 s1000000000) x3\nconv 1x1 1")
    let fields = ReceptiveField.of(net)
    #expect(fields[net.ops[1].output] == square(1, 1_000_000_000_000_000_000, 0))
    #expect(fields[net.ops[2].output] == nil)
    #expect(fields[net.outputs[0]] == nil)
    #expect(TorchInfoPrinter.render(Summary(net)).contains("1,000,000,000,000,000,000 0\n"))
  }

  /// VGG-16 (3x3 p1 convolutions, 2x2 s2 pools). r by stage: 3, 5 | pool 6, j 2 | 10, 14 | 16, j 4 |
  /// 24, 32, 40 | 44, j 8 | 60, 76, 92 | 100, j 16 | 132, 164, 196 | pool5 212, j 32. p grows by j per
  /// convolution: 2 + 2*2 + 3*4 + 3*8 + 3*16 = 90, and the pools pad nothing.
  @Test func vgg16() throws {
    #expect(try rowField("vgg16", "Conv2d-29") == square(196, 16, 90))      // features.28, conv5_3
    #expect(try rowField("vgg16", "MaxPool2d-31") == square(212, 32, 90))   // features.30, pool5
    // AdaptiveAvgPool2d(7) on 7x7 is the identity.
    #expect(try rowField("vgg16", "AdaptiveAvgPool2d-32") == square(212, 32, 90))
  }

  /// AlexNet: conv1 11x11 s4 p2 (r 11, j 4, p 2); pool 3 s2 (19, 8); conv2 5x5 p2 (19 + 4*8 = 51, p 2 + 2*8
  /// = 18); pool (51 + 2*8 = 67, j 16); conv3, conv4, conv5 3x3 p1 (+32 each: 99, 131, 163; p 34, 50, 66);
  /// pool5 (163 + 2*16 = 195, j 32).
  @Test func alexnet() throws {
    #expect(try rowField("alexnet", "Conv2d-11") == square(163, 16, 66))   // conv5
    #expect(try rowField("alexnet", "MaxPool2d-13") == square(195, 32, 66))
  }

  /// ResNet-50 (stride on the 3x3, as torchvision): conv1 7x7 s2 p3 (7, j 2); maxpool 3 s2 p1 (11, j 4, p 5);
  /// each bottleneck adds 2j through its 3x3, its first one at the stage's incoming j: stage 1 11 + 3*8 =
  /// 35; stage 2 35 + 8 + 3*16 = 91 (j 8); stage 3 91 + 16 + 5*32 = 267 (j 16); stage 4 267 + 32 + 2*64 =
  /// 427 (j 32). p = (r - 1) / 2 throughout: every window is centred. Global pooling over 7x7: 427 + 6*32.
  @Test func resnet50() throws {
    let source = try readText(Paths.spec("resnet50"))
    let summary = Summary(try network(source))
    let lastBlock = try #require(summary.rows.last { $0.isBlock })
    #expect(lastBlock.type == "Bottleneck")
    #expect(lastBlock.receptiveField == square(427, 32, 213))
    let pool = try #require(summary.rows.first { $0.type == "AdaptiveAvgPool2d" })
    #expect(pool.receptiveField == square(619, 224, 213))
  }

  @Test func resnet18InTheTorchinfoTable() throws {
    let r = Driver.run(["params", "--format", "torchinfo", "--depth", "1", Paths.spec("resnet18").path])
    #expect(r.status == 0)
    // Stage 4 ends at 435 = 11 + 4*8 (stage 1) + 8 + 3*16 + 16 + 3*32 + 32 + 3*64, j 32, p 217.
    #expect(r.stdout.contains("├─BasicBlock: 1-12                       [1, 512, 7, 7]            4,720,640"
      + "                 231,213,056           435              32           217\n"))
  }

  /// The peak is the buffer plan's arena (elements per item) x batch x element size, in every format but
  /// torchsummary's, which stays torchsummary's byte for byte.
  @Test func peakLiveMemoryComesFromTheBufferPlan() throws {
    let path = Paths.spec("resnet50").path
    let net = try network(try readText(URL(fileURLWithPath: path)))
    let arena = BufferPlan(Lowering.lower(net)).arenaSize
    let r = Driver.run(["params", "--format", "json", "--batch", "3", "--dtype", "f16", path])
    #expect(r.status == 0)
    let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    let memory = try #require(json["memory"] as? [String: Any])
    let peak = try #require(memory["peak_live_bytes"] as? Double)
    #expect(peak == Double(arena * 3 * 2))
    // Reuse is the point: inference holds far less than every output at once.
    #expect(peak < (try #require(memory["forward_backward_bytes"] as? Double)) / 2)

    let info = Driver.run(["params", "--format", "torchinfo", path]).stdout
    #expect(info.contains("Forward/backward pass size (MB): 286.56\nPeak live activations (MB): \(fixed(Double(arena) * 4 / 1_048_576, 2))\n"))
    #expect(info.contains("The forward/backward figure is torchsummary's: every layer's output kept"))
    #expect(info.contains("The peak live figure is what netc's inference allocates"))
    let table = Driver.run(["params", path]).stdout
    #expect(!table.contains("Peak live"))
  }
}
