// Depthwise convolution (as many groups as input and output channels), stride 1: MobileNet's 3x3 and
// ConvNeXt's 7x7. As a GEMM each group is one output row, which the GEMM's 8-row tiles pad eightfold, and
// an im2col panel gathered for it; here each channel's plane is convolved directly, 16 output pixels to a
// vector (ConvNeXt-T's 7x7 over 96x56x56: 4.2 -> 0.6 ms). Only the standard library, like Kernels.swift.

/// netcConv2d convolves `g` plane by plane: a depthwise, stride-1, undilated convolution with a kernel of
/// at most 15x15 whose padding is smaller than the kernel, on maps of at most 2^14 a side.
public func netcUsesDepthwise(_ g: NetcConvGeometry) -> Bool {
  g.groups > 1 && g.groups == g.inC && g.groups == g.outC && g.sH == 1 && g.sW == 1 && g.dH == 1 && g.dW == 1
    && g.kH <= 15 && g.kW <= 15 && g.padT >= 0 && g.padL >= 0 && g.padT < g.kH && g.padL < g.kW
    && g.inH <= 1 << 14 && g.inW <= 1 << 14 && g.outH <= 1 << 14 && g.outW <= 1 << 14
}

/// The zero-padded plane one worker convolves: `rows` rows of `pitch` floats, wide enough that every
/// vector of 16 outputs, the last one included, reads inside it.
struct NetcDepthwisePlane {
  let rows: Int, pitch: Int
  init(_ g: NetcConvGeometry) {
    rows = g.outH + g.kH - 1
    pitch = (g.outW + 15) / 16 * 16 + g.kW - 1
  }
  var floats: Int { rows * pitch }
}

/// Scratch floats netcDepthwiseConv2d needs: a padded plane per worker.
func netcDepthwiseScratch(_ g: NetcConvGeometry) -> Int { netcWorkers * NetcDepthwisePlane(g).floats }

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
  let parts = netcParts(units, work: units * g.outH * g.outW * taps, perThread: 4)
  netcParallelParts(parts) { part, slot in
    let padded = scratch + slot * plane.floats
    for unit in (units * part / parts)..<(units * (part + 1) / parts) {
      let b = unit / g.inC, c = unit % g.inC
      let x = input + b * inStride + c * g.inH * g.inW
      let y = output + b * outStride + c * g.outH * g.outW
      let r = residual.map { $0 + b * resStride + c * g.outH * g.outW }
      padded.update(repeating: 0, count: plane.floats)
      // Input rows past the padded plane are never read at stride 1 (PyTorch's floor drops none).
      for ih in 0..<min(g.inH, plane.rows - g.padT) {
        (padded + (ih + g.padT) * plane.pitch + g.padL).update(from: x + ih * g.inW, count: min(g.inW, plane.pitch - g.padL))
      }
      let w = weight + c * taps
      let start = V(repeating: bias?[c] ?? 0)
      for oh in 0..<g.outH {
        var ow = 0
        while ow < g.outW {
          var acc = start
          for kh in 0..<g.kH {
            let row = UnsafeRawPointer(padded + (oh + kh) * plane.pitch + ow)
            let wr = w + kh * g.kW
            for kw in 0..<g.kW {
              acc.addProduct(V(repeating: wr[kw]), row.loadUnaligned(fromByteOffset: kw * 4, as: V.self))
            }
          }
          let width = min(16, g.outW - ow)
          let out = y + oh * g.outW + ow
          if width == 16 {
            if let r { acc += UnsafeRawPointer(r + oh * g.outW + ow).loadUnaligned(as: V.self) }
            switch act {
            case NetcAct.none: break
            case NetcAct.relu: acc = acc.replacing(with: 0, where: acc .< 0)
            case NetcAct.gelu: acc = netcGelu(acc)
            default: for i in 0..<16 { acc[i] = netcActivate(acc[i], act, slope) }
            }
            UnsafeMutableRawPointer(out).storeBytes(of: acc, as: V.self)
          } else {
            for i in 0..<width {
              out[i] = netcActivate(acc[i] + (r?[oh * g.outW + ow + i] ?? 0), act, slope)
            }
          }
          ow += 16
        }
      }
    }
  }
}
