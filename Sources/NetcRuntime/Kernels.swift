// The kernels netc runs: the interpreter calls them, and `netc emit --target swift` copies this file into
// the code it writes, so both paths compute with exactly the same code. Only the standard library and
// Dispatch: the emitted file must build on its own.
import Dispatch

/// Activation codes shared by the interpreter and the emitted code.
public enum NetcAct {
  public static let none = 0, relu = 1, relu6 = 2, sigmoid = 3, tanh = 4, silu = 5, gelu = 6, leaky = 7
}

@inline(__always)
public func netcActivate(_ x: Float, _ act: Int, _ slope: Float) -> Float {
  switch act {
  case 1: return x > 0 ? x : 0
  case 2: return min(max(x, 0), 6)
  case 3: return 1 / (1 + netcExp(-x))
  case 4: return netcTanh(x)
  case 5: return x / (1 + netcExp(-x))
  case 6: return 0.5 * x * (1 + netcErf(x / 1.4142135623730951))
  case 7: return x > 0 ? x : x * slope
  default: return x
  }
}

// Float math without Foundation: Double precision is plenty for float outputs.
@inline(__always) func netcExp(_ x: Float) -> Float { Float(netcExpD(Double(x))) }
func netcExpD(_ x: Double) -> Double {
  if x > 709 { return .infinity }
  if x < -745 { return 0 }
  // exp(x) = 2^k * exp(r), |r| <= ln2/2, then a Taylor series for exp(r).
  let k = (x / 0.6931471805599453).rounded()
  let r = x - k * 0.6931471805599453
  var term = 1.0, sum = 1.0
  for n in 1...20 {
    term *= r / Double(n)
    sum += term
    if abs(term) < 1e-17 { break }
  }
  return sum * Double(sign: .plus, exponent: Int(k), significand: 1)
}
@inline(__always) func netcTanh(_ x: Float) -> Float {
  if abs(x) > 20 { return x > 0 ? 1 : -1 }
  let e = netcExpD(2 * Double(x))
  return Float((e - 1) / (e + 1))
}
func netcErf(_ x: Float) -> Float {
  // Abramowitz-Stegun 7.1.26 is too coarse for 1e-4 parity; use the series / continued fraction.
  let z = Double(abs(x))
  var result: Double
  if z < 3 {
    var term = z, sum = z
    var n = 0.0
    repeat {
      n += 1
      term *= -z * z / n
      let add = term / (2 * n + 1)
      sum += add
      if abs(add) < 1e-16 { break }
    } while n < 200
    result = sum * 1.1283791670955126
  } else {
    // erfc continued fraction for large z.
    var f = 0.0
    for k in stride(from: 60.0, through: 1, by: -1) { f = k / 2 / (z + f) }
    result = 1 - netcExpD(-z * z) / (z + f) * 0.5641895835477563
  }
  return Float(x < 0 ? -result : result)
}
@inline(__always) func netcPow(_ x: Double, _ y: Double) -> Double {
  if x <= 0 { return x == 0 ? 0 : .nan }
  return netcExpD(y * netcLog(x))
}
func netcLog(_ x: Double) -> Double {
  // x = m * 2^e, m in [1, 2): log(m) by atanh series.
  let e = Double(x.exponent)
  let m = x.significand
  let t = (m - 1) / (m + 1)
  var term = t, sum = t
  let t2 = t * t
  var n = 1.0
  repeat {
    term *= t2
    n += 2
    sum += term / n
  } while abs(term) > 1e-18 && n < 200
  return 2 * sum + e * 0.6931471805599453
}

/// Work split over cores. Small jobs run inline: a thread hop costs more than they do.
@inline(__always)
public func netcParallel(_ count: Int, work: Int, _ body: (Int) -> Void) {
  if count <= 1 || work < 1 << 15 {
    for i in 0..<count { body(i) }
  } else {
    DispatchQueue.concurrentPerform(iterations: count, execute: body)
  }
}

/// C[M x N] (+)= A[M x K] * B[K x N], all row-major with leading dimensions lda, ldb, ldc.
/// Register-blocked: 4 rows by 32 columns of C in 8 SIMD16 accumulators.
@inline(never)
public func netcGemm(_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int,
                     _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
                     accumulate: Bool) {
  let rowBlocks = (m + 3) / 4
  netcParallel(rowBlocks, work: m * n * k) { rb in
    let i0 = rb * 4
    let rows = min(4, m - i0)
    var j = 0
    while j + 32 <= n {
      var c00 = SIMD16<Float>(), c01 = SIMD16<Float>(), c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
      var c20 = SIMD16<Float>(), c21 = SIMD16<Float>(), c30 = SIMD16<Float>(), c31 = SIMD16<Float>()
      let a0 = a + i0 * lda, a1 = a0 + (rows > 1 ? lda : 0), a2 = a0 + (rows > 2 ? 2 * lda : 0), a3 = a0 + (rows > 3 ? 3 * lda : 0)
      var bp = b + j
      for p in 0..<k {
        let b0 = UnsafeRawPointer(bp).loadUnaligned(as: SIMD16<Float>.self)
        let b1 = UnsafeRawPointer(bp + 16).loadUnaligned(as: SIMD16<Float>.self)
        let x0 = SIMD16<Float>(repeating: a0[p]), x1 = SIMD16<Float>(repeating: a1[p])
        let x2 = SIMD16<Float>(repeating: a2[p]), x3 = SIMD16<Float>(repeating: a3[p])
        c00.addProduct(x0, b0); c01.addProduct(x0, b1)
        c10.addProduct(x1, b0); c11.addProduct(x1, b1)
        c20.addProduct(x2, b0); c21.addProduct(x2, b1)
        c30.addProduct(x3, b0); c31.addProduct(x3, b1)
        bp += ldb
      }
      let accs = [(c00, c01), (c10, c11), (c20, c21), (c30, c31)]
      for r in 0..<rows {
        let cp = c + (i0 + r) * ldc + j
        var (v0, v1) = accs[r]
        if accumulate {
          v0 += UnsafeRawPointer(cp).loadUnaligned(as: SIMD16<Float>.self)
          v1 += UnsafeRawPointer(cp + 16).loadUnaligned(as: SIMD16<Float>.self)
        }
        UnsafeMutableRawPointer(cp).storeBytes(of: v0, as: SIMD16<Float>.self)
        UnsafeMutableRawPointer(cp + 16).storeBytes(of: v1, as: SIMD16<Float>.self)
      }
      j += 32
    }
    // The last columns, one at a time.
    while j < n {
      for r in 0..<rows {
        let ar = a + (i0 + r) * lda
        var s: Float = 0
        for p in 0..<k { s += ar[p] * b[p * ldb + j] }
        let cp = c + (i0 + r) * ldc + j
        cp.pointee = accumulate ? cp.pointee + s : s
      }
      j += 1
    }
  }
}

/// Geometry of a 2-d convolution or pooling over one batch item in NCHW.
public struct NetcConvGeometry {
  public var inC: Int, inH: Int, inW: Int
  public var outC: Int, outH: Int, outW: Int
  public var kH: Int, kW: Int, sH: Int, sW: Int, padT: Int, padL: Int, dH: Int, dW: Int, groups: Int
  public init(inC: Int, inH: Int, inW: Int, outC: Int, outH: Int, outW: Int, kH: Int, kW: Int, sH: Int, sW: Int,
              padT: Int, padL: Int, dH: Int, dW: Int, groups: Int) {
    self.inC = inC; self.inH = inH; self.inW = inW; self.outC = outC; self.outH = outH; self.outW = outW
    self.kH = kH; self.kW = kW; self.sH = sH; self.sW = sW; self.padT = padT; self.padL = padL
    self.dH = dH; self.dW = dW; self.groups = groups
  }
  /// Scratch floats the im2col of one group needs (0 when the convolution reads its input directly).
  public var scratchSize: Int {
    let direct = kH == 1 && kW == 1 && sH == 1 && sW == 1 && padT == 0 && padL == 0
    return direct ? 0 : (inC / groups) * kH * kW * outH * outW
  }
}

/// Convolution as im2col and GEMM, with the epilogue (bias, residual, activation) fused into the write.
/// `weight` is [outC][inC/groups][kH][kW].
@inline(never)
public func netcConv2d(_ g: NetcConvGeometry, batch: Int,
                       input: UnsafePointer<Float>, inStride: Int,
                       weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                       residual: UnsafePointer<Float>?, resStride: Int,
                       output: UnsafeMutablePointer<Float>, outStride: Int,
                       act: Int, slope: Float, scratch: UnsafeMutablePointer<Float>) {
  let cinG = g.inC / g.groups, coutG = g.outC / g.groups
  let kdim = cinG * g.kH * g.kW
  let npix = g.outH * g.outW
  for b in 0..<batch {
    let x = input + b * inStride
    let y = output + b * outStride
    for grp in 0..<g.groups {
      let xg = x + grp * cinG * g.inH * g.inW
      var cols = UnsafePointer(xg)
      if g.scratchSize > 0 {
        netcIm2col(g, xg, cinG, scratch)
        cols = UnsafePointer(scratch)
      }
      netcGemm(coutG, npix, kdim, weight + grp * coutG * kdim, kdim, cols, npix, y + grp * coutG * npix, npix,
               accumulate: false)
    }
    let r = residual.map { $0 + b * resStride }
    netcParallel(g.outC, work: g.outC * npix) { c in
      let yc = y + c * npix
      let bv = bias?[c] ?? 0
      if let r {
        let rc = r + c * npix
        for i in 0..<npix { yc[i] = netcActivate(yc[i] + bv + rc[i], act, slope) }
      } else if act == NetcAct.none {
        if bias != nil { for i in 0..<npix { yc[i] += bv } }
      } else {
        for i in 0..<npix { yc[i] = netcActivate(yc[i] + bv, act, slope) }
      }
    }
  }
}

@inline(never)
func netcIm2col(_ g: NetcConvGeometry, _ x: UnsafePointer<Float>, _ cinG: Int, _ cols: UnsafeMutablePointer<Float>) {
  let npix = g.outH * g.outW
  netcParallel(cinG, work: cinG * g.kH * g.kW * npix) { c in
    for kh in 0..<g.kH {
      for kw in 0..<g.kW {
        let row = cols + ((c * g.kH + kh) * g.kW + kw) * npix
        for oh in 0..<g.outH {
          let ih = oh * g.sH - g.padT + kh * g.dH
          let dst = row + oh * g.outW
          if ih < 0 || ih >= g.inH {
            for ow in 0..<g.outW { dst[ow] = 0 }
            continue
          }
          let src = x + (c * g.inH + ih) * g.inW
          for ow in 0..<g.outW {
            let iw = ow * g.sW - g.padL + kw * g.dW
            dst[ow] = iw >= 0 && iw < g.inW ? src[iw] : 0
          }
        }
      }
    }
  }
}

/// Transposed convolution by scattering each input pixel; `weight` is [inC][outC/groups][kH][kW].
/// `g.padT`/`g.padL` are the convolution's padding, which the transposed output crops.
@inline(never)
public func netcConvTranspose2d(_ g: NetcConvGeometry, batch: Int, input: UnsafePointer<Float>, inStride: Int,
                                weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                residual: UnsafePointer<Float>?, resStride: Int,
                                output: UnsafeMutablePointer<Float>, outStride: Int, act: Int, slope: Float) {
  let cinG = g.inC / g.groups, coutG = g.outC / g.groups
  let npix = g.outH * g.outW
  for b in 0..<batch {
    let x = input + b * inStride
    let y = output + b * outStride
    netcParallel(g.outC, work: g.outC * npix * cinG * g.kH * g.kW) { oc in
      let grp = oc / coutG, ocg = oc % coutG
      let yc = y + oc * npix
      for i in 0..<npix { yc[i] = bias?[oc] ?? 0 }
      for icg in 0..<cinG {
        let ic = grp * cinG + icg
        let w = weight + ((ic * coutG + ocg) * g.kH) * g.kW
        let xc = x + ic * g.inH * g.inW
        for ih in 0..<g.inH {
          for kh in 0..<g.kH {
            let oh = ih * g.sH - g.padT + kh * g.dH
            if oh < 0 || oh >= g.outH { continue }
            for iw in 0..<g.inW {
              let v = xc[ih * g.inW + iw]
              for kw in 0..<g.kW {
                let ow = iw * g.sW - g.padL + kw * g.dW
                if ow >= 0 && ow < g.outW { yc[oh * g.outW + ow] += v * w[kh * g.kW + kw] }
              }
            }
          }
        }
      }
      let r = residual.map { $0 + b * resStride + oc * npix }
      for i in 0..<npix { yc[i] = netcActivate(yc[i] + (r?[i] ?? 0), act, slope) }
    }
  }
}

/// y = W x + b per batch item; `weight` is [out][in].
@inline(never)
public func netcLinear(inFeatures: Int, outFeatures: Int, batch: Int, input: UnsafePointer<Float>, inStride: Int,
                       weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                       outStride: Int, act: Int, slope: Float) {
  let blocks = (outFeatures + 15) / 16
  netcParallel(blocks, work: inFeatures * outFeatures * batch) { blk in
    for o in (blk * 16)..<min(outFeatures, blk * 16 + 16) {
      let w = weight + o * inFeatures
      for b in 0..<batch {
        let x = input + b * inStride
        var acc = SIMD16<Float>()
        var i = 0
        while i + 16 <= inFeatures {
          acc.addProduct(UnsafeRawPointer(w + i).loadUnaligned(as: SIMD16<Float>.self),
                         UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self))
          i += 16
        }
        var s = acc.sum()
        while i < inFeatures { s += w[i] * x[i]; i += 1 }
        output[b * outStride + o] = netcActivate(s + (bias?[o] ?? 0), act, slope)
      }
    }
  }
}

/// Max or average pooling with PyTorch's padding, dilation, ceil-mode and count_include_pad rules.
@inline(never)
public func netcPool(_ g: NetcConvGeometry, isMax: Bool, countIncludePad: Bool, batch: Int,
                     input: UnsafePointer<Float>, inStride: Int, output: UnsafeMutablePointer<Float>, outStride: Int,
                     act: Int, slope: Float) {
  netcParallel(batch * g.inC, work: batch * g.inC * g.outH * g.outW * g.kH * g.kW) { bc in
    let b = bc / g.inC, c = bc % g.inC
    let x = input + b * inStride + c * g.inH * g.inW
    let y = output + b * outStride + c * g.outH * g.outW
    for oh in 0..<g.outH {
      for ow in 0..<g.outW {
        let hs = oh * g.sH - g.padT, ws = ow * g.sW - g.padL
        var v: Float
        if isMax {
          v = -.infinity
          for kh in 0..<g.kH {
            let ih = hs + kh * g.dH
            if ih < 0 || ih >= g.inH { continue }
            for kw in 0..<g.kW {
              let iw = ws + kw * g.dW
              if iw < 0 || iw >= g.inW { continue }
              let t = x[ih * g.inW + iw]
              if t > v || t.isNaN { v = t }
            }
          }
        } else {
          let he = min(hs + g.kH, g.inH + g.padT), we = min(ws + g.kW, g.inW + g.padL)
          let poolSize = (he - hs) * (we - ws)
          let h0 = max(hs, 0), w0 = max(ws, 0), h1 = min(he, g.inH), w1 = min(we, g.inW)
          var s: Float = 0
          if h0 < h1 && w0 < w1 {
            for ih in h0..<h1 { for iw in w0..<w1 { s += x[ih * g.inW + iw] } }
          }
          let divisor = countIncludePad ? poolSize : max(1, (h1 - h0) * (w1 - w0))
          v = s / Float(divisor)
        }
        y[oh * g.outW + ow] = netcActivate(v, act, slope)
      }
    }
  }
}

/// Adaptive pooling: window i spans [floor(i*in/out), ceil((i+1)*in/out)).
@inline(never)
public func netcAdaptivePool(channels: Int, inH: Int, inW: Int, outH: Int, outW: Int, isMax: Bool, batch: Int,
                             input: UnsafePointer<Float>, inStride: Int, output: UnsafeMutablePointer<Float>,
                             outStride: Int, act: Int, slope: Float) {
  netcParallel(batch * channels, work: batch * channels * inH * inW) { bc in
    let b = bc / channels, c = bc % channels
    let x = input + b * inStride + c * inH * inW
    let y = output + b * outStride + c * outH * outW
    for oh in 0..<outH {
      let h0 = oh * inH / outH, h1 = ((oh + 1) * inH + outH - 1) / outH
      for ow in 0..<outW {
        let w0 = ow * inW / outW, w1 = ((ow + 1) * inW + outW - 1) / outW
        var v: Float = isMax ? -.infinity : 0
        for ih in h0..<h1 {
          for iw in w0..<w1 {
            let t = x[ih * inW + iw]
            if isMax { if t > v || t.isNaN { v = t } } else { v += t }
          }
        }
        if !isMax { v /= Float((h1 - h0) * (w1 - w0)) }
        y[oh * outW + ow] = netcActivate(v, act, slope)
      }
    }
  }
}

/// PyTorch's LocalResponseNorm: x / (k + alpha/size * sum of squares over the channel window)^beta.
@inline(never)
public func netcLRN(channels: Int, pixels: Int, size: Int, alpha: Float, beta: Float, k: Float, batch: Int,
                    input: UnsafePointer<Float>, inStride: Int, output: UnsafeMutablePointer<Float>, outStride: Int,
                    act: Int, slope: Float) {
  netcParallel(batch * channels, work: batch * channels * pixels * size) { bc in
    let b = bc / channels, c = bc % channels
    let x = input + b * inStride
    let lo = max(0, c - size / 2), hi = min(channels - 1, c + (size - 1) / 2)
    for p in 0..<pixels {
      var s: Double = 0
      for cc in lo...hi { let v = Double(x[cc * pixels + p]); s += v * v }
      let div = netcPow(Double(k) + Double(alpha) / Double(size) * s, Double(beta))
      output[b * outStride + c * pixels + p] = netcActivate(Float(Double(x[c * pixels + p]) / div), act, slope)
    }
  }
}

/// Upsampling, nearest or bilinear; `scaleH`/`scaleW` are PyTorch's input-per-output ratios.
@inline(never)
public func netcUpsample(channels: Int, inH: Int, inW: Int, outH: Int, outW: Int, bilinear: Bool, alignCorners: Bool,
                         scaleH: Double, scaleW: Double, batch: Int, input: UnsafePointer<Float>, inStride: Int,
                         output: UnsafeMutablePointer<Float>, outStride: Int, act: Int, slope: Float) {
  netcParallel(batch * channels, work: batch * channels * outH * outW) { bc in
    let b = bc / channels, c = bc % channels
    let x = input + b * inStride + c * inH * inW
    let y = output + b * outStride + c * outH * outW
    func source(_ d: Int, _ scale: Double, _ inSize: Int, _ outSize: Int) -> Double {
      if alignCorners { return outSize > 1 ? Double(d) * Double(inSize - 1) / Double(outSize - 1) : 0 }
      return max(0, (Double(d) + 0.5) * scale - 0.5)
    }
    for oh in 0..<outH {
      for ow in 0..<outW {
        var v: Float
        if !bilinear {
          let ih = min(Int((Double(oh) * scaleH).rounded(.down)), inH - 1)
          let iw = min(Int((Double(ow) * scaleW).rounded(.down)), inW - 1)
          v = x[ih * inW + iw]
        } else {
          let sh = source(oh, scaleH, inH, outH), sw = source(ow, scaleW, inW, outW)
          let h0 = min(Int(sh), inH - 1), w0 = min(Int(sw), inW - 1)
          let h1 = min(h0 + 1, inH - 1), w1 = min(w0 + 1, inW - 1)
          let lh = Float(sh - Double(h0)), lw = Float(sw - Double(w0))
          v = (1 - lh) * ((1 - lw) * x[h0 * inW + w0] + lw * x[h0 * inW + w1])
            + lh * ((1 - lw) * x[h1 * inW + w0] + lw * x[h1 * inW + w1])
        }
        y[oh * outW + ow] = netcActivate(v, act, slope)
      }
    }
  }
}

/// Softmax over the channels (dim 1) at every pixel.
@inline(never)
public func netcSoftmax(channels: Int, pixels: Int, batch: Int, input: UnsafePointer<Float>, inStride: Int,
                        output: UnsafeMutablePointer<Float>, outStride: Int) {
  for b in 0..<batch {
    let x = input + b * inStride, y = output + b * outStride
    for p in 0..<pixels {
      var m = -Float.infinity
      for c in 0..<channels { m = max(m, x[c * pixels + p]) }
      var s: Double = 0
      for c in 0..<channels {
        let e = netcExp(x[c * pixels + p] - m)
        y[c * pixels + p] = e
        s += Double(e)
      }
      for c in 0..<channels { y[c * pixels + p] = Float(Double(y[c * pixels + p]) / s) }
    }
  }
}

/// y = act(x * scale[c] + shift[c]): a batch norm that had nothing to fold into, or a bare activation.
@inline(never)
public func netcChannelAffine(channels: Int, pixels: Int, batch: Int, scale: UnsafePointer<Float>?,
                              shift: UnsafePointer<Float>?, input: UnsafePointer<Float>, inStride: Int,
                              output: UnsafeMutablePointer<Float>, outStride: Int, act: Int, slope: Float) {
  netcParallel(batch * channels, work: batch * channels * pixels) { bc in
    let b = bc / channels, c = bc % channels
    let x = input + b * inStride + c * pixels, y = output + b * outStride + c * pixels
    let s = scale?[c] ?? 1, t = shift?[c] ?? 0
    for i in 0..<pixels { y[i] = netcActivate(x[i] * s + t, act, slope) }
  }
}

/// Elementwise add or multiply of several inputs with PyTorch broadcasting over [C, H, W].
@inline(never)
public func netcElementwise(isMul: Bool, shape: [Int], inputs: [(UnsafePointer<Float>, Int, [Int])], batch: Int,
                            output: UnsafeMutablePointer<Float>, outStride: Int, act: Int, slope: Float) {
  let dims = shape + [Int](repeating: 1, count: 3 - shape.count)
  let (C, H, W) = (dims[0], dims[1], dims[2])
  for b in 0..<batch {
    let y = output + b * outStride
    for c in 0..<C {
      for h in 0..<H {
        for w in 0..<W {
          var v: Float = isMul ? 1 : 0
          for (ptr, stride, s) in inputs {
            let d = s + [Int](repeating: 1, count: 3 - s.count)
            let idx = ((d[0] == 1 ? 0 : c) * d[1] + (d[1] == 1 ? 0 : h)) * d[2] + (d[2] == 1 ? 0 : w)
            let t = ptr[b * stride + idx]
            v = isMul ? v * t : v + t
          }
          y[(c * H + h) * W + w] = netcActivate(v, act, slope)
        }
      }
    }
  }
}

/// Copies `count` floats of each batch item (a concatenation that could not be done in place).
@inline(never)
public func netcCopy(count: Int, batch: Int, input: UnsafePointer<Float>, inStride: Int,
                     output: UnsafeMutablePointer<Float>, outStride: Int) {
  for b in 0..<batch { (output + b * outStride).update(from: input + b * inStride, count: count) }
}

/// exp for callers outside the kernels (the CLI's top-5).
public func netcExpPublic(_ x: Float) -> Float { netcExp(x) }

/// Batch norm as a per-channel scale and shift: scale = gamma / sqrt(var + eps), shift = beta - mean * scale.
@inline(never)
public func netcBatchNormAffine(mean: [Float], variance: [Float], gamma: [Float]?, beta: [Float]?, eps: Double)
  -> (scale: [Float], shift: [Float])
{
  var scale = [Float](repeating: 0, count: mean.count), shift = scale
  for c in 0..<mean.count {
    let s = Double(gamma?[c] ?? 1) / (Double(variance[c]) + eps).squareRoot()
    scale[c] = Float(s)
    shift[c] = Float(Double(beta?[c] ?? 0) - Double(mean[c]) * s)
  }
  return (scale, shift)
}

/// Folds a batch norm into the layer before it: w' = w * scale[out], b' = b * scale + shift. The weight is
/// laid out as `netcOutChannel` describes (a linear layer is a 1x1 convolution: kernel 1, groups 1).
@inline(never)
public func netcFold(weight: [Float], bias: [Float]?, scale: [Float], shift: [Float], transposed: Bool,
                     inChannels: Int, outChannels: Int, groups: Int, kernel: Int) -> (weight: [Float], bias: [Float])
{
  var w = weight
  for i in 0..<w.count {
    w[i] *= scale[netcOutChannel(i, transposed: transposed, inChannels: inChannels, outChannels: outChannels,
                                 groups: groups, kernel: kernel)]
  }
  var b = [Float](repeating: 0, count: scale.count)
  for c in 0..<scale.count { b[c] = (bias?[c] ?? 0) * scale[c] + shift[c] }
  return (w, b)
}

/// The output channel of element i of a weight tensor: [out][in/g][kh][kw] for a convolution or linear
/// layer, [in][out/g][kh][kw] for a transposed convolution.
public func netcOutChannel(_ i: Int, transposed: Bool, inChannels: Int, outChannels: Int, groups: Int, kernel: Int) -> Int {
  if !transposed { return i / (inChannels / groups * kernel) }
  let coutG = outChannels / groups
  let ic = i / (coutG * kernel)
  return (ic / (inChannels / groups)) * coutG + (i / kernel) % coutG
}
