import Foundation
import NetcDriver
import NetcIR
import NetcOps
import NetcRuntime
import Testing

/// The channel shuffle and chunks (ShuffleNet V2) without PyTorch: computed by hand, and lowered as
/// ShuffleNet needs them (Tests/parity compares them with torchvision).
@Suite struct ChannelTests {
  /// Channel shuffle and chunks by hand, at batch 2: 6 channels in 2 groups are the rows [0 1 2] and [3 4 5]
  /// read column by column, 0 3 1 4 2 5 (torchvision's channel_shuffle); chunk 1 of 3 is the third and fourth
  /// of those, chunk 0 the first two, here with a fused ReLU.
  @Test func channelShuffleAndChunkComputeByHand() throws {
    let net = try network("input 6x1x2\nshuffle 2\nconcat< chunk(3 1) | chunk(3 0), relu >\n")
    let g = Lowering.lower(net)
    let interpreter = try Interpreter(graph: g, plan: BufferPlan(g), weights: [String: [Float]](), batch: 2)
    // Item b, channel c, pixel p holds 100b + 10c + p, negated at pixel 1 so that the ReLU shows.
    func value(_ b: Int, _ c: Int, _ p: Int) -> Float { Float(100 * b + 10 * c + p) * (p == 1 ? -1 : 1) }
    var x: [Float] = []
    for b in 0..<2 { for c in 0..<6 { for p in 0..<2 { x.append(value(b, c, p)) } } }
    let y = try interpreter.run(x)
    var want: [Float] = []
    for b in 0..<2 {
      for c in [1, 4] { for p in 0..<2 { want.append(value(b, c, p)) } }
      for c in [0, 3] { for p in 0..<2 { want.append(max(0, value(b, c, p))) } }
    }
    #expect(y == [want])
  }

  /// In every ShuffleNet unit the first chunk and the branch write straight into their slices of the
  /// concatenation: the concatenation itself copies nothing.
  @Test func shufflenetConcatenatesInPlace() throws {
    let source = try readText(Paths.spec("shufflenet_v2_x1_0"))
    let g = Lowering.lower(try network(source))
    let concats = g.nodes.filter { $0.op is ConcatOp }
    #expect(concats.count == 16)
    #expect(concats.allSatisfy { g.inPlaceConcats.contains($0.output) })
    #expect(g.nodes.filter { $0.op is ChannelChunkOp }.count == 2 * 13)
    #expect(g.nodes.filter { $0.op is ChannelShuffleOp }.count == 16)
  }
}
