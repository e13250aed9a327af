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

/// Scratch floats netcDepthwiseConv2d needs: a padded plane per worker.
func netcDepthwiseScratch(_ g: NetcConvGeometry) -> Int { netcWorkers * NetcDepthwisePlane(g).floats }

/// Copies input row `x` (`inW` floats) into padded row `row` at column offset `padL`, split by phase.
@inline(__always)
private func netcSplitRow(_ x: UnsafePointer<Float>, inW: Int, padL: Int, into row: UnsafeMutablePointer<Float>,
                          _ plane: NetcDepthwisePlane) {
  let s = plane.phases, width = plane.rowFloats
  if s == 1 {
    row.advanced(by: padL).update(from: x, count: min(inW, width - padL))
    return
  }
  var iw = 0
  if s == 2 {
    // Even input columns go to phase padL % 2, odd ones to the other, both from index padL / 2 (the odd
    // ones one further when padL is odd): 32 columns a step, deinterleaved in registers.
    let evenRow = row + (padL & 1) * plane.pitch + padL / 2
    let oddRow = row + (1 - (padL & 1)) * plane.pitch + padL / 2 + (padL & 1)
    let fits = plane.pitch - padL / 2 - (padL & 1)
    while iw + 32 <= inW && iw / 2 + 16 <= fits {
      let v = UnsafeRawPointer(x + iw).loadUnaligned(as: SIMD32<Float>.self)
      UnsafeMutableRawPointer(evenRow + iw / 2).storeBytes(of: v.evenHalf, as: SIMD16<Float>.self)
      UnsafeMutableRawPointer(oddRow + iw / 2).storeBytes(of: v.oddHalf, as: SIMD16<Float>.self)
      iw += 32
    }
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
  let plane = NetcDepthwisePlane(g)
  let units = batch * g.inC
  let taps = g.kH * g.kW
  let contiguous = g.sW == 1 && g.dW == 1
  let parts = netcParts(units, work: units * g.outH * g.outW * taps, perThread: 4)
  netcParallelParts(parts) { part, slot in
    let padded = scratch + slot * plane.floats
    for unit in (units * part / parts)..<(units * (part + 1) / parts) {
      let b = unit / g.inC, c = unit % g.inC
      let x = input + b * inStride + c * g.inH * g.inW
      let y = output + b * outStride + c * g.outH * g.outW
      let r = residual.map { $0 + b * resStride + c * g.outH * g.outW }
      padded.update(repeating: 0, count: plane.floats)
      // Input rows past the padded plane are never read (PyTorch's floor drops them).
      for ih in 0..<min(g.inH, plane.rows - g.padT) {
        netcSplitRow(x + ih * g.inW, inW: g.inW, padL: g.padL, into: padded + (ih + g.padT) * plane.rowFloats, plane)
      }
      let w = weight + c * taps
      let start = V(repeating: bias?[c] ?? 0)
      // Tap (kh, kw) of output (oh, ow) reads the padded plane at row oh * sH + kh * dH and, within it, at
      // phase row (kw * dW) % sW, index ow + (kw * dW) / sW.
      @inline(__always) func column(_ kw: Int) -> Int {
        contiguous ? kw : (kw * g.dW % g.sW) * plane.pitch + kw * g.dW / g.sW
      }
      @inline(__always) func load(_ p: UnsafeMutablePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
      @inline(__always) func finish(_ acc: V, _ oh: Int, _ ow: Int) {
        let width = min(16, g.outW - ow)
        var v = acc
        // Each residual read before the output over it is written: the output may be the residual.
        if let r { v += netcLoad(r + oh * g.outW + ow, width) }
        netcStore(v, y + oh * g.outW + ow, width)
      }
      // Four output rows at a time: four independent chains of multiply-adds sharing each weight (one
      // chain waits on each multiply-add's latency: 7x7 maps ran at a quarter of the core's rate). Past
      // the last full four, the spare chains repeat the last row and are not stored.
      var oh = 0
      while oh < g.outH {
        let rows = min(4, g.outH - oh)
        let step = g.sH * plane.rowFloats
        let s1 = min(1, rows - 1) * step, s2 = min(2, rows - 1) * step, s3 = (rows - 1) * step
        var ow = 0
        while ow < g.outW {
          var a0 = start, a1 = start, a2 = start, a3 = start
          for kh in 0..<g.kH {
            let row = padded + (oh * g.sH + kh * g.dH) * plane.rowFloats + ow
            let wr = w + kh * g.kW
            for kw in 0..<g.kW {
              let k = V(repeating: wr[kw]), p = row + column(kw)
              a0.addProduct(k, load(p))
              a1.addProduct(k, load(p + s1))
              a2.addProduct(k, load(p + s2))
              a3.addProduct(k, load(p + s3))
            }
          }
          finish(a0, oh, ow)
          if rows > 1 { finish(a1, oh + 1, ow) }
          if rows > 2 { finish(a2, oh + 2, ow) }
          if rows > 3 { finish(a3, oh + 3, ow) }
          ow += 16
        }
        oh += rows
      }
      // The activation over the whole plane, still in cache: vectors run across its rows, and the loop
      // above keeps to loads and multiply-adds.
      if act != NetcAct.none { netcActivate(y, y, count: g.outH * g.outW, act, slope) }
    }
  }
}
