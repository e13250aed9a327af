import NetcBasic

// The vocabulary in which an operation says how the PyTorch and ONNX emitters write it. The emitters
// (NetcBackends) implement it; the operations only speak it.

// MARK: PyTorch

/// What an operation's PyTorch code is written from.
public struct PyTorchOperands: Sendable {
  /// The Python variables holding its inputs.
  public var inputs: [String]
  public var inputShapes: [Shape]
  public var output: Shape
  public init(inputs: [String], inputShapes: [Shape], output: Shape) {
    self.inputs = inputs
    self.inputShapes = inputShapes
    self.output = output
  }
  public var x: String { inputs[0] }
}

public enum PyTorchCode: Sendable {
  /// A module of the model, `nn.Conv2d(3, 64, kernel_size=3)`, called on the first input; it owns the
  /// operation's tensors, under its canonical name.
  case module(String)
  /// An expression of the inputs: `F.relu(x3)`.
  case expression(String)
}

// MARK: ONNX

public struct ONNXAttribute: Sendable {
  public enum Value: Sendable {
    case int(Int), float(Float), string(String), ints([Int]), floats([Float])
  }
  public var name: String
  public var value: Value
  public init(name: String, value: Value) {
    self.name = name
    self.value = value
  }

  public static func int(_ name: String, _ v: Int) -> ONNXAttribute { ONNXAttribute(name: name, value: .int(v)) }
  public static func float(_ name: String, _ v: Float) -> ONNXAttribute { ONNXAttribute(name: name, value: .float(v)) }
  public static func string(_ name: String, _ v: String) -> ONNXAttribute { ONNXAttribute(name: name, value: .string(v)) }
  public static func ints(_ name: String, _ v: [Int]) -> ONNXAttribute { ONNXAttribute(name: name, value: .ints(v)) }
}

/// What an operation's ONNX nodes are written from.
public struct ONNXOperands: Sendable {
  /// The tensors holding its inputs, in their own shapes.
  public var inputs: [String]
  public var inputDims: [[Int]]
  public var outputDims: [Int]
  /// Its tensors' canonical prefix (`conv3`), if it has any.
  public var weights: String?
  /// The element in the source, for errors.
  public var source: SourceRange
  public init(inputs: [String], inputDims: [[Int]], outputDims: [Int], weights: String?, source: SourceRange) {
    self.inputs = inputs
    self.inputDims = inputDims
    self.outputDims = outputDims
    self.weights = weights
    self.source = source
  }
  public var x: String { inputs[0] }
}

/// The ONNX model being built, as an operation sees it (a class: the model grows in place as each
/// operation adds its nodes).
public protocol ONNXWriting: AnyObject {
  /// One step of the current node: an operator whose output is a fresh tensor of the node's output shape
  /// (`<node>.<suffix>`); returns that tensor. `name` names the ONNX node (default: the operator and a count).
  func step(_ op: String, _ inputs: [String], _ attributes: [ONNXAttribute], name: String?, suffix: String) -> String
  /// A step whose output has another shape than the node's: `dims` without the batch (a Transpose to
  /// channels-last inside a node), or nil for a tensor without a batch, whose shape is left to inference
  /// (a weight transposed).
  func step(_ op: String, _ inputs: [String], _ attributes: [ONNXAttribute], name: String?, suffix: String, dims: [Int]?)
    -> String
  /// A float constant (an initializer named `name`), added once.
  func constant(_ name: String, _ values: [Float], dims: [Int]) -> String
  /// A 1-D int64 constant, added once.
  func constant(_ name: String, int64 values: [Int]) -> String
  /// The tensor name of the node being written (`v12`, or `output`), for naming its constants.
  var nodeName: String { get }
}

extension ONNXWriting {
  /// A step whose output has a shape of its own, `dims` without the batch (the 5-D view inside a channel
  /// shuffle): never the node's last step, whose tensor has the node's shape.
  public func intermediate(_ op: String, _ inputs: [String], _ attributes: [ONNXAttribute], dims: [Int], suffix: String) -> String {
    step(op, inputs, attributes, name: nil, suffix: suffix, dims: dims)
  }

  public func step(_ op: String, _ inputs: [String], _ attributes: [ONNXAttribute] = [], suffix: String) -> String {
    step(op, inputs, attributes, name: nil, suffix: suffix)
  }
  /// A scalar float constant shared by the whole model, `netc.<name>`.
  public func scalar(_ name: String, _ value: Float) -> String {
    constant("netc.\(name)", [value], dims: [])
  }
}

/// An operation of the lowered graph that ONNX's operators cannot express exactly.
public struct ONNXExportError: Error, CustomStringConvertible {
  public var message: String
  public var range: SourceRange
  public var notes: [Note]
  public init(message: String, range: SourceRange, notes: [Note]) {
    self.message = message
    self.range = range
    self.notes = notes
  }
  public var description: String { message }
}
