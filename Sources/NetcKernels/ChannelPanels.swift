// Convolutions with the output channels along the vector: tiles of 8 (or 7) pixels by 32 output channels,
// the weights packed as panels of 32 output channels, each tile stored transposed. Two uses: convolutions
// over few output pixels (7x7 and 14x14 maps), where the GEMM's 8-channel by 32-pixel tiles would pad 49
// pixels to 64, and convolutions whose pixels are read straight from phase images (NetcPhaseImages),
// with no im2col panel gathered at all. Only the standard library, like Kernels.swift.

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
  var packed = [Float](repeating: 0, count: netcChannelPanelsCount(outC: outC, kdim: kdim))
  packed.withUnsafeMutableBufferPointer { netcPackChannelPanels(weight, outC: outC, kdim: kdim, into: $0.baseAddress!) }
  return packed
}

/// Floats netcPackChannelPanels writes.
public func netcChannelPanelsCount(outC: Int, kdim: Int) -> Int { (outC + 31) / 32 * kdim * 32 }

/// netcPackChannelPanels into `out`: netcChannelPanelsCount zeroed floats the caller allocated.
public func netcPackChannelPanels(_ weight: UnsafePointer<Float>, outC: Int, kdim: Int, into out: UnsafeMutablePointer<Float>) {
  for o in 0..<outC {
    let dst = out + o / 32 * kdim * 32 + o % 32
    let src = weight + o * kdim
    for k in 0..<kdim { dst[k * 32] = src[k] }
  }
}

/// The pixels in a block of the tiles that run the output channels along the vector: 8, or 7 where blocks
/// of 8 would pad so many pixels that 7 rows of the tile (14 multiply-adds a step instead of 16) do the
/// same in at least 5% less: a 7x7 map is 7 blocks of 7 instead of 7 of 8, and 12.5% of every multiply-add
/// of ResNet's last stage no longer goes to padding (ResNet-50's, in isolation, medians of 8 interleaved
/// runs: 1x1 512 -> 2048 0.67 -> 0.61 ms, 2048 -> 512 0.64 -> 0.60 ms, 3x3 stride 2 512 -> 512 2.07 -> 1.66 ms).
public func netcPixelBlockRows(_ pixels: Int) -> Int {
  ((pixels + 6) / 7 * 14) * 20 <= ((pixels + 7) / 8 * 16) * 19 ? 7 : 8
}

/// How netcConvByChannelPanels splits `g`: (32-channel panel, block of `rows` pixels) tiles, whose sums
/// build up K block by K block in `sums`, 256 floats each; the input's im2col as panels of four pixel
/// blocks (32 or 28 pixels, 32 floats apart), K block by K block, packed once for all threads when it
/// takes at most 4 MiB, else per thread one K block at a time.
struct NetcChannelPanelPlan {
  let pixels: Int, kdim: Int, rows: Int, channelPanels: Int, pixelBlocks: Int, pixelPanels: Int
  var tiles: Int { channelPanels * pixelBlocks }
  var sums: Int { tiles * 256 }
  var perWorker: Int { NetcGemmBlocking.kc * pixelPanels * 32 }
  /// The whole im2col as panels: K blocks of kc rows, each [pixel panel][rows][32].
  var whole: Int { kdim * pixelPanels * 32 }
  var sharesPanels: Bool { whole <= 1 << 20 }
  var scratch: Int { sums + (sharesPanels ? whole : netcWorkers * perWorker) }

  init(_ g: NetcConvGeometry) {
    pixels = g.outH * g.outW
    kdim = g.inC * g.kH * g.kW
    rows = netcPixelBlockRows(pixels)
    channelPanels = (g.outC + 31) / 32
    pixelBlocks = (pixels + rows - 1) / rows
    pixelPanels = (pixels + 4 * rows - 1) / (4 * rows)
  }
}

/// One batch item of `g` (see netcUsesChannelPanels): `b` and `source` give the im2col as netcGemm reads
/// it, `weight` comes from netcPackChannelPanels, `scratch` holds NetcChannelPanelPlan(g).scratch floats.
/// The tiles go out in runs, channel panel by channel panel, so that a run reads only its share of the
/// weights. When the im2col is packed once for all, the runs are a few per thread, claimed by whichever
/// thread is free; otherwise one per thread, each packing the panels of each K block itself.
@inline(never)
func netcConvByChannelPanels(_ g: NetcConvGeometry, _ source: NetcGemmSource, _ b: UnsafePointer<Float>, _ ldb: Int,
                             weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                             residual: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                             act: Int, slope: Float, scratch: UnsafeMutablePointer<Float>) {
  let plan = NetcChannelPanelPlan(g)
  let kc = NetcGemmBlocking.kc, pixels = plan.pixels, kdim = plan.kdim, rows = plan.rows
  let shared = plan.sharesPanels, panelsBase = scratch + plan.sums
  /// Pixel panel pp of K block k0..<k0+kb into `panels`, the block's [pixel panel][kb][32].
  @inline(__always) func pack(_ k0: Int, _ kb: Int, _ pp: Int, _ panels: UnsafeMutablePointer<Float>) {
    netcPackPanel(source, b, ldb, k0: k0, kb: kb, col: pp * 4 * rows, width: min(4 * rows, pixels - pp * 4 * rows),
                  panels + pp * kb * 32)
  }
  if shared {
    let jobs = (kdim + kc - 1) / kc * plan.pixelPanels
    netcParallel(jobs, work: plan.whole) { j in
      let k0 = j / plan.pixelPanels * kc
      pack(k0, min(kc, kdim - k0), j % plan.pixelPanels, panelsBase + k0 * plan.pixelPanels * 32)
    }
  }
  let parts = netcParts(plan.tiles, work: g.outC * pixels * kdim, perThread: shared ? 4 : 1)
  netcParallelParts(parts) { part, slot in
    let mine = (plan.tiles * part / parts)..<(plan.tiles * (part + 1) / parts)
    var k0 = 0
    while k0 < kdim {
      let kb = min(kc, kdim - k0)
      let panels: UnsafeMutablePointer<Float>
      if shared {
        panels = panelsBase + k0 * plan.pixelPanels * 32
      } else {
        panels = panelsBase + slot * plan.perWorker
        for pp in 0..<plan.pixelPanels { pack(k0, kb, pp, panels) }
      }
      let first = k0 == 0, last = k0 + kb == kdim
      for t in mine {
        let cp = t / plan.pixelBlocks, pb = t % plan.pixelBlocks
        if last { netcPrefetchTransposed(channel: cp * 32, pixel: pb * rows, g.outC, pixels, residual, output) }
        var acc = NetcTile()
        let a = panels + pb / 4 * kb * 32 + pb % 4 * rows, w = weight + (cp * kdim + k0) * 32
        if rows == 7 { acc.accumulate(kb, a, w, 32, lda: 32, rows: 7) } else { acc.accumulate(kb, a, w, 32, lda: 32) }
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
          netcStoreTransposed(sum, channel: cp * 32, pixel: pb * rows, rows: rows, g.outC, pixels, bias, residual,
                              output, act, slope)
        }
      }
      k0 += kb
    }
  }
}

/// Writes the first `rows` pixels of tile `sum` ([8 pixels][32 channels], overwritten) to the NCHW output,
/// with bias, residual and activation. A whole tile goes as four 8 x 8 blocks transposed in registers:
/// gathering each channel's 8 pixels from the rows compiled to AVX-512 gathers, a third of a 1x1
/// convolution's time over a 14x14 map.
@inline(__always)
func netcStoreTransposed(_ sum: UnsafeMutablePointer<Float>, channel: Int, pixel: Int, rows: Int, _ outC: Int,
                         _ pixels: Int, _ bias: UnsafePointer<Float>?, _ residual: UnsafePointer<Float>?,
                         _ output: UnsafeMutablePointer<Float>, _ act: Int, _ slope: Float) {
  typealias V8 = SIMD8<Float>
  typealias V4 = SIMD4<Float>
  let height = min(rows, pixels - pixel)
  var bias = bias, act = act
  if residual == nil && netcIsSmooth(act) && height >= 7 {
    // Bias and an activation with an exponential on the tile as it is, channels along the vector, in a
    // loop of their own: in the stores below, a call per eight values.
    let n = min(32, outC - channel)
    let low = bias.map { netcLoad($0 + channel, min(16, n)) } ?? .zero
    let high = n > 16 ? bias.map { netcLoad($0 + channel + 16, n - 16) } ?? .zero : .zero
    netcBiasSmoothRows(sum, rows: height, low, high, act)
    bias = nil
    act = NetcAct.none
  }
  guard height >= 7 else {
    for q in 0..<min(32, outC - channel) {
      let ch = channel + q, b = bias?[ch] ?? 0
      let y = output + ch * pixels + pixel, r = residual.map { $0 + ch * pixels + pixel }
      for i in 0..<height { y[i] = netcActivate(sum[i * 32 + q] + b + (r?[i] ?? 0), act, slope) }
    }
    return
  }
  // Each 8 x 8 block is transposed in registers and written back in place, so that row q holds channel
  // c0 + q's eight pixels.
  for block in 0..<4 {
    let c0 = channel + 8 * block
    if c0 >= outC { break }
    let s = sum + 8 * block
    @inline(__always) func row(_ i: Int) -> V8 { UnsafeRawPointer(s + 32 * i).loadUnaligned(as: V8.self) }
    @inline(__always) func set(_ i: Int, _ v: V8) { UnsafeMutableRawPointer(s + 32 * i).storeBytes(of: v, as: V8.self) }
    let t = netcTranspose8(row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7))
    set(0, t.0); set(1, t.1); set(2, t.2); set(3, t.3); set(4, t.4); set(5, t.5); set(6, t.6); set(7, t.7)
    for q in 0..<min(8, outC - c0) {
      let ch = c0 + q
      var v = row(q) + V8(repeating: bias?[ch] ?? 0)
      let y = output + ch * pixels + pixel, r = residual.map { $0 + ch * pixels + pixel }
      if height == 7 {
        // Seven pixels: two overlapping quads, 0...3 and 3...6, so that nothing past the block is touched.
        var lo = v.lowHalf, hi = V4(v[3], v[4], v[5], v[6])
        if let r {
          lo += UnsafeRawPointer(r).loadUnaligned(as: V4.self)
          hi += UnsafeRawPointer(r + 3).loadUnaligned(as: V4.self)
        }
        if act != NetcAct.none {
          // In one vector: the scalar function's bits, a tenth of its time.
          let g = netcActivate(SIMD8(lowHalf: lo, highHalf: hi), act, slope)
          lo = g.lowHalf
          hi = g.highHalf
        }
        UnsafeMutableRawPointer(y).storeBytes(of: lo, as: V4.self)
        UnsafeMutableRawPointer(y + 3).storeBytes(of: hi, as: V4.self)
        continue
      }
      if let r { v += UnsafeRawPointer(r).loadUnaligned(as: V8.self) }
      if act != NetcAct.none { v = netcActivate(v, act, slope) }
      UnsafeMutableRawPointer(y).storeBytes(of: v, as: V8.self)
    }
  }
}

/// Prefetches what netcStoreTransposed will read and write for the tile at (channel, pixel).
@inline(__always)
func netcPrefetchTransposed(channel: Int, pixel: Int, _ outC: Int, _ pixels: Int, _ residual: UnsafePointer<Float>?,
                            _ output: UnsafeMutablePointer<Float>) {
  for ch in channel..<min(channel + 32, outC) {
    let at = ch * pixels + pixel
    if let residual { netcPrefetch(residual + at) }
    netcPrefetchForWriting(output + at)
  }
}

/// The transpose of the 8 x 8 matrix with rows r0...r7, by three rounds of splitting row pairs into their
/// even and odd lanes (each round rotates an element's (row, column) bits by one place).
@inline(__always)
func netcTranspose8(_ r0: SIMD8<Float>, _ r1: SIMD8<Float>, _ r2: SIMD8<Float>, _ r3: SIMD8<Float>,
                    _ r4: SIMD8<Float>, _ r5: SIMD8<Float>, _ r6: SIMD8<Float>, _ r7: SIMD8<Float>)
  -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
  var m = (r0, r1, r2, r3, r4, r5, r6, r7)
  for _ in 0..<3 {
    let p0 = SIMD16(lowHalf: m.0, highHalf: m.1), p1 = SIMD16(lowHalf: m.2, highHalf: m.3)
    let p2 = SIMD16(lowHalf: m.4, highHalf: m.5), p3 = SIMD16(lowHalf: m.6, highHalf: m.7)
    m = (p0.evenHalf, p1.evenHalf, p2.evenHalf, p3.evenHalf, p0.oddHalf, p1.oddHalf, p2.oddHalf, p3.oddHalf)
  }
  return m
}

/// Whether netcConv2d computes `g` from its phase images with netcConvFromPhases: an undilated,
/// ungrouped convolution not done by Winograd, with more than one tap, a K from 256 to 8192 and output
/// channels that fill their 32-channel panels to at least 80% (ResNet's stride-2 3x3 layers, AlexNet's
/// 11x11 stride-4 stem; at stride 1 the one "phase image" is the padded input). Below that K a
/// tile's transposed store is not paid for by its products (the 7x7 stems: K = 147); a 1x1 kernel steps a
/// whole channel per K and is better read as a matrix. Measured against gathering im2col panels for the
/// GEMM (two threads, input from memory, interleaved): 128 channels 56 -> 28 1.23 -> 0.96 ms, 64 -> 128
/// channels 0.53 -> 0.48 ms, 256 channels 28 -> 14 1.01 -> 0.91 ms, AlexNet's stem 0.62 -> 0.51 ms and its
/// 5x5 layer (by Winograd since) 1.20 -> 1.00 ms; 512 channels 14 -> 7 (K = 4608, in chunks of K) one
/// thread 3.4 -> 2.5-3.0 ms.
public func netcUsesPhasePanels(_ g: NetcConvGeometry) -> Bool {
  let kdim = g.inC * g.kH * g.kW
  return g.groups == 1 && g.dH == 1 && g.dW == 1 && g.outC <= 1 << 16 && (g.outC + 31) / 32 * 32 * 4 <= g.outC * 5
    && g.kH * g.kW > 1 && kdim >= 256 && kdim <= 8192 && netcWinogradTile(g) == 0
}

/// One batch item of `g` (see netcUsesPhasePanels) from its phase images `p`: tile (32-channel panel,
/// block of 8 or 7 pixels: netcPixelBlockRows) sums K in registers, each of its pixels broadcast from the
/// phase image of the tap at a fixed offset from the pixel, so tap (c, kh, kw) of the block is one offset
/// added to its pointers.
/// `weight` comes from netcPackChannelPanels. Nothing but the images is scratch, so the tiles go out in
/// many runs, claimed by whichever worker is free: a worker that starts late does less, not half. A run
/// takes the input channels in chunks of at most 2304 rows of K (a 128-byte row each), and every tile of
/// the run through one chunk before the next, so that the chunk's weights stay in L2 while the run's
/// pixel blocks read them; the tiles' partial sums wait on the stack between chunks.
@inline(never)
func netcConvFromPhases(_ g: NetcConvGeometry, _ p: NetcPhaseImages, weight: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?,
                        output: UnsafeMutablePointer<Float>, act: Int, slope: Float) {
  typealias V = SIMD16<Float>
  let pixels = g.outH * g.outW, taps = g.kH * g.kW, kdim = g.inC * taps
  let rows = netcPixelBlockRows(pixels)
  let pixelBlocks = (pixels + rows - 1) / rows, tiles = (g.outC + 31) / 32 * pixelBlocks
  guard tiles > 0 else { return }
  let parts = min(tiles, 8 * netcWorkers)
  let channelStride = p.rows * p.pitch
  let chunk = max(1, 2304 / taps)  // input channels per chunk of K
  let batchTiles = chunk < g.inC ? 32 : 1  // tiles whose partial sums wait on the stack between chunks
  netcParallel(parts, work: g.outC * pixels * kdim) { part in
    // Each tap's offset from the pixel (NetcPhaseImages.tapOffset), worked out once, so that the loop over
    // the taps is a straight run of multiply-adds (against stepping phase and shift from tap to tap, 3x3
    // stride 2 in isolation, medians of 10 runs in ABBA order: 128 channels 56 -> 28 1.57 -> 1.44 ms, 256
    // channels 28 -> 14 2.26 -> 2.04 ms).
    withUnsafeTemporaryAllocation(of: Int.self, capacity: taps) { offsetBuffer in
      let offsets = offsetBuffer.baseAddress!
      for kh in 0..<p.kH {
        for kw in 0..<p.kW { offsets[kh * p.kW + kw] = p.tapOffset(kh, kw) }
      }
      withUnsafeTemporaryAllocation(of: Float.self, capacity: 256 * batchTiles) { sumBuffer in
        let sums = sumBuffer.baseAddress!
        // Tiles run channel panel by channel panel, so a run reads each panel's weights from memory once.
        var t0 = tiles * part / parts
        let end = tiles * (part + 1) / parts
        while t0 < end {
          let t1 = min(end, t0 + batchTiles)
          var c0 = 0
          while c0 < g.inC {
            let c1 = min(g.inC, c0 + chunk)
            for t in t0..<t1 {
              let cp = t / pixelBlocks, pb = t % pixelBlocks
              @inline(__always) func at(_ i: Int) -> UnsafePointer<Float> {
                let q = min(pb * rows + i, pixels - 1)  // a last, partial block repeats its last pixel
                return p.base + q / p.outW * p.pitch + q % p.outW
              }
              let x0 = at(0), x1 = at(1), x2 = at(2), x3 = at(3), x4 = at(4), x5 = at(5), x6 = at(6), x7 = at(7)
              let sum = sums + (t - t0) * 256
              if c1 == g.inC {
                netcPrefetchTransposed(channel: cp * 32, pixel: pb * rows, g.outC, pixels, residual, output)
              }
              var acc = NetcTile()
              if c0 > 0 { acc.load(from: sum) }
              // Seven rows or eight, a constant in each copy of the loops.
              @inline(__always) func sweep(seven: Bool) {
                var w = weight + (cp * kdim + c0 * taps) * 32
                for c in c0..<c1 {
                  let channel = c * channelStride
                  for tap in 0..<taps {
                    let o = channel + offsets[tap]
                    let b0 = UnsafeRawPointer(w).loadUnaligned(as: V.self)
                    let b1 = UnsafeRawPointer(w + 16).loadUnaligned(as: V.self)
                    if seven {
                      acc.add(x0[o], x1[o], x2[o], x3[o], x4[o], x5[o], x6[o], b0, b1)
                    } else {
                      acc.add(x0[o], x1[o], x2[o], x3[o], x4[o], x5[o], x6[o], x7[o], b0, b1)
                    }
                    w += 32
                  }
                }
              }
              if rows == 7 { sweep(seven: true) } else { sweep(seven: false) }
              acc.store(to: sum)
              if c1 == g.inC {
                netcStoreTransposed(sum, channel: cp * 32, pixel: pb * rows, rows: rows, g.outC, pixels, bias, residual,
                                    output, act, slope)
              }
            }
            c0 = c1
          }
          t0 = t1
        }
      }
    }
  }
}
