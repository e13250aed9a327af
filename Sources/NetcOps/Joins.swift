import NetcBasic
import NetcKernels

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
  public var role: LoweringRole { kind == .add ? .add : .multiply }
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

// MARK: Kernel binding

extension ElementwiseOp {
  /// Channels-last maps are stored channels-first: the kernel broadcasts over the stored order, which the
  /// checker keeps the same for every input (all channels-last or none).
  public func run(_ k: KernelRun) {
    netcElementwise(isMul: kind == .mul, shape: k.node.outputShape.storageDims, inputs: k.elementwiseInputs, batch: k.batch,
                    output: k.y, outStride: k.ys, act: k.act, slope: k.slope)
  }
  public func runText(_ k: KernelCallText) -> String {
    let inputs = zip(k.inputs, k.node.inputShapes).map { "(UnsafePointer(\($0.data)), \($0.stride), \($1.storageDims))" }
    return "netcElementwise(isMul: \(kind == .mul), shape: \(k.node.outputShape.storageDims), inputs: [\(inputs.joined(separator: ", "))], batch: batch, \(k.y), \(k.epilogue))"
  }
}

extension ConcatOp {
  /// Each input copied into its slice of the channels (unless lowering had the inputs write there).
  public func run(_ k: KernelRun) {
    var offset = 0
    for (input, shape) in zip(k.inputs, k.node.inputShapes) {
      netcCopy(count: shape.elementCount, batch: k.batch, input: input.data, inStride: input.stride, output: k.y + offset,
               outStride: k.ys)
      offset += shape.elementCount
    }
  }
  public func runText(_ k: KernelCallText) -> String {
    var offset = 0
    var parts: [String] = []
    for (input, shape) in zip(k.inputs, k.node.inputShapes) {
      parts.append("netcCopy(count: \(shape.elementCount), batch: batch, input: \(input.data), inStride: \(input.stride), output: \(k.output.data) + \(offset), outStride: \(k.output.stride))")
      offset += shape.elementCount
    }
    return parts.joined(separator: "\n    ")
  }
}
