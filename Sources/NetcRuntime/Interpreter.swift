import Dispatch
import NetcBasic
import NetcIR
import NetcTensors
import NetcSema

/// Runs a lowered graph with netc's kernels. Everything is allocated once, in `init`: the activation arena
/// (the buffer plan, scaled by the batch), the GEMM workers' panels and the prepared weights (batch norm
/// folded in, convolution weights packed). `runInPlace` allocates nothing; `run` only its result arrays.
public final class Interpreter {
  public let graph: LoweredGraph
  public let plan: BufferPlan
  public let batch: Int
  private let arena: UnsafeMutablePointer<Float>
  private let arenaCount: Int
  private let scratch: UnsafeMutablePointer<Float>
  private var prepared: [Prepared] = []
  private var owned: [UnsafeMutablePointer<Float>] = []

  /// Largest arena netc allocates unless told otherwise: 16 GiB of floats.
  public static let defaultMemoryLimit = 16 << 30

  struct Prepared {
    var weight: UnsafeMutablePointer<Float>?
    var bias: UnsafeMutablePointer<Float>?
    var act = 0
    var slope: Float = 0
  }

  public convenience init(graph: LoweredGraph, plan: BufferPlan, weights: [String: [Float]], batch: Int,
                          memoryLimit: Int = Interpreter.defaultMemoryLimit) throws {
    try self.init(graph: graph, plan: plan, weights: WeightDictionary(weights), batch: batch, memoryLimit: memoryLimit)
  }

  /// Each weight is asked for when its layer is prepared: from a `WeightSource`, at most one tensor of the
  /// file is in memory beside the prepared weights, and a tensor used as it is goes straight into its
  /// final buffer.
  public init(graph: LoweredGraph, plan: BufferPlan, weights: some WeightProvider, batch: Int,
              memoryLimit: Int = Interpreter.defaultMemoryLimit) throws {
    self.graph = graph
    self.plan = plan
    self.batch = batch
    let scratchSize = graph.nodes.reduce(0) { size, n in
      guard case .conv(let a, _, _, _) = n.kind, !a.transposed else { return size }
      return max(size, netcConvScratch(Self.geometry(n, a, graph)))
    }
    let (count, o1) = plan.arenaSize.multipliedReportingOverflow(by: batch)
    let (floats, o2) = count.addingReportingOverflow(scratchSize)
    let (bytes, o3) = floats.multipliedReportingOverflow(by: 4)
    guard !o1, !o2, !o3, bytes <= memoryLimit else {
      let needed = o1 || o2 || o3 ? "more than 2^63" : "\(bytes)"
      throw TensorFileError("running this network at batch \(batch) needs \(needed) bytes of activations, above the limit of \(memoryLimit)")
    }
    arenaCount = count
    arena = netcAllocateFloats(max(1, count))
    scratch = netcAllocateFloats(max(1, scratchSize))
    for n in graph.nodes { prepared.append(try prepare(n, weights)) }
  }

  deinit {
    netcRelease(arena)
    netcRelease(scratch)
    for p in owned { netcRelease(p) }
  }

  /// A tensor read straight into a buffer of its own.
  private func readOwned(_ name: String, count: Int, _ w: some WeightProvider) throws -> UnsafeMutablePointer<Float> {
    let p = netcAllocateFloats(max(1, count))
    owned.append(p)
    try w.read(name, into: UnsafeMutableBufferPointer(start: p, count: count))
    return p
  }

  private func copyOwned(_ xs: [Float]) -> UnsafeMutablePointer<Float> {
    let p = netcAllocateFloats(max(1, xs.count))
    xs.withUnsafeBufferPointer { p.update(from: $0.baseAddress!, count: xs.count) }
    owned.append(p)
    return p
  }

  static func activation(_ a: Activation?) -> (Int, Float) {
    switch a {
    case nil: return (NetcAct.none, 0)
    case .relu: return (NetcAct.relu, 0)
    case .relu6: return (NetcAct.relu6, 0)
    case .sigmoid: return (NetcAct.sigmoid, 0)
    case .tanh: return (NetcAct.tanh, 0)
    case .silu: return (NetcAct.silu, 0)
    case .gelu: return (NetcAct.gelu, 0)
    case .leakyRelu(let s): return (NetcAct.leaky, Float(s))
    }
  }

  static func batchNormAffine(_ bn: BatchNormRef, _ w: some WeightProvider) throws -> (scale: [Float], shift: [Float]) {
    netcBatchNormAffine(mean: try w.tensor("\(bn.name).running_mean"), variance: try w.tensor("\(bn.name).running_var"),
                        gamma: bn.affine ? try w.tensor("\(bn.name).weight") : nil,
                        beta: bn.affine ? try w.tensor("\(bn.name).bias") : nil, eps: bn.eps)
  }

  private func prepare(_ n: Node, _ w: some WeightProvider) throws -> Prepared {
    var p = Prepared()
    (p.act, p.slope) = Self.activation(n.activation)
    switch n.kind {
    case .conv(let a, let name, let hasBias, let bn):
      var weight = try w.tensor("\(name).weight")
      var bias = hasBias ? try w.tensor("\(name).bias") : nil
      if let bn {
        let (scale, shift) = try Self.batchNormAffine(bn, w)
        let kk = a.kernel.h * a.kernel.w
        (weight, bias) = netcFold(weight: weight, bias: bias, scale: scale, shift: shift, transposed: a.transposed,
                                  inChannels: a.inChannels, outChannels: a.outChannels, groups: a.groups, kernel: kk)
      }
      if a.transposed {
        p.weight = copyOwned(weight)
      } else {
        let g = Self.geometry(n, a, graph)
        p.weight = copyOwned(weight.withUnsafeBufferPointer { netcConvWeights($0.baseAddress!, g) })
      }
      p.bias = bias.map(copyOwned)
    case .linear(let inF, let outF, let name, let hasBias, let bn):
      guard let bn else {
        // The largest tensors of most networks (VGG's first fully connected layer: 411 MB) go to their
        // buffer directly.
        p.weight = try readOwned("\(name).weight", count: inF * outF, w)
        p.bias = hasBias ? try readOwned("\(name).bias", count: outF, w) : nil
        return p
      }
      let (scale, shift) = try Self.batchNormAffine(bn, w)
      let (weight, bias) = netcFold(weight: try w.tensor("\(name).weight"), bias: hasBias ? try w.tensor("\(name).bias") : nil,
                                    scale: scale, shift: shift, transposed: false, inChannels: inF, outChannels: outF,
                                    groups: 1, kernel: 1)
      p.weight = copyOwned(weight)
      p.bias = copyOwned(bias)
    case .batchNorm(let bn):
      let (scale, shift) = try Self.batchNormAffine(bn, w)
      p.weight = copyOwned(scale)
      p.bias = copyOwned(shift)
    default: break
    }
    return p
  }

  /// The kernels' view of a convolution node; the Swift emitter writes the same values as constants.
  public static func geometry(_ n: Node, _ a: ConvAttrs, _ g: LoweredGraph) -> NetcConvGeometry {
    let x = g.shapes[n.inputs[0]], y = g.shapes[n.output]
    return NetcConvGeometry(inC: x.dims[0], inH: x.dims[1], inW: x.dims[2], outC: y.dims[0], outH: y.dims[1],
                            outW: y.dims[2], kH: a.kernel.h, kW: a.kernel.w, sH: a.stride.h, sW: a.stride.w,
                            padT: a.padTop, padL: a.padLeft, dH: a.dilation.h, dW: a.dilation.w, groups: a.groups)
  }

  private func pointer(_ v: Int) -> (UnsafeMutablePointer<Float>, Int) {
    let p = plan.placement(of: v, in: graph)
    return (arena + p.base * batch + p.itemOffset, p.itemStride)
  }

  /// Runs one batch. `input` holds `batch` items of the input shape, contiguous; returns each output's
  /// `batch` items, contiguous.
  public func run(_ input: UnsafePointer<Float>) -> [[Float]] {
    runInPlace(input)
    return graph.outputs.map { o in
      let (y, ys) = pointer(o)
      let size = graph.shapes[o].elementCount
      var out = [Float](repeating: 0, count: size * batch)
      out.withUnsafeMutableBufferPointer { buf in
        for b in 0..<batch { (buf.baseAddress! + b * size).update(from: y + b * ys, count: size) }
      }
      return out
    }
  }

  /// Runs one batch and leaves the outputs in the arena: the allocation-free path.
  public func runInPlace(_ input: UnsafePointer<Float>) {
    NetcThreadPool.shared.wakeUp()
    let (x, xs) = pointer(graph.input)
    let itemSize = graph.shapes[graph.input].elementCount
    for b in 0..<batch { (x + b * xs).update(from: input + b * itemSize, count: itemSize) }
    for (i, n) in graph.nodes.enumerated() { execute(n, prepared[i]) }
  }

  /// Runs one batch like `runInPlace` and returns each node's time in nanoseconds.
  public func profile(_ input: UnsafePointer<Float>) -> [UInt64] {
    NetcThreadPool.shared.wakeUp()
    let (x, xs) = pointer(graph.input)
    let itemSize = graph.shapes[graph.input].elementCount
    for b in 0..<batch { (x + b * xs).update(from: input + b * itemSize, count: itemSize) }
    var times: [UInt64] = []
    times.reserveCapacity(graph.nodes.count)
    for (i, n) in graph.nodes.enumerated() {
      let t0 = DispatchTime.now().uptimeNanoseconds
      execute(n, prepared[i])
      times.append(DispatchTime.now().uptimeNanoseconds - t0)
    }
    return times
  }

  public func run(_ input: [Float]) -> [[Float]] {
    input.withUnsafeBufferPointer { run($0.baseAddress!) }
  }

  private func execute(_ n: Node, _ p: Prepared) {
    if graph.inPlaceConcats.contains(n.output) { return }
    let (y, ys) = pointer(n.output)
    let (x, xs) = pointer(n.inputs[0])
    let inShape = graph.shapes[n.inputs[0]], outShape = graph.shapes[n.output]
    switch n.kind {
    case .conv(let a, _, _, _):
      let g = Self.geometry(n, a, graph)
      let r = n.residual.map { pointer($0) }
      if a.transposed {
        netcConvTranspose2d(g, batch: batch, input: x, inStride: xs, weight: p.weight!, bias: p.bias,
                            residual: r.map { UnsafePointer($0.0) }, resStride: r?.1 ?? 0, output: y, outStride: ys,
                            act: p.act, slope: p.slope)
      } else {
        netcConv2d(g, batch: batch, input: x, inStride: xs, packedWeight: p.weight!, bias: p.bias,
                   residual: r.map { UnsafePointer($0.0) }, resStride: r?.1 ?? 0, output: y, outStride: ys,
                   act: p.act, slope: p.slope, scratch: scratch)
      }
    case .linear(let inF, let outF, _, _, _):
      netcLinear(inFeatures: inF, outFeatures: outF, batch: batch, input: x, inStride: xs, weight: p.weight!,
                 bias: p.bias, output: y, outStride: ys, act: p.act, slope: p.slope)
    case .batchNorm, .activation:
      let c = inShape.dims[0]
      netcChannelAffine(channels: c, pixels: inShape.elementCount / c, batch: batch, scale: p.weight, shift: p.bias,
                        input: x, inStride: xs, output: y, outStride: ys, act: p.act, slope: p.slope)
    case .pool(let a):
      let g = NetcConvGeometry(inC: inShape.dims[0], inH: inShape.dims[1], inW: inShape.dims[2], outC: outShape.dims[0],
                               outH: outShape.dims[1], outW: outShape.dims[2], kH: a.kernel.h, kW: a.kernel.w,
                               sH: a.stride.h, sW: a.stride.w, padT: a.pad.h, padL: a.pad.w, dH: a.dilation.h,
                               dW: a.dilation.w, groups: 1)
      netcPool(g, isMax: a.kind == .max, countIncludePad: a.countIncludePad, batch: batch, input: x, inStride: xs,
               output: y, outStride: ys, act: p.act, slope: p.slope)
    case .adaptivePool(let k, let oh, let ow):
      netcAdaptivePool(channels: inShape.dims[0], inH: inShape.dims[1], inW: inShape.dims[2], outH: oh, outW: ow,
                       isMax: k == .max, batch: batch, input: x, inStride: xs, output: y, outStride: ys,
                       act: p.act, slope: p.slope)
    case .lrn(let size, let alpha, let beta, let k):
      netcLRN(channels: inShape.dims[0], pixels: inShape.elementCount / inShape.dims[0], size: size, alpha: Float(alpha),
              beta: Float(beta), k: Float(k), batch: batch, input: x, inStride: xs, output: y, outStride: ys,
              act: p.act, slope: p.slope)
    case .upsample(let mode, let align, let sh, let sw):
      netcUpsample(channels: inShape.dims[0], inH: inShape.dims[1], inW: inShape.dims[2], outH: outShape.dims[1],
                   outW: outShape.dims[2], bilinear: mode == .bilinear, alignCorners: align, scaleH: sh, scaleW: sw,
                   batch: batch, input: x, inStride: xs, output: y, outStride: ys, act: p.act, slope: p.slope)
    case .softmax:
      let c = inShape.dims[0]
      netcSoftmax(channels: c, pixels: inShape.elementCount / c, batch: batch, input: x, inStride: xs, output: y, outStride: ys)
    case .add, .mul:
      let ins = n.inputs.map { v -> (UnsafePointer<Float>, Int, [Int]) in
        let (ptr, s) = pointer(v)
        return (UnsafePointer(ptr), s, graph.shapes[v].dims)
      }
      let isMul: Bool
      if case .mul = n.kind { isMul = true } else { isMul = false }
      netcElementwise(isMul: isMul, shape: outShape.dims, inputs: ins, batch: batch, output: y, outStride: ys,
                      act: p.act, slope: p.slope)
    case .concat:
      var offset = 0
      for v in n.inputs {
        let (ptr, s) = pointer(v)
        let count = graph.shapes[v].elementCount
        netcCopy(count: count, batch: batch, input: ptr, inStride: s, output: y + offset, outStride: ys)
        offset += count
      }
    }
  }
}
