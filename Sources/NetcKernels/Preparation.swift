// A network's weights made ready for the kernels, once, when the network is loaded: netc's interpreter and
// the Swift that `netc emit` writes both call this, so both run on the same prepared values. A batch norm
// is folded into the convolution or linear layer before it, convolution weights are packed as netcConv2d
// reads them, and a batch norm with nothing to fold into becomes a per-channel scale and shift.

/// Tensors by name, decoded to f32 into buffers the caller gives, one at a time. NetcWeightFile is one;
/// netc's interpreter reads through NetcTensors' WeightProvider, which refines this.
public protocol NetcTensorReader {
  /// Writes tensor `name` into `out`, which must hold exactly its values; throws if there is no such
  /// tensor or it holds another number of values.
  func read(_ name: String, into out: UnsafeMutableBufferPointer<Float>) throws
}

/// A batch norm's tensors, `NAME.running_mean`, `NAME.running_var` and, if affine, `NAME.weight` and
/// `NAME.bias`, and its epsilon.
public struct NetcBatchNorm {
  public var name: String
  public var eps: Double
  public var affine: Bool
  public init(name: String, eps: Double, affine: Bool) {
    self.name = name
    self.eps = eps
    self.affine = affine
  }
}

/// One layer's prepared parameters as its kernel takes them; nil where it has none.
public struct NetcPreparedLayer {
  /// A convolution's packed weights, a transposed convolution's or linear layer's weights as stored
  /// (batch norm folded in), a standalone batch norm's per-channel scale, or a layer norm's weight or a
  /// layer scale as stored.
  public var weight: UnsafeMutablePointer<Float>?
  /// The bias (batch norm folded in), a standalone batch norm's per-channel shift, or a layer norm's bias.
  public var bias: UnsafeMutablePointer<Float>?
  public init(weight: UnsafeMutablePointer<Float>? = nil, bias: UnsafeMutablePointer<Float>? = nil) {
    self.weight = weight
    self.bias = bias
  }
}

/// The prepared weights of a network's layers, in buffers this object owns and releases. Layers are
/// appended in the network's order, one per node (`appendNone` for a node without weights), so that
/// `layers[i]` is node i's.
///
/// Tensors are read one at a time from a NetcTensorReader, and the largest ones, used as stored (a linear
/// or transposed convolution's weights: VGG's first fully connected layer holds 411 MB), straight into
/// their final buffer. Every buffer is sized from the layer's description, which the weights are checked
/// against as they are read, and comes from netcTryAllocateFloats: memory the system refuses is the
/// error that `outOfMemory` makes, never a trap. Temporaries (a convolution's weights before packing, the
/// batch-norm statistics) are released as soon as their layer is prepared.
public final class NetcPreparedWeights {
  public private(set) var layers: [NetcPreparedLayer] = []
  private var owned: [UnsafeMutablePointer<Float>] = []
  private let outOfMemory: (_ floats: Int, _ what: String) -> any Error

  /// `outOfMemory` makes the error thrown when `floats` floats for `what` ("weight tensor 'fc1.weight'",
  /// "the packed weights of 'conv1'") cannot be had; `floats` is Int.max when the count does not fit an Int.
  public init(outOfMemory: @escaping (_ floats: Int, _ what: String) -> any Error = NetcPreparedWeights.cannotAllocate) {
    self.outOfMemory = outOfMemory
  }

  deinit { for p in owned { netcRelease(p) } }

  /// The default error: "cannot allocate 1073741824 bytes for weight tensor 'fc1.weight'".
  public static func cannotAllocate(_ floats: Int, _ what: String) -> any Error {
    let (bytes, overflow) = max(1, floats).multipliedReportingOverflow(by: 4)
    return NetcWeightError("cannot allocate \(overflow ? "more than 2^63" : String(bytes)) bytes for \(what)")
  }

  /// `count` zeroed floats, 64-byte aligned, kept as long as this object.
  public func allocate(_ count: Int, for what: @autoclosure () -> String) throws -> UnsafeMutablePointer<Float> {
    let p = try temporary(count, for: what())
    owned.append(p)
    return p
  }

  /// `count` zeroed floats that the caller releases with netcRelease.
  private func temporary(_ count: Int, for what: @autoclosure () -> String) throws -> UnsafeMutablePointer<Float> {
    guard count >= 0, let p = netcTryAllocateFloats(count) else { throw outOfMemory(count, what()) }
    return p
  }

  /// A convolution's weights (`NAME.weight`: [outC][inC/groups][kH][kW], or [inC][outC/groups][kH][kW] when
  /// transposed) and bias (`NAME.bias` if `hasBias`), with batch norm `batchNorm` folded in; a
  /// convolution's weights packed for netcConv2d, a transposed one's as stored for netcConvTranspose2d.
  @discardableResult
  public func appendConv(_ reader: some NetcTensorReader, name: String, hasBias: Bool, batchNorm bn: NetcBatchNorm?,
                         geometry g: NetcConvGeometry, transposed: Bool) throws -> NetcPreparedLayer {
    let count = netcProduct([transposed ? g.inC : g.outC, (transposed ? g.outC : g.inC) / g.groups, g.kH, g.kW])
    // Packed weights are a new buffer, and the tensor as stored a temporary; a transposed convolution
    // keeps the tensor.
    let weight = transposed ? try allocate(count, for: "weight tensor '\(name).weight'")
      : try temporary(count, for: "weight tensor '\(name).weight'")
    defer { if !transposed { netcRelease(weight) } }
    try read(reader, "\(name).weight", into: weight, count: count)
    let bias = try bias(reader, name, hasBias: hasBias, folding: bn != nil, channels: g.outC)
    if let bn, let bias {
      try fold(reader, bn, into: UnsafeMutableBufferPointer(start: weight, count: count), bias: bias, layer: name,
               transposed: transposed, inChannels: g.inC, outChannels: g.outC, groups: g.groups, kernel: g.kH * g.kW)
    }
    var layer = NetcPreparedLayer(weight: weight, bias: bias)
    if !transposed {
      let packed = try allocate(netcConvWeightsCount(g), for: "the packed weights of '\(name)'")
      netcConvWeights(weight, g, into: packed)
      layer.weight = packed
    }
    layers.append(layer)
    return layer
  }

  /// A linear layer's weights (`NAME.weight`: [outFeatures][inFeatures]) and bias (`NAME.bias` if
  /// `hasBias`), with batch norm `batchNorm` folded in, for netcLinear.
  @discardableResult
  public func appendLinear(_ reader: some NetcTensorReader, name: String, hasBias: Bool, batchNorm bn: NetcBatchNorm?,
                           inFeatures: Int, outFeatures: Int) throws -> NetcPreparedLayer {
    let count = netcProduct([outFeatures, inFeatures])
    let weight = try allocate(count, for: "weight tensor '\(name).weight'")
    try read(reader, "\(name).weight", into: weight, count: count)
    let bias = try bias(reader, name, hasBias: hasBias, folding: bn != nil, channels: outFeatures)
    if let bn, let bias {
      try fold(reader, bn, into: UnsafeMutableBufferPointer(start: weight, count: count), bias: bias, layer: name,
               transposed: false, inChannels: inFeatures, outChannels: outFeatures, groups: 1, kernel: 1)
    }
    let layer = NetcPreparedLayer(weight: weight, bias: bias)
    layers.append(layer)
    return layer
  }

  /// A batch norm with no layer to fold into, as a per-channel scale (`weight`) and shift (`bias`) for
  /// netcChannelAffine.
  @discardableResult
  public func appendBatchNorm(_ reader: some NetcTensorReader, _ bn: NetcBatchNorm, channels: Int) throws -> NetcPreparedLayer {
    let scale = try allocate(channels, for: "batch norm '\(bn.name)'")
    let shift = try allocate(channels, for: "batch norm '\(bn.name)'")
    try batchNormAffine(reader, bn, channels: channels, scale: scale, shift: shift)
    let layer = NetcPreparedLayer(weight: scale, bias: shift)
    layers.append(layer)
    return layer
  }

  /// A layer whose tensors its kernel uses as stored, one value per channel: a layer norm's `weight` and
  /// `bias`, a layer scale's `layer_scale` (as the weight, without a bias). Each name, when given, must
  /// hold `channels` values.
  @discardableResult
  public func appendPerChannel(_ reader: some NetcTensorReader, weight: String?, bias: String?, channels: Int) throws
    -> NetcPreparedLayer
  {
    func tensor(_ name: String?) throws -> UnsafeMutablePointer<Float>? {
      guard let name else { return nil }
      let p = try allocate(channels, for: "weight tensor '\(name)'")
      try read(reader, name, into: p, count: channels)
      return p
    }
    let layer = NetcPreparedLayer(weight: try tensor(weight), bias: try tensor(bias))
    layers.append(layer)
    return layer
  }

  /// A node without weights.
  @discardableResult
  public func appendNone() -> NetcPreparedLayer {
    layers.append(NetcPreparedLayer())
    return NetcPreparedLayer()
  }

  private func read(_ reader: some NetcTensorReader, _ name: String, into p: UnsafeMutablePointer<Float>, count: Int) throws {
    try reader.read(name, into: UnsafeMutableBufferPointer(start: p, count: count))
  }

  /// The layer's bias in a buffer of its own: read if it has one, zeros if it has none but a batch norm
  /// is folded into it, nil otherwise.
  private func bias(_ reader: some NetcTensorReader, _ layer: String, hasBias: Bool, folding: Bool, channels: Int) throws
    -> UnsafeMutablePointer<Float>?
  {
    guard hasBias || folding else { return nil }
    let bias = try allocate(channels, for: "the bias of '\(layer)'")
    if hasBias { try read(reader, "\(layer).bias", into: bias, count: channels) }
    return bias
  }

  /// Folds batch norm `bn` into a layer's weight and bias (netcFold).
  private func fold(_ reader: some NetcTensorReader, _ bn: NetcBatchNorm, into weight: UnsafeMutableBufferPointer<Float>,
                    bias: UnsafeMutablePointer<Float>, layer: String, transposed: Bool, inChannels: Int,
                    outChannels: Int, groups: Int, kernel: Int) throws {
    let affine = try temporary(netcProduct([2, outChannels]), for: "the batch norm of '\(layer)'")
    defer { netcRelease(affine) }
    try batchNormAffine(reader, bn, channels: outChannels, scale: affine, shift: affine + outChannels)
    netcFold(weight: weight, bias: bias, scale: affine, shift: affine + outChannels, transposed: transposed,
             inChannels: inChannels, outChannels: outChannels, groups: groups, kernel: kernel)
  }

  /// Batch norm `bn` as a per-channel scale and shift (netcBatchNormAffine), into `scale` and `shift`
  /// (`channels` floats each); its statistics are read into temporaries.
  private func batchNormAffine(_ reader: some NetcTensorReader, _ bn: NetcBatchNorm, channels: Int,
                               scale: UnsafeMutablePointer<Float>, shift: UnsafeMutablePointer<Float>) throws {
    var stats: [UnsafeMutablePointer<Float>] = []
    defer { for p in stats { netcRelease(p) } }
    for tensor in ["running_mean", "running_var"] + (bn.affine ? ["weight", "bias"] : []) {
      stats.append(try temporary(channels, for: "weight tensor '\(bn.name).\(tensor)'"))
      try read(reader, "\(bn.name).\(tensor)", into: stats[stats.count - 1], count: channels)
    }
    netcBatchNormAffine(channels: channels, mean: stats[0], variance: stats[1], gamma: bn.affine ? stats[2] : nil,
                        beta: bn.affine ? stats[3] : nil, eps: bn.eps, scale: scale, shift: shift)
  }
}

/// The product of `dims`: a tensor's element count from its shape; Int.max, which no allocation passes,
/// when a dimension is negative or the product does not fit an Int.
func netcProduct(_ dims: [Int]) -> Int {
  var p = 1
  for d in dims {
    let (m, overflow) = p.multipliedReportingOverflow(by: d)
    guard d >= 0, !overflow else { return Int.max }
    p = m
  }
  return p
}
