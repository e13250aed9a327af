import NetcBasic

/// One primitive operation of a checked network, with every attribute resolved: a `ConvOp`, a `PoolOp`,
/// an `ActivationOp`... Each is defined in the file of its family, beside the layer rule that makes it,
/// and answers here everything a later stage asks of it. A stage never switches over the operations; it
/// asks the operation. Defaults below cover the common case (a layer without parameters that keeps the
/// spatial field, draws as a pointwise box and computes a new value).
public protocol Operation: Sendable, CustomStringConvertible, KernelBinding {
  /// The PyTorch module the tables print for it, for an input of shape `input`.
  func moduleName(input: Shape) -> String
  /// As a spec writes it, for diagrams: `("conv", ["3x3", "64", "s2"])`.
  var spelling: (keyword: String, arguments: [String]) { get }
  /// The kind of box it draws as.
  var family: OperationFamily { get }
  /// Drawn on one line: it keeps the shape and has nothing to say beyond its name.
  var isCompact: Bool { get }
  /// How one output pixel sees the input, for receptive fields.
  func receptiveWindow(input: Shape, output: Shape) -> ReceptiveWindow
  /// Multiply-adds of one batch item, torchinfo's convention; nil if they do not fit in 64 bits.
  func multAdds(params: [ParamTensor], output: Shape) -> Int?

  // MARK: Lowering
  /// What lowering does with it.
  var role: LoweringRole { get }
  /// The canonical name of its tensors: `conv` makes `conv<k>.weight`. Only read for operations with
  /// parameters or buffers.
  var parameterPrefix: String { get }
  /// A batch norm right after it can be folded into its weights and bias.
  var absorbsBatchNorm: Bool { get }
  /// An add right after it can be done as it writes its output (a residual). Its kernel reads each
  /// element's residual before it writes that element, so the buffer plan may put the output over it.
  var acceptsResidual: Bool { get }
  /// An activation right after it can be applied as it writes its output.
  var acceptsActivation: Bool { get }
  /// A per-channel scale of its input (`x * s`, s of shape Cx1x1: squeeze-and-excitation's product) can be
  /// applied as its kernel reads the input. It then takes s as a second input.
  var acceptsInputScale: Bool { get }

  // MARK: Plans and emitters
  /// Its part of a `netc plan` line: `conv 3x3 s2 p1`.
  var planText: String { get }
  /// Its `"op"` in a plan file: `conv`, `max_pool`.
  var planName: String { get }
  /// Its attributes in a plan file, after `"op"`.
  func planJSON(_ node: NodeTensors) -> [(String, JSONValue)]
  /// How the PyTorch module computes it.
  func pytorch(_ x: PyTorchOperands) -> PyTorchCode
  /// A class or function its PyTorch code uses that neither torch nor the emitted module defines
  /// (torchvision's LayerNorm2d), written once before the network's class; nil if it needs none.
  var pytorchDefinition: String? { get }
  /// Its ONNX operators, without the node's epilogue; returns the tensor it wrote. An operation ONNX
  /// cannot express exactly throws `ONNXExportError`.
  func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String

  /// The same operation with the same attributes.
  func isSame(as other: any Operation) -> Bool

  /// The window attributes of its PyTorch module (`kernel_size`, `stride`...), for the tables; nil for a
  /// module that has none.
  var moduleWindow: ModuleWindow? { get }
}

/// What a PyTorch convolution or pooling module holds in `kernel_size`, `stride`, `padding`, `dilation`
/// and `groups`, per axis (height, width).
public struct ModuleWindow: Sendable {
  public var kernel: (h: Int, w: Int)
  public var stride: (h: Int, w: Int)
  /// nil: `padding='same'` with one more row or column at the bottom or right, which no pair states.
  public var padding: (h: Int, w: Int)?
  /// nil for AvgPool2d, which has no dilation.
  public var dilation: (h: Int, w: Int)?
  /// Convolutions only.
  public var groups: Int?
  /// A convolution keeps each attribute as a tuple; a pooling module keeps what it was given, and netc's
  /// PyTorch code gives it an int where both axes agree (`nn.MaxPool2d(3)` holds `kernel_size=3`).
  public var keepsTuples: Bool

  public init(kernel: (h: Int, w: Int), stride: (h: Int, w: Int), padding: (h: Int, w: Int)?,
              dilation: (h: Int, w: Int)?, groups: Int?, keepsTuples: Bool) {
    self.kernel = kernel
    self.stride = stride
    self.padding = padding
    self.dilation = dilation
    self.groups = groups
    self.keepsTuples = keepsTuples
  }

  /// The kernel size as Python prints the module's attribute (torchinfo's "Kernel Shape"): `[3, 3]`, or `3`.
  public var kernelText: String {
    keepsTuples || kernel.h != kernel.w ? "[\(kernel.h), \(kernel.w)]" : String(kernel.h)
  }
}

public enum OperationFamily: Sendable {
  case conv, pool, linear, norm, pointwise, join
}

/// How an output pixel depends on the input pixels.
public enum ReceptiveWindow: Sendable {
  /// Each output pixel reads the input pixels at its place (pointwise layers, normalisation, linear
  /// layers); a join unites its inputs' fields.
  case samePlace
  /// A window: convolution and pooling.
  case window(kernel: (h: Int, w: Int), stride: (h: Int, w: Int), padding: (h: Int, w: Int), dilation: (h: Int, w: Int))
  /// Not a whole number of input pixels (transposed convolution, upsampling).
  case fractional
}

/// What lowering does with an operation.
public enum LoweringRole: Equatable, Sendable {
  /// A node of its own, computed by its kernel.
  case compute
  /// A view of its input at inference (flatten, dropout, identity): no kernel, no storage.
  case view
  /// An activation: the epilogue of the node before it where that node accepts one.
  case activation(Activation)
  /// A batch norm: folded into the weights of the layer before it where that layer absorbs one.
  case batchNorm(eps: Double, affine: Bool)
  /// An elementwise sum: done by the convolution before it, as a residual, where it can.
  case add
  /// An elementwise product: a map times a per-channel scale is done by the layer that reads it, where
  /// that layer accepts an input scale.
  case multiply
  /// A concatenation along channels: its inputs write their slices of it in place where they can.
  case concat
}

/// The tensors a lowered node reads besides its inputs: its own (`conv3.weight`, `conv3.bias`), and a
/// batch norm folded into them.
public struct NodeTensors: Sendable {
  public var weights: String?
  public var batchNorm: BatchNormRef?
  public init(weights: String?, batchNorm: BatchNormRef?) {
    self.weights = weights
    self.batchNorm = batchNorm
  }
}

/// A batch norm whose statistics are folded into the preceding convolution or linear layer at load time.
public struct BatchNormRef: Equatable, Sendable {
  public var name: String          // the canonical prefix: "bn2"
  public var channels: Int
  public var eps: Double
  public var affine: Bool
  public init(name: String, channels: Int, eps: Double, affine: Bool) {
    self.name = name
    self.channels = channels
    self.eps = eps
    self.affine = affine
  }

  public var json: JSONValue {
    .object([("name", .string(name)), ("channels", .int(channels)), ("eps", .double(eps)), ("affine", .bool(affine))])
  }
}

extension Operation {
  public var family: OperationFamily { .pointwise }
  public var isCompact: Bool { false }
  public func receptiveWindow(input: Shape, output: Shape) -> ReceptiveWindow { .samePlace }
  /// torchinfo's convention for every layer but convolution: its parameters, once.
  public func multAdds(params: [ParamTensor], output: Shape) -> Int? { params.reduce(0) { $0 + $1.elementCount } }
  public var role: LoweringRole { .compute }
  public var parameterPrefix: String { spelling.keyword }
  public var absorbsBatchNorm: Bool { false }
  public var acceptsResidual: Bool { false }
  public var acceptsActivation: Bool { true }
  public var acceptsInputScale: Bool { false }
  public var planName: String { spelling.keyword }
  public var pytorchDefinition: String? { nil }
  public func planJSON(_ node: NodeTensors) -> [(String, JSONValue)] { [] }
  public var moduleWindow: ModuleWindow? { nil }
  public var description: String { ([spelling.keyword] + spelling.arguments).joined(separator: " ") }

  /// Every attribute, for telling two operations apart in text: `ConvOp(inChannels: 3, ...)`.
  public var attributes: String {
    "\(type(of: self))(" + Mirror(reflecting: self).children.map { "\($0.label ?? ""): \($0.value)" }.joined(separator: ", ") + ")"
  }
}

extension Operation where Self: Equatable {
  public func isSame(as other: any Operation) -> Bool { (other as? Self) == self }
}

/// Words shared by the operations' spellings.
public enum Spelling {
  /// A kernel or output size: `3x3`, `1x7`.
  public static func size(_ p: (Int, Int)) -> String { "\(p.0)x\(p.1)" }
  /// A stride, padding or dilation: `2`, or `2x1` when they differ.
  public static func pair(_ p: (Int, Int)) -> String { p.0 == p.1 ? String(p.0) : "\(p.0)x\(p.1)" }
  /// A number as a spec writes it: `2`, `0.5`.
  public static func number(_ x: Double) -> String {
    x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : "\(x)"
  }
  /// A pair as PyTorch writes it: `3`, or `(3, 1)` when they differ.
  public static func python(_ a: Int, _ b: Int) -> String { a == b ? "\(a)" : "(\(a), \(b))" }
  /// A float as Python writes it: `1.0`, `0.5`.
  public static func pythonFloat(_ d: Double) -> String { d == d.rounded() && abs(d) < 1e15 ? "\(Int(d)).0" : "\(d)" }
  /// A JSON pair.
  public static func json(_ p: (h: Int, w: Int)) -> JSONValue { .array([.int(p.h), .int(p.w)]) }
}
