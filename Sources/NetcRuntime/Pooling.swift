// Pooling kernels: max and average pooling with PyTorch's rules, and adaptive pooling. Like Kernels.swift,
// this file is copied into the Swift that `netc emit` writes: only the standard library.

/// Max or average pooling with PyTorch's padding, dilation, ceil-mode and count_include_pad rules.
///
/// Output rows are accumulated in place, one kernel tap at a time over a whole row: each tap's valid
/// columns are found once (per plane for max pooling, whose order of taps does not matter), so the inner
/// loops have no bounds tests and vectorize. Average pooling keeps PyTorch's order of summation.
@inline(never)
public func netcPool(_ g: NetcConvGeometry, isMax: Bool, countIncludePad: Bool, batch: Int,
                     input: UnsafePointer<Float>, inStride: Int, output: UnsafeMutablePointer<Float>, outStride: Int,
                     act: Int, slope: Float) {
  // Output columns whose tap kw lands inside the input: 0 <= ow * sW + off < inW.
  @inline(__always) func columns(_ kw: Int) -> (off: Int, lo: Int, hi: Int) {
    let off = kw * g.dW - g.padL
    if g.sW == 1 { return (off, max(0, -off), min(g.outW, g.inW - off)) }
    let lo = off >= 0 ? 0 : (-off + g.sW - 1) / g.sW
    let hi = off < g.inW ? min(g.outW, (g.inW - 1 - off) / g.sW + 1) : 0
    return (off, lo, hi)
  }
  netcParallel(batch * g.inC, work: batch * g.inC * g.outH * g.outW * g.kH * g.kW) { bc in
    let b = bc / g.inC, c = bc % g.inC
    let x = input + b * inStride + c * g.inH * g.inW
    let y = output + b * outStride + c * g.outH * g.outW
    if isMax && g.sW == 1 && g.padL + g.inW + 16 <= 128 && g.outW + (g.kW - 1) * g.dW + 16 <= 128 {
      netcMaxPoolNarrowPlane(g, x, y)
    } else if isMax {
      y.update(repeating: -.infinity, count: g.outH * g.outW)
      for kw in 0..<g.kW {
        let (off, lo, hi) = columns(kw)
        if lo >= hi { continue }
        for oh in 0..<g.outH {
          let hs = oh * g.sH - g.padT
          for kh in 0..<g.kH {
            let ih = hs + kh * g.dH
            if ih < 0 || ih >= g.inH { continue }
            netcMaxRow(y + oh * g.outW + lo, x + ih * g.inW + lo * g.sW + off, count: hi - lo, stride: g.sW)
          }
        }
      }
    } else {
      for oh in 0..<g.outH {
        let row = y + oh * g.outW
        row.update(repeating: 0, count: g.outW)
        let hs = oh * g.sH - g.padT
        for kh in 0..<g.kH {
          let ih = hs + kh * g.dH
          if ih < 0 || ih >= g.inH { continue }
          for kw in 0..<g.kW {
            let (off, lo, hi) = columns(kw)
            if lo < hi { netcAddRow(row + lo, x + ih * g.inW + lo * g.sW + off, count: hi - lo, stride: g.sW) }
          }
        }
        let he = min(hs + g.kH, g.inH + g.padT), h0 = max(hs, 0), h1 = min(he, g.inH)
        for ow in 0..<g.outW {
          let ws = ow * g.sW - g.padL
          let we = min(ws + g.kW, g.inW + g.padL), w0 = max(ws, 0), w1 = min(we, g.inW)
          let divisor = countIncludePad ? (he - hs) * (we - ws) : max(1, (h1 - h0) * (w1 - w0))
          row[ow] /= Float(divisor)
        }
      }
    }
    if act != NetcAct.none {
      for i in 0..<(g.outH * g.outW) { y[i] = netcActivate(y[i], act, slope) }
    }
  }
}

/// Max pooling of one plane whose rows are narrow (as in GoogLeNet's 28x28 to 7x7 inception pools) with a
/// horizontal stride of 1. Per output row, the valid input rows are reduced into a 128-float row on the
/// stack whose padding and tail hold -inf, then the kernel's columns are shifted loads of that row: every
/// step is a whole vector, where reducing tap by tap would spend its time on 14-wide remainders. A max may
/// see an element twice, so a remainder of 8 to 15 is two overlapping 8-wide vectors.
@inline(__always)
func netcMaxPoolNarrowPlane(_ g: NetcConvGeometry, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
  typealias V = SIMD16<Float>
  typealias H = SIMD8<Float>
  @inline(__always) func nanMax(_ a: V, _ t: V) -> V { a.replacing(with: t, where: (t .> a) .| (t .!= t)) }
  @inline(__always) func nanMax(_ a: H, _ t: H) -> H { a.replacing(with: t, where: (t .> a) .| (t .!= t)) }
  @inline(__always) func nanMax(_ a: Float, _ t: Float) -> Float { t > a || t != t ? t : a }
  var row = (V(repeating: -.infinity), V(repeating: -.infinity), V(repeating: -.infinity), V(repeating: -.infinity),
             V(repeating: -.infinity), V(repeating: -.infinity), V(repeating: -.infinity), V(repeating: -.infinity))
  withUnsafeMutableBytes(of: &row) { raw in
    let buf = raw.baseAddress!.assumingMemoryBound(to: Float.self)
    let body = buf + g.padL
    let width = g.inW, outW = g.outW, taps = g.kW, dW = g.dW
    @inline(__always) func merge16(_ i: Int, _ src: UnsafePointer<Float>) {
      let v = nanMax(UnsafeRawPointer(body + i).loadUnaligned(as: V.self), UnsafeRawPointer(src + i).loadUnaligned(as: V.self))
      UnsafeMutableRawPointer(body + i).storeBytes(of: v, as: V.self)
    }
    @inline(__always) func merge8(_ i: Int, _ src: UnsafePointer<Float>) {
      let v = nanMax(UnsafeRawPointer(body + i).loadUnaligned(as: H.self), UnsafeRawPointer(src + i).loadUnaligned(as: H.self))
      UnsafeMutableRawPointer(body + i).storeBytes(of: v, as: H.self)
    }
    @inline(__always) func out16(_ ow: Int, _ out: UnsafeMutablePointer<Float>) {
      var m = UnsafeRawPointer(buf + ow).loadUnaligned(as: V.self)
      for kw in 1..<max(1, taps) { m = nanMax(m, UnsafeRawPointer(buf + ow + kw * dW).loadUnaligned(as: V.self)) }
      UnsafeMutableRawPointer(out + ow).storeBytes(of: m, as: V.self)
    }
    @inline(__always) func out8(_ ow: Int, _ out: UnsafeMutablePointer<Float>) {
      var m = UnsafeRawPointer(buf + ow).loadUnaligned(as: H.self)
      for kw in 1..<max(1, taps) { m = nanMax(m, UnsafeRawPointer(buf + ow + kw * dW).loadUnaligned(as: H.self)) }
      UnsafeMutableRawPointer(out + ow).storeBytes(of: m, as: H.self)
    }
    for oh in 0..<g.outH {
      for i in 0..<128 { buf[i] = -.infinity }
      let hs = oh * g.sH - g.padT
      for kh in 0..<g.kH {
        let ih = hs + kh * g.dH
        if ih < 0 || ih >= g.inH { continue }
        let src = x + ih * width
        var i = 0
        while i + 16 <= width { merge16(i, src); i += 16 }
        if width >= 8 {
          if width - i >= 8 { merge8(i, src) }
          if i < width { merge8(width - 8, src) }
        } else {
          for j in 0..<width { body[j] = nanMax(body[j], src[j]) }
        }
      }
      let out = y + oh * outW
      var ow = 0
      while ow + 16 <= outW { out16(ow, out); ow += 16 }
      if outW >= 8 {
        if outW - ow >= 8 { out8(ow, out) }
        if ow < outW { out8(outW - 8, out) }
      } else {
        for o in 0..<outW {
          var m = buf[o]
          for kw in 1..<max(1, taps) { m = nanMax(m, buf[o + kw * dW]) }
          out[o] = m
        }
      }
    }
  }
}

/// acc[i] = max(acc[i], src[i * stride]), NaN winning as in PyTorch's max pooling. A max may see an element
/// twice, so a row of 8 or more is covered by whole vectors, the last one overlapping the one before.
@inline(__always)
func netcMaxRow(_ acc: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int, stride: Int) {
  // Written out for each width: a generic helper here is not specialised and runs ten times slower.
  @inline(__always) func step16(_ i: Int) {
    let a = UnsafeRawPointer(acc + i).loadUnaligned(as: SIMD16<Float>.self)
    let t = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD16<Float>.self)
    UnsafeMutableRawPointer(acc + i).storeBytes(of: a.replacing(with: t, where: (t .> a) .| (t .!= t)), as: SIMD16<Float>.self)
  }
  @inline(__always) func step8(_ i: Int) {
    let a = UnsafeRawPointer(acc + i).loadUnaligned(as: SIMD8<Float>.self)
    let t = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float>.self)
    UnsafeMutableRawPointer(acc + i).storeBytes(of: a.replacing(with: t, where: (t .> a) .| (t .!= t)), as: SIMD8<Float>.self)
  }
  if stride == 1 && count >= 16 {
    var i = 0
    while i + 16 <= count { step16(i); i += 16 }
    if i < count { step16(count - 16) }
  } else if stride == 1 && count >= 8 {
    step8(0)
    step8(count - 8)
  } else {
    for i in 0..<count {
      let t = src[i * stride], a = acc[i]
      acc[i] = t > a || t != t ? t : a
    }
  }
}

/// acc[i] += src[i * stride].
@inline(__always)
func netcAddRow(_ acc: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int, stride: Int) {
  if stride == 1 {
    for i in 0..<count { acc[i] += src[i] }
  } else {
    for i in 0..<count { acc[i] += src[i * stride] }
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
