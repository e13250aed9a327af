// GELU's erf, in single precision, as a scalar for netcActivate and as a vector for the epilogues that
// apply GELU in registers (the GEMM's, the small-map panels', the depthwise convolution's). Both forms do
// the same operations in the same order, so a value gets the same bits whichever path computes it. Only
// the standard library, like Kernels.swift.

/// erf in single precision, as a rational function of x in [-4, 4] (an odd numerator of degree 13 over an
/// even denominator of degree 8: the minimax fit XLA and Eigen use), clamped beyond, where erf rounds to
/// +-1 in float. Its largest error, against math.erf at two million points of [-6, 6], is 4.5e-7 (GELU's
/// 7.8e-7); the series it replaces, in double precision, was exact but took 40 ns a value, most of
/// ConvNeXt's time (its first linear layers: 43 ms for 1.2 million values after a 1.2 ms product).
@inline(__always) func netcErf(_ x: Float) -> Float {
  // As the vector form clamps (NaN becomes 4; GELU multiplies it by x, NaN, again).
  let v = x < 4 ? x : 4
  let w = v > -4 ? v : -4
  let x2 = w * w
  var p: Float = -2.72614225801306e-10
  p = p * x2 + 2.77068142495902e-08
  p = p * x2 + -2.10102402082508e-06
  p = p * x2 + -5.69250639462346e-05
  p = p * x2 + -7.34990630326855e-04
  p = p * x2 + -2.95459980854025e-03
  p = p * x2 + -1.60960333262415e-02
  var q: Float = -1.45660718464996e-05
  q = q * x2 + -2.13374055278905e-04
  q = q * x2 + -1.68282697438203e-03
  q = q * x2 + -7.37332916720468e-03
  q = q * x2 + -1.42647390514189e-02
  return w * p / q
}

/// netcErf on 16 values at once, with the same operations in the same order, so the same bits. Written
/// with masks and vector constants: SIMD's `clamped` and its vector-scalar operators made it 7 times slower.
@_transparent func netcErf(_ x: SIMD16<Float>) -> SIMD16<Float> {
  typealias V = SIMD16<Float>
  let v = V(repeating: 4).replacing(with: x, where: x .< 4)
  let w = V(repeating: -4).replacing(with: v, where: v .> -4)
  let x2 = w * w
  var p = V(repeating: -2.72614225801306e-10)
  p = p * x2 + V(repeating: 2.77068142495902e-08)
  p = p * x2 + V(repeating: -2.10102402082508e-06)
  p = p * x2 + V(repeating: -5.69250639462346e-05)
  p = p * x2 + V(repeating: -7.34990630326855e-04)
  p = p * x2 + V(repeating: -2.95459980854025e-03)
  p = p * x2 + V(repeating: -1.60960333262415e-02)
  var q = V(repeating: -1.45660718464996e-05)
  q = q * x2 + V(repeating: -2.13374055278905e-04)
  q = q * x2 + V(repeating: -1.68282697438203e-03)
  q = q * x2 + V(repeating: -7.37332916720468e-03)
  q = q * x2 + V(repeating: -1.42647390514189e-02)
  return w * p / q
}

/// PyTorch's exact GELU, 0.5 x (1 + erf(x / sqrt 2)), on 16 values (the GEMM's epilogue).
@_transparent func netcGelu(_ x: SIMD16<Float>) -> SIMD16<Float> {
  typealias V = SIMD16<Float>
  return V(repeating: 0.5) * x * (V(repeating: 1) + netcErf(x / V(repeating: 1.4142135623730951)))
}
