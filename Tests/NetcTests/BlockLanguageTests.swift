import NetcOps
import NetcSema
import Testing

/// What blocks that read like module code mean: the input's sizes (`in.c`), layers given as arguments, and
/// conditions (`if`, `residual if`). Each expectation says which layers a use expands to.
@Suite struct BlockLanguageTests {
  /// The rows of a network's table (module names, blocks included), and its output shape.
  func rows(_ source: String) throws -> (rows: [String], output: [Int]) {
    let net = try network(source)
    var rows: [String] = []
    for event in net.events {
      switch event {
      case .op(let i) where net.ops[i].isModule: rows.append(net.ops[i].moduleName)
      case .close(let s): if case .block(_, let module) = net.scopes[s].kind { rows.append(module) }
      default: break
      }
    }
    return (rows, net.output.dims)
  }

  @Test func inputSizesAreTheBlocksInput() throws {
    let net = try network("""
      input 6x10x12
      block B() { conv 1x1 in.c*2, conv 1x1 in.h+in.w }
      conv 1x1 4
      B()
      """)
    #expect(net.output.dims == [22, 10, 12])  // in.c is 4, the block's input, wherever it is read
    #expect(try network("input 16x8x8\nblock H(c=in.c/4) { fc c }\nflatten\nH()").output.dims == [256])
    // On a channels-last map, in.c is the last size.
    #expect(try network("input 8x4x4\nblock L() { fc in.c*3 }\npermute 0 2 3 1\nL()\npermute 0 3 1 2").output.dims == [24, 4, 4])
  }

  @Test func layersAreArguments() throws {
    let source = """
      input 8x4x4
      block Unit(c, act=relu, norm=(bn eps=0.001)) { conv 1x1 c nobias, norm, act }
      block Pair(act=relu) { Unit(8, act=act), Unit(8, act=act()) }
      Unit(8)
      Unit(8, act=hardswish, norm=(bn eps=e))
      Pair(act=(leaky_relu 0.2))
      """
    // 'e' is unknown where the layer is given: its arguments read the caller's names, not the block's.
    #expect(diagnostics(source).contains("unknown name 'e'"))
    let (rows, _) = try rows(source.replacingOccurrences(of: "eps=e", with: "eps=0.01"))
    #expect(rows == ["Conv2d", "BatchNorm2d", "ReLU", "Unit",
                     "Conv2d", "BatchNorm2d", "Hardswish", "Unit",
                     "Conv2d", "BatchNorm2d", "LeakyReLU", "Unit", "Conv2d", "BatchNorm2d", "Unit", "Pair"])
    // A layer's arguments read the caller's parameters.
    let net = try network("input 8x4x4\nblock B(act=relu) { act }\nblock C(k=3) { B(act=(avgpool k s1)) }\nC(k=2)")
    #expect(net.output.dims == [8, 3, 3])
  }

  @Test func conditionsChooseTheLayers() throws {
    let source = """
      input 16x8x8
      block B(s=1, t=1) {
        if t == 1 { relu } else if t == 2 { sigmoid } else { tanh }
        if s > 1 and not (t == 3 or t == 4) { maxpool 2x2 }
      }
      B(), B(t=2), B(s=2, t=3), B(s=2)
      """
    let (rows, output) = try rows(source)
    #expect(rows == ["ReLU", "B", "Sigmoid", "B", "Tanh", "B", "ReLU", "MaxPool2d", "B"])
    #expect(output == [16, 4, 4])
  }

  @Test func residualConditionAddsTheShortcut() throws {
    let source = """
      input 16x8x8
      block R(out, s=1) {
        residual if s == 1 and in.c == out < conv 3x3 out stride=s p1 >
      }
      R(16), R(32), R(32, s=2), R(32)
      """
    let net = try network(source)
    let adds = net.ops.filter { ($0.op as? ElementwiseOp)?.kind == .add }.count
    #expect(adds == 2)  // the first and the last: stride 1, as many channels out as in
    #expect(net.output.dims == [32, 4, 4])
  }

  /// `and` and `or` decide from their left side when they can, as Python's do: the right side is not
  /// evaluated (here it would read the height of a flat input).
  @Test func conditionsShortCircuit() throws {
    let net = try network("input 16x8x8\nblock B(s=1) { if s == 2 and in.h > 1 { relu } }\nflatten\nB()")
    #expect(net.ops.count == 1)
    #expect(diagnostics("input 16x8x8\nblock B(s=1) { if s == 1 and in.h > 1 { relu } }\nflatten\nB()")
      .contains("has no height"))
    // Rates compare as numbers.
    #expect(try network("input 4\nblock D(i=3) { if 0.1*i/17 > 0.01 { dropout 0.5 } }\nD()").ops.count == 1)
  }
}
