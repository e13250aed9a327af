/// What the emitted Swift file needs besides the kernels: aligned allocation and a safetensors loader that
/// checks every tensor's name, dtype and shape and folds batch norm into the weights. Foundation only.
let supportSource = #####"""
// MARK: - Weights

public struct NetcWeightError: Error, CustomStringConvertible {
  public var description: String
}

func netcAllocate(_ n: Int) -> UnsafeMutablePointer<Float> { netcAllocateFloats(n) }

/// Batch items in and out of the arena, where each item sits `stride` floats after the one before.
func netcScatter(_ xs: [Float], to p: UnsafeMutablePointer<Float>, stride: Int, count: Int, batch: Int) {
  xs.withUnsafeBufferPointer { x in
    for i in 0..<batch { (p + i * stride).update(from: x.baseAddress! + i * count, count: count) }
  }
}

func netcGather(_ p: UnsafeMutablePointer<Float>, stride: Int, count: Int, batch: Int) -> [Float] {
  var out = [Float](repeating: 0, count: count * batch)
  out.withUnsafeMutableBufferPointer { y in
    for i in 0..<batch { (y.baseAddress! + i * count).update(from: p + i * stride, count: count) }
  }
  return out
}

func netcCopy(_ xs: [Float]) -> UnsafeMutablePointer<Float> {
  let p = netcAllocate(xs.count)
  xs.withUnsafeBufferPointer { p.update(from: $0.baseAddress!, count: xs.count) }
  return p
}

/// A safetensors file, checked against the tensors the network expects from its header; each tensor is
/// read when its layer is prepared, so the file is never in memory whole beside the prepared weights.
final class NetcWeightFile {
  private let path: String
  private let handle: FileHandle
  private var entries: [String: (offset: Int, count: Int, dtype: String)] = [:]

  init(path: String, expected: [(String, [Int])]) throws {
    self.path = path
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw NetcWeightError(description: "cannot read weights '\(path)'")
    }
    self.handle = handle
    let fileSize = Int(try handle.seekToEnd())
    guard fileSize >= 8 else { throw NetcWeightError(description: "'\(path)' is too short for a safetensors file") }
    let length = try Self.read(handle, at: 0, count: 8)
    var n = 0
    for k in 0..<8 { n |= Int(length[k]) << (8 * k) }
    guard n >= 0, n <= fileSize - 8 else {
      throw NetcWeightError(description: "'\(path)': the header claims \(n) bytes, the file holds \(fileSize - 8)")
    }
    guard let header = try? JSONSerialization.jsonObject(with: Data(try Self.read(handle, at: 8, count: n))) as? [String: Any] else {
      throw NetcWeightError(description: "'\(path)': the safetensors header is not a JSON object")
    }
    let dataStart = 8 + n
    for (name, shape) in expected {
      guard let entry = header[name] as? [String: Any] else {
        throw NetcWeightError(description: "'\(path)' lacks tensor '\(name)'")
      }
      guard let dtype = entry["dtype"] as? String, ["F32", "F16", "BF16"].contains(dtype) else {
        throw NetcWeightError(description: "tensor '\(name)': expected dtype F32, F16 or BF16, found \(entry["dtype"] ?? "none")")
      }
      guard let found = entry["shape"] as? [Int], found == shape else {
        throw NetcWeightError(description: "tensor '\(name)': expected shape \(shape), found \(entry["shape"] ?? "none")")
      }
      let size = dtype == "F32" ? 4 : 2
      let count = shape.reduce(1, *)
      guard let offsets = entry["data_offsets"] as? [Int], offsets.count == 2, offsets[0] >= 0,
        offsets[1] - offsets[0] == count * size, dataStart + offsets[1] <= fileSize
      else { throw NetcWeightError(description: "tensor '\(name)': its data offsets do not fit the file") }
      entries[name] = (dataStart + offsets[0], count, dtype)
    }
    let known = Set(expected.map(\.0))
    for name in header.keys where name != "__metadata__" && !known.contains(name) && !name.hasSuffix(".num_batches_tracked") {
      throw NetcWeightError(description: "'\(path)' has tensor '\(name)', which this network does not")
    }
  }

  private static func read(_ handle: FileHandle, at offset: Int, count: Int) throws -> Data {
    try handle.seek(toOffset: UInt64(offset))
    let data = try handle.read(upToCount: count) ?? Data()
    guard data.count == count else { throw NetcWeightError(description: "the weight file ended early (truncated?)") }
    return data
  }

  /// One tensor, decoded to f32.
  func tensor(_ name: String) throws -> [Float] {
    var values = [Float](repeating: 0, count: entries[name]!.count)
    try values.withUnsafeMutableBufferPointer { try read(name, into: $0.baseAddress!) }
    return values
  }

  /// One tensor, decoded straight into `out`, a few MiB of the file at a time.
  func read(_ name: String, into out: UnsafeMutablePointer<Float>) throws {
    let e = entries[name]!
    let size = e.dtype == "F32" ? 4 : 2
    let chunk = (4 << 20) / size
    var done = 0
    while done < e.count {
      let n = min(chunk, e.count - done)
      let data = try Self.read(handle, at: e.offset + done * size, count: n * size)
      let o = out + done
      data.withUnsafeBytes { raw in
        switch e.dtype {
        case "F32":
          for k in 0..<n { o[k] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self))) }
        case "F16":
          for k in 0..<n { o[k] = Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self)))) }
        default:
          for k in 0..<n { o[k] = Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self))) << 16) }
        }
      }
      done += n
    }
  }

  private func affine(_ bn: (String, Double, Bool)) throws -> (scale: [Float], shift: [Float]) {
    let (name, eps, hasAffine) = bn
    return netcBatchNormAffine(mean: try tensor("\(name).running_mean"), variance: try tensor("\(name).running_var"),
                               gamma: hasAffine ? try tensor("\(name).weight") : nil,
                               beta: hasAffine ? try tensor("\(name).bias") : nil, eps: eps)
  }

  /// The layer's weight and bias, with the batch norm after it folded in (a linear layer is a 1x1
  /// convolution here: kernel 1, groups 1).
  @inline(never)
  func append(_ w: inout [UnsafeMutablePointer<Float>?], _ b: inout [UnsafeMutablePointer<Float>?], weight: String,
              bias: String?, bn: (String, Double, Bool)?, transposed: Bool = false, inChannels: Int, outChannels: Int,
              groups: Int = 1, kernel: Int = 1, conv: NetcConvGeometry? = nil) throws
  {
    if bn == nil && conv == nil {
      // Used as stored: decoded straight into its buffer (VGG's first fully connected layer is 411 MB).
      let p = netcAllocate(entries[weight]!.count)
      try read(weight, into: p)
      w.append(p)
      b.append(try bias.map { try netcCopy(tensor($0)) })
      return
    }
    var weights = try tensor(weight)
    var biases = try bias.map { try tensor($0) }
    if let bn {
      let (scale, shift) = try affine(bn)
      (weights, biases) = netcFold(weight: weights, bias: biases, scale: scale, shift: shift, transposed: transposed,
                                   inChannels: inChannels, outChannels: outChannels, groups: groups, kernel: kernel)
    }
    if let conv {
      weights = weights.withUnsafeBufferPointer { netcConvWeights($0.baseAddress!, conv) }
    }
    w.append(netcCopy(weights))
    b.append(biases.map(netcCopy))
  }

  /// A batch norm with nothing to fold into, as a scale and shift.
  @inline(never)
  func appendAffine(_ w: inout [UnsafeMutablePointer<Float>?], _ b: inout [UnsafeMutablePointer<Float>?],
                    bn: (String, Double, Bool)) throws {
    let (scale, shift) = try affine(bn)
    w.append(netcCopy(scale))
    b.append(netcCopy(shift))
  }
}
"""#####
