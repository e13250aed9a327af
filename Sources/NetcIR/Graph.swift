// NetcIR: checked network -> lowered graph of primitive operations, rewritten for inference (batch norm
// folded, activations and residual adds fused into their producer, dropout removed, flatten a view,
// concatenation in place), and a static buffer plan by liveness. Backends read only this.
import NetcBasic
import NetcSema

/// A batch norm whose statistics are folded into the preceding convolution or linear layer at load time.
public struct BatchNormRef: Equatable, Sendable {
  public var name: String          // the canonical prefix: "bn2"
  public var channels: Int
  public var eps: Double
  public var affine: Bool
}

public enum NodeKind: Equatable, Sendable {
  case conv(ConvAttrs, weights: String, bias: Bool, batchNorm: BatchNormRef?)
  case linear(inFeatures: Int, outFeatures: Int, weights: String, bias: Bool, batchNorm: BatchNormRef?)
  case batchNorm(BatchNormRef)     // standalone, where nothing precedes it to fold into
  case pool(PoolAttrs)
  case adaptivePool(PoolKind, outH: Int, outW: Int)
  case lrn(size: Int, alpha: Double, beta: Double, k: Double)
  /// Scales are PyTorch's input-per-output ratios used to find source pixels.
  case upsample(mode: UpsampleMode, alignCorners: Bool, scaleH: Double, scaleW: Double)
  case softmax
  case activation                  // the op is the epilogue alone
  case add
  case mul
  case concat
}

/// One primitive operation. Every node may end in a fused epilogue: `+ residual`, then `activation`.
public struct Node: Sendable {
  public var kind: NodeKind
  public var inputs: [Int]         // value ids
  public var output: Int
  public var residual: Int?
  public var activation: Activation?
  public var source: SourceRange
}

/// The lowered network. Values keep the checked network's ids; a view (flatten, dropout, identity) maps
/// to the value it aliases, so it costs nothing at run time.
public struct LoweredGraph: Sendable {
  public var name: String
  public var input: Int
  public var outputs: [Int]
  public var shapes: [Shape]       // per batch item
  public var nodes: [Node]
  /// value -> the value whose storage it shares (views); absent for values with storage of their own.
  public var aliases: [Int: Int]
  /// The weight tensors the graph reads, in canonical names, with shapes.
  public var tensors: [(name: String, shape: [Int])]
  /// Concatenations done in place: their inputs are written straight into slices of the output.
  public var inPlaceConcats: Set<Int>

  public func storage(of value: Int) -> Int {
    var v = value
    while let a = aliases[v] { v = a }
    return v
  }
}
