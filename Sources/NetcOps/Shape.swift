// NetcOps: every operation of the language, each defined once, in the file of its family: its keyword
// and signature, shape rule, parameter tensors, cost, names in tables and diagrams, how lowering treats
// it, its kernel binding and how the PyTorch and ONNX emitters write it. Every stage reads operations
// from here (the `OperationRegistry`), through the `Operation` protocol, never by a switch of its own.
import NetcBasic

/// A tensor's shape without the batch dimension: `[C, H, W]` for feature maps, `[N]` for flat vectors.
public struct Shape: Hashable, Sendable, CustomStringConvertible {
  public var dims: [Int]
  public init(_ dims: [Int]) { self.dims = dims }

  public var isSpatial: Bool { dims.count == 3 }
  public var channels: Int { dims[0] }
  public var height: Int { dims[1] }
  public var width: Int { dims[2] }
  /// Elements per batch item; the checker guarantees this does not overflow.
  public var elementCount: Int { dims.reduce(1, *) }
  public var description: String { dims.map(String.init).joined(separator: "x") }
}

/// How a parameter tensor starts when netc makes weights (`netc init`): PyTorch's own defaults differ by
/// layer, netc uses He (Kaiming) normal for weights, as the VGG material prescribes.
public enum ParamInit: Equatable, Sendable {
  /// N(0, 2 / fanIn).
  case heNormal(fanIn: Int)
  case zeros
  case ones
}

/// A learnable tensor (or a buffer such as batch norm's running mean) with PyTorch's attribute name.
public struct ParamTensor: Equatable, Sendable {
  public var name: String          // "weight", "bias", "running_mean", "running_var"
  public var shape: [Int]
  public var trainable: Bool
  public var initialisation: ParamInit
  public var elementCount: Int { shape.reduce(1, *) }

  public init(name: String, shape: [Int], trainable: Bool, initialisation: ParamInit) {
    self.name = name
    self.shape = shape
    self.trainable = trainable
    self.initialisation = initialisation
  }
}
