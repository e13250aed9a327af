import NetcBasic

/// The joins the combinators make: `residual<...>` and `add<...>` sum their branches, `mul<...>`
/// multiplies them (broadcasting where a size is 1), `inception<...>` and `concat<...>` concatenate their
/// channels. They are functional calls in PyTorch (`x + y`, `torch.cat`), not modules.
public struct ElementwiseOp: Operation, Equatable {
  public enum Kind: String, Sendable { case add, mul }
  public var kind: Kind
  public init(_ kind: Kind) { self.kind = kind }

  public func moduleName(input: Shape) -> String { kind.rawValue }
  public var family: OperationFamily { .join }
  public var spelling: (keyword: String, arguments: [String]) { (kind.rawValue, []) }
  public var role: LoweringRole { kind == .add ? .add : .compute }
  public var planText: String { kind.rawValue }
  public func pytorch(_ x: PyTorchOperands) -> PyTorchCode {
    .expression(x.inputs.joined(separator: kind == .add ? " + " : " * "))
  }
  /// Shapes of equal rank, broadcasting where a size is 1: ONNX's broadcasting, the batch before them.
  public func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String {
    var y = x.x
    for v in x.inputs.dropFirst() {
      y = w.step(kind == .mul ? "Mul" : "Add", [y, v], suffix: kind.rawValue)
    }
    return y
  }
}

public struct ConcatOp: Operation, Equatable {
  public init() {}
  public func moduleName(input: Shape) -> String { "cat" }
  public var family: OperationFamily { .join }
  public var spelling: (keyword: String, arguments: [String]) { ("concat", []) }
  public var role: LoweringRole { .concat }
  public var acceptsActivation: Bool { false }
  public var planText: String { "concat" }
  public func pytorch(_ x: PyTorchOperands) -> PyTorchCode {
    .expression("torch.cat([\(x.inputs.joined(separator: ", "))], 1)")
  }
  public func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String {
    w.step("Concat", x.inputs, [.int("axis", 1)], suffix: "concat")
  }
}
