import NetcBasic
import NetcKernels

/// One activation function, and everything netc knows of it. Each is one entry of `Activations.all`;
/// its kernel is its case of `netcActivate` (NetcKernels), under `kernelCode`.
public struct ActivationFunction: Sendable {
  public var keyword: String
  public var moduleName: String
  /// Its code in the kernels' fused epilogue (`NetcAct`).
  public var kernelCode: Int
  /// Its one parameter (leaky_relu's slope) with the default; nil if it has none.
  public var parameter: (name: String, defaultValue: Double)?
  /// PyTorch's functional call on variable `x`.
  public var pytorch: @Sendable (_ x: String, _ parameter: Double) -> String
  /// Its ONNX operators on tensor `x`; returns the result.
  public var onnx: @Sendable (_ w: any ONNXWriting, _ x: String, _ parameter: Double) -> String

  public init(keyword: String, moduleName: String, kernelCode: Int, parameter: (name: String, defaultValue: Double)? = nil,
              pytorch: @escaping @Sendable (String, Double) -> String,
              onnx: @escaping @Sendable (any ONNXWriting, String, Double) -> String) {
    self.keyword = keyword
    self.moduleName = moduleName
    self.kernelCode = kernelCode
    self.parameter = parameter
    self.pytorch = pytorch
    self.onnx = onnx
  }
}

/// An activation as a layer uses it: the function and its parameter.
public struct Activation: Equatable, Sendable {
  public var function: ActivationFunction
  public var parameter: Double

  public init(_ function: ActivationFunction, parameter: Double = 0) {
    self.function = function
    self.parameter = parameter
  }

  public static func == (a: Activation, b: Activation) -> Bool {
    a.function.keyword == b.function.keyword && a.parameter == b.parameter
  }

  /// As `netc plan` prints it: `relu`, `leaky_relu(0.01)`.
  public var name: String {
    function.parameter == nil ? function.keyword : "\(function.keyword)(\(parameter))"
  }
}

/// The activation functions, in the order of Grammar.md's table.
public enum Activations {
  public static let all: [ActivationFunction] = [
    ActivationFunction(
      keyword: "relu", moduleName: "ReLU", kernelCode: NetcAct.relu,
      pytorch: { x, _ in "F.relu(\(x))" }, onnx: { w, x, _ in w.step("Relu", [x], suffix: "relu") }),
    ActivationFunction(
      keyword: "relu6", moduleName: "ReLU6", kernelCode: NetcAct.relu6,
      pytorch: { x, _ in "F.relu6(\(x))" },
      onnx: { w, x, _ in w.step("Clip", [x, w.scalar("zero", 0), w.scalar("six", 6)], suffix: "relu6") }),
    ActivationFunction(
      keyword: "sigmoid", moduleName: "Sigmoid", kernelCode: NetcAct.sigmoid,
      pytorch: { x, _ in "torch.sigmoid(\(x))" }, onnx: { w, x, _ in w.step("Sigmoid", [x], suffix: "sigmoid") }),
    ActivationFunction(
      keyword: "tanh", moduleName: "Tanh", kernelCode: NetcAct.tanh,
      pytorch: { x, _ in "torch.tanh(\(x))" }, onnx: { w, x, _ in w.step("Tanh", [x], suffix: "tanh") }),
    ActivationFunction(
      keyword: "silu", moduleName: "SiLU", kernelCode: NetcAct.silu,
      pytorch: { x, _ in "F.silu(\(x))" },
      onnx: { w, x, _ in
        // x * sigmoid(x): ONNX has no SiLU operator at opset 18.
        let s = w.step("Sigmoid", [x], suffix: "silu_sigmoid")
        return w.step("Mul", [x, s], suffix: "silu")
      }),
    ActivationFunction(
      keyword: "gelu", moduleName: "GELU", kernelCode: NetcAct.gelu,
      pytorch: { x, _ in "F.gelu(\(x))" },
      onnx: { w, x, _ in
        // The exact (erf) GELU, as netc and PyTorch compute it: x * 0.5 * (1 + erf(x / sqrt 2)).
        // Gelu itself is an operator only from opset 20.
        let d = w.step("Div", [x, w.scalar("sqrt2", Float(2.0.squareRoot()))], suffix: "gelu_div")
        let e = w.step("Erf", [d], suffix: "gelu_erf")
        let p = w.step("Add", [e, w.scalar("one", 1)], suffix: "gelu_add")
        let m = w.step("Mul", [x, p], suffix: "gelu_mul")
        return w.step("Mul", [m, w.scalar("half", 0.5)], suffix: "gelu")
      }),
    ActivationFunction(
      keyword: "leaky_relu", moduleName: "LeakyReLU", kernelCode: NetcAct.leaky, parameter: ("slope", 0.01),
      pytorch: { x, slope in "F.leaky_relu(\(x), \(slope))" },
      onnx: { w, x, slope in w.step("LeakyRelu", [x], [.float("alpha", Float(slope))], suffix: "leaky_relu") }),
    // MobileNetV3's: x * relu6(x + 3) / 6, and its gate relu6(x + 3) / 6. ONNX writes them as
    // max(0, min(1, x / 6 + 0.5)), the same function.
    ActivationFunction(
      keyword: "hardswish", moduleName: "Hardswish", kernelCode: NetcAct.hardswish,
      pytorch: { x, _ in "F.hardswish(\(x))" }, onnx: { w, x, _ in w.step("HardSwish", [x], suffix: "hardswish") }),
    ActivationFunction(
      keyword: "hardsigmoid", moduleName: "Hardsigmoid", kernelCode: NetcAct.hardsigmoid,
      pytorch: { x, _ in "F.hardsigmoid(\(x))" },
      onnx: { w, x, _ in
        // ONNX's default slope is 0.2; PyTorch's is 1/6.
        w.step("HardSigmoid", [x], [.float("alpha", Float(1.0 / 6)), .float("beta", 0.5)], suffix: "hardsigmoid")
      }),
    ActivationFunction(
      keyword: "mish", moduleName: "Mish", kernelCode: NetcAct.mish,
      pytorch: { x, _ in "F.mish(\(x))" }, onnx: { w, x, _ in w.step("Mish", [x], suffix: "mish") }),
  ]

  public static let byKeyword: [String: ActivationFunction] = Dictionary(all.map { ($0.keyword, $0) }) { a, _ in a }

  /// The function named `keyword`; the name must be one of `all`.
  public static func named(_ keyword: String) -> ActivationFunction {
    guard let f = byKeyword[keyword] else { preconditionFailure("netc internal error: no activation '\(keyword)'") }
    return f
  }

  /// Each function as a layer: `relu`, `leaky_relu 0.2`.
  static var layers: [LayerSpec] {
    all.map { f in
      guard let (name, defaultValue) = f.parameter else {
        return LayerSpec(keyword: f.keyword,
                         signature: LayerSignature(positional: [], required: 0, options: [:], flags: [], usage: f.keyword,
                                                   preservesShape: true),
                         check: { _, input, _, _ in Resolved(op: ActivationOp(Activation(f)), output: input.shape) })
      }
      return LayerSpec(keyword: f.keyword,
                       signature: LayerSignature(positional: [name], required: 0, options: [name: name], flags: [],
                                                 usage: "\(f.keyword) \(Spelling.number(defaultValue))", preservesShape: true),
                       check: { a, input, _, diags in
                         guard let value = a.double(name, default: defaultValue, &diags) else { return nil }
                         return Resolved(op: ActivationOp(Activation(f, parameter: value)), output: input.shape)
                       })
    }
  }
}

/// An activation as a layer of its own; lowering makes it the epilogue of the node before it.
public struct ActivationOp: Operation, Equatable {
  public var activation: Activation
  public init(_ activation: Activation) { self.activation = activation }

  public func moduleName(input: Shape) -> String { activation.function.moduleName }
  public var spelling: (keyword: String, arguments: [String]) {
    (activation.function.keyword, activation.function.parameter == nil ? [] : [Spelling.number(activation.parameter)])
  }
  public var isCompact: Bool { true }
  public var role: LoweringRole { .activation(activation) }
  public var acceptsActivation: Bool { false }
  /// Its node is the epilogue alone: the plan prints the activation's name.
  public var planText: String { "" }
  public var planName: String { "activation" }
  public func pytorch(_ x: PyTorchOperands) -> PyTorchCode {
    .expression(activation.function.pytorch(x.x, activation.parameter))
  }
  /// The node's epilogue writes it.
  public func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String { x.x }
}

// MARK: Kernel binding

extension ActivationOp {
  /// Where it stays a node of its own (after a concatenation, a softmax or another activation): the
  /// activation alone, as the epilogue of a per-channel affine map without scale or shift.
  public func run(_ k: KernelRun) { k.channelAffine() }
  public func runText(_ k: KernelCallText) -> String { k.channelAffine() }
}
