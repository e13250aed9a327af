import NetcBasic
import NetcKernels

/// Linear: `y = x W^T + b`.
public struct LinearOp: Operation, Equatable {
  public var inFeatures: Int
  public var outFeatures: Int
  public var bias: Bool

  public func moduleName(input: Shape) -> String { "Linear" }
  public var family: OperationFamily { .linear }
  public var spelling: (keyword: String, arguments: [String]) { ("fc", [String(outFeatures)]) }
  public var absorbsBatchNorm: Bool { true }
  public var planText: String { "fc" }
  public var planName: String { "linear" }
  public func planJSON(_ node: NodeTensors) -> [(String, JSONValue)] {
    [("weights", .string(node.weights ?? "")), ("bias", .bool(bias)), ("batch_norm", node.batchNorm?.json ?? .null),
     ("in_features", .int(inFeatures)), ("out_features", .int(outFeatures))]
  }
  public func pytorch(_ x: PyTorchOperands) -> PyTorchCode {
    .module("nn.Linear(\(inFeatures), \(outFeatures)\(bias ? "" : ", bias=False"))")
  }
  public func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String {
    let name = x.weights ?? "fc"
    return w.step("Gemm", [x.x, "\(name).weight"] + (bias ? ["\(name).bias"] : []), [.int("transB", 1)], name: name, suffix: "fc")
  }
}

/// Flatten: a view of its input as a vector.
public struct FlattenOp: Operation, Equatable {
  public func moduleName(input: Shape) -> String { "Flatten" }
  public var spelling: (keyword: String, arguments: [String]) { ("flatten", []) }
  public var isCompact: Bool { true }
  public var role: LoweringRole { .view }
  public var planText: String { "flatten" }
  public func pytorch(_ x: PyTorchOperands) -> PyTorchCode { .expression("torch.flatten(\(x.x), 1)") }
  /// A view: lowering leaves no node, and the ONNX emitter reshapes the value where it is read.
  public func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String { x.x }
}

/// Dropout: the identity at inference.
public struct DropoutOp: Operation, Equatable {
  public var p: Double
  public func moduleName(input: Shape) -> String { "Dropout" }
  public var spelling: (keyword: String, arguments: [String]) { ("dropout", [Spelling.number(p)]) }
  public var isCompact: Bool { true }
  public var role: LoweringRole { .view }
  public var planText: String { "dropout" }
  public func pytorch(_ x: PyTorchOperands) -> PyTorchCode {
    .expression("F.dropout(\(x.x), \(Spelling.pythonFloat(p)), self.training)")
  }
  public func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String { x.x }
}

/// `fc`/`linear`, `flatten`, `dropout`.
enum DenseLayers {
  static let specs: [LayerSpec] = [linear("fc"), linear("linear"),
    LayerSpec(keyword: "flatten",
              signature: LayerSignature(positional: [], required: 0, options: [:], flags: [], usage: "flatten"),
              check: { _, input, at, diags in
                guard let n = try? cproduct(input.shape.dims) else {
                  diags.error("size-overflow", "the flattened size overflows", at: at)
                  return nil
                }
                return Resolved(op: FlattenOp(), output: Shape([n]))
              }),
    LayerSpec(keyword: "dropout",
              signature: LayerSignature(positional: ["p"], required: 0, options: ["p": "p"], flags: [],
                                        usage: "dropout 0.5", preservesShape: true),
              check: { a, input, _, diags in
                guard let p = a.double("p", default: 0.5, &diags) else { return nil }
                guard p >= 0, p <= 1 else {
                  diags.error("out-of-range", "dropout probability must be between 0 and 1, found \(p)", at: a.range("p"))
                  return nil
                }
                return Resolved(op: DropoutOp(p: p), output: input.shape)
              }),
  ]

  static func linear(_ keyword: String) -> LayerSpec {
    LayerSpec(keyword: keyword,
              signature: LayerSignature(positional: ["size", "second size"], required: 1, options: [:],
                                        flags: ["nobias", "frozen"], usage: "\(keyword) 4096  (or '\(keyword) 9216 4096')"),
              check: { a, input, at, diags in
                let x = input.shape
                if x.isSpatial {
                  diags.error("needs-flat-input", "'\(a.keyword)' needs a flat input, found \(x)", at: at,
                              notes: [Note("insert 'flatten' (a Flatten module) or 'flatten()' (torch.flatten) before it")],
                              fixIts: [FixIt(range: SourceRange.point(at.start), replacement: "flatten, ")])
                }
                // The sizes are read whatever the input: a mistake in them does not depend on it.
                let first = a.int("size", &diags)
                let second = a.has("second size") ? a.int("second size", &diags) : first
                guard let first, let second else { return nil }
                // Its output is its size whatever the input: after the error the layers after it are checked.
                if x.isSpatial { return Resolved(op: IdentityOp(), output: Shape([second])) }
                var outF = first
                if a.has("second size") {
                  outF = second
                  if first != x.dims[0] {
                    var notes: [Note] = []
                    if let from = input.flattenedFrom, let r = input.flattenedAt {
                      notes.append(Note("the input is \(from) = \(grouped(x.dims[0])), flattened here", at: r))
                    }
                    notes.append(Note("write '\(a.keyword) \(x.dims[0]) \(second)', or just '\(a.keyword) \(second)' to take the size from the input"))
                    diags.error("fc-input-mismatch",
                                "'\(a.keyword)' expects \(grouped(first)) inputs but receives \(input.flattenedFrom.map { "\($0) = " } ?? "")\(grouped(x.dims[0]))",
                                at: a.range("size"), notes: notes)
                    // The output is the second size whatever the first: the layers after it can be checked.
                  }
                }
                let trainable = !a.flag("frozen")
                var params = [LayerCheck.tensor("weight", [outF, x.dims[0]], trainable: trainable, .heNormal(fanIn: x.dims[0]))]
                if !a.flag("nobias") { params.append(LayerCheck.tensor("bias", [outF], trainable: trainable, .zeros)) }
                return Resolved(op: LinearOp(inFeatures: x.dims[0], outFeatures: outF, bias: !a.flag("nobias")),
                                output: Shape([outF]), params: params)
              })
  }
}

// MARK: Kernel binding

extension LinearOp {
  public func prepare(_ weights: NetcPreparedWeights, _ reader: any NetcTensorReader, _ node: KernelNode) throws -> NetcPreparedLayer {
    try weights.appendLinear(reader, name: node.name, hasBias: bias, batchNorm: node.netcBatchNorm, inFeatures: inFeatures,
                             outFeatures: outFeatures)
  }
  public func prepareText(_ node: KernelNode) -> String {
    "try p.appendLinear(t, name: \"\(node.name)\", hasBias: \(bias), batchNorm: \(node.netcBatchNormText), inFeatures: \(inFeatures), outFeatures: \(outFeatures))"
  }
  public func run(_ k: KernelRun) {
    netcLinear(inFeatures: inFeatures, outFeatures: outFeatures, batch: k.batch, input: k.x, inStride: k.xs,
               weight: k.weight!, bias: k.bias, output: k.y, outStride: k.ys, act: k.act, slope: k.slope)
  }
  public func runText(_ k: KernelCallText) -> String {
    "netcLinear(inFeatures: \(inFeatures), outFeatures: \(outFeatures), batch: batch, \(k.x), weight: \(k.weight)!, bias: \(k.bias), \(k.y), \(k.epilogue))"
  }
}

// Views: lowering makes them aliases of their input, so no kernel ever runs them.
extension FlattenOp {
  public func run(_ k: KernelRun) { unreachable(self) }
  public func runText(_ k: KernelCallText) -> String { unreachable(self) }
}

extension DropoutOp {
  public func run(_ k: KernelRun) { unreachable(self) }
  public func runText(_ k: KernelCallText) -> String { unreachable(self) }
}
