/// What the emitted Swift file needs besides the kernels: aligned allocation and a safetensors loader that
/// checks every tensor's name, dtype and shape and folds batch norm into the weights. Foundation only.
let supportSource = #####"""
// MARK: - Weights

public struct NetcWeightError: Error, CustomStringConvertible {
  public var description: String
}

func netcAllocate(_ n: Int) -> UnsafeMutablePointer<Float> {
  let p = UnsafeMutableRawPointer.allocate(byteCount: max(1, n) * 4, alignment: 64).bindMemory(to: Float.self, capacity: max(1, n))
  p.initialize(repeating: 0, count: max(1, n))
  return p
}

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

/// A safetensors file, read whole and checked against the tensors the network expects.
final class NetcWeightFile {
  private var tensors: [String: [Float]] = [:]

  init(path: String, expected: [(String, [Int])]) throws {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw NetcWeightError(description: "cannot read weights '\(path)'")
    }
    let bytes = [UInt8](data)
    guard bytes.count >= 8 else { throw NetcWeightError(description: "'\(path)' is too short for a safetensors file") }
    var n = 0
    for k in 0..<8 { n |= Int(bytes[k]) << (8 * k) }
    guard n >= 0, n <= bytes.count - 8 else {
      throw NetcWeightError(description: "'\(path)': the header claims \(n) bytes, the file holds \(bytes.count - 8)")
    }
    guard let header = try? JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any] else {
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
        offsets[1] - offsets[0] == count * size, dataStart + offsets[1] <= bytes.count
      else { throw NetcWeightError(description: "tensor '\(name)': its data offsets do not fit the file") }
      var values = [Float](repeating: 0, count: count)
      var i = dataStart + offsets[0]
      for k in 0..<count {
        switch dtype {
        case "F32":
          values[k] = Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
        case "F16":
          values[k] = Float(Float16(bitPattern: UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8))
        default:
          values[k] = Float(bitPattern: (UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8) << 16)
        }
        i += size
      }
      tensors[name] = values
    }
    let known = Set(expected.map(\.0))
    for name in header.keys where name != "__metadata__" && !known.contains(name) && !name.hasSuffix(".num_batches_tracked") {
      throw NetcWeightError(description: "'\(path)' has tensor '\(name)', which this network does not")
    }
  }

  private func affine(_ bn: (String, Double, Bool)) -> (scale: [Float], shift: [Float]) {
    let (name, eps, hasAffine) = bn
    return netcBatchNormAffine(mean: tensors["\(name).running_mean"]!, variance: tensors["\(name).running_var"]!,
                               gamma: hasAffine ? tensors["\(name).weight"] : nil,
                               beta: hasAffine ? tensors["\(name).bias"] : nil, eps: eps)
  }

  /// The layer's weight and bias, with the batch norm after it folded in (a linear layer is a 1x1
  /// convolution here: kernel 1, groups 1).
  @inline(never)
  func append(_ w: inout [UnsafeMutablePointer<Float>?], _ b: inout [UnsafeMutablePointer<Float>?], weight: String,
              bias: String?, bn: (String, Double, Bool)?, transposed: Bool = false, inChannels: Int, outChannels: Int,
              groups: Int = 1, kernel: Int = 1, packed: Bool = false)
  {
    var weights = tensors[weight]!
    var biases = bias.map { tensors[$0]! }
    if let bn {
      let (scale, shift) = affine(bn)
      (weights, biases) = netcFold(weight: weights, bias: biases, scale: scale, shift: shift, transposed: transposed,
                                   inChannels: inChannels, outChannels: outChannels, groups: groups, kernel: kernel)
    }
    if packed {
      let kdim = inChannels / groups * kernel
      weights = weights.withUnsafeBufferPointer { netcPackWeights($0.baseAddress!, outC: outChannels, groups: groups, kdim: kdim) }
    }
    w.append(netcCopy(weights))
    b.append(biases.map(netcCopy))
  }

  /// A batch norm with nothing to fold into, as a scale and shift.
  @inline(never)
  func appendAffine(_ w: inout [UnsafeMutablePointer<Float>?], _ b: inout [UnsafeMutablePointer<Float>?],
                    bn: (String, Double, Bool)) {
    let (scale, shift) = affine(bn)
    w.append(netcCopy(scale))
    b.append(netcCopy(shift))
  }
}
"""#####
