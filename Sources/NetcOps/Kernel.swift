import NetcKernels

// How an operation binds its kernel (NetcKernels): the interpreter calls it, and the Swift emitter writes
// the same call as text. Each operation writes both forms side by side, so that they cannot drift apart;
// the parity tests run both on every spec.

/// A lowered node as its kernel sees it.
public struct KernelNode: Sendable {
  public var inputShapes: [Shape]
  public var outputShape: Shape
  /// Its tensors' canonical prefix (`conv3`), if it has any.
  public var weights: String?
  /// A batch norm folded into its weights.
  public var batchNorm: BatchNormRef?
  public init(inputShapes: [Shape], outputShape: Shape, weights: String?, batchNorm: BatchNormRef?) {
    self.inputShapes = inputShapes
    self.outputShape = outputShape
    self.weights = weights
    self.batchNorm = batchNorm
  }

  public var input: Shape { inputShapes[0] }
  /// The tensors' prefix of a node that has tensors.
  public var name: String {
    guard let weights else { preconditionFailure("netc internal error: a node with parameters has no tensor names") }
    return weights
  }
  public var netcBatchNorm: NetcBatchNorm? {
    batchNorm.map { NetcBatchNorm(name: $0.name, eps: $0.eps, affine: $0.affine) }
  }
  public var netcBatchNormText: String {
    guard let bn = batchNorm else { return "nil" }
    return "NetcBatchNorm(name: \"\(bn.name)\", eps: \(bn.eps), affine: \(bn.affine))"
  }
}

/// A buffer of the arena: a batch of items, one every `stride` floats.
public struct KernelBuffer {
  public var data: UnsafeMutablePointer<Float>
  public var stride: Int
  public init(_ data: UnsafeMutablePointer<Float>, stride: Int) {
    self.data = data
    self.stride = stride
  }
}

/// Everything one node's kernel call reads and writes in the interpreter. Made once, when the interpreter
/// is made (the arena and the weights do not move), so that a run allocates nothing.
public struct KernelRun {
  public var node: KernelNode
  public var batch: Int
  public var inputs: [KernelBuffer]
  public var output: KernelBuffer
  public var residual: KernelBuffer?
  /// Its prepared weights (NetcPreparedWeights).
  public var weight: UnsafeMutablePointer<Float>?
  public var bias: UnsafeMutablePointer<Float>?
  /// The fused activation: its `NetcAct` code and parameter.
  public var act: Int
  public var slope: Float
  public var scratch: UnsafeMutablePointer<Float>
  /// The inputs as netcElementwise takes them, made with the rest.
  public var elementwiseInputs: [(UnsafePointer<Float>, Int, [Int])]

  public init(node: KernelNode, batch: Int, inputs: [KernelBuffer], output: KernelBuffer, residual: KernelBuffer?,
              weight: UnsafeMutablePointer<Float>?, bias: UnsafeMutablePointer<Float>?, act: Int, slope: Float,
              scratch: UnsafeMutablePointer<Float>) {
    self.node = node
    self.batch = batch
    self.inputs = inputs
    self.output = output
    self.residual = residual
    self.weight = weight
    self.bias = bias
    self.act = act
    self.slope = slope
    self.scratch = scratch
    elementwiseInputs = zip(inputs, node.inputShapes).map { (UnsafePointer($0.data), $0.stride, $1.storageDims) }
  }

  public var x: UnsafeMutablePointer<Float> { inputs[0].data }
  public var xs: Int { inputs[0].stride }
  public var y: UnsafeMutablePointer<Float> { output.data }
  public var ys: Int { output.stride }
}

/// The same call as the emitted Swift writes it: pointers are expressions of the arena `a` and the batch
/// (`a + 3 * batch + 128`), weights `w[i]` and `b[i]`.
public struct KernelCallText {
  public var node: KernelNode
  public var inputs: [(data: String, stride: Int)]
  public var output: (data: String, stride: Int)
  public var residual: (data: String, stride: Int)?
  public var weight: String
  public var bias: String
  public var act: Int
  public var slope: Float
  public init(node: KernelNode, inputs: [(data: String, stride: Int)], output: (data: String, stride: Int),
              residual: (data: String, stride: Int)?, weight: String, bias: String, act: Int, slope: Float) {
    self.node = node
    self.inputs = inputs
    self.output = output
    self.residual = residual
    self.weight = weight
    self.bias = bias
    self.act = act
    self.slope = slope
  }

  /// `input: a + 0 * batch + 0, inStride: 784`
  public var x: String { "input: \(inputs[0].data), inStride: \(inputs[0].stride)" }
  /// `output: a + 1 * batch + 0, outStride: 4704`
  public var y: String { "output: \(output.data), outStride: \(output.stride)" }
  /// `act: 1, slope: 0.0`
  public var epilogue: String { "act: \(act), slope: \(slope)" }
  /// `residual: a + ..., resStride: ...`, or none.
  public var residualArguments: String {
    residual.map { "residual: \($0.data), resStride: \($0.stride)" } ?? "residual: nil, resStride: 0"
  }
}

/// What an operation's kernel binding is. Operations without parameters keep the defaults for `prepare`;
/// every operation that computes writes `run` and `runText` side by side.
public protocol KernelBinding {
  /// Its weights read from `reader` and made ready for its kernel, appended to `weights` (one layer per
  /// node, `appendNone` where it has none).
  func prepare(_ weights: NetcPreparedWeights, _ reader: any NetcTensorReader, _ node: KernelNode) throws -> NetcPreparedLayer
  /// The same, as the emitted Swift writes it (`p` the NetcPreparedWeights, `t` the weight file).
  func prepareText(_ node: KernelNode) -> String
  /// The scratch floats its kernel needs, and the same as an expression of the emitted Swift (nil: none).
  func scratchFloats(_ node: KernelNode) -> Int
  func scratchText(_ node: KernelNode) -> String?
  /// Runs its kernel on a batch.
  func run(_ k: KernelRun)
  /// The same call, as the emitted Swift writes it.
  func runText(_ k: KernelCallText) -> String
}

extension KernelBinding {
  public func prepare(_ weights: NetcPreparedWeights, _ reader: any NetcTensorReader, _ node: KernelNode) throws -> NetcPreparedLayer {
    weights.appendNone()
  }
  public func prepareText(_ node: KernelNode) -> String { "p.appendNone()" }
  public func scratchFloats(_ node: KernelNode) -> Int { 0 }
  public func scratchText(_ node: KernelNode) -> String? { nil }
}

extension NetcConvGeometry {
  /// As the emitted Swift writes it.
  public var literal: String {
    "NetcConvGeometry(inC: \(inC), inH: \(inH), inW: \(inW), outC: \(outC), outH: \(outH), outW: \(outW), kH: \(kH), kW: \(kW), sH: \(sH), sW: \(sW), padT: \(padT), padL: \(padL), dH: \(dH), dW: \(dW), groups: \(groups))"
  }
}

/// For views, which lowering turns into aliases: they never reach a kernel.
extension KernelBinding {
  public func unreachable(_ what: Any) -> Never {
    preconditionFailure("netc internal error: \(what) is a view and has no kernel")
  }
}

extension KernelRun {
  /// y = act(x * scale[c] + shift[c] (+ residual)): a batch norm that had nothing to fold into, a layer
  /// scale (with its block's residual), or a bare activation; on the channels-first storage of a map in
  /// either order.
  public func channelAffine() {
    let (channels, pixels) = node.input.channelsAndPixels
    netcChannelAffine(channels: channels, pixels: pixels, batch: batch, scale: weight, shift: bias,
                      input: self.x, inStride: xs, output: y, outStride: ys, act: act, slope: slope,
                      residual: residual.map { UnsafePointer($0.data) }, resStride: residual?.stride ?? 0)
  }
}

extension KernelCallText {
  public func channelAffine() -> String {
    let (channels, pixels) = node.input.channelsAndPixels
    let r = residual == nil ? "" : ", \(residualArguments)"
    return "netcChannelAffine(channels: \(channels), pixels: \(pixels), batch: batch, scale: \(weight), shift: \(bias), \(self.x), \(y), \(epilogue)\(r))"
  }
}
