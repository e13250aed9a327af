import NetcBasic
import NetcIR
import NetcSema

/// What `netc emit` gives every backend: the network lowered for inference (with its buffer plan), which
/// the Swift emitter, the plan file and the ONNX exporter read, and the network as checked, which the
/// PyTorch emitter reads: its module is for training as well as inference, so it needs what lowering
/// removes or rewrites for inference (dropout, batch norm as a module of its own rather than folded into
/// the weights before it). Both hold the same operations (NetcOps), which write each backend's code.
public struct BackendInput {
  public var network: CheckedNetwork
  public var graph: LoweredGraph
  public var plan: BufferPlan
  public var file: SourceFile
  /// The weights, for a backend that embeds them (`embedsWeights`); the others load them when they run.
  public var weights: [String: [Float]]?
  /// The Swift emitter's `--self-contained`.
  public var selfContained: Bool
  /// NetcKernels' files by name and text, which `--self-contained` writes after the network's class
  /// (the netc executable has them from NetcKernelSources).
  public var kernelSources: [(file: String, text: String)]
  /// netc's version, for the files that record their producer.
  public var version: String
  /// The name of the file a backend may write beside its output (ONNX's external data), relative to the
  /// output's directory; nil when the output goes to standard output, which has nothing beside it.
  public var sideFile: String?
  /// ONNX's `--external-data`: the weights in the side file even when the model could hold them.
  public var externalData: Bool
  /// A model must be smaller than this: protobuf's limit on one message, lowered by tests.
  public var sizeLimit = ONNXEmitter.maxModelBytes

  public init(network: CheckedNetwork, graph: LoweredGraph, plan: BufferPlan, file: SourceFile,
              weights: [String: [Float]]? = nil, selfContained: Bool = false,
              kernelSources: [(file: String, text: String)] = [], version: String,
              sideFile: String? = nil, externalData: Bool = false) {
    self.network = network
    self.graph = graph
    self.plan = plan
    self.file = file
    self.weights = weights
    self.selfContained = selfContained
    self.kernelSources = kernelSources
    self.version = version
    self.sideFile = sideFile
    self.externalData = externalData
  }
}

/// What a backend writes: its file, and for an ONNX model whose weights are not inside, the side file.
public struct BackendOutput {
  public var bytes: [UInt8]
  public var sideFile: ONNXSideFile?
  /// The model's size with its weights inside, when that is why they are in the side file.
  public var inlineSize: Int?

  init(_ bytes: [UInt8], sideFile: ONNXSideFile? = nil, inlineSize: Int? = nil) {
    self.bytes = bytes
    self.sideFile = sideFile
    self.inlineSize = inlineSize
  }
}

/// A target of `netc emit`.
public protocol Backend {
  /// Its name for `--target`.
  static var target: String { get }
  /// Whether the file holds the weights (then `emit` is given them).
  static var embedsWeights: Bool { get }
  /// The file's bytes. An operation the target cannot express is an `ONNXExportError` at its line.
  static func emit(_ input: BackendInput) throws -> BackendOutput
}

extension Backend {
  public static var embedsWeights: Bool { false }
}

/// Every backend, in the order `netc emit --help` lists them.
public enum Backends {
  public static let all: [any Backend.Type] = [SwiftEmitter.self, PyTorchEmitter.self, PlanFile.self, ONNXEmitter.self]

  public static func named(_ target: String) -> (any Backend.Type)? { all.first { $0.target == target } }
}

extension SwiftEmitter: Backend {
  public static let target = "swift"
  public static func emit(_ input: BackendInput) -> BackendOutput {
    BackendOutput(Array(emit(input.graph, input.plan, file: input.file,
                             kernelSources: input.selfContained ? input.kernelSources : nil).utf8))
  }
}

extension PyTorchEmitter: Backend {
  public static let target = "pytorch"
  public static func emit(_ input: BackendInput) -> BackendOutput { BackendOutput(Array(emit(input.network, file: input.file).utf8)) }
}

extension PlanFile: Backend {
  public static let target = "plan"
  public static func emit(_ input: BackendInput) -> BackendOutput {
    BackendOutput(Array(write(input.graph, input.plan, source: input.file).utf8))
  }
}

extension ONNXEmitter: Backend {
  public static let target = "onnx"
  public static var embedsWeights: Bool { true }
  public static func emit(_ input: BackendInput) throws -> BackendOutput {
    guard let weights = input.weights else { preconditionFailure("netc internal error: the ONNX exporter needs weights") }
    return try emit(input.graph, weights: weights, file: input.file, producerVersion: input.version,
                    sideFile: input.sideFile, externalData: input.externalData, sizeLimit: input.sizeLimit)
  }
}
