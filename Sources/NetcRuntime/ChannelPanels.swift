// Convolutions over few output pixels (7x7 and 14x14 maps). The GEMM's tiles are 8 output channels by 32
// pixels, and 49 pixels take two 32-wide panels: a quarter of the work is padding. Here the tiles are 8
// pixels by 32 output channels: the weights are packed as panels of 32 output channels, the input's im2col
// is read 8 pixels at a time, and each tile is stored transposed. Copied into the emitted Swift like
// Kernels.swift.

/// Whether netcConv2d computes `g` with the output channels along the vector: an ungrouped convolution
/// that is not done by Winograd, over at most 224 output pixels, where 8-pixel by 32-channel tiles cover
/// at least 5% less than 8-channel by 32-pixel ones.
public func netcUsesChannelPanels(_ g: NetcConvGeometry) -> Bool {
  guard g.groups == 1, netcWinogradTile(g) == 0, g.outC <= 1 << 16, g.inC * g.kH * g.kW >= 64 else { return false }
  let pixels = g.outH * g.outW
  guard pixels <= 224 else { return false }
  let channelTiles = (g.outC + 7) / 8 * 8 * ((pixels + 31) / 32 * 32)
  let pixelTiles = (pixels + 7) / 8 * 8 * ((g.outC + 31) / 32 * 32)
  return pixelTiles * 20 <= channelTiles * 19
}

/// The weights [outC][kdim] as panels of 32 output channels, each [kdim][32], zero-padded.
public func netcPackChannelPanels(_ weight: UnsafePointer<Float>, outC: Int, kdim: Int) -> [Float] {
  var packed = [Float](repeating: 0, count: (outC + 31) / 32 * kdim * 32)
  packed.withUnsafeMutableBufferPointer { out in
    for o in 0..<outC {
      let dst = out.baseAddress! + o / 32 * kdim * 32 + o % 32
      let src = weight + o * kdim
      for k in 0..<kdim { dst[k * 32] = src[k] }
    }
  }
  return packed
}

/// How netcConvByChannelPanels splits `g`: (32-channel panel, 8-pixel block) tiles, whose sums build up
/// K block by K block in `sums`, 256 floats each; per worker, the input's im2col for one K block as 32-pixel
/// panels.
struct NetcChannelPanelPlan {
  let pixels: Int, kdim: Int, channelPanels: Int, pixelBlocks: Int, pixelPanels: Int
  var tiles: Int { channelPanels * pixelBlocks }
  var sums: Int { tiles * 256 }
  var perWorker: Int { NetcGemmBlocking.kc * pixelPanels * 32 }
  var scratch: Int { sums + netcWorkers * perWorker }

  init(_ g: NetcConvGeometry) {
    pixels = g.outH * g.outW
    kdim = g.inC * g.kH * g.kW
    channelPanels = (g.outC + 31) / 32
    pixelBlocks = (pixels + 7) / 8
    pixelPanels = (pixels + 31) / 32
  }
}

/// One batch item of `g` (see netcUsesChannelPanels): `b` and `source` give the im2col as netcGemm reads
/// it, `weight` comes from netcPackChannelPanels, `scratch` holds NetcChannelPanelPlan(g).scratch floats.
/// The tiles are dealt to the workers panel by panel, so that each reads only its share of the weights.
@inline(never)
func netcConvByChannelPanels(_ g: NetcConvGeometry, _ source: NetcGemmSource, _ b: UnsafePointer<Float>, _ ldb: Int,
                             weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                             residual: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                             act: Int, slope: Float, scratch: UnsafeMutablePointer<Float>) {
  let plan = NetcChannelPanelPlan(g)
  let kc = NetcGemmBlocking.kc, pixels = plan.pixels, kdim = plan.kdim
  let workers = max(1, min(netcWorkers, plan.tiles, g.outC * pixels * kdim / (1 << 16)))
  netcParallel(workers, work: Int.max) { w in
    let mine = (plan.tiles * w / workers)..<(plan.tiles * (w + 1) / workers)
    let panels = scratch + plan.sums + w * plan.perWorker
    var k0 = 0
    while k0 < kdim {
      let kb = min(kc, kdim - k0)
      for pp in 0..<plan.pixelPanels {
        netcPackPanel(source, b, ldb, k0: k0, kb: kb, col: pp * 32, width: min(32, pixels - pp * 32),
                      panels + pp * kb * 32)
      }
      let first = k0 == 0, last = k0 + kb == kdim
      for t in mine {
        let cp = t / plan.pixelBlocks, pb = t % plan.pixelBlocks
        var acc = NetcTile()
        acc.accumulate(kb, panels + pb / 4 * kb * 32 + pb % 4 * 8, weight + (cp * kdim + k0) * 32, 32, lda: 32)
        let sum = scratch + t * 256
        acc.forEachRow { r, lo, hi in
          let p = sum + r * 32
          var l = lo, h = hi
          if !first {
            l += UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
            h += UnsafeRawPointer(p + 16).loadUnaligned(as: SIMD16<Float>.self)
          }
          UnsafeMutableRawPointer(p).storeBytes(of: l, as: SIMD16<Float>.self)
          UnsafeMutableRawPointer(p + 16).storeBytes(of: h, as: SIMD16<Float>.self)
        }
        if last {
          netcStoreTransposed(sum, channel: cp * 32, pixel: pb * 8, g.outC, pixels, bias, residual, output, act, slope)
        }
      }
      k0 += kb
    }
  }
}

/// Writes tile `sum` ([8 pixels][32 channels]) to the NCHW output, with bias, residual and activation.
@inline(__always)
func netcStoreTransposed(_ sum: UnsafePointer<Float>, channel: Int, pixel: Int, _ outC: Int, _ pixels: Int,
                         _ bias: UnsafePointer<Float>?, _ residual: UnsafePointer<Float>?,
                         _ output: UnsafeMutablePointer<Float>, _ act: Int, _ slope: Float) {
  typealias V8 = SIMD8<Float>
  let height = min(8, pixels - pixel)
  for q in 0..<min(32, outC - channel) {
    let ch = channel + q
    let y = output + ch * pixels + pixel
    let r = residual.map { $0 + ch * pixels + pixel }
    let b = bias?[ch] ?? 0
    if height == 8 {
      var v = V8(sum[q], sum[32 + q], sum[64 + q], sum[96 + q], sum[128 + q], sum[160 + q], sum[192 + q], sum[224 + q])
      v += V8(repeating: b)
      if let r { v += UnsafeRawPointer(r).loadUnaligned(as: V8.self) }
      if act == NetcAct.relu {
        v = v.replacing(with: 0, where: v .< 0)
      } else if act != NetcAct.none {
        for i in 0..<8 { v[i] = netcActivate(v[i], act, slope) }
      }
      UnsafeMutableRawPointer(y).storeBytes(of: v, as: V8.self)
    } else {
      for i in 0..<height { y[i] = netcActivate(sum[i * 32 + q] + b + (r?[i] ?? 0), act, slope) }
    }
  }
}
