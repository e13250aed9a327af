import NetcBasic
import NetcIR
import NetcSema

/// Loads a network's weights from safetensors bytes: every tensor the graph needs must be there with its
/// exact shape; anything else is an error naming the tensor, the expected and the found.
public enum WeightLoader {
  public static func load(_ graph: LoweredGraph, safetensors bytes: [UInt8]) throws -> [String: [Float]] {
    let entries = try SafeTensors.entries(bytes)
    var byName: [String: SafeTensors.Entry] = [:]
    for e in entries { byName[e.name] = e }
    var out: [String: [Float]] = [:]
    var missing: [String] = []
    for t in graph.tensors {
      guard let e = byName[t.name] else { missing.append(t.name); continue }
      guard e.shape == t.shape else {
        throw TensorFileError("tensor '\(t.name)': expected shape \(t.shape), found \(e.shape)")
      }
      out[t.name] = FloatBits.decode(bytes[e.range], e.type)
    }
    if !missing.isEmpty {
      let list = missing.prefix(3).map { "'\($0)'" }.joined(separator: ", ") + (missing.count > 3 ? " and \(missing.count - 3) more" : "")
      throw TensorFileError("the weight file lacks \(missing.count) tensor\(missing.count == 1 ? "" : "s") this network needs: \(list)")
    }
    let known = Set(graph.tensors.map(\.name))
    // PyTorch's batch norm also saves a step counter; it does not affect inference.
    let extra = entries.map(\.name).filter { !known.contains($0) && !$0.hasSuffix(".num_batches_tracked") }.sorted()
    if !extra.isEmpty {
      let list = extra.prefix(3).map { "'\($0)'" }.joined(separator: ", ") + (extra.count > 3 ? " and \(extra.count - 3) more" : "")
      throw TensorFileError("the weight file has \(extra.count) tensor\(extra.count == 1 ? "" : "s") this network does not: \(list) (is it for another network?)")
    }
    return out
  }

  /// He (Kaiming) normal initialisation, as the VGG material prescribes: weights ~ N(0, 2/fan_in), biases
  /// zero; batch norm weight 1, bias 0, running mean 0, variance 1. Deterministic for a seed.
  public static func heInit(_ graph: LoweredGraph, seed: UInt64) -> [(name: String, shape: [Int], data: [Float])] {
    var rng = SplitMix64(seed: seed)
    return graph.tensors.map { t in
      let n = t.shape.reduce(1, *)
      var data = [Float](repeating: 0, count: n)
      if t.name.hasSuffix(".weight") && t.shape.count >= 2 {
        let transposed = t.name.hasPrefix("convt")
        let fanIn = (transposed ? t.shape[1] : t.shape[1]) * t.shape.dropFirst(2).reduce(1, *)
        let std = (2.0 / Double(max(1, fanIn))).squareRoot()
        for i in 0..<n { data[i] = Float(rng.normal() * std) }
      } else if t.name.hasSuffix(".weight") || t.name.hasSuffix(".running_var") {
        for i in 0..<n { data[i] = 1 }
      }
      return (t.name, t.shape, data)
    }
  }
}

/// A small, fast, seedable generator (SplitMix64) with Box-Muller normals.
public struct SplitMix64 {
  var state: UInt64
  public init(seed: UInt64) { state = seed }
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  public mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
  public mutating func normal() -> Double {
    let u1 = max(uniform(), 1e-300), u2 = uniform()
    let r = (-2 * netcLog(u1)).squareRoot()
    return r * netcCos(2 * Double.pi * u2)
  }
}

func netcCos(_ x: Double) -> Double {
  var r = x.truncatingRemainder(dividingBy: 2 * Double.pi)
  if r > Double.pi { r -= 2 * Double.pi }
  if r < -Double.pi { r += 2 * Double.pi }
  var term = 1.0, sum = 1.0
  for n in stride(from: 2, through: 40, by: 2) {
    term *= -r * r / Double((n - 1) * n)
    sum += term
  }
  return sum
}
