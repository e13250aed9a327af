// Normalisations that compute their statistics at run time: the layer norm over the channels at each
// pixel (ConvNeXt's). Batch norm is not here: at inference it is a per-channel affine map, folded into the
// layer before it or run by netcChannelAffine. Like Kernels.swift, only the standard library.

/// PyTorch's layer norm over the channels at each pixel, on netc's channels-first storage ([C][pixels] per
/// item): nn.LayerNorm(C) on a channels-last map or a flat vector (pixels 1), torchvision's LayerNorm2d on
/// a channels-first one. y = (x - mean) / sqrt(var + eps) * weight[c] + bias[c], with the biased variance
/// (two passes, as PyTorch's), then the activation. Without `weight` and `bias` the norm has no affine map.
///
/// The pixels go 32 at a time, two SIMD16 vectors: each channel's 32 pixels are two cache lines, so the
/// three passes over the channels (mean, variance, output) read whole lines, and the second and third find
/// the block's lines in L1 or L2 (1536 channels x 128 bytes: 192 KiB).
@inline(never)
public func netcLayerNorm(channels: Int, pixels: Int, batch: Int, weight: UnsafePointer<Float>?,
                          bias: UnsafePointer<Float>?, eps: Float, input: UnsafePointer<Float>, inStride: Int,
                          output: UnsafeMutablePointer<Float>, outStride: Int, act: Int, slope: Float) {
  typealias V = SIMD16<Float>
  let blocks = (pixels + 31) / 32
  netcParallel(batch * blocks, work: batch * channels * pixels * 3) { unit in
    let b = unit / blocks, p0 = unit % blocks * 32
    let x = input + b * inStride, y = output + b * outStride
    let n = Float(channels)
    if p0 + 32 <= pixels {
      var s0 = V(), s1 = V()
      for c in 0..<channels {
        let row = UnsafeRawPointer(x + c * pixels + p0)
        s0 += row.loadUnaligned(as: V.self)
        s1 += row.loadUnaligned(fromByteOffset: 64, as: V.self)
      }
      let m0 = s0 / n, m1 = s1 / n
      var q0 = V(), q1 = V()
      for c in 0..<channels {
        let row = UnsafeRawPointer(x + c * pixels + p0)
        let d0 = row.loadUnaligned(as: V.self) - m0, d1 = row.loadUnaligned(fromByteOffset: 64, as: V.self) - m1
        q0.addProduct(d0, d0)
        q1.addProduct(d1, d1)
      }
      var r0 = V(), r1 = V()
      for i in 0..<16 {
        r0[i] = 1 / (q0[i] / n + eps).squareRoot()
        r1[i] = 1 / (q1[i] / n + eps).squareRoot()
      }
      for c in 0..<channels {
        let row = UnsafeRawPointer(x + c * pixels + p0)
        let g = weight?[c] ?? 1, t = bias?[c] ?? 0
        var v0 = (row.loadUnaligned(as: V.self) - m0) * r0 * g + t
        var v1 = (row.loadUnaligned(fromByteOffset: 64, as: V.self) - m1) * r1 * g + t
        if act != NetcAct.none {
          for i in 0..<16 {
            v0[i] = netcActivate(v0[i], act, slope)
            v1[i] = netcActivate(v1[i], act, slope)
          }
        }
        let out = UnsafeMutableRawPointer(y + c * pixels + p0)
        out.storeBytes(of: v0, as: V.self)
        out.storeBytes(of: v1, toByteOffset: 64, as: V.self)
      }
    } else {
      // The last, partial block (and every pixel of a flat vector or a small map), one pixel at a time.
      for p in p0..<pixels {
        var s: Float = 0
        for c in 0..<channels { s += x[c * pixels + p] }
        let m = s / n
        var q: Float = 0
        for c in 0..<channels {
          let d = x[c * pixels + p] - m
          q += d * d
        }
        let r = 1 / (q / n + eps).squareRoot()
        for c in 0..<channels {
          let v = (x[c * pixels + p] - m) * r * (weight?[c] ?? 1) + (bias?[c] ?? 0)
          y[c * pixels + p] = netcActivate(v, act, slope)
        }
      }
    }
  }
}
