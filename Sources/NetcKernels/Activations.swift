// The activations every kernel applies as it stores: on 16 values at once in registers, and on one value
// through the same vector code, so a value gets the same bits whichever path computes it (a full tile or
// a tail, a batch of one or of eight). The exponential is single precision (Cephes' expf: 1-2 ulp), the
// cost of a few multiply-adds: the double-precision series it replaces took 40 ns a value, and SiLU over
// EfficientNet-B0's maps was nine tenths of its time. Only the standard library, like Kernels.swift.

/// Activation codes shared by the interpreter and the emitted code.
public enum NetcAct {
  public static let none = 0, relu = 1, relu6 = 2, sigmoid = 3, tanh = 4, silu = 5, gelu = 6, leaky = 7
  public static let hardswish = 8, hardsigmoid = 9, mish = 10
}

/// `act` of one value: the vector form's lane, so that tails and scalar loops agree with full vectors.
@inline(__always)
public func netcActivate(_ x: Float, _ act: Int, _ slope: Float) -> Float {
  switch act {
  case NetcAct.none: return x
  case NetcAct.relu: return x > 0 ? x : 0
  default: return netcActivate(SIMD16(repeating: x), act, slope)[0]
  }
}

/// `act` of 16 values. Written with masks and vector constants: SIMD's `clamped` and its vector-scalar
/// operators compile to scalar loops (see Gelu.swift). Transparent, so the piecewise-linear activations
/// are inlined into every store: marked `@inline(__always)`, the optimiser still left it out of line in
/// the large kernels, a call per 16 values stored, which took a sixth of a 1x1 convolution's time with
/// ReLU6 over 16 input channels. Those with an exponential or erf go through one call here, and the
/// kernels that store many run them over their rows afterwards (`netcSmooth`, inlined).
@_transparent
func netcActivate(_ x: SIMD16<Float>, _ act: Int, _ slope: Float) -> SIMD16<Float> {
  typealias V = SIMD16<Float>
  let zero = V(repeating: 0), six = V(repeating: 6), three = V(repeating: 3)
  switch act {
  case NetcAct.none: return x
  case NetcAct.relu: return x.replacing(with: zero, where: x .< zero)
  case NetcAct.relu6: return netcClamp06(x, zero, six)
  case NetcAct.leaky: return x.replacing(with: x * V(repeating: slope), where: x .< zero)
  // PyTorch's: x * min(max(x + 3, 0), 6) / 6, and its gate min(max(x + 3, 0), 6) / 6.
  case NetcAct.hardswish: return x * netcClamp06(x + three, zero, six) / six
  case NetcAct.hardsigmoid: return netcClamp06(x + three, zero, six) / six
  default: return netcActivateSmooth(x, act)
  }
}

/// min(max(v, 0), 6), PyTorch's hardtanh order (max with 0 first); `zero` and `six` are the vectors of
/// those values, built once by the caller.
@_transparent
func netcClamp06(_ v: SIMD16<Float>, _ zero: SIMD16<Float>, _ six: SIMD16<Float>) -> SIMD16<Float> {
  let low = v.replacing(with: zero, where: v .< zero)
  return low.replacing(with: six, where: low .> six)
}

/// The activations with an exponential or erf, out of line for the epilogues.
@inline(never)
func netcActivateSmooth(_ x: SIMD16<Float>, _ act: Int) -> SIMD16<Float> { netcSmooth(x, act) }

@_transparent
func netcSmooth(_ x: SIMD16<Float>, _ act: Int) -> SIMD16<Float> {
  typealias V = SIMD16<Float>
  let one = V(repeating: 1)
  switch act {
  case NetcAct.sigmoid: return one / (one + netcExp(-x))
  case NetcAct.tanh: return netcTanh(x)
  case NetcAct.silu: return x / (one + netcExp(-x))
  case NetcAct.gelu: return netcGelu(x)
  // PyTorch's x * tanh(softplus(x)), as x * t / (t + 2) with t = e^x (e^x + 2), which needs no logarithm.
  // Past 20, t / (t + 2) is 1 to float precision, and t would overflow.
  case NetcAct.mish:
    let two = V(repeating: 2), e = netcExp(x)
    let t = e * (e + two)
    return (x * t / (t + two)).replacing(with: x, where: x .> V(repeating: 20))
  default: return x
  }
}

/// `netcSmooth` over `rows` rows of 32 floats `ld` apart, in place: a tile's stores.
@inline(never)
func netcActivateSmoothRows(_ p: UnsafeMutablePointer<Float>, _ ld: Int, rows: Int, _ act: Int) {
  for r in 0..<rows {
    let row = UnsafeMutableRawPointer(p + r * ld)
    let lo = row.loadUnaligned(as: SIMD16<Float>.self)
    let hi = row.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
    row.storeBytes(of: netcSmooth(lo, act), as: SIMD16<Float>.self)
    row.storeBytes(of: netcSmooth(hi, act), toByteOffset: 64, as: SIMD16<Float>.self)
  }
}

/// `netcSmooth` of each of `rows` rows of 32 floats plus (low, high), in place: a tile of 32 channels by
/// pixel with its bias.
@inline(never)
func netcBiasSmoothRows(_ p: UnsafeMutablePointer<Float>, rows: Int, _ low: SIMD16<Float>, _ high: SIMD16<Float>,
                        _ act: Int) {
  for r in 0..<rows {
    let row = UnsafeMutableRawPointer(p + r * 32)
    let lo = row.loadUnaligned(as: SIMD16<Float>.self) + low
    let hi = row.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self) + high
    row.storeBytes(of: netcSmooth(lo, act), as: SIMD16<Float>.self)
    row.storeBytes(of: netcSmooth(hi, act), toByteOffset: 64, as: SIMD16<Float>.self)
  }
}

/// Whether `act` is one of `netcSmooth`'s: an activation added there is added here too.
@inline(__always)
func netcIsSmooth(_ act: Int) -> Bool {
  act == NetcAct.sigmoid || act == NetcAct.tanh || act == NetcAct.silu || act == NetcAct.gelu || act == NetcAct.mish
}

@_transparent
func netcActivate(_ x: SIMD8<Float>, _ act: Int, _ slope: Float) -> SIMD8<Float> {
  netcActivate(SIMD16(lowHalf: x, highHalf: .zero), act, slope).lowHalf
}

@_transparent
func netcActivate(_ x: SIMD4<Float>, _ act: Int, _ slope: Float) -> SIMD4<Float> {
  netcActivate(SIMD16(lowHalf: SIMD8(lowHalf: x, highHalf: .zero), highHalf: .zero), act, slope).lowHalf.lowHalf
}

/// y[i] = act(x[i]) for i < count, 16 at a time; y may be x. The smooth activations inline here, where
/// a whole map goes through one.
@inline(__always)
func netcActivate(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, _ act: Int, _ slope: Float) {
  var i = 0
  if netcIsSmooth(act) {
    while i < count {
      let n = min(16, count - i)
      netcStore(netcSmooth(netcLoad(x + i, n), act), y + i, n)
      i += 16
    }
    return
  }
  // One loop per activation with its activation's code alone: with `act` a variable, the switch stayed
  // in the loop, an indirect jump per 16 values (a fifth of a 3x3 depthwise layer's time over 28x28).
  switch act {
  case NetcAct.none: if UnsafePointer(y) != x { y.update(from: x, count: count) }
  case NetcAct.relu: netcActivateLoop(x, y, count, NetcAct.relu, slope)
  case NetcAct.relu6: netcActivateLoop(x, y, count, NetcAct.relu6, slope)
  case NetcAct.leaky: netcActivateLoop(x, y, count, NetcAct.leaky, slope)
  case NetcAct.hardswish: netcActivateLoop(x, y, count, NetcAct.hardswish, slope)
  case NetcAct.hardsigmoid: netcActivateLoop(x, y, count, NetcAct.hardsigmoid, slope)
  default: netcActivateLoop(x, y, count, act, slope)
  }
}

/// y[i] = act(x[i]) for i < count by netcActivate's vector form; transparent, so that a constant `act`
/// leaves only its own case in the loop.
@_transparent
func netcActivateLoop(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int, _ act: Int,
                      _ slope: Float) {
  var i = 0
  while i < count {
    let n = min(16, count - i)
    netcStore(netcActivate(netcLoad(x + i, n), act, slope), y + i, n)
    i += 16
  }
}

/// e^x in single precision: x = n ln2 + r with |r| <= ln2/2, e^r by Cephes' degree-6 polynomial, 2^n put
/// into the exponent bits. x is clamped to [-87, 88], where e^x stays a normal float: beyond, sigmoid and
/// SiLU are already 0 or 1 (or x) to float precision.
@_transparent
func netcExp(_ x: SIMD16<Float>) -> SIMD16<Float> {
  typealias V = SIMD16<Float>
  let low = V(repeating: -87), high = V(repeating: 88)
  var v = x.replacing(with: low, where: x .< low)
  v = v.replacing(with: high, where: v .> high)
  // Rounding to the nearest integer by adding 1.5 * 2^23: the sum's low mantissa bits hold n.
  let magic = V(repeating: 12582912)
  let t = v * V(repeating: 1.44269504088896341) + magic
  let n = t - magic
  var r = v - n * V(repeating: 0.693359375)
  r = r - n * V(repeating: -2.12194440e-4)
  var p = V(repeating: 1.9875691500e-4)
  p = p * r + V(repeating: 1.3981999507e-3)
  p = p * r + V(repeating: 8.3334519073e-3)
  p = p * r + V(repeating: 4.1665795894e-2)
  p = p * r + V(repeating: 1.6666665459e-1)
  p = p * r + V(repeating: 5.0000001201e-1)
  let er = p * (r * r) + r + V(repeating: 1)
  let bits = unsafeBitCast(t, to: SIMD16<Int32>.self) &- SIMD16<Int32>(repeating: 0x4B40_0000)
  let scale = unsafeBitCast((bits &+ SIMD16<Int32>(repeating: 127)) &<< SIMD16<Int32>(repeating: 23), to: V.self)
  return er * scale
}

/// tanh in single precision: Cephes' odd polynomial below 0.625 in magnitude, where 1 - 2/(e^2x + 1)
/// would cancel, that form above.
@_transparent
func netcTanh(_ x: SIMD16<Float>) -> SIMD16<Float> {
  typealias V = SIMD16<Float>
  let one = V(repeating: 1), two = V(repeating: 2)
  let z = x * x
  var p = V(repeating: -5.70498872745e-3)
  p = p * z + V(repeating: 2.06390887954e-2)
  p = p * z + V(repeating: -5.37397155531e-2)
  p = p * z + V(repeating: 1.33314422036e-1)
  p = p * z + V(repeating: -3.33332819422e-1)
  let small = p * z * x + x
  let large = one - two / (netcExp(two * x) + one)
  let magnitude = x.replacing(with: -x, where: x .< V(repeating: 0))
  return large.replacing(with: small, where: magnitude .< V(repeating: 0.625))
}

/// n <= 16 floats from p as a vector, zeros past them: a whole vector when n is 16.
@inline(__always)
func netcLoad(_ p: UnsafePointer<Float>, _ n: Int) -> SIMD16<Float> {
  if n == 16 { return UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self) }
  var v = SIMD16<Float>(repeating: 0)
  for l in 0..<n { v[l] = p[l] }
  return v
}

/// 32 floats from p, as two vector loads: one 32-lane load compiled to broadcasts and inserts lane by lane
/// (deinterleaving a stride-2 depthwise convolution's rows that way took twice as long as convolving them).
@inline(__always)
func netcLoad32(_ p: UnsafePointer<Float>) -> SIMD32<Float> {
  SIMD32(lowHalf: UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self),
         highHalf: UnsafeRawPointer(p + 16).loadUnaligned(as: SIMD16<Float>.self))
}

/// The first n <= 16 lanes of v to p.
@inline(__always)
func netcStore(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
  if n == 16 {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
  } else {
    for l in 0..<n { p[l] = v[l] }
  }
}
