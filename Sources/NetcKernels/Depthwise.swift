// Depthwise convolution (as many groups as input and output channels): MobileNet's and EfficientNet's 3x3
// and 5x5 at strides 1 and 2, ConvNeXt's 7x7. As a GEMM each group is one output row, which the GEMM's
// 8-row tiles pad eightfold, and an im2col panel gathered for it; here each channel's plane is convolved
// directly, 16 output pixels to a vector (ConvNeXt-T's 7x7 over 96x56x56: 4.2 -> 0.6 ms).
// A strided plane is first split by column phase (column j of the padded plane goes to row j % sW of a
// `phases` block, at j / sW), so that every tap of 16 neighbouring outputs is one contiguous load, as at
// stride 1. Only the standard library, like Kernels.swift.

/// netcConv2d convolves `g` plane by plane: a depthwise convolution with strides of at most 4, a kernel of
/// at most 15x15 and padding inside its dilated extent, on maps of at most 2^14 a side.
public func netcUsesDepthwise(_ g: NetcConvGeometry) -> Bool {
  g.groups > 1 && g.groups == g.inC && g.groups == g.outC && g.sH <= 4 && g.sW <= 4 && g.dH <= 16 && g.dW <= 16
    && g.kH <= 15 && g.kW <= 15 && g.padT >= 0 && g.padL >= 0
    && g.padT <= (g.kH - 1) * g.dH && g.padL <= (g.kW - 1) * g.dW
    && g.inH <= 1 << 14 && g.inW <= 1 << 14 && g.outH <= 1 << 14 && g.outW <= 1 << 14
}

/// netcConv2d convolves `g` plane by plane, each group's input planes copied once and convolved into each
/// of its output channels: a grouped convolution of at most 16 input channels a group (RegNet's groups of
/// 8, ResNeXt's of 4 to 32), other than a depthwise one, under netcUsesDepthwise's limits on maps at least
/// 7 wide. As a GEMM each group gathers an im2col panel per 32 pixels, twice the loads of its
/// multiply-adds at 8 channels a group, and over a 7x7 map each group was a GEMM of its own (RegNetY's
/// 440x7x7 in 55 groups, one thread: 0.25 -> 0.20 ms, half a 16-lane vector wasted on each row and still
/// faster).
public func netcUsesGroupPlanes(_ g: NetcConvGeometry) -> Bool {
  guard g.groups > 1, g.inC % g.groups == 0, g.outC % g.groups == 0, g.inC / g.groups <= 16, g.outW >= 7,
        g.inC != g.groups || g.outC != g.groups else {
    return false
  }
  let depthwise = NetcConvGeometry(inC: g.groups, inH: g.inH, inW: g.inW, outC: g.groups, outH: g.outH, outW: g.outW,
                                   kH: g.kH, kW: g.kW, sH: g.sH, sW: g.sW, padT: g.padT, padL: g.padL, dH: g.dH,
                                   dW: g.dW, groups: g.groups)
  return netcUsesDepthwise(depthwise)
}

/// The zero-padded plane one worker convolves: `rows` rows, each `sW` phase rows of `pitch` floats, wide
/// enough that every vector of 16 outputs, the last one included, reads inside it.
struct NetcDepthwisePlane {
  let rows: Int, pitch: Int, phases: Int
  init(_ g: NetcConvGeometry) {
    rows = (g.outH - 1) * g.sH + (g.kH - 1) * g.dH + 1
    pitch = (g.outW + 15) / 16 * 16 + (g.kW - 1) * g.dW / g.sW
    phases = g.sW
  }
  var rowFloats: Int { phases * pitch }
  var floats: Int { rows * rowFloats }
}

/// Scratch floats netcDepthwiseConv2d needs: a group's padded planes, or a padded tile of 16 channels and
/// their weights, per worker.
func netcDepthwiseScratch(_ g: NetcConvGeometry) -> Int {
  netcWorkers * (netcDepthwiseTile(g)?.floats ?? g.inC / g.groups * NetcDepthwisePlane(g).floats)
}

/// A map narrower than a vector wastes lanes plane by plane (a 7x7 map fills 7 of 16): such maps are
/// convolved 16 channels to a vector instead, from a zero-padded tile of the input with the channels
/// innermost ([rows][columns][16]), as runtimes that keep the channel-blocked layout throughout do.
struct NetcDepthwiseTile {
  let rows: Int, columns: Int, taps: Int, outputs: Int
  var inputFloats: Int { rows * columns * 16 }
  /// The outputs as computed, [pixel][16 channels], padded to a whole number of 16 pixels.
  var stageFloats: Int { (outputs + 15) / 16 * 256 }
  var floats: Int { inputFloats + taps * 16 + stageFloats + 256 }
}

/// The transpose of the 16 x 16 matrix whose row i is row(i), written row by row to `dst` (256 floats):
/// four rounds of splitting row pairs into their even and odd lanes, each of which rotates an element's
/// (row, column) bits by one place, as netcTranspose8 does in three.
@inline(__always)
func netcTranspose16(into dst: UnsafeMutablePointer<Float>, _ row: (Int) -> SIMD16<Float>) {
  var m = (row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7),
           row(8), row(9), row(10), row(11), row(12), row(13), row(14), row(15))
  for _ in 0..<4 {
    let p0 = SIMD32(lowHalf: m.0, highHalf: m.1), p1 = SIMD32(lowHalf: m.2, highHalf: m.3)
    let p2 = SIMD32(lowHalf: m.4, highHalf: m.5), p3 = SIMD32(lowHalf: m.6, highHalf: m.7)
    let p4 = SIMD32(lowHalf: m.8, highHalf: m.9), p5 = SIMD32(lowHalf: m.10, highHalf: m.11)
    let p6 = SIMD32(lowHalf: m.12, highHalf: m.13), p7 = SIMD32(lowHalf: m.14, highHalf: m.15)
    m = (p0.evenHalf, p1.evenHalf, p2.evenHalf, p3.evenHalf, p4.evenHalf, p5.evenHalf, p6.evenHalf, p7.evenHalf,
         p0.oddHalf, p1.oddHalf, p2.oddHalf, p3.oddHalf, p4.oddHalf, p5.oddHalf, p6.oddHalf, p7.oddHalf)
  }
  let d = UnsafeMutableRawPointer(dst)
  d.storeBytes(of: m.0, toByteOffset: 0, as: SIMD16<Float>.self); d.storeBytes(of: m.1, toByteOffset: 64, as: SIMD16<Float>.self)
  d.storeBytes(of: m.2, toByteOffset: 128, as: SIMD16<Float>.self); d.storeBytes(of: m.3, toByteOffset: 192, as: SIMD16<Float>.self)
  d.storeBytes(of: m.4, toByteOffset: 256, as: SIMD16<Float>.self); d.storeBytes(of: m.5, toByteOffset: 320, as: SIMD16<Float>.self)
  d.storeBytes(of: m.6, toByteOffset: 384, as: SIMD16<Float>.self); d.storeBytes(of: m.7, toByteOffset: 448, as: SIMD16<Float>.self)
  d.storeBytes(of: m.8, toByteOffset: 512, as: SIMD16<Float>.self); d.storeBytes(of: m.9, toByteOffset: 576, as: SIMD16<Float>.self)
  d.storeBytes(of: m.10, toByteOffset: 640, as: SIMD16<Float>.self); d.storeBytes(of: m.11, toByteOffset: 704, as: SIMD16<Float>.self)
  d.storeBytes(of: m.12, toByteOffset: 768, as: SIMD16<Float>.self); d.storeBytes(of: m.13, toByteOffset: 832, as: SIMD16<Float>.self)
  d.storeBytes(of: m.14, toByteOffset: 896, as: SIMD16<Float>.self); d.storeBytes(of: m.15, toByteOffset: 960, as: SIMD16<Float>.self)
}

/// Whether netcConv2d convolves depthwise `g` 16 channels to a vector (see NetcDepthwiseTile).
public func netcUsesDepthwiseTiles(_ g: NetcConvGeometry) -> Bool { netcUsesDepthwise(g) && netcDepthwiseTile(g) != nil }

/// The tile for `g` where maps are narrow (at most 14 outputs a row: 14x14 maps, 16 lanes of 16, measured
/// faster this way too) and small (at most 4096 outputs).
func netcDepthwiseTile(_ g: NetcConvGeometry) -> NetcDepthwiseTile? {
  guard g.inC == g.groups && g.outC == g.groups, g.outW <= 14 && g.outH * g.outW <= 4096 else { return nil }
  return NetcDepthwiseTile(rows: (g.outH - 1) * g.sH + (g.kH - 1) * g.dH + 1,
                           columns: (g.outW - 1) * g.sW + (g.kW - 1) * g.dW + 1, taps: g.kH * g.kW,
                           outputs: g.outH * g.outW)
}

/// Copies input row `x` (`inW` floats) into padded row `row` at column offset `padL`, split by phase.
@inline(__always)
private func netcSplitRow(_ x: UnsafePointer<Float>, inW: Int, padL: Int, into row: UnsafeMutablePointer<Float>,
                          _ plane: NetcDepthwisePlane) {
  let s = plane.phases, width = plane.rowFloats
  if s == 1 {
    // Vector moves in line, the last overlapping the one before: a call to memmove per row of a few
    // vectors took a fifth of a 28x28 layer's time.
    let n = min(inW, width - padL), d = row + padL
    if n <= 32 { return netcCopyRun(x, d, n) }
    var i = 0
    while i + 16 <= n {
      UnsafeMutableRawPointer(d + i).storeBytes(of: UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self),
                                                as: SIMD16<Float>.self)
      i += 16
    }
    if i < n { netcCopyRun(x + n - 16, d + n - 16, 16) }
    return
  }
  var iw = 0
  if s == 2 {
    // Input column iw goes to phase (iw + padL) % 2 at index (iw + padL) / 2, up to the last that fits the
    // row: 32 columns a step, deinterleaved in registers, the last 32 overlapping the step before (the same
    // values again). Column by column, the last 24 columns of a 56-wide row took as long as the
    // convolution of the row.
    let stored = min(inW, width - padL)
    @inline(__always) func split32(_ iw: Int) {
      let v = netcLoad32(x + iw)
      let j = iw + padL
      UnsafeMutableRawPointer(row + (j & 1) * plane.pitch + j >> 1).storeBytes(of: v.evenHalf, as: SIMD16<Float>.self)
      UnsafeMutableRawPointer(row + ((j + 1) & 1) * plane.pitch + (j + 1) >> 1)
        .storeBytes(of: v.oddHalf, as: SIMD16<Float>.self)
    }
    while iw + 32 <= stored {
      split32(iw)
      iw += 32
    }
    if iw < stored && stored >= 32 {
      split32(stored - 32)
      return
    }
    while iw < stored {
      let j = iw + padL
      row[(j & 1) * plane.pitch + j >> 1] = x[iw]
      iw += 1
    }
    return
  }
  while iw < inW {
    let j = iw + padL
    if j >= width { break }
    row[(j % s) * plane.pitch + j / s] = x[iw]
    iw += 1
  }
}

/// `g` (see netcUsesDepthwise) over a batch: `weight` is [C][1][kH][kW] as stored, then bias, residual and
/// activation per output.
@inline(never)
func netcDepthwiseConv2d(_ g: NetcConvGeometry, batch: Int, input: UnsafePointer<Float>, inStride: Int,
                         weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?,
                         resStride: Int, output: UnsafeMutablePointer<Float>, outStride: Int, act: Int, slope: Float,
                         scratch: UnsafeMutablePointer<Float>) {
  typealias V = SIMD16<Float>
  if let tile = netcDepthwiseTile(g) {
    return netcDepthwiseTiles(g, tile, batch: batch, input: input, inStride: inStride, weight: weight, bias: bias,
                              residual: residual, resStride: resStride, output: output, outStride: outStride,
                              act: act, slope: slope, scratch: scratch)
  }
  let plane = NetcDepthwisePlane(g)
  // A group's input planes are copied once; each of its output channels is convolved from all of them.
  let inG = g.inC / g.groups, outG = g.outC / g.groups
  let units = batch * g.groups
  let taps = g.kH * g.kW
  let contiguous = g.sW == 1 && g.dW == 1
  // MobileNet's and EfficientNet's 3x3 depthwise convolutions at strides 1 and 2.
  let threeByThree = inG == 1 && g.kH == 3 && g.kW == 3 && g.dH == 1 && (g.sH == 1 || g.sH == 2)
  let threeByThreeGrouped = inG > 1 && g.kH == 3 && g.kW == 3 && g.dH == 1 && (g.sH == 1 || g.sH == 2)
  let fiveByFive = inG == 1 && g.kH == 5 && g.kW == 5 && g.dH == 1 && (g.sH == 1 || g.sH == 2)
  let parts = netcParts(units, work: units * outG * inG * g.outH * g.outW * taps, perThread: 4)
  netcParallelParts(parts) { part, slot in
    let planes = scratch + slot * inG * plane.floats
    // The padding once: every plane's copy writes the same positions (a plane's worth of zeros per channel
    // cost MobileNetV2's stride-2 112x112 layer a third of its time).
    planes.update(repeating: 0, count: inG * plane.floats)
    // Tap (kh, kw) of output (oh, ow) reads the padded plane at row oh * sH + kh * dH and, within it, at
    // phase row (kw * dW) % sW, index ow + (kw * dW) / sW.
    @inline(__always) func column(_ kw: Int) -> Int {
      contiguous ? kw : (kw * g.dW % g.sW) * plane.pitch + kw * g.dW / g.sW
    }
    @inline(__always) func load(_ p: UnsafeMutablePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    // A row's last partial vector of outputs is computed as the row's last 16, overlapping the vector
    // before with the same values, and stored whole: lane by lane, a 28-wide row's stores took a tenth of
    // the kernel. Not with a residual, which the output may be: the overlap would read it rewritten.
    @inline(__always) func lastColumn(_ ow: Int) -> Int {
      residual == nil && g.outW >= 16 && ow + 16 > g.outW ? g.outW - 16 : ow
    }
    for unit in (units * part / parts)..<(units * (part + 1) / parts) {
      let b = unit / g.groups, group = unit % g.groups
      for i in 0..<inG {
        let x = input + b * inStride + (group * inG + i) * g.inH * g.inW
        // Input rows past the padded plane are never read (PyTorch's floor drops them).
        for ih in 0..<min(g.inH, plane.rows - g.padT) {
          netcSplitRow(x + ih * g.inW, inW: g.inW, padL: g.padL,
                       into: planes + i * plane.floats + (ih + g.padT) * plane.rowFloats, plane)
        }
      }
      for o in 0..<outG {
        let c = group * outG + o
        let y = output + b * outStride + c * g.outH * g.outW
        let r = residual.map { $0 + b * resStride + c * g.outH * g.outW }
        let start = V(repeating: bias?[c] ?? 0)
        @inline(__always) func finish(_ acc: V, _ oh: Int, _ ow: Int) {
          let width = min(16, g.outW - ow)
          var v = acc
          // Each residual read before the output over it is written: the output may be the residual.
          if let r { v += netcLoad(r + oh * g.outW + ow, width) }
          netcStore(v, y + oh * g.outW + ow, width)
        }
        var oh = 0
        if threeByThree {
          // A 3x3 depthwise kernel: its nine weights stay in registers for the whole plane, and each input
          // row's three shifted vectors are loaded once for every output row of the four that reads them
          // (18 loads for 36 multiply-adds at stride 1, against 36 and a weight broadcast each), in
          // straight-line code.
          let w = weight + c * 9
          let k = (V(repeating: w[0]), V(repeating: w[1]), V(repeating: w[2]), V(repeating: w[3]), V(repeating: w[4]),
                   V(repeating: w[5]), V(repeating: w[6]), V(repeating: w[7]), V(repeating: w[8]))
          let c1 = column(1), c2 = column(2)
          while oh + 4 <= g.outH {
            var next = 0
            while next < g.outW {
              let ow = lastColumn(next)
              var a0 = start, a1 = start, a2 = start, a3 = start
              let top = planes + oh * g.sH * plane.rowFloats + ow
              @inline(__always) func row(_ t: Int) -> (V, V, V) {
                let p = top + t * plane.rowFloats
                return (load(p), load(p + c1), load(p + c2))
              }
              @inline(__always) func add(_ a: inout V, _ x: (V, V, V), _ k0: V, _ k1: V, _ k2: V) {
                a.addProduct(k0, x.0); a.addProduct(k1, x.1); a.addProduct(k2, x.2)
              }
              // Input row t serves output row i with kernel row t - i * sH; each output row's kernel rows
              // in order, as the general loop below adds them.
              var x = row(0)
              add(&a0, x, k.0, k.1, k.2)
              if g.sH == 1 {
                x = row(1); add(&a0, x, k.3, k.4, k.5); add(&a1, x, k.0, k.1, k.2)
                x = row(2); add(&a0, x, k.6, k.7, k.8); add(&a1, x, k.3, k.4, k.5); add(&a2, x, k.0, k.1, k.2)
                x = row(3); add(&a1, x, k.6, k.7, k.8); add(&a2, x, k.3, k.4, k.5); add(&a3, x, k.0, k.1, k.2)
                x = row(4); add(&a2, x, k.6, k.7, k.8); add(&a3, x, k.3, k.4, k.5)
                x = row(5); add(&a3, x, k.6, k.7, k.8)
              } else {
                x = row(1); add(&a0, x, k.3, k.4, k.5)
                x = row(2); add(&a0, x, k.6, k.7, k.8); add(&a1, x, k.0, k.1, k.2)
                x = row(3); add(&a1, x, k.3, k.4, k.5)
                x = row(4); add(&a1, x, k.6, k.7, k.8); add(&a2, x, k.0, k.1, k.2)
                x = row(5); add(&a2, x, k.3, k.4, k.5)
                x = row(6); add(&a2, x, k.6, k.7, k.8); add(&a3, x, k.0, k.1, k.2)
                x = row(7); add(&a3, x, k.3, k.4, k.5)
                x = row(8); add(&a3, x, k.6, k.7, k.8)
              }
              finish(a0, oh, ow); finish(a1, oh + 1, ow); finish(a2, oh + 2, ow); finish(a3, oh + 3, ow)
              next += 16
            }
            oh += 4
          }
        }
        if threeByThreeGrouped {
          // A grouped 3x3 kernel (RegNet's 8 channels a group, ResNeXt's 4 to 16) as the depthwise one, plane
          // by plane of the group into the same four accumulators, each weight broadcast from memory by its
          // multiply-add: the loop below computed each tap's column with a division and kept its taps in a
          // loop (RegNetY-400MF's 48x112x112 stride 2 in groups of 8, one thread: 1.34 -> 0.40 ms).
          let c1 = column(1), c2 = column(2)
          @inline(__always) func add(_ a: inout V, _ x: (V, V, V), _ k: UnsafePointer<Float>) {
            a.addProduct(V(repeating: k[0]), x.0); a.addProduct(V(repeating: k[1]), x.1)
            a.addProduct(V(repeating: k[2]), x.2)
          }
          @inline(__always) func step(_ S: Int, _ top: UnsafeMutablePointer<Float>, _ w: UnsafePointer<Float>, _ t: Int,
                                      _ a0: inout V, _ a1: inout V, _ a2: inout V, _ a3: inout V) {
            let p = top + t * plane.rowFloats
            let x = (load(p), load(p + c1), load(p + c2))
            if t < 3 { add(&a0, x, w + t * 3) }
            if t >= S && t - S < 3 { add(&a1, x, w + (t - S) * 3) }
            if t >= 2 * S && t - 2 * S < 3 { add(&a2, x, w + (t - 2 * S) * 3) }
            if t >= 3 * S { add(&a3, x, w + (t - 3 * S) * 3) }
          }
          @inline(__always) func rows(_ S: Int) {
            while oh + 4 <= g.outH {
              var next = 0
              while next < g.outW {
                let ow = lastColumn(next)
                var a0 = start, a1 = start, a2 = start, a3 = start
                for i in 0..<inG {
                  let top = planes + i * plane.floats + oh * S * plane.rowFloats + ow
                  let w = weight + (c * inG + i) * 9
                  for t in 0..<(3 * S + 3) { step(S, top, w, t, &a0, &a1, &a2, &a3) }
                }
                finish(a0, oh, ow); finish(a1, oh + 1, ow); finish(a2, oh + 2, ow); finish(a3, oh + 3, ow)
                next += 16
              }
              oh += 4
            }
          }
          if g.sH == 1 { rows(1) } else { rows(2) }
        }
        if fiveByFive {
          // A 5x5 kernel the same way, but for its weights: 25 of them and four accumulators would not fit
          // the registers beside each row's five vectors, so each multiply-add broadcasts its weight from
          // memory (an operand of the instruction): 40 loads for 100 multiply-adds at stride 1, against
          // 100 (one thread: 120x56x56 0.56 -> 0.42 ms; EfficientNet-B0's 240x28x28 with its SiLU 0.37 ->
          // 0.28 ms).
          let w = weight + c * 25
          let c1 = column(1), c2 = column(2), c3 = column(3), c4 = column(4)
          @inline(__always) func add(_ a: inout V, _ x: (V, V, V, V, V), _ kh: Int) {
            let k = w + kh * 5
            a.addProduct(V(repeating: k[0]), x.0); a.addProduct(V(repeating: k[1]), x.1)
            a.addProduct(V(repeating: k[2]), x.2); a.addProduct(V(repeating: k[3]), x.3)
            a.addProduct(V(repeating: k[4]), x.4)
          }
          // Input row t of the four output rows' window: output row i takes it with kernel row t - i S. S is
          // the stride as a constant, so that these tests are decided as the code is compiled.
          @inline(__always) func step(_ S: Int, _ top: UnsafeMutablePointer<Float>, _ t: Int, _ a0: inout V,
                                      _ a1: inout V, _ a2: inout V, _ a3: inout V) {
            let p = top + t * plane.rowFloats
            let x = (load(p), load(p + c1), load(p + c2), load(p + c3), load(p + c4))
            if t < 5 { add(&a0, x, t) }
            if t >= S && t - S < 5 { add(&a1, x, t - S) }
            if t >= 2 * S && t - 2 * S < 5 { add(&a2, x, t - 2 * S) }
            if t >= 3 * S { add(&a3, x, t - 3 * S) }
          }
          @inline(__always) func rows(_ S: Int) {
            while oh + 4 <= g.outH {
              var next = 0
              while next < g.outW {
                let ow = lastColumn(next)
                var a0 = start, a1 = start, a2 = start, a3 = start
                let top = planes + oh * S * plane.rowFloats + ow
                for t in 0..<(3 * S + 5) { step(S, top, t, &a0, &a1, &a2, &a3) }
                finish(a0, oh, ow); finish(a1, oh + 1, ow); finish(a2, oh + 2, ow); finish(a3, oh + 3, ow)
                next += 16
              }
              oh += 4
            }
          }
          if g.sH == 1 { rows(1) } else { rows(2) }
        }
        // Four output rows at a time: four independent chains of multiply-adds sharing each weight (one
        // chain waits on each multiply-add's latency: 7x7 maps ran at a quarter of the core's rate). Past
        // the last full four, the spare chains repeat the last row and are not stored.
        while oh < g.outH {
          let rows = min(4, g.outH - oh)
          let step = g.sH * plane.rowFloats
          let s1 = min(1, rows - 1) * step, s2 = min(2, rows - 1) * step, s3 = (rows - 1) * step
          var next = 0
          while next < g.outW {
            let ow = lastColumn(next)
            var a0 = start, a1 = start, a2 = start, a3 = start
            for i in 0..<inG {
              let w = weight + (c * inG + i) * taps
              for kh in 0..<g.kH {
                let row = planes + i * plane.floats + (oh * g.sH + kh * g.dH) * plane.rowFloats + ow
                let wr = w + kh * g.kW
                for kw in 0..<g.kW {
                  let k = V(repeating: wr[kw]), p = row + column(kw)
                  a0.addProduct(k, load(p))
                  a1.addProduct(k, load(p + s1))
                  a2.addProduct(k, load(p + s2))
                  a3.addProduct(k, load(p + s3))
                }
              }
            }
            finish(a0, oh, ow)
            if rows > 1 { finish(a1, oh + 1, ow) }
            if rows > 2 { finish(a2, oh + 2, ow) }
            if rows > 3 { finish(a3, oh + 3, ow) }
            next += 16
          }
          oh += rows
        }
        // The activation over the whole plane, still in cache: vectors run across its rows, and the loop
        // above keeps to loads and multiply-adds (a ReLU6 as each vector is stored was 6% slower).
        if act != NetcAct.none { netcActivate(y, y, count: g.outH * g.outW, act, slope) }
      }
    }
  }
}

/// netcDepthwiseConv2d of a narrow map, 16 channels at a time (see NetcDepthwiseTile): each output pixel is
/// one vector of 16 channels, four pixels of a row at a time in independent chains.
@inline(never)
private func netcDepthwiseTiles(_ g: NetcConvGeometry, _ tile: NetcDepthwiseTile, batch: Int, input: UnsafePointer<Float>,
                                inStride: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                residual: UnsafePointer<Float>?, resStride: Int, output: UnsafeMutablePointer<Float>,
                                outStride: Int, act: Int, slope: Float, scratch: UnsafeMutablePointer<Float>) {
  typealias V = SIMD16<Float>
  let blocks = (g.inC + 15) / 16
  let units = batch * blocks
  let inPlane = g.inH * g.inW, outPlane = g.outH * g.outW
  let parts = netcParts(units, work: units * 16 * outPlane * tile.taps, perThread: 4)
  let smooth = netcIsSmooth(act)
  netcParallelParts(parts) { part, slot in
    let padded = scratch + slot * tile.floats
    let weights = padded + tile.inputFloats
    let stage = weights + tile.taps * 16, block = stage + tile.stageFloats
    // The padding once: every block's copy writes the same positions.
    padded.update(repeating: 0, count: tile.inputFloats)
    @inline(__always) func load(_ p: UnsafeMutablePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    let validRows = min(g.inH, tile.rows - g.padT), validColumns = min(g.inW, tile.columns - g.padL)
    for unit in (units * part / parts)..<(units * (part + 1) / parts) {
      let b = unit / blocks, c0 = unit % blocks * 16
      let channels = min(16, g.inC - c0)
      // The block's weights with the channels innermost.
      var start = V(repeating: 0)
      for l in 0..<channels {
        let c = c0 + l
        for t in 0..<tile.taps { weights[t * 16 + l] = weight[c * tile.taps + t] }
        start[l] = bias?[c] ?? 0
      }
      // The block's planes into the tile, 16 pixels at a time transposed in registers (channels past a
      // partial block's last are zeros). Input pixels past the tile are never read (PyTorch's floor drops
      // them).
      let x = input + b * inStride + c0 * inPlane
      var q = 0, ih = 0, iw = 0
      while q < inPlane {
        let n = min(16, inPlane - q)
        netcTranspose16(into: block) { l in l < channels ? netcLoad(x + l * inPlane + q, n) : V() }
        for i in 0..<n {
          if ih < validRows && iw < validColumns {
            UnsafeMutableRawPointer(padded + ((ih + g.padT) * tile.columns + iw + g.padL) * 16)
              .storeBytes(of: load(block + i * 16), as: V.self)
          }
          iw += 1
          if iw == g.inW { iw = 0; ih += 1 }
        }
        q += 16
      }
      let y = output + b * outStride + c0 * outPlane
      let r = residual.map { $0 + b * resStride + c0 * outPlane }
      @inline(__always) func finish(_ acc: V, _ pixel: Int) {
        UnsafeMutableRawPointer(stage + pixel * 16).storeBytes(of: acc, as: V.self)
      }
      let step = g.sW * 16
      for oh in 0..<g.outH {
        var ow = 0
        while ow < g.outW {
          // Four pixels of the row at a time; past the row's last full four, spare chains repeat its last
          // pixel and are not stored.
          let count = min(4, g.outW - ow)
          let s1 = min(1, count - 1) * step, s2 = min(2, count - 1) * step, s3 = (count - 1) * step
          var a0 = start, a1 = start, a2 = start, a3 = start
          for kh in 0..<g.kH {
            let row = padded + ((oh * g.sH + kh * g.dH) * tile.columns + ow * g.sW) * 16
            let wr = weights + kh * g.kW * 16
            for kw in 0..<g.kW {
              let k = load(wr + kw * 16), p = row + kw * g.dW * 16
              a0.addProduct(k, load(p))
              a1.addProduct(k, load(p + s1))
              a2.addProduct(k, load(p + s2))
              a3.addProduct(k, load(p + s3))
            }
          }
          let pixel = oh * g.outW + ow
          finish(a0, pixel)
          if count > 1 { finish(a1, pixel + 1) }
          if count > 2 { finish(a2, pixel + 2) }
          if count > 3 { finish(a3, pixel + 3) }
          ow += count
        }
      }
      // The outputs back to the block's planes, 16 pixels at a time transposed in registers, with the
      // residual and the activation on each channel's 16 pixels: gathering and scattering each pixel's
      // lanes took three quarters of the kernel's time. Each residual is read before the output over it
      // is written: the output may be the residual.
      var p = 0
      while p < outPlane {
        let n = min(16, outPlane - p)
        netcTranspose16(into: block) { i in load(stage + (p + i) * 16) }
        for l in 0..<channels {
          var v = load(block + l * 16)
          if let r { v += netcLoad(r + l * outPlane + p, n) }
          if smooth { v = netcSmooth(v, act) } else if act != NetcAct.none { v = netcActivate(v, act, slope) }
          netcStore(v, y + l * outPlane + p, n)
        }
        p += 16
      }
    }
  }
}
