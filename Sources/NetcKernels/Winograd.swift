// 3x3 and 5x5 stride-1 convolutions by Winograd's minimal filtering F(n x n, r x r): F(2x2, 3x3),
// F(4x4, 3x3) and F(2x2, 5x5). Each n x n output tile is Y = A^T [sum over input channels of U ⊙ V] A
// with U = G g G^T (the filter, transformed at load) and V = B^T d B (the tile's a x a input patch,
// a = n + r - 1), so a tile costs a^2 multiply-adds per input and output channel instead of r^2 n^2: 16
// instead of 36 for F(2x2, 3x3), 36 instead of 144 for F(4x4, 3x3) and 36 instead of 100 for F(2x2, 5x5).
// The last two share their six points (0, ±1, ±2 and infinity), so their B^T is the same matrix. The sum
// over channels is a^2 GEMMs, one per position of the transformed tile, over blocks of tiles sized so
// that a block's transformed input stays in L2. Only the standard library, like Kernels.swift.

/// Whether netcConv2d computes `g` by Winograd, and so wants the weights of `netcWinogradWeights`.
public func netcUsesWinograd(_ g: NetcConvGeometry) -> Bool { netcWinogradTile(g) != 0 }

/// The output tile netcConv2d computes `g` by: 0 (not by Winograd), 2 or 4. It depends on the geometry alone,
/// so the interpreter and the emitted code always agree. F(4x4) does 2.25x fewer multiplications than F(2x2),
/// but its transforms cost more per input and output channel: measured on Zen 5 (one and two threads, input
/// from memory), F(2x2) is 1.3 to 2x faster than F(4x4) on VGG's and ResNet's layers of 64 to 256 channels
/// (224x224 down to 28x28) and 1.8x faster than the GEMM; F(4x4) only wins from about 384 channels in and out
/// (VGG's 512-channel 28x28 layers: 7.1 against 9.2 ms). On 14x14 maps F(4x4)'s transformed weights (4x the
/// filters, F(2x2)'s 16/9) come from memory for too few tiles, and on 7x7 maps its 2x2 tiles waste a third of
/// the work. Both need 8 channels in and out: with 3 input channels the transforms cost more than they save.
/// Below 6x6 the transformed weights are read for too few tiles. A 5x5 kernel takes F(2x2, 5x5) from 16
/// channels in and out: AlexNet's 64 -> 192 layer at 27x27.
public func netcWinogradTile(_ g: NetcConvGeometry) -> Int {
  guard g.kH == g.kW, g.kH == 3 || g.kH == 5, g.sH == 1, g.sW == 1, g.dH == 1, g.dW == 1, g.groups == 1,
        g.padT >= 0, g.padL >= 0
  else { return 0 }
  guard g.inC >= 8, g.inC <= 4096, g.outC >= 8, g.outC <= 4096, g.inH <= 1 << 14, g.inW <= 1 << 14 else { return 0 }
  guard g.outH >= 6 && g.outW >= 6 else { return 0 }
  if g.kH == 5 { return g.inC >= 16 && g.outC >= 16 ? 2 : 0 }
  return g.outH >= 28 && g.outW >= 28 && g.inC >= 384 && g.outC >= 384 ? 4 : 2
}

/// Scratch floats netcWinogradConv2d needs for `g` (a 3x3 or 5x5 stride-1 geometry) and output tile 2 or 4;
/// Int.max when it would not fit an Int, which no allocation passes.
public func netcWinogradScratch(_ g: NetcConvGeometry, tile: Int) -> Int {
  let (total, overflow) = NetcWinogradPlan(g, tile: tile).perWorker.multipliedReportingOverflow(by: netcWorkers)
  return overflow ? Int.max : total
}

/// How a Winograd convolution is blocked; every worker's buffers are `perWorker` floats of the scratch.
struct NetcWinogradPlan {
  /// The output tile's side n, the input patch's side n + r - 1, and the positions of the transformed tile.
  let n: Int, alpha: Int, positions: Int
  let tilesH: Int, tilesW: Int
  /// Tiles per block: the transformed input of a block, positions x inC x tiles floats, about 512 KiB, so
  /// that the filters streaming past it keep half of L2 (1 MiB before; interleaved medians of 80 runs:
  /// GoogLeNet 16.2 -> 15.7 ms, ResNet-18 17.1 -> 16.6 ms, ResNet-50 even, of 30: VGG-16 109 -> 107 ms).
  let tiles: Int
  /// Row stride of the transformed input: `tiles`, from 32 tiles up. A 16-tile chunk that spills past a
  /// row's end writes the start of the next row, which the input transform writes afterwards (it goes
  /// channel by channel), or for the last channel the slack of `posStride`. 16 more floats for the spill
  /// put a third cache line in every row of a 32-tile block (a 14x14 map's): per-node medians of 80
  /// interleaved runs, ResNet-18's 14x14 layers 0.94 -> 0.89 ms each, its 56x56 and 28x28 ones 2-6% less.
  /// A 16-tile block (a 7x7 map's) keeps the 16 floats: its layers measured 1.04 -> 1.11 ms without them.
  let ldv: Int
  /// Row stride of the staging rows, each the vertically transformed input over the padded width.
  let stageWidth: Int
  let zeroWidth: Int
  /// Floats from one position's transformed input to the next: a cache line more than its inC x ldv
  /// floats, so that the 16 or 36 streams the input transform writes do not all fall in one L1 set
  /// (inC x ldv floats are often a multiple of 4 KiB).
  let posStride: Int
  let perWorker: Int

  init(_ g: NetcConvGeometry, tile: Int) {
    n = tile == 4 ? 4 : 2
    alpha = n + g.kH - 1
    positions = alpha * alpha
    tilesH = (g.outH + n - 1) / n
    tilesW = (g.outW + n - 1) / n
    let cap = max(32, min(256, (1 << 17) / positions / max(1, g.inC) / 32 * 32))
    // Blocks of equal size in steps of 16 tiles (the narrow panel). When the transformed filters are the
    // smaller operand, the threads split the tiles: as many blocks as the cap needs, at least two per
    // thread (so that a thread that finishes first can take another), rounded up to a multiple of the
    // threads (196 tiles of a 56x56 map on two threads are 112 + 84, not 96 + 96 + 4). Otherwise they
    // split the output channels, so that each reads only its part of the filters.
    let count = tilesH * tilesW, sixteens = (count + 15) / 16
    let byCap = (count + cap - 1) / cap, needed = max(byCap, 2 * netcWorkers)
    let filtersLarger = g.outC > count
    let blocks = filtersLarger ? byCap : min(sixteens, (needed + netcWorkers - 1) / netcWorkers * netcWorkers)
    tiles = min(cap, (sixteens + max(1, blocks) - 1) / max(1, blocks) * 16)
    ldv = tiles > 16 ? tiles : tiles + 16
    // A 16-tile chunk reads at most 16 n + 4 staging columns past its first tile's n tw.
    stageWidth = (n * tilesW + 16 * n + 4 + 15) / 16 * 16
    zeroWidth = (g.inW + 15) / 16 * 16
    posStride = g.inC * ldv + 16
    perWorker = positions * posStride + (positions + 1) * 8 * 32 + alpha * stageWidth + zeroWidth
  }
}

/// The filters as Winograd F(tile x tile, kernel x kernel) reads them: for each block of 8 output
/// channels, that block of U[pos] (outC x inC, packed as `netcPackWeights` packs it) for each position of
/// the transformed tile, one after the other. `weight` is [outC][inC][kernel][kernel], kernel 3 or 5 (5
/// with tile 2).
public func netcWinogradWeights(_ weight: UnsafePointer<Float>, outC: Int, inC: Int, tile: Int,
                                kernel: Int) -> [Float] {
  var packed = [Float](repeating: 0, count: netcWinogradWeightsCount(outC: outC, inC: inC, tile: tile, kernel: kernel))
  packed.withUnsafeMutableBufferPointer {
    netcWinogradWeights(weight, outC: outC, inC: inC, tile: tile, kernel: kernel, into: $0.baseAddress!)
  }
  return packed
}

/// Floats netcWinogradWeights writes.
public func netcWinogradWeightsCount(outC: Int, inC: Int, tile: Int, kernel: Int) -> Int {
  let alpha = tile + kernel - 1
  return alpha * alpha * ((outC + 7) / 8) * 8 * inC
}

/// netcWinogradWeights into `out`: netcWinogradWeightsCount zeroed floats the caller allocated. Each
/// transformed filter goes straight to its place, without U whole in between (4 times the weights at
/// F(4x4, 3x3)).
public func netcWinogradWeights(_ weight: UnsafePointer<Float>, outC: Int, inC: Int, tile: Int, kernel: Int,
                                into out: UnsafeMutablePointer<Float>) {
  // G, in Double so that only the final rounding is lost. F(4x4, 3x3) and F(2x2, 5x5) evaluate the filter
  // at 0, 1, -1, 2, -2 (scaled by 1/4, -1/6, -1/6, 1/24, 1/24 to match B^T) and take its last tap for
  // infinity.
  precondition(kernel == 3 || (kernel == 5 && tile == 2), "netc: no Winograd F(\(tile)x\(tile), \(kernel)x\(kernel))")
  let r = kernel
  var gm: [[Double]] = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
  if tile == 4 || r == 5 {
    let points: [Double] = [0, 1, -1, 2, -2], scales: [Double] = [0.25, -1.0 / 6, -1.0 / 6, 1.0 / 24, 1.0 / 24]
    gm = []
    for j in 0..<5 {
      var row = [Double](repeating: scales[j], count: r)
      for k in 1..<r { row[k] = row[k - 1] * points[j] }
      gm.append(row)
    }
    gm.append((0..<r).map { $0 == r - 1 ? 1 : 0 })
  }
  let alpha = gm.count, positions = alpha * alpha
  // Per block of 8 output channels, its rows of every position one after the other: a run of blocks is
  // one contiguous stream of filters, which the prefetcher follows. Within a block a position's rows are
  // k-major, [inC][8], as netcPackWeights stores them.
  let block = 8 * inC
  var gg = [Double](repeating: 0, count: alpha * r)
  for o in 0..<outC {
    let row = out + o / 8 * positions * block + o % 8
    for i in 0..<inC {
      let g = weight + (o * inC + i) * r * r
      for a in 0..<alpha {
        for c in 0..<r {
          var sum = 0.0
          for k in 0..<r { sum += gm[a][k] * Double(g[k * r + c]) }
          gg[a * r + c] = sum
        }
      }
      for a in 0..<alpha {
        for c in 0..<alpha {
          var v = 0.0
          for k in 0..<r { v += gg[a * r + k] * gm[c][k] }
          row[(a * alpha + c) * block + i * 8] = Float(v)
        }
      }
    }
  }
}

/// A 3x3 or 5x5 stride-1 convolution by F(tile x tile, 3x3), tile 2 or 4, or F(2x2, 5x5), the epilogue
/// (bias, residual, activation) applied as each output tile is written. `weight` comes from
/// `netcWinogradWeights` with the same tile, `scratch` holds `netcWinogradScratch(g, tile:)` floats.
@inline(never)
public func netcWinogradConv2d(_ g: NetcConvGeometry, tile: Int, batch: Int, input: UnsafePointer<Float>,
                               inStride: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               residual: UnsafePointer<Float>?, resStride: Int,
                               output: UnsafeMutablePointer<Float>, outStride: Int, act: Int, slope: Float,
                               scratch: UnsafeMutablePointer<Float>) {
  let plan = NetcWinogradPlan(g, tile: tile)
  let positions = plan.positions
  let mBlocks = (g.outC + 7) / 8
  let total = batch * plan.tilesH * plan.tilesW
  guard total > 0 else { return }
  // The fewest blocks of at most plan.tiles tiles, their bounds spread evenly over the 16-tile chunks: 196
  // tiles (a 28x28 map) in four blocks are 48 + 48 + 48 + 52, not 64 + 64 + 64 + 4, which left one
  // thread with twice the other's work.
  let chunks = (total + 15) / 16, chunksPerBlock = plan.tiles / 16
  let blocks = (chunks + chunksPerBlock - 1) / chunksPerBlock
  // Units of (block, part of the output channels), claimed by whichever thread is free. Too few blocks
  // to go round: the threads also split the output channels, each transforming the input of a block
  // once, the first time it takes a unit of it.
  let parts = blocks >= 2 * netcWorkers ? 1 : min(mBlocks, (4 * netcWorkers + blocks - 1) / blocks)
  let units = blocks * parts
  // Numbered so that each thread's share of the units (netcParallelParts) is a run of parts of the output
  // channels over every block, block by block: a thread reads its own part of the filters and no other,
  // and transforms every block's input. Per-node medians of 80 interleaved runs, ResNet-50's five 14x14
  // layers (two blocks, four parts): 1.7 -> 1.5 ms each when the two vCPUs are far apart and do not share
  // a cache, 1.0 -> 1.08 when they do (each then read all the filters, half of them from the shared cache).
  let perShare = max(1, parts / netcWorkers)
  let e = NetcEpilogue(bias: bias, residual: residual, ldr: resStride, act: act, slope: slope)
  // Per thread, the block its buffers hold (-1: none yet, staging not cleared), a cache line apart.
  withUnsafeTemporaryAllocation(of: Int.self, capacity: 16 * netcWorkers) { held in
    for slot in 0..<netcWorkers { held[16 * slot] = -1 }
    netcParallelParts(units) { u, slot in
      let ws = scratch + slot * plan.perWorker
      let v = ws, m = v + positions * plan.posStride, stage = m + (positions + 1) * 8 * 32
      let zero = stage + plan.alpha * plan.stageWidth
      if held[16 * slot] == -1 { stage.update(repeating: 0, count: plan.alpha * plan.stageWidth + plan.zeroWidth) }
      let group = u / (blocks * perShare), first = group * perShare
      let inGroup = min(perShare, parts - first), r = u - group * blocks * perShare
      let blk = r / inGroup, part = first + r % inGroup
      let t0 = 16 * (chunks * blk / blocks), t1 = min(total, 16 * (chunks * (blk + 1) / blocks))
      if blk != held[16 * slot] {
        if plan.alpha == 6 {
          netcWinogradInput6(g, plan, input, inStride, t0, t1, v, stage, zero, m)
        } else {
          netcWinogradInput(g, plan, input, inStride, t0, t1, v, stage, zero)
        }
        held[16 * slot] = blk
      }
      // Panel by panel, each through all of the part's filters: a panel's transformed input (positions x
      // inC x 32 floats) stays in L1 and L2 while the filters stream past, rather than the whole block's
      // (positions x inC x tiles) being read again for every 8 output channels.
      for pj in 0..<(t1 - t0 + 31) / 32 {
        for mb in (mBlocks * part / parts)..<(mBlocks * (part + 1) / parts) {
          // A panel of at most 16 tiles (small maps) multiplies only the 16 columns it has.
          let narrow = t1 - t0 - pj * 32 <= 16
          for pos in 0..<positions {
            let a = weight + (mb * positions + pos) * 8 * g.inC, b = v + pos * plan.posStride + pj * 32
            if narrow {
              netcWinogradKernel16(g.inC, a, b, plan.ldv, m + pos * 256)
            } else {
              netcWinogradKernel(g.inC, a, b, plan.ldv, m + pos * 256)
            }
          }
          if plan.n == 4 {
            netcWinogradOutput4(g, plan, m, mb, t0 + pj * 32, t1, e, output, outStride)
          } else {
            netcWinogradOutput(g, plan, m, mb, t0 + pj * 32, t1, e, output, outStride)
          }
        }
      }
    }
  }
}

/// F(2x2, 3x3)'s V = B^T d B for tiles t0..<t1 (numbered over batch, tile rows, tile columns), as 16 row-major
/// matrices [inC][ldv], the B operands of the 16 GEMMs. B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
/// A run of tiles in one tile row is done in two passes: B^T down the columns of its four input rows into
/// `stage` (zero where the padding is), then B along the rows, 16 tiles at a time.
@inline(__always)
func netcWinogradInput(_ g: NetcConvGeometry, _ plan: NetcWinogradPlan, _ input: UnsafePointer<Float>, _ inStride: Int,
                       _ t0: Int, _ t1: Int, _ v: UnsafeMutablePointer<Float>, _ stage: UnsafeMutablePointer<Float>,
                       _ zero: UnsafePointer<Float>) {
  typealias V16 = SIMD16<Float>
  typealias V32 = SIMD32<Float>
  let ldv = plan.ldv, sw = plan.stageWidth, plane = g.inH * g.inW, posStride = plan.posStride
  let start = NetcTileRun(plan, t0, t1)
  for ic in 0..<g.inC {
    var run = start
    while run.t < t1 {
      let b = run.b, th = run.th, tw0 = run.tw0, tw1 = run.tw1, lane0 = run.t - t0
      // The input columns the run reads, clipped to the image; the rest of `stage` stays zero.
      let lo = max(0, 2 * tw0 - g.padL), hi = min(g.inW, 2 * tw1 - g.padL + 2)
      let ih = 2 * th - g.padT
      let x = input + b * inStride + ic * plane
      netcPrefetchRows(g, input + b * inStride, ic + netcWinogradPrefetchChannels, ih, 4, lo, hi)
      var rows = (zero, zero, zero, zero)
      if ih >= 0 && ih < g.inH { rows.0 = x + ih * g.inW }
      if ih + 1 >= 0 && ih + 1 < g.inH { rows.1 = x + (ih + 1) * g.inW }
      if ih + 2 >= 0 && ih + 2 < g.inH { rows.2 = x + (ih + 2) * g.inW }
      if ih + 3 >= 0 && ih + 3 < g.inH { rows.3 = x + (ih + 3) * g.inW }
      let s0 = stage + g.padL, s1 = s0 + sw, s2 = s1 + sw, s3 = s2 + sw
      var i = lo
      while i + 16 <= hi {
        let d0 = UnsafeRawPointer(rows.0 + i).loadUnaligned(as: V16.self)
        let d1 = UnsafeRawPointer(rows.1 + i).loadUnaligned(as: V16.self)
        let d2 = UnsafeRawPointer(rows.2 + i).loadUnaligned(as: V16.self)
        let d3 = UnsafeRawPointer(rows.3 + i).loadUnaligned(as: V16.self)
        UnsafeMutableRawPointer(s0 + i).storeBytes(of: d0 - d2, as: V16.self)
        UnsafeMutableRawPointer(s1 + i).storeBytes(of: d1 + d2, as: V16.self)
        UnsafeMutableRawPointer(s2 + i).storeBytes(of: d2 - d1, as: V16.self)
        UnsafeMutableRawPointer(s3 + i).storeBytes(of: d1 - d3, as: V16.self)
        i += 16
      }
      while i < hi {
        let d0 = rows.0[i], d1 = rows.1[i], d2 = rows.2[i], d3 = rows.3[i]
        s0[i] = d0 - d2; s1[i] = d1 + d2; s2[i] = d2 - d1; s3[i] = d1 - d3
        i += 1
      }
      // Tile tw reads staging columns 2tw..2tw+3: the even and odd lanes of two 32-float loads. A chunk
      // past the run's end writes lanes that the next run, or the next channel's first, overwrites (the
      // last channel's: the slack past inC rows of a position).
      var tw = tw0
      while tw < tw1 {
        let dst = v + ic * ldv + lane0 + (tw - tw0)
        for r in 0..<4 {
          let s = stage + r * sw + 2 * tw
          let l0 = UnsafeRawPointer(s).loadUnaligned(as: V32.self)
          let l1 = UnsafeRawPointer(s + 2).loadUnaligned(as: V32.self)
          let c0 = l0.evenHalf, c1 = l0.oddHalf, c2 = l1.evenHalf, c3 = l1.oddHalf
          let p = dst + 4 * r * posStride
          UnsafeMutableRawPointer(p).storeBytes(of: c0 - c2, as: V16.self)
          UnsafeMutableRawPointer(p + posStride).storeBytes(of: c1 + c2, as: V16.self)
          UnsafeMutableRawPointer(p + 2 * posStride).storeBytes(of: c2 - c1, as: V16.self)
          UnsafeMutableRawPointer(p + 3 * posStride).storeBytes(of: c1 - c3, as: V16.self)
        }
        tw += 16
      }
      run.next(plan, t1)
    }
  }
}

/// A run of tiles t..<t + (tw1 - tw0) in tile row th of batch item b: the part of a block in one tile row.
/// The input transforms step through a block's runs once per input channel, so the divisions that find
/// the first are done once per block.
struct NetcTileRun {
  var t: Int, b: Int, th: Int, tw0: Int, tw1: Int

  init(_ plan: NetcWinogradPlan, _ t0: Int, _ t1: Int) {
    let rowId = t0 / plan.tilesW
    t = t0; b = rowId / plan.tilesH; th = rowId % plan.tilesH; tw0 = t0 % plan.tilesW
    tw1 = min(plan.tilesW, tw0 + (t1 - t0))
  }

  @inline(__always) mutating func next(_ plan: NetcWinogradPlan, _ t1: Int) {
    t += tw1 - tw0
    tw0 = 0
    tw1 = min(plan.tilesW, t1 - t)
    th += 1
    if th == plan.tilesH { th = 0; b += 1 }
  }
}

/// How many input channels ahead the input transforms prefetch. They go channel by channel through all of
/// a block's runs, so two channels ahead is already a block's worth of rows ahead; this was not tuned.
let netcWinogradPrefetchChannels = 2

/// Prefetches columns lo..<hi of `count` input rows from row `ih` (rows outside the image skipped) of
/// channel `ic` of `x`, if there is such a channel. The transforms read every channel's few rows a plane
/// apart, a stride the hardware prefetcher misses, and part of the input was written by the other core.
/// A small gain, seen only when the two vCPUs are far apart (ResNet-50's 3x3 layers, per-node medians of
/// 80 interleaved runs in that state: 17.6 -> 16.9 ms together, measured when the transforms went run by
/// run, 8 channels ahead).
@inline(__always)
func netcPrefetchRows(_ g: NetcConvGeometry, _ x: UnsafePointer<Float>, _ ic: Int, _ ih: Int, _ count: Int,
                      _ lo: Int, _ hi: Int) {
  guard ic < g.inC, lo < hi else { return }
  let channel = x + ic * g.inH * g.inW
  for r in max(0, ih)..<min(g.inH, ih + count) {
    var p = UnsafeRawPointer(channel + r * g.inW + lo)
    let end = UnsafeRawPointer(channel + r * g.inW + hi)
    while p < end { netcPrefetch(p); p += 64 }
    netcPrefetch(end - 1)
  }
}

/// c[8 x 32] = a[8 x k] (packed k-major) * b[k x 32] (row stride ldb): netcMicroKernel's register tile
/// without the epilogue, whose place is after the output transform.
@inline(__always)
func netcWinogradKernel(_ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
                        _ c: UnsafeMutablePointer<Float>) {
  var acc = NetcTile()
  acc.accumulate(k, a, b, ldb, prefetching: a + 8 * k)
  acc.store(to: c)
}

/// Prefetches the 8 cache lines (16 steps of K) of the filters the next kernel reads at `p`. A Winograd
/// convolution's filters stream from memory for every block, the next position's right after these, and
/// when the two vCPUs are far apart (see NetcThreadPool) memory answers late enough that the hardware
/// prefetcher falls behind: in that state, per-node medians of 80 interleaved runs, ResNet-18's 14x14
/// layers went 1.20 -> 1.13 ms each and its 3x3 layers 14.97 -> 14.47 ms together; close together, no change.
/// After the last kernel `p` is past the filters: a prefetch never faults, and those lines are never read.
@inline(__always)
func netcPrefetchFilters(_ p: UnsafePointer<Float>) {
  for l in 0..<8 { netcPrefetch(p + 16 * l) }
}

/// The left half of netcWinogradKernel's tile: c[8 x 16] (row stride 32) = a[8 x k] * b[k x 16].
@inline(__always)
func netcWinogradKernel16(_ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
                          _ c: UnsafeMutablePointer<Float>) {
  typealias V = SIMD16<Float>
  var c0 = V(), c1 = V(), c2 = V(), c3 = V(), c4 = V(), c5 = V(), c6 = V(), c7 = V()
  var ap = a, bp = b
  for i in 0..<k {
    if i & 15 == 0 { netcPrefetchFilters(ap + 8 * k) }
    let b0 = UnsafeRawPointer(bp).loadUnaligned(as: V.self)
    c0.addProduct(V(repeating: ap[0]), b0); c1.addProduct(V(repeating: ap[1]), b0)
    c2.addProduct(V(repeating: ap[2]), b0); c3.addProduct(V(repeating: ap[3]), b0)
    c4.addProduct(V(repeating: ap[4]), b0); c5.addProduct(V(repeating: ap[5]), b0)
    c6.addProduct(V(repeating: ap[6]), b0); c7.addProduct(V(repeating: ap[7]), b0)
    ap += 8
    bp += ldb
  }
  @inline(__always) func put(_ r: Int, _ v: V) { UnsafeMutableRawPointer(c + r * 32).storeBytes(of: v, as: V.self) }
  put(0, c0); put(1, c1); put(2, c2); put(3, c3); put(4, c4); put(5, c5); put(6, c6); put(7, c7)
}

/// Y = A^T M A of the 2x2 output tiles, F(2x2, 3x3)'s (A^T = [1 1 1 0; 0 1 -1 -1]) or F(2x2, 5x5)'s (A^T =
/// [1 1 1 1 1 0; 0 1 -1 2 -2 1]), for output channels 8mb..<8mb+8, 32 tiles from t0 (those below t1), then
/// bias, residual and activation, stored. `m` is [16 or 36 positions][8][32]. Sixteen tiles in one tile
/// row, all inside the output, are stored as two interleaved rows; other tiles one by one.
@inline(__always)
func netcWinogradOutput(_ g: NetcConvGeometry, _ plan: NetcWinogradPlan, _ m: UnsafePointer<Float>, _ mb: Int,
                        _ t0: Int, _ t1: Int, _ e: NetcEpilogue, _ output: UnsafeMutablePointer<Float>,
                        _ outStride: Int) {
  typealias V16 = SIMD16<Float>
  typealias V32 = SIMD32<Float>
  let npix = g.outH * g.outW
  for r in 0..<min(8, g.outC - 8 * mb) {
    let oc = 8 * mb + r
    let bias = e.bias?[oc] ?? 0
    for h in 0..<2 {
      let t = t0 + 16 * h
      if t >= t1 { break }
      @inline(__always) func ld(_ pos: Int) -> V16 {
        UnsafeRawPointer(m + pos * 256 + r * 32 + 16 * h).loadUnaligned(as: V16.self)
      }
      let bv = V16(repeating: bias)
      var y00 = bv, y01 = bv, y10 = bv, y11 = bv
      if plan.alpha == 4 {
        // A^T M: the four columns of both output rows, then A on the right.
        let m0 = ld(0), m1 = ld(1), m2 = ld(2), m3 = ld(3), m4 = ld(4), m5 = ld(5), m6 = ld(6), m7 = ld(7)
        let m8 = ld(8), m9 = ld(9), m10 = ld(10), m11 = ld(11), m12 = ld(12), m13 = ld(13), m14 = ld(14), m15 = ld(15)
        let a0 = m0 + m4 + m8, a1 = m1 + m5 + m9, a2 = m2 + m6 + m10, a3 = m3 + m7 + m11
        let b0 = m4 - m8 - m12, b1 = m5 - m9 - m13, b2 = m6 - m10 - m14, b3 = m7 - m11 - m15
        y00 += a0 + a1 + a2; y01 += a1 - a2 - a3
        y10 += b0 + b1 + b2; y11 += b1 - b2 - b3
      } else {
        // A^T down the six columns, then A along the two rows.
        @inline(__always) func column(_ j: Int) -> (V16, V16) {
          netcAT6to2(ld(j), ld(6 + j), ld(12 + j), ld(18 + j), ld(24 + j), ld(30 + j))
        }
        let c0 = column(0), c1 = column(1), c2 = column(2), c3 = column(3), c4 = column(4), c5 = column(5)
        let top = netcAT6to2(c0.0, c1.0, c2.0, c3.0, c4.0, c5.0)
        let bottom = netcAT6to2(c0.1, c1.1, c2.1, c3.1, c4.1, c5.1)
        y00 += top.0; y01 += top.1; y10 += bottom.0; y11 += bottom.1
      }
      let rowId = t / plan.tilesW, tw = t % plan.tilesW
      let b = rowId / plan.tilesH, th = rowId % plan.tilesH
      if t + 16 <= t1 && tw + 16 <= plan.tilesW && 2 * tw + 32 <= g.outW && 2 * th + 2 <= g.outH {
        for i in 0..<2 {
          var row = V32()
          row.evenHalf = i == 0 ? y00 : y10
          row.oddHalf = i == 0 ? y01 : y11
          let off = b * outStride + oc * npix + (2 * th + i) * g.outW + 2 * tw
          let roff = b * e.ldr + oc * npix + (2 * th + i) * g.outW + 2 * tw
          // Halves of 16: the compiler keeps SIMD16 comparisons in vector registers, not SIMD32 ones.
          var lo = row.lowHalf, hi = row.highHalf
          if let res = e.residual {
            lo += UnsafeRawPointer(res + roff).loadUnaligned(as: V16.self)
            hi += UnsafeRawPointer(res + roff + 16).loadUnaligned(as: V16.self)
          }
          if e.act != NetcAct.none {
            lo = netcActivate(lo, e.act, e.slope)
            hi = netcActivate(hi, e.act, e.slope)
          }
          UnsafeMutableRawPointer(output + off).storeBytes(of: lo, as: V16.self)
          UnsafeMutableRawPointer(output + off + 16).storeBytes(of: hi, as: V16.self)
        }
        continue
      }
      var bb = b, trow = th, col = tw
      for l in 0..<min(16, t1 - t) {
        let oh = 2 * trow, ow = 2 * col
        let right = ow + 1 < g.outW, below = oh + 1 < g.outH
        let at = oc * npix + oh * g.outW + ow
        var q = SIMD4<Float>(y00[l], y01[l], y10[l], y11[l])
        if let res = e.residual {
          let rp = res + bb * e.ldr + at
          q[0] += rp[0]
          if right { q[1] += rp[1] }
          if below { q[2] += rp[g.outW] }
          if right && below { q[3] += rp[g.outW + 1] }
        }
        if e.act != NetcAct.none { q = netcActivate(q, e.act, e.slope) }
        let p = output + bb * outStride + at
        p[0] = q[0]
        if right { p[1] = q[1] }
        if below { p[g.outW] = q[2] }
        if right && below { p[g.outW + 1] = q[3] }
        col += 1
        if col == plan.tilesW {
          col = 0
          trow += 1
          if trow == plan.tilesH { trow = 0; bb += 1 }
        }
      }
    }
  }
}

/// B^T of F(4x4, 3x3) applied to a column of six: [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
/// 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1].
@inline(__always)
func netcBT6<V: SIMD>(_ d0: V, _ d1: V, _ d2: V, _ d3: V, _ d4: V, _ d5: V) -> (V, V, V, V, V, V)
where V.Scalar == Float {
  let a = d4 - d2, b = d3 - d1
  return (4 * d0 - 5 * d2 + d4, (d4 + d3) - 4 * (d1 + d2), (d4 - d3) + 4 * (d1 - d2), a + 2 * b, a - 2 * b,
          4 * d1 - 5 * d3 + d5)
}

/// A^T of F(2x2, 5x5) applied to a column of six: [1 1 1 1 1 0; 0 1 -1 2 -2 1].
@inline(__always)
func netcAT6to2(_ m0: SIMD16<Float>, _ m1: SIMD16<Float>, _ m2: SIMD16<Float>, _ m3: SIMD16<Float>,
                _ m4: SIMD16<Float>, _ m5: SIMD16<Float>) -> (SIMD16<Float>, SIMD16<Float>) {
  let p = m1 + m2, q = m1 - m2, r = m3 + m4, s = m3 - m4
  return (m0 + p + r, q + 2 * s + m5)
}

/// A^T of F(4x4, 3x3) applied to a column of six: [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
@inline(__always)
func netcAT6(_ m0: SIMD16<Float>, _ m1: SIMD16<Float>, _ m2: SIMD16<Float>, _ m3: SIMD16<Float>, _ m4: SIMD16<Float>,
             _ m5: SIMD16<Float>) -> (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>) {
  let p = m1 + m2, q = m1 - m2, r = m3 + m4, s = m3 - m4
  return (m0 + p + r, q + 2 * s, p + 4 * r, q + 8 * s + m5)
}

/// netcWinogradInput for the six-point transforms, F(4x4, 3x3) and F(2x2, 5x5): 36 matrices, six staging
/// rows, tiles n columns apart; `columns` holds 96 floats.
@inline(__always)
func netcWinogradInput6(_ g: NetcConvGeometry, _ plan: NetcWinogradPlan, _ input: UnsafePointer<Float>, _ inStride: Int,
                        _ t0: Int, _ t1: Int, _ v: UnsafeMutablePointer<Float>, _ stage: UnsafeMutablePointer<Float>,
                        _ zero: UnsafePointer<Float>, _ columns: UnsafeMutablePointer<Float>) {
  typealias V16 = SIMD16<Float>
  let ldv = plan.ldv, sw = plan.stageWidth, plane = g.inH * g.inW, posStride = plan.posStride
  let n = plan.n, start = NetcTileRun(plan, t0, t1)
  for ic in 0..<g.inC {
    var run = start
    while run.t < t1 {
      let b = run.b, th = run.th, tw0 = run.tw0, tw1 = run.tw1, lane0 = run.t - t0
      let lo = max(0, n * tw0 - g.padL), hi = min(g.inW, n * tw1 - g.padL + 6 - n)
      let ih = n * th - g.padT
      let x = input + b * inStride + ic * plane
      netcPrefetchRows(g, input + b * inStride, ic + netcWinogradPrefetchChannels, ih, 6, lo, hi)
      @inline(__always) func row(_ r: Int) -> UnsafePointer<Float> {
        ih + r >= 0 && ih + r < g.inH ? x + (ih + r) * g.inW : zero
      }
      let r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3), r4 = row(4), r5 = row(5)
      let s0 = stage + g.padL
      @inline(__always) func put(_ i: Int, _ t: (V16, V16, V16, V16, V16, V16)) {
        UnsafeMutableRawPointer(s0 + i).storeBytes(of: t.0, as: V16.self)
        UnsafeMutableRawPointer(s0 + sw + i).storeBytes(of: t.1, as: V16.self)
        UnsafeMutableRawPointer(s0 + 2 * sw + i).storeBytes(of: t.2, as: V16.self)
        UnsafeMutableRawPointer(s0 + 3 * sw + i).storeBytes(of: t.3, as: V16.self)
        UnsafeMutableRawPointer(s0 + 4 * sw + i).storeBytes(of: t.4, as: V16.self)
        UnsafeMutableRawPointer(s0 + 5 * sw + i).storeBytes(of: t.5, as: V16.self)
      }
      @inline(__always) func ld(_ p: UnsafePointer<Float>, _ i: Int) -> V16 {
        UnsafeRawPointer(p + i).loadUnaligned(as: V16.self)
      }
      var i = lo
      while i + 16 <= hi {
        put(i, netcBT6(ld(r0, i), ld(r1, i), ld(r2, i), ld(r3, i), ld(r4, i), ld(r5, i)))
        i += 16
      }
      while i < hi {
        let c = netcBT6(SIMD2(r0[i], 0), SIMD2(r1[i], 0), SIMD2(r2[i], 0), SIMD2(r3[i], 0), SIMD2(r4[i], 0),
                        SIMD2(r5[i], 0))
        s0[i] = c.0[0]; s0[sw + i] = c.1[0]; s0[2 * sw + i] = c.2[0]
        s0[3 * sw + i] = c.3[0]; s0[4 * sw + i] = c.4[0]; s0[5 * sw + i] = c.5[0]
        i += 1
      }
      // Tile tw reads staging columns n tw..n tw + 5, gathered into `columns` as six vectors of 16 tiles:
      // the SIMD64 even/odd halves that would do it compile to lane-by-lane copies on the stack.
      var tw = tw0
      while tw < tw1 {
        let dst = v + ic * ldv + lane0 + (tw - tw0)
        for r in 0..<6 {
          let s = stage + r * sw + n * tw
          for q in 0..<16 {
            let c = s + n * q
            columns[q] = c[0]; columns[16 + q] = c[1]; columns[32 + q] = c[2]
            columns[48 + q] = c[3]; columns[64 + q] = c[4]; columns[80 + q] = c[5]
          }
          let c = netcBT6(ld(columns, 0), ld(columns, 16), ld(columns, 32), ld(columns, 48), ld(columns, 64),
                          ld(columns, 80))
          let p = dst + 6 * r * posStride
          UnsafeMutableRawPointer(p).storeBytes(of: c.0, as: V16.self)
          UnsafeMutableRawPointer(p + posStride).storeBytes(of: c.1, as: V16.self)
          UnsafeMutableRawPointer(p + 2 * posStride).storeBytes(of: c.2, as: V16.self)
          UnsafeMutableRawPointer(p + 3 * posStride).storeBytes(of: c.3, as: V16.self)
          UnsafeMutableRawPointer(p + 4 * posStride).storeBytes(of: c.4, as: V16.self)
          UnsafeMutableRawPointer(p + 5 * posStride).storeBytes(of: c.5, as: V16.self)
        }
        tw += 16
      }
      run.next(plan, t1)
    }
  }
}

/// p[0..<n] = act(x + residual), n a multiple of 4: by 16, then by 4.
@inline(__always)
func netcEpilogueRow(_ p: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ residual: UnsafePointer<Float>?,
                     _ n: Int, _ act: Int, _ slope: Float) {
  var i = 0
  while i + 16 <= n {
    var q = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
    if let residual { q += UnsafeRawPointer(residual + i).loadUnaligned(as: SIMD16<Float>.self) }
    if act != NetcAct.none { q = netcActivate(q, act, slope) }
    UnsafeMutableRawPointer(p + i).storeBytes(of: q, as: SIMD16<Float>.self)
    i += 16
  }
  while i + 4 <= n {
    var q = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD4<Float>.self)
    if let residual { q += UnsafeRawPointer(residual + i).loadUnaligned(as: SIMD4<Float>.self) }
    if act != NetcAct.none { q = netcActivate(q, act, slope) }
    UnsafeMutableRawPointer(p + i).storeBytes(of: q, as: SIMD4<Float>.self)
    i += 4
  }
}

/// F(4x4, 3x3)'s netcWinogradOutput. `m` is [36 positions][8][32] and 256 floats more, where the 16
/// outputs of 16 tiles wait for their stores; A^T down the columns is done in place.
@inline(__always)
func netcWinogradOutput4(_ g: NetcConvGeometry, _ plan: NetcWinogradPlan, _ m: UnsafeMutablePointer<Float>, _ mb: Int,
                         _ t0: Int, _ t1: Int, _ e: NetcEpilogue, _ output: UnsafeMutablePointer<Float>,
                         _ outStride: Int) {
  typealias V16 = SIMD16<Float>
  let npix = g.outH * g.outW, ys = m + 36 * 256
  for r in 0..<min(8, g.outC - 8 * mb) {
    let oc = 8 * mb + r
    let bias = V16(repeating: e.bias?[oc] ?? 0)
    for h in 0..<2 {
      let t = t0 + 16 * h
      if t >= t1 { break }
      let base = m + r * 32 + 16 * h
      @inline(__always) func ld(_ pos: Int) -> V16 { UnsafeRawPointer(base + pos * 256).loadUnaligned(as: V16.self) }
      @inline(__always) func st(_ pos: Int, _ x: V16) {
        UnsafeMutableRawPointer(base + pos * 256).storeBytes(of: x, as: V16.self)
      }
      for j in 0..<6 {
        let c = netcAT6(ld(j), ld(6 + j), ld(12 + j), ld(18 + j), ld(24 + j), ld(30 + j))
        st(j, c.0); st(6 + j, c.1); st(12 + j, c.2); st(18 + j, c.3)
      }
      for i in 0..<4 {
        let c = netcAT6(ld(6 * i), ld(6 * i + 1), ld(6 * i + 2), ld(6 * i + 3), ld(6 * i + 4), ld(6 * i + 5))
        let y = ys + 64 * i
        UnsafeMutableRawPointer(y).storeBytes(of: c.0 + bias, as: V16.self)
        UnsafeMutableRawPointer(y + 16).storeBytes(of: c.1 + bias, as: V16.self)
        UnsafeMutableRawPointer(y + 32).storeBytes(of: c.2 + bias, as: V16.self)
        UnsafeMutableRawPointer(y + 48).storeBytes(of: c.3 + bias, as: V16.self)
      }
      // ys[16 (4i + l) + lane]: output (i, l) of tile `lane`. The lanes go out in runs of tiles that share a
      // tile row: whole tiles as interleaved rows of 4 x run floats, the epilogue over each row by vectors;
      // a tile cut by the right or bottom edge (a map that is not a multiple of 4) one output at a time.
      var lane = 0
      let lanes = min(16, t1 - t)
      while lane < lanes {
        let rowId = (t + lane) / plan.tilesW, tw = (t + lane) % plan.tilesW
        let b = rowId / plan.tilesH, th = rowId % plan.tilesH
        let run = min(lanes - lane, plan.tilesW - tw)
        let whole = 4 * th + 4 <= g.outH ? max(0, min(run, g.outW / 4 - tw)) : 0
        for i in 0..<(whole > 0 ? 4 : 0) {
          let at = oc * npix + (4 * th + i) * g.outW + 4 * tw
          let o = output + b * outStride + at, src = ys + 64 * i + lane
          @inline(__always) func interleave(_ d: UnsafeMutablePointer<Float>) {
            for q in 0..<whole {
              d[4 * q] = src[q]; d[4 * q + 1] = src[16 + q]; d[4 * q + 2] = src[32 + q]; d[4 * q + 3] = src[48 + q]
            }
          }
          if e.residual == nil && e.act == NetcAct.none {
            interleave(o)
            continue
          }
          // The row waits on the stack: the residual may be the output itself, read before it is written.
          var row = SIMD64<Float>()
          withUnsafeMutableBytes(of: &row) { raw in
            let r = raw.baseAddress!.assumingMemoryBound(to: Float.self)
            interleave(r)
            netcEpilogueRow(o, r, e.residual.map { $0 + b * e.ldr + at }, 4 * whole, e.act, e.slope)
          }
        }
        for k in whole..<run {
          let col = tw + k
          for i in 0..<min(4, g.outH - 4 * th) {
            for l in 0..<min(4, g.outW - 4 * col) {
              let at = oc * npix + (4 * th + i) * g.outW + 4 * col + l
              var q = ys[16 * (4 * i + l) + lane + k]
              if let res = e.residual { q += res[b * e.ldr + at] }
              output[b * outStride + at] = netcActivate(q, e.act, e.slope)
            }
          }
        }
        lane += run
      }
    }
  }
}

