import Foundation
import NetcDriver
import NetcIR
import NetcOps
import NetcRuntime
import NetcSema
import Testing

/// The centre crop (U-Net's "copy and crop") without PyTorch: computed by hand, and lowered as U-Net needs
/// it (Tests/parity compares it with PyTorch's slicing and ONNX Runtime's Slice).
@Suite struct CropTests {
  /// A 3x4 map cropped to 2x2 at batch 2: the difference of 1 row leaves the extra row at the bottom (rows
  /// 0 and 1), the difference of 2 columns takes columns 1 and 2; a fused ReLU; and a crop to the input's
  /// own size, a copy.
  @Test func cropComputesByHand() throws {
    let net = try network("input 2x3x4\nconcat< crop(2x2), relu | crop(3x4), crop(2) >\n")
    let g = Lowering.lower(net)
    let interpreter = try Interpreter(graph: g, plan: BufferPlan(g), weights: [String: [Float]](), batch: 2)
    // Item b, channel c, row r, column k holds 1000b + 100c + 10r + k, negated in column 1 so that the ReLU shows.
    func value(_ b: Int, _ c: Int, _ r: Int, _ k: Int) -> Float { Float(1000 * b + 100 * c + 10 * r + k) * (k == 1 ? -1 : 1) }
    var x: [Float] = []
    for b in 0..<2 { for c in 0..<2 { for r in 0..<3 { for k in 0..<4 { x.append(value(b, c, r, k)) } } } }
    let y = try interpreter.run(x)
    var want: [Float] = []
    for b in 0..<2 {
      for c in 0..<2 { for r in 0..<2 { for k in 1...2 { want.append(max(0, value(b, c, r, k))) } } }
      for c in 0..<2 { for r in 0..<2 { for k in 1...2 { want.append(value(b, c, r, k)) } } }
    }
    #expect(y == [want])
  }

  /// U-Net's four crops of the contracting path write straight into their slices of the concatenations,
  /// which copy nothing themselves; the crops start where the paper's centre is.
  @Test func unetCropsWriteIntoTheConcatenations() throws {
    let source = try readText(Paths.spec("unet"))
    let g = Lowering.lower(try network(source))
    let concats = g.nodes.filter { $0.op is ConcatOp }
    #expect(concats.count == 4)
    #expect(concats.allSatisfy { g.inPlaceConcats.contains($0.output) })
    let crops = g.nodes.compactMap { $0.op as? CropOp }
    #expect(crops == [CropOp(height: 56, width: 56, top: 4, left: 4), CropOp(height: 104, width: 104, top: 16, left: 16),
                      CropOp(height: 200, width: 200, top: 40, left: 40), CropOp(height: 392, width: 392, top: 88, left: 88)])
  }

  /// A crop keeps the receptive field and the stride, and starts the window inside the input: its offset is
  /// a negative padding (8x8 to 4x6 starts 2 rows and 1 column in).
  @Test func cropStartsTheWindowInsideTheInput() throws {
    let net = try network("input 1x10x10\nconv 3x3 4, crop(4x6), relu\n")
    let field = try #require(ReceptiveField.of(net)[net.outputs[0]])
    #expect(field == ReceptiveField(height: AxisField(size: 3, stride: 1, padding: -2),
                                    width: AxisField(size: 3, stride: 1, padding: -1)))
  }
}
