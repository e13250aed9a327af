import NetcReport
@testable import NetcOps
import NetcSema
import Testing

/// Every shape and counting rule on its edge cases. Expected values are PyTorch's (each comment gives the
/// PyTorch call that produces it).
@Suite struct FormulaTests {
  func outputShape(_ input: String, _ layers: String) throws -> [Int] {
    try network("input \(input)\n\(layers)\n").output.dims
  }

  @Test func convolutionFloorsLikePyTorch() throws {
    #expect(try outputShape("3x224x224", "conv 7x7 64 s2 p3") == [64, 112, 112])   // Conv2d(3,64,7,2,3)
    #expect(try outputShape("3x227x227", "conv 11x11 96 s4") == [96, 55, 55])      // (227-11)/4+1
    #expect(try outputShape("3x224x224", "conv 11x11 64 s4 p2") == [64, 55, 55])   // floor(217/4)+1
    #expect(try outputShape("1x32x32", "conv 3x3 8 d2") == [8, 28, 28])            // dilation=2: span 5
    #expect(try outputShape("1x10x20", "conv 3x5 4 p1x2 s1x2") == [4, 10, 10])     // padding=(1,2), stride=(1,2)
    #expect(try outputShape("1x5x5", "conv 5x5 1") == [1, 1, 1])                   // kernel == input
    #expect(try outputShape("1x1x1", "conv 1x1 1 s7") == [1, 1, 1])
  }

  @Test func samePaddingPadsTheExtraOnTheRight() throws {
    // Conv2d(1, 1, 4, padding='same'): total padding 3, one before and two after.
    let net = try network("input 1x10x10\nconv 4x4 1 pad=same")
    #expect(net.output.dims == [1, 10, 10])
    guard let a = net.ops[0].op as? ConvOp else { Issue.record("not a conv"); return }
    #expect((a.padTop, a.padBottom, a.padLeft, a.padRight) == (1, 2, 1, 2))
    #expect(try outputShape("1x9x9", "conv 3x3 1 pad=same d3") == [1, 9, 9])
  }

  @Test func groupedAndDepthwiseWeights() throws {
    let dw = try network("input 32x8x8\nconv 3x3 32 dw p1")
    #expect(dw.ops[0].params.map(\.shape) == [[32, 1, 3, 3], [32]])                // Conv2d(32,32,3,groups=32)
    #expect(dw.totalParams == 320)
    let g = try network("input 64x8x8\nconv 1x1 128 g4 nobias")
    #expect(g.ops[0].params.map(\.shape) == [[128, 16, 1, 1]])
    #expect(diagnostics("input 64x8x8\nconv 1x1 128 g3").contains("input channels (64) and output channels (128) must divide by groups (3)"))
    #expect(diagnostics("input 64x8x8\nconv 1x1 129 g3").contains("input channels (64) must divide by groups (3)"))
    #expect(diagnostics("input 63x8x8\nconv 1x1 64 g3").contains("output channels (64) must divide by groups (3)"))
  }

  @Test func transposedConvolution() throws {
    // ConvTranspose2d(1, 1, 4, stride=2, padding=1): 7 -> 14; output_padding=1 -> 15.
    #expect(try outputShape("1x7x7", "convt 4x4 1 s2 p1") == [1, 14, 14])
    #expect(try outputShape("1x7x7", "convt 3x3 1 s2 p1 out_pad=1") == [1, 14, 14])
    // ConvTranspose2d(1, 1, 3, dilation=2): (7-1) + 2*2 + 1 = 11.
    #expect(try outputShape("1x7x7", "convt 3x3 1 d2") == [1, 11, 11])
    let t = try network("input 16x7x7\nconvt 4x4 8 s2 p1 g2")
    #expect(t.ops[0].params.map(\.shape) == [[16, 4, 4, 4], [8]])                 // [in, out/groups, kh, kw]
    #expect(diagnostics("input 1x7x7\nconvt 3x3 1 s2 out_pad=2").contains("output padding must be smaller"))
  }

  @Test func poolingCeilModeAndItsLastWindowRule() throws {
    #expect(try outputShape("64x112x112", "maxpool 3x3 s2 ceil") == [64, 56, 56])  // floor would give 55
    #expect(try outputShape("64x112x112", "maxpool 3x3 s2") == [64, 55, 55])
    #expect(try outputShape("1x6x6", "maxpool 3x3 s2 ceil") == [1, 3, 3])          // floor: 2
    // MaxPool2d(2, 2, padding=1, ceil_mode=True) on 5: ceil gives 4, but the 4th window would start in
    // the right padding, so PyTorch drops it: 3.
    #expect(try outputShape("1x5x5", "maxpool 2x2 s2 p1 ceil") == [1, 3, 3])
    #expect(try outputShape("1x14x14", "maxpool 2x2 s2 ceil") == [1, 7, 7])
    #expect(try outputShape("1x7x7", "avgpool 3x3 s1 p1") == [1, 7, 7])
    #expect(try outputShape("8x14x14", "avgpool 5x5 s3") == [8, 4, 4])
    #expect(try outputShape("1x9x9", "maxpool 3x3 s1 d2") == [1, 5, 5])             // dilation: span 5
  }

  @Test func poolingStrideDefaultsToKernel() throws {
    #expect(try outputShape("1x28x28", "maxpool 2x2") == [1, 14, 14])
    #expect(try outputShape("1x27x27", "maxpool 3x3") == [1, 9, 9])
  }

  @Test func poolingPaddingAtMostHalfTheKernel() throws {
    #expect(diagnostics("input 1x8x8\nmaxpool 3x3 p2").contains("padding 2 is more than half the 3x3 kernel"))
    #expect(try outputShape("1x8x8", "maxpool 3x3 s1 p1") == [1, 8, 8])
    #expect(diagnostics("input 1x8x8\navgpool 2x2 p2").contains("more than half"))
  }

  @Test func adaptiveAndGlobalPooling() throws {
    #expect(try outputShape("256x13x13", "adaptive_avgpool 6x6") == [256, 6, 6])
    #expect(try outputShape("256x3x3", "adaptive_maxpool 6x6") == [256, 6, 6])     // larger than the input is fine
    #expect(try outputShape("512x7x7", "global_avgpool") == [512, 1, 1])
    #expect(try outputShape("512x7x9", "adaptive_avgpool 2x3") == [512, 2, 3])
  }

  @Test func upsampling() throws {
    #expect(try outputShape("3x7x7", "upsample 2") == [3, 14, 14])
    #expect(try outputShape("3x7x7", "upsample 1.5 bilinear") == [3, 10, 10])      // floor(7*1.5)
    #expect(try outputShape("3x7x7", "upsample size=16x20 bilinear align_corners") == [3, 16, 20])
  }

  @Test func linearAndFlatten() throws {
    let n = try network("input 16x5x5\nflatten\nfc 120")
    #expect(n.values[n.ops[0].output].dims == [400])
    #expect(n.totalParams == 400 * 120 + 120)
    #expect(try network("input 10\nfc 10 5 nobias").totalParams == 50)
    #expect(diagnostics("input 16x5x5\nfc 120").contains("'fc' needs a flat input, found 16x5x5"))
  }

  @Test func batchNormCountsParametersAndBuffers() throws {
    let n = try network("input 64x8x8\nbn")
    #expect(n.totalParams == 128)
    #expect(n.totalBuffers == 128)
    #expect(n.ops[0].moduleName == "BatchNorm2d")
    let flat = try network("input 100\nbn noaffine")
    #expect(flat.ops[0].moduleName == "BatchNorm1d")
    #expect(flat.totalParams == 0)
    let frozen = try network("input 64x8x8\nconv 3x3 64 frozen\nbn")
    #expect(frozen.totalParams == 64 * 64 * 9 + 64 + 128)
    #expect(frozen.trainableParams == 128)
  }

  /// torchinfo: convolutions count parameters x output pixels; other layers their parameters; batch scales.
  @Test func multAddsFollowTorchinfo() throws {
    let n = try network("input 3x224x224\nconv 7x7 64 s2 p3 nobias\nbn\nrelu\nmaxpool 3x3 s2 p1\nglobal_avgpool\nflatten\nfc 1000")
    #expect(n.ops.map(\.multAdds) == [9408 * 112 * 112, 128, 0, 0, 0, 0, 65_000])
    let s = Summary(n, batch: 8)
    #expect(s.totalMultAdds == 8 * (9408 * 112 * 112 + 128 + 65_000))
  }

  /// torchsummary's footer: input, 2 x sum of row outputs, parameters; bytes per element by dtype.
  @Test func memoryFigures() throws {
    let n = try network("input 1x32x32\nconv 5x5 6\nrelu()\nflatten\nfc 10")
    let f32 = Summary(n).memory
    #expect(f32.inputBytes == 1024 * 4)
    #expect(f32.forwardBackwardBytes == 2 * Double(6 * 28 * 28 + 4704 + 10) * 4)  // relu() prints no row
    #expect(f32.paramBytes == Double(n.totalParams) * 4)
    let f16 = Summary(n, batch: 3, dtype: .f16).memory
    #expect(f16.inputBytes == 1024 * 2 * 3)
    #expect(f16.forwardBackwardBytes == 2 * Double(6 * 28 * 28 + 4704 + 10) * 2 * 3)
    #expect(f16.paramBytes == Double(n.totalParams) * 2)
    #expect(Summary(n, dtype: .bf16).memory.totalBytes == f32.totalBytes / 2)
  }

  @Test func spatialRuleDirectly() throws {
    #expect(try SpatialRule.outputSize(input: 5, kernel: 2, stride: 2, padBefore: 1, padAfter: 1, dilation: 1, ceil: true) == 3)
    #expect(try SpatialRule.outputSize(input: 4, kernel: 5, stride: 1, padBefore: 0, padAfter: 0, dilation: 1, ceil: false) == 0)
    #expect(try SpatialRule.transposedOutputSize(input: 1, kernel: 1, stride: 5, pad: 0, dilation: 1, outputPadding: 0) == 1)
    #expect(throws: (any Error).self) {
      try SpatialRule.outputSize(input: Int.max, kernel: 1, stride: 1, padBefore: 1, padAfter: 1, dilation: 1, ceil: false)
    }
    // Rows that no window reads: only real rows count, not padding, and only when windows touch.
    #expect(SpatialRule.droppedInput(input: 56, kernel: 3, stride: 2, padBefore: 1, padAfter: 1, dilation: 1) == 0)
    #expect(SpatialRule.droppedInput(input: 56, kernel: 1, stride: 2, padBefore: 0, padAfter: 0, dilation: 1) == 0)
    #expect(SpatialRule.droppedInput(input: 10, kernel: 3, stride: 2, padBefore: 0, padAfter: 0, dilation: 1) == 1)
    #expect(SpatialRule.droppedInput(input: 11, kernel: 3, stride: 3, padBefore: 0, padAfter: 0, dilation: 1) == 2)
  }

  @Test func combinators() throws {
    let cat = try network("input 8x4x4\ninception< conv 1x1 2 | conv 3x3 3 p1 | maxpool 3x3 s1 p1 >")
    #expect(cat.output.dims == [13, 4, 4])
    let gate = try network("input 16x8x8\nmul< identity | global_avgpool, conv 1x1 16, sigmoid >")
    #expect(gate.output.dims == [16, 8, 8])
    let res = try network("input 8x8x8\nresidual< conv 3x3 8 p1 >")
    #expect(res.ops.last?.op as? ElementwiseOp == ElementwiseOp(.add))
    let dense = try network("input 4x8x8\nconv 3x3 4 p1 => a\nconv 3x3 4 p1 => b\nconcat< @a | @b | @input >")
    #expect(dense.output.dims == [12, 8, 8])
    let side = try network("input 4x8x8\nside< global_avgpool, flatten, fc 3 >\nconv 1x1 2")
    #expect(side.outputs.map { side.values[$0].dims } == [[2, 8, 8], [3]])
  }

  @Test func blocksRepetitionAndDefaults() throws {
    let n = try network("""
      input 3x8x8
      block Unit(c, k=3) { conv k c p=(k-1)/2, relu }
      Unit(4) x3
      Unit(c=8, k=5)
      """)
    #expect(n.output.dims == [8, 8, 8])
    #expect(n.ops.count == 8)
    #expect(Summary(n).rows.filter(\.isBlock).count == 4)
  }
}
