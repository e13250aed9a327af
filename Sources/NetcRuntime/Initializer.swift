import NetcBasic
import NetcOps
import NetcIR
import NetcKernels
import NetcTensors

extension WeightLoader {
  /// Each tensor as its operation says it starts (`ParamInit`): He (Kaiming) normal weights, N(0,
  /// 2/fan_in), as the VGG material prescribes; zero biases; batch norm weight 1, bias 0, running mean 0,
  /// variance 1; a layer scale its initial value. Deterministic for a seed.
  public static func heInit(_ graph: LoweredGraph, seed: UInt64) -> [(name: String, shape: [Int], data: [Float])] {
    var rng = SplitMix64(seed: seed)
    return graph.tensors.map { t in
      let n = t.shape.reduce(1, *)
      var data = [Float](repeating: 0, count: n)
      switch t.initialisation {
      case .heNormal(let fanIn):
        let std = (2.0 / Double(max(1, fanIn))).squareRoot()
        for i in 0..<n { data[i] = Float(rng.normal() * std) }
      case .ones:
        for i in 0..<n { data[i] = 1 }
      case .zeros:
        break
      case .constant(let v):
        for i in 0..<n { data[i] = Float(v) }
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

  /// Fills `out` with normal() values in order. Here rather than in a caller's loop so that it is compiled
  /// with the kernels, optimised in every build: `netc run --input random` on 1x30000x30000 drew its
  /// 900 million values for minutes in a debug build's driver.
  public mutating func fillNormal(_ out: UnsafeMutableBufferPointer<Float>) {
    for i in out.indices { out[i] = Float(normal()) }
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
