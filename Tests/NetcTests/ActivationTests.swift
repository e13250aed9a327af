import Foundation
import NetcKernels
import Testing

/// The activations' single-precision forms (NetcKernels/Activations.swift) against their definitions in
/// double precision, over the range networks produce and beyond it, where e^x would leave float's range.
struct ActivationTests {
  static func definition(_ x: Double, _ act: Int) -> Double {
    switch act {
    case NetcAct.relu: return max(x, 0)
    case NetcAct.relu6: return min(max(x, 0), 6)
    case NetcAct.sigmoid: return 1 / (1 + exp(-x))
    case NetcAct.tanh: return tanh(x)
    case NetcAct.silu: return x / (1 + exp(-x))
    case NetcAct.gelu: return 0.5 * x * (1 + erf(x / 2.0.squareRoot()))
    case NetcAct.leaky: return x > 0 ? x : 0.2 * x
    case NetcAct.hardswish: return x * min(max(x + 3, 0), 6) / 6
    case NetcAct.hardsigmoid: return min(max(x + 3, 0), 6) / 6
    case NetcAct.mish: return x * tanh(log1p(exp(x)))
    default: return x
    }
  }

  /// Each activation at 200,001 points of [-100, 100], densest near 0, within a few float ulps of its
  /// definition: relatively, or absolutely below 1e-30, where float has no more digits to give. GELU's
  /// erf is a rational fit good to 4.5e-7 absolutely (Gelu.swift), x / 2 times that in GELU, so its
  /// negative tail, where GELU is -1e-6 and less, is held to 1e-6 absolutely instead.
  @Test(arguments: [NetcAct.relu, NetcAct.relu6, NetcAct.sigmoid, NetcAct.tanh, NetcAct.silu, NetcAct.gelu,
                    NetcAct.leaky, NetcAct.hardswish, NetcAct.hardsigmoid, NetcAct.mish])
  func activationMatchesItsDefinition(act: Int) {
    var worst = 0.0, at = 0.0
    for i in -100_000...100_000 {
      let t = Double(i) / 100_000
      let x = Float(100 * t * t * t)
      let got = Double(netcActivate(x, act, 0.2))
      let want = Self.definition(Double(x), act)
      let absolute = act == NetcAct.gelu ? 1e-6 : 1e-30
      // Over 1: outside 2e-6 relatively plus `absolute`.
      let error = abs(got - want) / (2e-6 * abs(want) + absolute)
      if error > worst { worst = error; at = Double(x) }
    }
    #expect(worst <= 1, "act \(act): \(worst) times the tolerance at x = \(at)")
  }

  /// Values far outside float's e^x range: 0 and 1 as the definitions round, never NaN or infinity.
  @Test func activationsSaturate() {
    for x: Float in [-1e30, -1000, -104, -88, 88, 89, 1000, 1e30] {
      #expect(abs(Double(netcActivate(x, NetcAct.sigmoid, 0)) - Self.definition(Double(x), NetcAct.sigmoid)) <= 1e-30)
      #expect(netcActivate(x, NetcAct.tanh, 0) == (x > 0 ? 1 : -1))
      let silu = netcActivate(x, NetcAct.silu, 0)
      #expect(silu.isFinite && abs(Double(silu) - Self.definition(Double(x), NetcAct.silu)) <= 1e-30 * max(1, abs(Double(x))))
      let mish = netcActivate(x, NetcAct.mish, 0)
      #expect(mish.isFinite && abs(Double(mish) - Self.definition(Double(x), NetcAct.mish)) <= 1e-30 * max(1, abs(Double(x))))
    }
  }
}
