import Dispatch
import NetcBasic
import NetcOps
import NetcIR
import NetcKernels
import NetcTensors
import NetcSema

/// Why an interpreter cannot be made or cannot run an input. The message says what and by how much,
/// without a final period.
public struct InterpreterError: Error, CustomStringConvertible {
  public enum Kind: Sendable {
    /// The system refused memory the network needs.
    case outOfMemory
    /// The network at this batch needs more memory than the limit it was given.
    case overLimit
    /// The input does not hold the batch the interpreter was made for.
    case wrongInput
  }

  public var kind: Kind
  public var message: String
  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }
  public var description: String { message }

  /// The error for `floats` floats for `what` that the system refused: "cannot allocate 4,096 bytes for
  /// the input".
  public static func outOfMemory(_ floats: Int, for what: String) -> InterpreterError {
    let (bytes, overflow) = max(1, floats).multipliedReportingOverflow(by: 4)
    return InterpreterError(.outOfMemory, "cannot allocate \(overflow ? "more than 2^63" : grouped(bytes)) bytes for \(what)")
  }
}

/// Floats from netcTryAllocateFloats, zeroed, released with the buffer: for every buffer whose size comes
/// from a network or a batch, where running out of memory must be an error rather than a trap.
public final class FloatBuffer {
  public let base: UnsafeMutablePointer<Float>
  public let count: Int

  /// `what` names the buffer in the error ("the input", "weight tensor 'conv1.weight'").
  public init(count: Int, for what: @autoclosure () -> String) throws {
    guard count >= 0, let p = netcTryAllocateFloats(count) else { throw InterpreterError.outOfMemory(count, for: what()) }
    base = p
    self.count = count
  }

  deinit { netcRelease(base) }

  public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: base, count: count) }
}

/// Runs a lowered graph with netc's kernels. Everything is allocated once, in `init`, and sized and
/// checked against the memory limit before anything is: the activation arena (the buffer plan, scaled by
/// the batch), the convolutions' scratch and the prepared weights (NetcKernels' NetcPreparedWeights, as
/// the emitted Swift prepares them: batch norm folded in, convolution weights packed). Memory the system
/// refuses is an `InterpreterError`, never a trap. `runInPlace` allocates nothing; `run` only its result
/// arrays.
public final class Interpreter {
  public let graph: LoweredGraph
  public let plan: BufferPlan
  public let batch: Int
  /// Floats of one input item, and of the whole batch that `run`, `runInPlace` and `profile` take.
  public let inputItemCount: Int
  public let inputCount: Int
  private let arenaBuffer: FloatBuffer
  private let scratchBuffer: FloatBuffer
  private let arena: UnsafeMutablePointer<Float>
  private let scratch: UnsafeMutablePointer<Float>
  /// Each node's kernel call, with every pointer fixed when the interpreter is made; nil for a
  /// concatenation done in place, which its inputs already wrote.
  private var calls: [(op: any Operation, run: KernelRun)?] = []
  /// Owns the prepared weights that `calls` point into.
  private let weights = NetcPreparedWeights(outOfMemory: { InterpreterError.outOfMemory($0, for: $1) })

  /// Largest arena netc allocates unless told otherwise: 16 GiB of floats.
  public static let defaultMemoryLimit = 16 << 30

  public convenience init(graph: LoweredGraph, plan: BufferPlan, weights: [String: [Float]], batch: Int,
                          memoryLimit: Int = Interpreter.defaultMemoryLimit) throws {
    try self.init(graph: graph, plan: plan, weights: WeightDictionary(weights), batch: batch, memoryLimit: memoryLimit)
  }

  /// Floats of the arena and of the convolutions' scratch at `batch`; nil if they do not fit an Int's
  /// bytes. Computes without allocating, so a caller can check its whole budget first.
  public static func activationFloats(graph: LoweredGraph, plan: BufferPlan, batch: Int) -> (arena: Int, scratch: Int)? {
    let scratch = graph.nodes.reduce(0) { size, n in max(size, n.op.scratchFloats(kernelNode(n, graph))) }
    let (arena, o1) = plan.arenaSize.multipliedReportingOverflow(by: max(1, batch))
    let (floats, o2) = arena.addingReportingOverflow(scratch)
    let (_, o3) = floats.multipliedReportingOverflow(by: 4)
    return o1 || o2 || o3 ? nil : (arena, scratch)
  }

  /// Bytes of activations (arena and scratch) at `batch`; nil if they do not fit an Int.
  public static func activationBytes(graph: LoweredGraph, plan: BufferPlan, batch: Int) -> Int? {
    activationFloats(graph: graph, plan: plan, batch: batch).map { ($0.arena + $0.scratch) * 4 }
  }

  /// Each weight is asked for when its layer is prepared: from a `WeightSource`, at most one tensor of the
  /// file is in memory beside the prepared weights, and a tensor used as it is goes straight into its
  /// final buffer.
  public init(graph: LoweredGraph, plan: BufferPlan, weights: some WeightProvider, batch: Int,
              memoryLimit: Int = Interpreter.defaultMemoryLimit) throws {
    guard batch >= 1 else { throw InterpreterError(.wrongInput, "the batch must be at least 1, found \(batch)") }
    self.graph = graph
    self.plan = plan
    self.batch = batch
    inputItemCount = graph.shapes[graph.input].elementCount
    // The input is a slice of the arena, so its count fits wherever the arena's does.
    let sizes = Self.activationFloats(graph: graph, plan: plan, batch: batch)
    guard let sizes, (sizes.arena + sizes.scratch) * 4 <= memoryLimit else {
      let needed = sizes.map { grouped(($0.arena + $0.scratch) * 4) } ?? "more than 2^63"
      throw InterpreterError(.overLimit, "running this network at batch \(batch) needs \(needed) bytes of activations, above the limit of \(grouped(memoryLimit)) bytes")
    }
    inputCount = inputItemCount * batch
    arenaBuffer = try FloatBuffer(count: max(1, sizes.arena), for: "the activations at batch \(batch)")
    scratchBuffer = try FloatBuffer(count: max(1, sizes.scratch), for: "the convolutions' scratch")
    arena = arenaBuffer.base
    scratch = scratchBuffer.base
    for n in graph.nodes {
      let node = Self.kernelNode(n, graph)
      let layer = try n.op.prepare(self.weights, weights, node)
      let (act, slope) = Self.activation(n.activation)
      calls.append(graph.inPlaceConcats.contains(n.output) ? nil : (n.op, KernelRun(
        node: node, batch: batch, inputs: n.inputs.map(buffer), output: buffer(n.output), residual: n.residual.map(buffer),
        weight: layer.weight, bias: layer.bias, act: act, slope: slope, scratch: scratch)))
    }
  }

  /// The kernels' epilogue code and parameter of an activation.
  public static func activation(_ a: Activation?) -> (Int, Float) {
    guard let a else { return (NetcAct.none, 0) }
    return (a.function.kernelCode, Float(a.parameter))
  }

  /// A node as its operation's kernel binding sees it.
  public static func kernelNode(_ n: Node, _ g: LoweredGraph) -> KernelNode {
    KernelNode(inputShapes: n.inputs.map { g.shapes[$0] }, outputShape: g.shapes[n.output], weights: n.weights,
               batchNorm: n.batchNorm)
  }

  private func buffer(_ v: Int) -> KernelBuffer {
    let (p, stride) = pointer(v)
    return KernelBuffer(p, stride: stride)
  }

  private func pointer(_ v: Int) -> (UnsafeMutablePointer<Float>, Int) {
    let p = plan.placement(of: v, in: graph)
    return (arena + p.base * batch + p.itemOffset, p.itemStride)
  }

  /// The input's start if it holds exactly one batch; the kernels check nothing (-Ounchecked), so a short
  /// input would be read past its end.
  private func checked(_ input: UnsafeBufferPointer<Float>) throws -> UnsafePointer<Float> {
    guard input.count == inputCount, let base = input.baseAddress else {
      let item = graph.shapes[graph.input]
      throw InterpreterError(.wrongInput, "the input holds \(grouped(input.count)) values; a batch of \(batch) of \(item) takes \(grouped(inputCount))")
    }
    return base
  }

  /// Runs one batch. `input` holds `batch` items of the input shape, contiguous; returns each output's
  /// `batch` items, contiguous. The arrays are allocated here: for outputs too large to copy, use
  /// `runInPlace` and `output(_:item:)`.
  public func run(_ input: UnsafeBufferPointer<Float>) throws -> [[Float]] {
    try runInPlace(input)
    return graph.outputs.indices.map { o in
      let size = graph.shapes[graph.outputs[o]].elementCount
      var out = [Float](repeating: 0, count: size * batch)
      out.withUnsafeMutableBufferPointer { buf in
        for b in 0..<batch { (buf.baseAddress! + b * size).update(from: output(o, item: b).baseAddress!, count: size) }
      }
      return out
    }
  }

  public func run(_ input: [Float]) throws -> [[Float]] {
    try input.withUnsafeBufferPointer { try run($0) }
  }

  /// Item `item` of output `index` (of `graph.outputs`) as the last run left it in the arena: valid until
  /// the next run.
  public func output(_ index: Int, item: Int) -> UnsafeBufferPointer<Float> {
    // A check that stays in this module's -Ounchecked build, where a precondition would not.
    guard graph.outputs.indices.contains(index), (0..<batch).contains(item) else {
      fatalError("netc internal error: output \(index), item \(item) of \(graph.outputs.count) outputs of \(batch) items")
    }
    let o = graph.outputs[index]
    let (y, ys) = pointer(o)
    return UnsafeBufferPointer(start: y + item * ys, count: graph.shapes[o].elementCount)
  }

  /// Runs one batch and leaves the outputs in the arena: the allocation-free path.
  public func runInPlace(_ input: UnsafeBufferPointer<Float>) throws {
    let input = try checked(input)
    NetcThreadPool.shared.wakeUp()
    copyIn(input)
    for case let call? in calls { call.op.run(call.run) }
  }

  /// Runs one batch like `runInPlace` and returns each node's time in nanoseconds.
  public func profile(_ input: UnsafeBufferPointer<Float>) throws -> [UInt64] {
    let input = try checked(input)
    NetcThreadPool.shared.wakeUp()
    copyIn(input)
    var times: [UInt64] = []
    times.reserveCapacity(graph.nodes.count)
    for call in calls {
      let t0 = DispatchTime.now().uptimeNanoseconds
      if let call { call.op.run(call.run) }
      times.append(DispatchTime.now().uptimeNanoseconds - t0)
    }
    return times
  }

  private func copyIn(_ input: UnsafePointer<Float>) {
    let (x, xs) = pointer(graph.input)
    for b in 0..<batch { (x + b * xs).update(from: input + b * inputItemCount, count: inputItemCount) }
  }
}
