import Foundation
import NetcDriver
@testable import NetcIR
@testable import NetcOps
import NetcSema
import Testing

@Suite struct LoweringTests {
  static let specs = Paths.specNames

  func lowered(_ spec: String) throws -> (LoweredGraph, BufferPlan) {
    let source = try readText(Paths.specs.appendingPathComponent(spec))
    let g = Lowering.lower(try network(source))
    return (g, BufferPlan(g))
  }

  /// No two values that are alive at the same time share memory, for batch 1 and batch 3.
  @Test(arguments: specs)
  func planNeverOverlapsLiveValues(spec: String) throws {
    let (g, plan) = try lowered(spec)
    var def: [Int: Int] = [g.input: -1]
    var last: [Int: Int] = [:]
    for (i, n) in g.nodes.enumerated() {
      def[n.output] = i
      for v in n.inputs + (n.residual.map { [$0] } ?? []) { last[g.storage(of: v)] = i }
    }
    for o in g.outputs { last[g.storage(of: o)] = g.nodes.count }
    // A slice of an in-place concatenation lives as long as the concatenation.
    var sliceOwner: [Int: Int] = [:]
    for n in g.nodes where g.inPlaceConcats.contains(n.output) {
      for v in n.inputs { sliceOwner[g.storage(of: v)] = n.output }
    }
    // A convolution may write its output over the residual it reads last, never over one of its inputs.
    var writtenOver: [Int: Int] = [:]
    for (i, n) in g.nodes.enumerated() {
      guard let r = n.residual.map({ g.storage(of: $0) }), plan.placements[r] == plan.placements[n.output] else { continue }
      #expect(last[r] == i && !n.inputs.contains { g.storage(of: $0) == r }, "\(spec): %\(n.output) over %\(r)")
      writtenOver[n.output] = r
    }
    let values = Array(def.keys)
    for batch in [1, 3] {
      func ranges(_ v: Int) -> [Range<Int>] {
        let p = plan.placements[v]!
        let n = g.shapes[v].elementCount
        return (0..<batch).map { b in
          let start = p.base * batch + b * p.itemStride + p.itemOffset
          return start..<(start + n)
        }
      }
      for v in values {
        for r in ranges(v) { #expect(r.upperBound <= plan.arenaSize * batch, "\(spec): %\(v) leaves the arena") }
      }
      for (i, a) in values.enumerated() {
        for b in values[(i + 1)...] {
          if sliceOwner[a] == b || sliceOwner[b] == a || writtenOver[a] == b || writtenOver[b] == a { continue }
          let (a0, a1) = (def[a]!, max(last[a] ?? def[a]!, last[sliceOwner[a] ?? a] ?? 0))
          let (b0, b1) = (def[b]!, max(last[b] ?? def[b]!, last[sliceOwner[b] ?? b] ?? 0))
          guard a0 <= b1 && b0 <= a1 else { continue }
          for ra in ranges(a) {
            for rb in ranges(b) {
              #expect(!ra.overlaps(rb), "\(spec) batch \(batch): %\(a) and %\(b) are alive together and share memory")
            }
          }
        }
      }
    }
    #expect(plan.arenaSize <= plan.unsharedSize)
  }

  @Test func resnet18FoldsEveryBatchNormAndFusesEveryActivation() throws {
    let (g, plan) = try lowered("resnet/resnet18.net")
    // 20 convolutions, the stem's max pool, the global average pool and the classifier.
    #expect(g.nodes.count == 23)
    let convs = g.nodes.filter { $0.op is ConvOp && $0.batchNorm != nil }
    #expect(convs.count == 20)
    #expect(g.nodes.filter { $0.residual != nil }.count == 8)
    // Each of them writes its output over its residual, which it reads last.
    #expect(g.nodes.filter { n in n.residual.map { plan.placements[g.storage(of: $0)] == plan.placements[n.output] } ?? false }
      .count == 8)
    #expect(!g.nodes.contains { $0.op is BatchNormOp || $0.op is ActivationOp })
    #expect(plan.arenaSize < plan.unsharedSize / 2)
    #expect(g.tensors.count == 20 + 20 * 4 + 2)
    #expect(g.tensors.first!.name == "conv1.weight")
    #expect(g.tensors.last!.name == "fc41.bias")
  }

  /// ConvNeXt-T's block lowers to five nodes: the depthwise convolution, the layer norm, the linear layers
  /// (GELU fused into the first) and the layer scale, which adds the block's input as it writes; the
  /// permutations and stochastic depth are views.
  @Test func convnextBlocksFuseTheirActivationAndResidual() throws {
    let (g, plan) = try lowered("convnext/convnext_tiny.net")
    // Stem (2), 18 blocks of 5, three downsamplings (2 each), the head's pool, norm and classifier.
    #expect(g.nodes.count == 2 + 18 * 5 + 3 * 2 + 3)
    #expect(g.nodes.filter { $0.op is LinearOp && $0.activation?.name == "gelu" }.count == 18)
    let scales = g.nodes.filter { $0.op is LayerScaleOp }
    #expect(scales.count == 18 && scales.allSatisfy { $0.residual != nil })
    #expect(scales.allSatisfy { n in plan.placements[g.storage(of: n.residual!)] == plan.placements[n.output] })
    #expect(!g.nodes.contains { $0.op is PermuteOp || $0.op is StochasticDepthOp || $0.op is ActivationOp })
  }

  /// Nothing fuses across a permutation: the node would compute in its own layout a value read in the
  /// other (ONNX, whose tensors are in their own order, would mislabel it).
  @Test func nothingFusesAcrossAPermutation() throws {
    let g = Lowering.lower(try network("input 8x5x6\nconv 1x1 8\npermute 0 2 3 1, gelu\nresidual< fc 8 >, permute 0 3 1 2, relu\n"))
    // The residual joins channels-last values: the linear layer adds it.
    #expect(g.nodes.map { [$0.op.planText, $0.activation?.name ?? "-", $0.residual == nil ? "-" : "+residual"] }
      == [["conv 1x1", "-", "-"], ["", "gelu", "-"], ["fc per pixel", "-", "+residual"], ["", "relu", "-"]])
  }

  /// Squeeze-and-excitation's product is done by the pointwise convolution after it, which takes the
  /// scale as a second input: EfficientNet-B0's 16 blocks, MobileNetV3-Large's 8 and RegNetY-400MF's 16.
  @Test(arguments: [("efficientnet/efficientnet_b0.net", 16), ("mobilenet/mobilenet_v3_large.net", 8),
                    ("regnet/regnet_y_400mf.net", 16)])
  func squeezeExcitationScalesTheConvolutionsInput(spec: String, blocks: Int) throws {
    let (g, _) = try lowered(spec)
    #expect(!g.nodes.contains { $0.op is ElementwiseOp && ($0.op as? ElementwiseOp)?.kind == .mul })
    let scaled = g.nodes.filter { $0.inputs.count == 2 && $0.op is ConvOp }
    #expect(scaled.count == blocks)
    for n in scaled {
      let x = g.shapes[n.inputs[0]], s = g.shapes[n.inputs[1]]
      #expect(s.dims == [x.dims[0], 1, 1] && x.dims.count == 3)
    }
  }

  /// The product stays a node of its own where no convolution can take it over: read twice, read by a
  /// 3x3 convolution, or a product of two maps.
  @Test func productsThatStayNodes() throws {
    let se = "mul< @input | global_avgpool, conv 1x1 8, sigmoid >"
    for source in ["input 8x6x6\n\(se) => m\nconv 1x1 4\nadd< @input | @m, conv 1x1 8 >\n",
                   "input 8x6x6\n\(se)\nconv 3x3 4 p1\n",
                   "input 8x6x6\nmul< conv 1x1 8 | conv 1x1 8 >\nconv 1x1 4\n"] {
      let g = Lowering.lower(try network(source))
      #expect(g.nodes.contains { ($0.op as? ElementwiseOp)?.kind == .mul }, "\(source)")
      #expect(!g.nodes.contains { $0.inputs.count == 2 && $0.op is ConvOp }, "\(source)")
    }
  }

  @Test func googlenetConcatenatesInPlace() throws {
    let (g, _) = try lowered("inception/googlenet.net")
    #expect(g.inPlaceConcats.count == 9)
  }

  @Test func vggDropsDropoutAndFlatten() throws {
    let (g, _) = try lowered("vgg/vgg16.net")
    // 13 convolutions, 5 max pools, the adaptive pool, three linear layers.
    #expect(g.nodes.count == 22)
  }

  @Test func planCommandPrintsTheGraph() throws {
    let r = Driver.run(["plan", Paths.spec("lenet5").path])
    #expect(r.status == 0)
    try assertSnapshot(r.stdout.replacingOccurrences(of: Paths.root.path + "/", with: ""), "lenet5.plan.golden")
  }

  /// The arena's first-fit placement in runs of blocks places every block where one sorted list of the
  /// live blocks does, through random placements and releases that split runs (more than 512 live at
  /// once) and empty them.
  @Test func liveBlocksPlaceAsAPlainFirstFit() {
    var rng = SystemRandomNumberGenerator()
    for round in 0..<6 {
      var runs = LiveBlocks()
      var plain: [(offset: Int, size: Int)] = []
      for step in 0..<3000 {
        let release = !plain.isEmpty && Int.random(in: 0..<100, using: &rng) < (round % 2 == 0 ? 30 : 55)
        if release {
          let victim = plain.remove(at: Int.random(in: 0..<plain.count, using: &rng))
          runs.remove(at: victim.offset)
          continue
        }
        let size = 16 * Int.random(in: 1...(round < 3 ? 4 : 64), using: &rng)
        var candidate = 0
        for block in plain.sorted(by: { $0.offset < $1.offset }) {
          if candidate + size <= block.offset { break }
          candidate = max(candidate, block.offset + block.size)
        }
        #expect(runs.firstFit(size) == candidate, "round \(round), step \(step)")
        runs.insert(offset: candidate, size: size)
        plain.append((candidate, size))
      }
      #expect(runs.runs.map(\.blocks.count).reduce(0, +) == plain.count)
    }
  }
}
