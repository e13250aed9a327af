// NetcIR: checked network -> lowered graph of primitive operations, rewritten for inference (batch norm
// folded, activations and residual adds fused into their producer, dropout removed, flatten a view,
// concatenation in place), and a static buffer plan by liveness. The interpreter, the Swift emitter, the
// plan file and the ONNX exporter read only this.
import NetcBasic
import NetcOps
import NetcSema

/// One operation of the lowered graph: a checked operation, the tensors it reads, and the epilogue it may
/// end in: a folded batch norm (in its weights), `+ residual`, then `activation`.
public struct Node: Sendable {
  public var op: any Operation
  public var inputs: [Int]         // value ids
  public var output: Int
  /// Its tensors' canonical prefix (`conv3`), if it has any.
  public var weights: String?
  /// A batch norm after it, folded into its weights and bias when they are loaded.
  public var batchNorm: BatchNormRef?
  public var residual: Int?
  public var activation: Activation?
  public var source: SourceRange

  public init(op: any Operation, inputs: [Int], output: Int, weights: String? = nil, batchNorm: BatchNormRef? = nil,
              residual: Int? = nil, activation: Activation? = nil, source: SourceRange) {
    self.op = op
    self.inputs = inputs
    self.output = output
    self.weights = weights
    self.batchNorm = batchNorm
    self.residual = residual
    self.activation = activation
    self.source = source
  }

  public var tensors: NodeTensors { NodeTensors(weights: weights, batchNorm: batchNorm) }
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
  public var tensors: [WeightTensor]
  /// Concatenations done in place: their inputs are written straight into slices of the output.
  public var inPlaceConcats: Set<Int>

  public func storage(of value: Int) -> Int {
    var v = value
    while let a = aliases[v] { v = a }
    return v
  }
}

/// A tensor of the weight file: its canonical name, shape, and how `netc init` starts it.
public struct WeightTensor: Sendable {
  public var name: String
  public var shape: [Int]
  public var initialisation: ParamInit
  public init(name: String, shape: [Int], initialisation: ParamInit) {
    self.name = name
    self.shape = shape
    self.initialisation = initialisation
  }
}
