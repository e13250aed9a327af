// Pooling kernels: max and average pooling with PyTorch's rules, and adaptive pooling. Only the standard
// library, like Kernels.swift.

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
  let sameMaxPool3x3 = isMax && netcIsSameMaxPool3x3(g)
  let byRows = isMax && !sameMaxPool3x3 && NetcPoolRowPlan.fits(g)
  let laneColumns = sameMaxPool3x3 ? netcSameMaxPool3x3Columns(width: g.inW, count: g.inH * g.inW) : (.zero, .zero)
  // Planes go out in runs, each with its two stack buffers set to -inf once: the plane kernels write the
  // same places of them for every plane of `g`, so the -inf they rely on stays. (Setting 8 KiB per plane
  // cost about as much as pooling a 14x14 or 7x7 plane: GoogLeNet's pools together 0.67 -> 0.50 ms.)
  @inline(__always) func pool(_ bc: Int, _ first: UnsafeMutablePointer<Float>, _ second: UnsafeMutablePointer<Float>) {
    let b = bc / g.inC, c = bc % g.inC
    let x = input + b * inStride + c * g.inH * g.inW
    let y = output + b * outStride + c * g.outH * g.outW
    if sameMaxPool3x3 {
      netcMaxPoolSame3x3Plane(g, x, y, columns: laneColumns, padded: first, vertical: second + 16)
    } else if byRows {
      netcMaxPoolPlaneByRows(g, x, y, rows: first, phases: second)
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
      netcActivate(y, y, count: g.outH * g.outW, act, slope)
    }
  }
  let planes = batch * g.inC, runs = min(planes, 8 * netcWorkers)
  netcParallel(runs, work: planes * g.outH * g.outW * g.kH * g.kW) { run in
    var firstStorage = NetcPoolRows(), secondStorage = NetcPoolRows()
    withUnsafeMutableBytes(of: &firstStorage) { firstRaw in
      withUnsafeMutableBytes(of: &secondStorage) { secondRaw in
        let first = firstRaw.baseAddress!.assumingMemoryBound(to: Float.self)
        let second = secondRaw.baseAddress!.assumingMemoryBound(to: Float.self)
        for bc in (planes * run / runs)..<(planes * (run + 1) / runs) {
          pool(bc, first, second)
        }
      }
    }
  }
}

/// Whether `g` is a 3x3, stride-1 max pool padded by 1 (GoogLeNet's inception branches) over a plane that
/// fits the stack buffers with a row of -inf above and below: netcMaxPoolSame3x3Plane's case.
func netcIsSameMaxPool3x3(_ g: NetcConvGeometry) -> Bool {
  g.kH == 3 && g.kW == 3 && g.sH == 1 && g.sW == 1 && g.padT == 1 && g.padL == 1 && g.dH == 1 && g.dW == 1
    && g.outH == g.inH && g.outW == g.inW && g.inW >= 2 && g.inH * g.inW >= 16
    && g.inH * g.inW + 2 * g.inW + 32 <= NetcPoolRows.floats
}

/// The columns of the 16 lanes of netcMaxPoolSame3x3Plane's first and last chunk of a w-wide plane of n
/// floats, as floats: integer lane masks are built lane by lane, float ones in one instruction.
func netcSameMaxPool3x3Columns(width w: Int, count n: Int) -> (first: SIMD16<Float>, last: SIMD16<Float>) {
  var first = SIMD16<Float>(), last = SIMD16<Float>()
  for l in 0..<16 {
    first[l] = Float(l % w)
    last[l] = Float((n - 16 + l) % w)
  }
  return (first, last)
}

/// A 3x3, stride-1 max pool padded by 1 over one plane, taken as one flat array so that every step is a
/// whole vector even on 7- and 14-wide maps: the plane is copied between rows of -inf, each element takes
/// the maximum with the ones above and below it, then with its left and right neighbours, where lanes at
/// the first and last column of a row take -inf instead. `columns` comes from netcSameMaxPool3x3Columns;
/// `padded` and `vertical - 16` are NetcPoolRows.floats floats, -inf wherever this function did not write
/// them for another plane of `g`.
@inline(__always)
func netcMaxPoolSame3x3Plane(_ g: NetcConvGeometry, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                             columns: (first: SIMD16<Float>, last: SIMD16<Float>), padded: UnsafeMutablePointer<Float>,
                             vertical: UnsafeMutablePointer<Float>) {
  typealias V = SIMD16<Float>
  @inline(__always) func nanMax(_ a: V, _ t: V) -> V { a.replacing(with: t, where: (t .> a) .| (t .!= t)) }
  @inline(__always) func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
  @inline(__always) func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
  }
  let w = g.inW, n = g.inH * g.inW
  // padded: a row of -inf, the plane, a row of -inf. vertical: 16 floats of -inf on either side.
  // Chunks of 16 from the start, the last one overlapping the one before.
  @inline(__always) func chunks(_ body: (Int) -> Void) {
    var i = 0
    while i + 16 <= n { body(i); i += 16 }
    if i < n { body(n - 16) }
  }
  chunks { i in store(load(x + i), padded + w + i) }
  chunks { i in store(nanMax(nanMax(load(padded + w + i), load(padded + i)), load(padded + 2 * w + i)), vertical + i) }
  let step = Float(16 % w), width = Float(w)
  @inline(__always) func horizontal(_ i: Int, _ column: V) {
    let left = load(vertical + i - 1).replacing(with: -.infinity, where: column .== 0)
    let right = load(vertical + i + 1).replacing(with: -.infinity, where: column .== width - 1)
    store(nanMax(nanMax(load(vertical + i), left), right), y + i)
  }
  var column = columns.first, i = 0
  while i + 16 <= n {
    horizontal(i, column)
    column += step
    column = column.replacing(with: column - width, where: column .>= width)
    i += 16
  }
  if i < n { horizontal(n - 16, columns.last) }
}

/// 1024 floats on the stack, -inf until written: rows of netcMaxPoolPlaneByRows.
struct NetcPoolRows {
  typealias V = SIMD16<Float>
  typealias Half = (V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V)
  static let floats = 1024
  var low: Half, high: Half
  init() {
    let n = V(repeating: -.infinity)
    low = (n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n)
    high = low
  }
}

/// How netcMaxPoolPlaneByRows lays out the rows of one plane of `g`: each output row's vertical maximum
/// over the padded width (`pitch` floats), and for a stride s > 1 its s phases (`phaseLength` floats each);
/// `batch` output rows at a time.
struct NetcPoolRowPlan {
  let pitch: Int, phaseLength: Int, phasePitch: Int, batch: Int

  init(_ g: NetcConvGeometry) {
    @inline(__always) func up16(_ n: Int) -> Int { (n + 15) / 16 * 16 }
    let reach = (g.outW - 1) * g.sW + (g.kW - 1) * g.dW + 1
    phaseLength = g.outW + (g.kW - 1) * g.dW / g.sW
    phasePitch = g.sW * up16(phaseLength)
    pitch = up16(max(g.padL + g.inW, reach, g.sW > 1 ? phasePitch : 0))
    batch = max(1, min(g.outH, NetcPoolRows.floats / pitch, g.sW > 1 ? NetcPoolRows.floats / phasePitch : g.outH))
  }

  /// Whether netcMaxPoolPlaneByRows handles `g`: one padded row and its phases fit the stack buffers (every
  /// pooling layer of AlexNet, VGG, GoogLeNet and ResNet does).
  static func fits(_ g: NetcConvGeometry) -> Bool {
    guard g.sW >= 1, g.sW <= 8, g.outW >= 1, g.outH >= 1, g.padL >= 0, g.inW <= NetcPoolRows.floats,
      g.outW <= NetcPoolRows.floats, g.kW * g.dW <= NetcPoolRows.floats
    else { return false }
    let plan = NetcPoolRowPlan(g)
    return plan.pitch <= NetcPoolRows.floats && plan.phasePitch <= NetcPoolRows.floats
  }
}

/// Max pooling of one plane whose padded rows fit the stack buffers, a batch of output rows at a time, in
/// three passes: each row's vertical maximum over its window's input rows, reduced in registers into a row
/// whose padding and tail hold -inf; for a horizontal stride s > 1, that row's s phases (phase p holds
/// columns p, p + s, ...); then tap kw of output column ow is element ow + kw dW / s of phase kw dW % s (of
/// the row itself when s = 1), so every output vector is a max of shifted whole-vector loads. A pass reads
/// what the one before stored a batch earlier, not just before: a load spanning two fresh stores would
/// wait for them. A max may see an element twice, so a remainder is an overlapping vector. `rows` and
/// `phases` are NetcPoolRows.floats floats, -inf wherever this function did not write them for another
/// plane of `g`.
@inline(__always)
func netcMaxPoolPlaneByRows(_ g: NetcConvGeometry, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                            rows: UnsafeMutablePointer<Float>, phases: UnsafeMutablePointer<Float>) {
  typealias V = SIMD16<Float>
  typealias H = SIMD8<Float>
  @inline(__always) func nanMax(_ a: V, _ t: V) -> V { a.replacing(with: t, where: (t .> a) .| (t .!= t)) }
  @inline(__always) func nanMax(_ a: H, _ t: H) -> H { a.replacing(with: t, where: (t .> a) .| (t .!= t)) }
  @inline(__always) func nanMax(_ a: Float, _ t: Float) -> Float { t > a || t != t ? t : a }
  let plan = NetcPoolRowPlan(g)
  let width = g.inW, outW = g.outW, taps = g.kW, dW = g.dW, sW = g.sW
  let pitch = plan.pitch, phaseLength = plan.phaseLength, phaseStride = plan.phasePitch / sW
  // Whether 8 floats from the last tap's start stay inside its row or phase.
  let narrowFits = (taps - 1) * dW / sW + 8 <= (sW == 1 ? pitch : phaseStride)
  var oh0 = 0
  while oh0 < g.outH {
    let count = min(plan.batch, g.outH - oh0)
    // Pass 1: vertical maxima.
    for r in 0..<count {
      let body = rows + r * pitch + g.padL
      let hs = (oh0 + r) * g.sH - g.padT
      let kh0 = hs >= 0 ? 0 : (-hs + g.dH - 1) / g.dH
      let kh1 = min(g.kH, hs < g.inH ? (g.inH - 1 - hs) / g.dH + 1 : 0)
      if kh0 >= kh1 {
        for j in 0..<width { body[j] = -.infinity }
        continue
      }
      let first = x + (hs + kh0 * g.dH) * width
      @inline(__always) func column16(_ i: Int) {
        var m = UnsafeRawPointer(first + i).loadUnaligned(as: V.self)
        for kh in (kh0 + 1)..<max(kh0 + 1, kh1) {
          m = nanMax(m, UnsafeRawPointer(x + (hs + kh * g.dH) * width + i).loadUnaligned(as: V.self))
        }
        UnsafeMutableRawPointer(body + i).storeBytes(of: m, as: V.self)
      }
      @inline(__always) func column8(_ i: Int) {
        var m = UnsafeRawPointer(first + i).loadUnaligned(as: H.self)
        for kh in (kh0 + 1)..<max(kh0 + 1, kh1) {
          m = nanMax(m, UnsafeRawPointer(x + (hs + kh * g.dH) * width + i).loadUnaligned(as: H.self))
        }
        UnsafeMutableRawPointer(body + i).storeBytes(of: m, as: H.self)
      }
      if width >= 16 {
        var i = 0
        while i + 16 <= width { column16(i); i += 16 }
        if i < width { column16(width - 16) }
      } else if width >= 8 {
        column8(0)
        column8(width - 8)
      } else {
        for j in 0..<width {
          var m = first[j]
          for kh in (kh0 + 1)..<max(kh0 + 1, kh1) { m = nanMax(m, x[(hs + kh * g.dH) * width + j]) }
          body[j] = m
        }
      }
    }
    // Pass 2: phases.
    if sW == 2 {
      for r in 0..<count {
        let row = rows + r * pitch, even = phases + r * plan.phasePitch, odd = even + phaseStride
        var j = 0
        while j < phaseLength {
          let pair = netcLoad32(row + 2 * j)
          UnsafeMutableRawPointer(even + j).storeBytes(of: pair.evenHalf, as: V.self)
          UnsafeMutableRawPointer(odd + j).storeBytes(of: pair.oddHalf, as: V.self)
          j += 16
        }
      }
    } else if sW > 2 {
      for r in 0..<count {
        let row = rows + r * pitch
        for p in 0..<sW {
          let phase = phases + r * plan.phasePitch + p * phaseStride
          for j in 0..<phaseLength { phase[j] = row[j * sW + p] }
        }
      }
    }
    // Pass 3: horizontal maxima.
    for r in 0..<count {
      let row = rows + r * pitch, rowPhases = phases + r * plan.phasePitch
      @inline(__always) func tap(_ kw: Int) -> UnsafePointer<Float> {
        sW == 1 ? UnsafePointer(row + kw * dW) : UnsafePointer(rowPhases + (kw * dW % sW) * phaseStride + kw * dW / sW)
      }
      @inline(__always) func out16(_ ow: Int, _ out: UnsafeMutablePointer<Float>) {
        var m = UnsafeRawPointer(tap(0) + ow).loadUnaligned(as: V.self)
        for kw in 1..<max(1, taps) { m = nanMax(m, UnsafeRawPointer(tap(kw) + ow).loadUnaligned(as: V.self)) }
        UnsafeMutableRawPointer(out + ow).storeBytes(of: m, as: V.self)
      }
      @inline(__always) func out8(_ ow: Int, _ out: UnsafeMutablePointer<Float>) {
        var m = UnsafeRawPointer(tap(0) + ow).loadUnaligned(as: H.self)
        for kw in 1..<max(1, taps) { m = nanMax(m, UnsafeRawPointer(tap(kw) + ow).loadUnaligned(as: H.self)) }
        UnsafeMutableRawPointer(out + ow).storeBytes(of: m, as: H.self)
      }
      let out = y + (oh0 + r) * outW
      if outW >= 16 {
        var ow = 0
        while ow + 16 <= outW { out16(ow, out); ow += 16 }
        if ow < outW { out16(outW - 16, out) }
      } else if outW >= 8 {
        out8(0, out)
        out8(outW - 8, out)
      } else if narrowFits {
        // Fewer than 8 outputs (a 7x7 map): one vector, its last lanes dropped. Element by element, with a
        // division in each tap's address, GoogLeNet's 2x2 pool over 832 14x14 planes took 132 us (113 now;
        // medians in isolation).
        var m = UnsafeRawPointer(tap(0)).loadUnaligned(as: H.self)
        for kw in 1..<max(1, taps) { m = nanMax(m, UnsafeRawPointer(tap(kw)).loadUnaligned(as: H.self)) }
        for o in 0..<outW { out[o] = m[o] }
      } else {
        for o in 0..<outW {
          var m = tap(0)[o]
          for kw in 1..<max(1, taps) { m = nanMax(m, tap(kw)[o]) }
          out[o] = m
        }
      }
    }
    oh0 += count
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
    if inH == outH && inW == outW {
      // Every window is one element (AlexNet's 6x6 pool of a 6x6 map).
      netcActivate(x, y, count: outH * outW, act, slope)
      return
    }
    if outH == 1 && outW == 1 {
      // Global pooling (squeeze-excitation's, every classifier's head): four vector chains over the plane.
      y[0] = netcActivate(netcReducePlane(x, count: inH * inW, isMax: isMax), act, slope)
      return
    }
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

/// The mean or the maximum (NaN winning, as in PyTorch) of `count` floats, 64 at a time in four chains.
@inline(__always)
func netcReducePlane(_ x: UnsafePointer<Float>, count: Int, isMax: Bool) -> Float {
  typealias V = SIMD16<Float>
  let start = V(repeating: isMax ? -.infinity : 0)
  var a0 = start, a1 = start, a2 = start, a3 = start
  @inline(__always) func take(_ a: inout V, _ t: V) {
    if isMax { a = a.replacing(with: t, where: (t .> a) .| (t .!= t)) } else { a += t }
  }
  var i = 0
  while i + 64 <= count {
    take(&a0, UnsafeRawPointer(x + i).loadUnaligned(as: V.self))
    take(&a1, UnsafeRawPointer(x + i + 16).loadUnaligned(as: V.self))
    take(&a2, UnsafeRawPointer(x + i + 32).loadUnaligned(as: V.self))
    take(&a3, UnsafeRawPointer(x + i + 48).loadUnaligned(as: V.self))
    i += 64
  }
  while i + 16 <= count {
    take(&a0, UnsafeRawPointer(x + i).loadUnaligned(as: V.self))
    i += 16
  }
  take(&a0, a1); take(&a0, a2); take(&a0, a3)
  var v: Float = isMax ? -.infinity : 0
  for l in 0..<16 {
    let t = a0[l]
    if isMax { if t > v || t.isNaN { v = t } } else { v += t }
  }
  while i < count {
    let t = x[i]
    if isMax { if t > v || t.isNaN { v = t } } else { v += t }
    i += 1
  }
  return isMax ? v : v / Float(count)
}
