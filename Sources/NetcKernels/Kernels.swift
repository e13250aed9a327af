// The kernels netc runs: the interpreter calls them, and so does the Swift that `netc emit --target swift`
// writes, through this library or with its sources inline (--self-contained), so both paths compute with
// exactly the same code. Only the standard library and Dispatch: an app links this library, and the
// self-contained file must build on its own.
import Dispatch
#if canImport(Glibc)
  import Glibc
#endif

// Float math without Foundation: Double precision is plenty for float outputs.
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
@inline(__always) func netcPow(_ x: Double, _ y: Double) -> Double {
  if x <= 0 { return x == 0 ? 0 : .nan }
  return netcExpD(y * netcLog(x))
}
/// Natural logarithm without Foundation (netc's random initialisation draws with it too).
public func netcLog(_ x: Double) -> Double {
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

/// GEMM blocking: an 8 x 32 register tile (16 SIMD16 accumulators), K in blocks of 256, and per worker a
/// packed panel of B of at most 256 x 512 floats (512 KiB, resident in L2).
public enum NetcGemmBlocking {
  public static let mr = 8, nr = 32, kc = 256, nc = 512
  /// Scratch floats one worker needs: its B panel and one tile for partial stores.
  public static let perWorker = kc * nc + mr * nr
  public static var scratch: Int { netcWorkers * perWorker }
}

/// The weights of a convolution as the GEMM reads them: per group, blocks of 8 output channels, each
/// stored k-major ([k][8]) and zero-padded to a multiple of 8 rows. `weight` is [outC][inC/groups][kH][kW].
public func netcPackWeights(_ weight: UnsafePointer<Float>, outC: Int, groups: Int, kdim: Int) -> [Float] {
  var packed = [Float](repeating: 0, count: netcPackedWeightsCount(outC: outC, groups: groups, kdim: kdim))
  packed.withUnsafeMutableBufferPointer { netcPackWeights(weight, outC: outC, groups: groups, kdim: kdim, into: $0.baseAddress!) }
  return packed
}

/// Floats netcPackWeights writes.
public func netcPackedWeightsCount(outC: Int, groups: Int, kdim: Int) -> Int {
  let mr = NetcGemmBlocking.mr
  return groups * ((outC / groups + mr - 1) / mr) * mr * kdim
}

/// netcPackWeights into `out`: netcPackedWeightsCount zeroed floats, which the caller allocated (the
/// interpreter, so that running out of memory is an error rather than a trap).
public func netcPackWeights(_ weight: UnsafePointer<Float>, outC: Int, groups: Int, kdim: Int,
                            into out: UnsafeMutablePointer<Float>) {
  let mr = NetcGemmBlocking.mr
  let coutG = outC / groups
  let blocks = (coutG + mr - 1) / mr
  for grp in 0..<groups {
    for mb in 0..<blocks {
      let dst = out + (grp * blocks + mb) * mr * kdim
      for r in 0..<min(mr, coutG - mb * mr) {
        let src = weight + (grp * coutG + mb * mr + r) * kdim
        for k in 0..<kdim { dst[k * mr + r] = src[k] }
      }
    }
  }
}

/// What the GEMM applies as it stores the last K block: a bias per row, a residual, an activation.
public struct NetcEpilogue {
  public var bias: UnsafePointer<Float>?
  public var residual: UnsafePointer<Float>?
  public var ldr: Int
  public var act: Int
  public var slope: Float
  public init(bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?, ldr: Int, act: Int, slope: Float) {
    self.bias = bias; self.residual = residual; self.ldr = ldr; self.act = act; self.slope = slope
  }
}

/// Where the GEMM's B comes from.
public enum NetcGemmSource {
  /// A row-major K x N matrix, rows `ldb` floats apart.
  case matrix
  /// The im2col matrix of a convolution's input (one group) under this geometry.
  case im2col(NetcConvGeometry)
  /// The im2col matrix of a strided convolution, read from its phase images.
  case phases(NetcPhaseImages)
  /// A row-major K x N matrix whose row k is taken times scale[k]: a pointwise convolution's input times
  /// a per-channel scale (squeeze-and-excitation's product), scaled as it is packed.
  case scaledMatrix(UnsafePointer<Float>)
}

/// C[M x N] = epilogue(A[M x K] * B[K x N]): A packed by `netcPackWeights` (one group), B and C row-major
/// with leading dimensions ldb and ldc. The work is (8-row block, 32-column panel) tiles, split into
/// equal contiguous runs, a few per thread, claimed by whichever thread is free; each run reads B in place
/// (`.matrix`) or packs the panels of B its tiles need into its thread's scratch.
/// With a `source` other than `.matrix`, B is the im2col matrix of a convolution's input: its panels are
/// gathered straight from the input, so the 9x larger im2col matrix is never written.
@inline(never)
public func netcGemm(_ m: Int, _ n: Int, _ k: Int, packedA: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
                     _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ epilogue: NetcEpilogue,
                     source: NetcGemmSource = .matrix, scratch: UnsafeMutablePointer<Float>) {
  let mr = NetcGemmBlocking.mr, nr = NetcGemmBlocking.nr
  let tiles = NetcGemmTiles(mBlocks: (m + mr - 1) / mr, nPanels: (n + nr - 1) / nr, columnMajor: m <= n)
  let count = tiles.mBlocks * tiles.nPanels
  // Two runs per thread: enough for a free thread to take over from a slow one, few enough that each run
  // is a long stretch of columns (one 1x1 convolution of ResNet-50's 56x56 stage inside the block, runs
  // interleaved in one process: 0.59 -> 0.57 ms at two per thread, 0.54 at one, against four).
  let parts = netcParts(count, work: m * n * k, perThread: 2)
  // A residual that is C itself (the output written over it) and more than one K block: the first block's
  // partial sums would overwrite residuals the last block has yet to read, so C starts as the residual and
  // every block adds to it.
  var e = epilogue
  let accumulate = k > NetcGemmBlocking.kc && e.residual == UnsafePointer(c) && e.ldr == ldc
  if accumulate { e.residual = nil }
  netcParallelParts(parts) { part, slot in
    netcGemmRange(m, n, k, packedA, b, ldb, c, ldc, e, accumulate: accumulate, tiles,
                  (count * part / parts)..<(count * (part + 1) / parts), source: source,
                  scratch: scratch + slot * NetcGemmBlocking.perWorker)
  }
}

/// The GEMM's tiles in the order they are dealt out. Column-major (all row blocks of panel 0, then of panel
/// 1, ...) when B is the larger operand, so that a worker packs only about its share of B; row-major when
/// A is, so that a worker reads only about its share of A (the weights of a 1x1 convolution over a 7x7 map).
struct NetcGemmTiles {
  let mBlocks: Int, nPanels: Int, columnMajor: Bool
  @inline(__always) func index(_ mb: Int, _ panel: Int) -> Int {
    columnMajor ? panel * mBlocks + mb : mb * nPanels + panel
  }
  /// The panels tiles `range` touch.
  func panels(_ range: Range<Int>) -> Range<Int> {
    if columnMajor { return range.lowerBound / mBlocks..<(range.upperBound - 1) / mBlocks + 1 }
    let first = range.lowerBound / nPanels, last = (range.upperBound - 1) / nPanels
    return first == last ? range.lowerBound % nPanels..<(range.upperBound - 1) % nPanels + 1 : 0..<nPanels
  }
  /// The row blocks tiles `range` touch.
  func rows(_ range: Range<Int>) -> Range<Int> {
    if !columnMajor { return range.lowerBound / nPanels..<(range.upperBound - 1) / nPanels + 1 }
    let first = range.lowerBound / mBlocks, last = (range.upperBound - 1) / mBlocks
    return first == last ? range.lowerBound % mBlocks..<(range.upperBound - 1) % mBlocks + 1 : 0..<mBlocks
  }
}

/// One worker's share: the tiles `range` of `tiles`, in chunks of 16 panels by 256 rows of K. A matrix
/// (a 1x1 convolution's input) is read in place, a full panel's rows `ldb` floats apart, and panel by
/// panel through every row block while A fits in L2, so that each panel comes from memory once and stays
/// in L1 for the row blocks: packing it first cost as much as the strided reads it was meant to avoid
/// (two threads, minima of interleaved runs: a 1x1 convolution 512 -> 128 over 28x28 0.55 -> 0.52 ms,
/// 256 -> 64 over 56x56 0.57 -> 0.49 ms).
/// Other sources are gathered into packed panels.
@inline(never)
func netcGemmRange(_ m: Int, _ n: Int, _ k: Int, _ packedA: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                   _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ epilogue: NetcEpilogue,
                   accumulate: Bool, _ tiles: NetcGemmTiles, _ range: Range<Int>, source: NetcGemmSource,
                   scratch: UnsafeMutablePointer<Float>) {
  guard !range.isEmpty else { return }
  let mr = NetcGemmBlocking.mr, nr = NetcGemmBlocking.nr, kc = NetcGemmBlocking.kc, nc = NetcGemmBlocking.nc
  let panel = scratch, tile = scratch + kc * nc
  let myPanels = tiles.panels(range), myRows = tiles.rows(range)
  var inPlace = false
  if case .matrix = source { inPlace = true }
  var p0 = myPanels.lowerBound
  while p0 < myPanels.upperBound {
    let p1 = min(myPanels.upperBound, p0 + nc / nr)
    var k0 = 0
    while k0 < k {
      let kb = min(kc, k - k0)
      // Pack B[k0..<k0+kb] of panels p0..<p1 as [panel][k][32], zero-padded; in place, only a last, partial
      // panel.
      for pj in p0..<p1 where !inPlace || (pj + 1) * nr > n {
        netcPackPanel(source, b, ldb, k0: k0, kb: kb, col: pj * nr, width: min(nr, n - pj * nr),
                      panel + (pj - p0) * kb * nr)
      }
      let first = k0 == 0 && !accumulate, last = k0 + kb == k
      @inline(__always) func multiply(_ mb: Int, _ pj: Int, ahead: Int, prefetchA: Bool = false) {
        let row = mb * mr, col = pj * nr
        let height = min(mr, m - row), width = min(nr, n - col)
        let direct = inPlace && width == nr
        let bp = direct ? b + k0 * ldb + col : UnsafePointer(panel + (pj - p0) * kb * nr)
        netcMicroKernel(kb, packedA + mb * mr * k + k0 * mr, bp, direct ? ldb : nr, c + row * ldc + col, ldc,
                        height: height, width: width, first: first, last: last, epilogue, row: row, col: col,
                        ahead: ahead, nextA: prefetchA ? packedA + (mb + 1) * mr * k + k0 * mr : nil, tile: tile)
      }
      if inPlace && m * kb <= 1 << 17 {
        for pj in p0..<p1 {
          for mb in myRows where range.contains(tiles.index(mb, pj)) {
            // Rows that exist in full are prefetched `ahead`; the first panel's pass, which brings A from
            // memory, prefetches the next row block's (ResNet-50's 1x1 convolutions, per-node medians of 80
            // interleaved runs: 24.0 -> 23.8 ms together, 27.5 -> 26.5 when the vCPUs are far apart).
            multiply(mb, pj, ahead: (mb + 3) * mr <= m ? 2 * mr : 0, prefetchA: pj == p0)
          }
        }
      } else {
        for mb in myRows {
          for pj in p0..<p1 where range.contains(tiles.index(mb, pj)) {
            multiply(mb, pj, ahead: 0, prefetchA: pj == p1 - 1)
          }
        }
      }
      k0 += kb
    }
    p0 = p1
  }
}

/// Packs rows k0..<k0+kb, columns col..<col+width (at most 32) of B into `dst` as [kb][32], zero-padded.
@inline(__always)
func netcPackPanel(_ source: NetcGemmSource, _ b: UnsafePointer<Float>, _ ldb: Int, k0: Int, kb: Int, col: Int,
                   width: Int, _ dst: UnsafeMutablePointer<Float>) {
  switch source {
  case .im2col(let g):
    netcPackConvPanel(g, b, k0: k0, kb: kb, col: col, width: width, dst)
  case .phases(let images):
    netcPackPhasePanel(images, k0: k0, kb: kb, col: col, width: width, dst)
  case .matrix:
    if width == 32 {
      for p in 0..<kb { netcCopyRun(b + (k0 + p) * ldb + col, dst + p * 32, 32) }
    } else {
      for p in 0..<kb {
        let src = b + (k0 + p) * ldb + col
        let d = dst + p * 32
        for q in 0..<32 { d[q] = q < width ? src[q] : 0 }
      }
    }
  case .scaledMatrix(let scale):
    // The product x * s as the unfused multiply rounds it, so the sums are the same bits.
    for p in 0..<kb {
      let src = b + (k0 + p) * ldb + col, d = dst + p * 32
      let s = SIMD16<Float>(repeating: scale[k0 + p])
      netcStore(netcLoad(src, min(16, width)) * s, d, 16)
      netcStore(width > 16 ? netcLoad(src + 16, width - 16) * s : .zero, d + 16, 16)
    }
  }
}

/// The 8 x 32 register tile the GEMM and Winograd's products accumulate in: 16 SIMD16 accumulators, row r
/// in (c[r]0, c[r]1).
struct NetcTile {
  typealias V = SIMD16<Float>
  var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V(), c30 = V(), c31 = V()
  var c40 = V(), c41 = V(), c50 = V(), c51 = V(), c60 = V(), c61 = V(), c70 = V(), c71 = V()

  /// += A[8 x k] (k-major, rows of A `lda` floats apart: 8 as netcPackWeights packs it) * B[k x 32] (rows
  /// `ldb` floats apart). With `rows` 7 (a constant at the call), the last row is left alone.
  @inline(__always)
  mutating func accumulate(_ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
                           lda: Int = 8, rows: Int = 8) {
    var ap = a, bp = b
    for _ in 0..<k {
      let b0 = UnsafeRawPointer(bp).loadUnaligned(as: V.self)
      let b1 = UnsafeRawPointer(bp + 16).loadUnaligned(as: V.self)
      var x = V(repeating: ap[0]); c00.addProduct(x, b0); c01.addProduct(x, b1)
      x = V(repeating: ap[1]); c10.addProduct(x, b0); c11.addProduct(x, b1)
      x = V(repeating: ap[2]); c20.addProduct(x, b0); c21.addProduct(x, b1)
      x = V(repeating: ap[3]); c30.addProduct(x, b0); c31.addProduct(x, b1)
      x = V(repeating: ap[4]); c40.addProduct(x, b0); c41.addProduct(x, b1)
      x = V(repeating: ap[5]); c50.addProduct(x, b0); c51.addProduct(x, b1)
      x = V(repeating: ap[6]); c60.addProduct(x, b0); c61.addProduct(x, b1)
      if rows == 8 { x = V(repeating: ap[7]); c70.addProduct(x, b0); c71.addProduct(x, b1) }
      ap += lda
      bp += ldb
    }
  }

  /// `accumulate` for 8 rows of A packed 8 apart, first prefetching each 16 steps' lines of `next` (the
  /// weights of the tile that comes after this one, at the same step): see netcPrefetchFilters.
  @inline(__always)
  mutating func accumulate(_ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
                           prefetching next: UnsafePointer<Float>) {
    var k0 = 0
    while k0 < k {
      let steps = min(16, k - k0)
      netcPrefetchFilters(next + 8 * k0)
      accumulate(steps, a + 8 * k0, b + k0 * ldb, ldb)
      k0 += steps
    }
  }

  /// += a[r] * (b0, b1) for the first 7 rows.
  @inline(__always)
  mutating func add(_ a0: Float, _ a1: Float, _ a2: Float, _ a3: Float, _ a4: Float, _ a5: Float, _ a6: Float,
                    _ b0: V, _ b1: V) {
    var x = V(repeating: a0); c00.addProduct(x, b0); c01.addProduct(x, b1)
    x = V(repeating: a1); c10.addProduct(x, b0); c11.addProduct(x, b1)
    x = V(repeating: a2); c20.addProduct(x, b0); c21.addProduct(x, b1)
    x = V(repeating: a3); c30.addProduct(x, b0); c31.addProduct(x, b1)
    x = V(repeating: a4); c40.addProduct(x, b0); c41.addProduct(x, b1)
    x = V(repeating: a5); c50.addProduct(x, b0); c51.addProduct(x, b1)
    x = V(repeating: a6); c60.addProduct(x, b0); c61.addProduct(x, b1)
  }

  /// += a[r] * (b0, b1) for the 8 rows: one step of K with A's column given as values.
  @inline(__always)
  mutating func add(_ a0: Float, _ a1: Float, _ a2: Float, _ a3: Float, _ a4: Float, _ a5: Float, _ a6: Float,
                    _ a7: Float, _ b0: V, _ b1: V) {
    add(a0, a1, a2, a3, a4, a5, a6, b0, b1)
    let x = V(repeating: a7); c70.addProduct(x, b0); c71.addProduct(x, b1)
  }

  /// Sets the tile to `p`, [8][32] floats.
  @inline(__always)
  mutating func load(from p: UnsafePointer<Float>) {
    @inline(__always) func ld(_ i: Int) -> V { UnsafeRawPointer(p + 16 * i).loadUnaligned(as: V.self) }
    c00 = ld(0); c01 = ld(1); c10 = ld(2); c11 = ld(3); c20 = ld(4); c21 = ld(5); c30 = ld(6); c31 = ld(7)
    c40 = ld(8); c41 = ld(9); c50 = ld(10); c51 = ld(11); c60 = ld(12); c61 = ld(13); c70 = ld(14); c71 = ld(15)
  }

  /// Writes the tile to `p` as [8][32] floats.
  @inline(__always)
  func store(to p: UnsafeMutablePointer<Float>) {
    forEachRow { r, lo, hi in
      UnsafeMutableRawPointer(p + r * 32).storeBytes(of: lo, as: V.self)
      UnsafeMutableRawPointer(p + r * 32 + 16).storeBytes(of: hi, as: V.self)
    }
  }

  /// Calls body(r, left 16 columns, right 16 columns) for the 8 rows.
  @inline(__always)
  func forEachRow(_ body: (Int, V, V) -> Void) {
    body(0, c00, c01); body(1, c10, c11); body(2, c20, c21); body(3, c30, c31)
    body(4, c40, c41); body(5, c50, c51); body(6, c60, c61); body(7, c70, c71)
  }
}

/// The 8 x 32 register tile: C (+)= A[8 x kb] * B[kb x 32] (rows `ldb` floats apart), then the epilogue on
/// the last K block. Before its multiply-adds, the last K block prefetches the lines its epilogue reads
/// and writes, and with `ahead` > 0 those of the tile `ahead` rows below, which the GEMM's panel-by-panel
/// order reaches next but one: with K = 64, a tile's multiply-adds take less time than a miss to memory,
/// so its own lines arrive late. (ResNet-50's 1x1 convolutions with a residual: 14.40 -> 13.63 ms
/// together, per-node medians of interleaved runs; one or three tiles ahead were no better.)
@inline(__always)
func netcMicroKernel(_ kb: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
                     _ c: UnsafeMutablePointer<Float>, _ ldc: Int, height: Int, width: Int, first: Bool, last: Bool,
                     _ e: NetcEpilogue, row: Int, col: Int, ahead: Int, nextA: UnsafePointer<Float>? = nil,
                     tile: UnsafeMutablePointer<Float>) {
  typealias V = SIMD16<Float>
  @inline(__always) func prefetchEpilogue(_ rows: Range<Int>) {
    for r in rows {
      if let res = e.residual {
        netcPrefetch(res + (row + r) * e.ldr + col); netcPrefetch(res + (row + r) * e.ldr + col + 16)
      }
      netcPrefetchForWriting(c + r * ldc); netcPrefetchForWriting(c + r * ldc + 16)
    }
  }
  if last {
    prefetchEpilogue(0..<height)
    if ahead > 0 { prefetchEpilogue(ahead..<ahead + 8) }
  }
  var acc = NetcTile()
  if let nextA {
    acc.accumulate(kb, a, b, ldb, prefetching: nextA)
  } else {
    acc.accumulate(kb, a, b, ldb)
  }
  // Partial tiles go through `tile`, so the stores below never leave C.
  let full = height == 8 && width == 32
  let out = full ? c : tile
  let ldo = full ? ldc : 32
  if !full && !first {
    for r in 0..<height { (tile + r * 32).update(from: c + r * ldc, count: width) }
  }
  // A full tile adds its residual and applies its activation in registers; a partial one with a residual
  // (whose rows may end before 32 columns) goes through the scalar loop below, which gives the same bits.
  let vectorResidual = full && e.residual != nil
  let vectorAct = e.act != NetcAct.none && (e.residual == nil || full)
  // An activation with an exponential runs over the stored rows afterwards, in a loop of its own: inlined
  // in each row's store, it made this function too large for the optimiser to inline the rest.
  let smoothAct = vectorAct && netcIsSmooth(e.act)
  @inline(__always) func put(_ r: Int, _ v0: V, _ v1: V) {
    let p = out + r * ldo
    var lo = v0, hi = v1
    if !first {
      lo += UnsafeRawPointer(p).loadUnaligned(as: V.self)
      hi += UnsafeRawPointer(p + 16).loadUnaligned(as: V.self)
    }
    if last {
      if let bias = e.bias {
        let bv = V(repeating: bias[row + min(r, height - 1)])  // rows past `height` are padding
        lo += bv; hi += bv
      }
      if vectorResidual, let res = e.residual {
        let rp = res + (row + r) * e.ldr + col
        lo += UnsafeRawPointer(rp).loadUnaligned(as: V.self)
        hi += UnsafeRawPointer(rp + 16).loadUnaligned(as: V.self)
      }
      if vectorAct && !smoothAct {
        lo = netcActivate(lo, e.act, e.slope)
        hi = netcActivate(hi, e.act, e.slope)
      }
    }
    UnsafeMutableRawPointer(p).storeBytes(of: lo, as: V.self)
    UnsafeMutableRawPointer(p + 16).storeBytes(of: hi, as: V.self)
  }
  acc.forEachRow(put)
  if last && smoothAct { netcActivateSmoothRows(out, ldo, rows: height, e.act) }
  let scalarResidual = e.residual != nil && !vectorResidual
  if last && scalarResidual {
    for r in 0..<height {
      let p = out + r * ldo
      if let res = e.residual {
        let rp = res + (row + r) * e.ldr + col
        for q in 0..<width { p[q] = netcActivate(p[q] + rp[q], e.act, e.slope) }
      }
    }
  }
  if !full {
    for r in 0..<height { (c + r * ldc).update(from: tile + r * 32, count: width) }
  }
}

/// y = W x + b per batch item; `weight` is [out][in]. At batch 1 this streams the weights once (AlexNet's
/// and VGG's first layers are 151 and 411 MB), so rows go four at a time: four streams from memory keep
/// more loads in flight than one, measured 1.5x the bandwidth here.
@inline(never)
public func netcLinear(inFeatures: Int, outFeatures: Int, batch: Int, input: UnsafePointer<Float>, inStride: Int,
                       weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                       outStride: Int, act: Int, slope: Float) {
  typealias V = SIMD16<Float>
  let blocks = (outFeatures + 15) / 16
  netcParallel(blocks, work: inFeatures * outFeatures * batch) { blk in
    let end = min(outFeatures, blk * 16 + 16)
    var o = blk * 16
    while o < end {
      // Rows o..<o+rows; a group of fewer than four repeats its last row.
      let rows = min(4, end - o)
      let w0 = weight + o * inFeatures, w1 = weight + (o + min(1, rows - 1)) * inFeatures
      let w2 = weight + (o + min(2, rows - 1)) * inFeatures, w3 = weight + (o + min(3, rows - 1)) * inFeatures
      for b in 0..<batch {
        let x = input + b * inStride
        var a0 = V(), a1 = V(), a2 = V(), a3 = V()
        var i = 0
        while i + 16 <= inFeatures {
          let xv = UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
          a0.addProduct(UnsafeRawPointer(w0 + i).loadUnaligned(as: V.self), xv)
          a1.addProduct(UnsafeRawPointer(w1 + i).loadUnaligned(as: V.self), xv)
          a2.addProduct(UnsafeRawPointer(w2 + i).loadUnaligned(as: V.self), xv)
          a3.addProduct(UnsafeRawPointer(w3 + i).loadUnaligned(as: V.self), xv)
          i += 16
        }
        var s = SIMD4<Float>(a0.sum(), a1.sum(), a2.sum(), a3.sum())
        while i < inFeatures {
          s += SIMD4(w0[i], w1[i], w2[i], w3[i]) * x[i]
          i += 1
        }
        for r in 0..<rows { output[b * outStride + o + r] = s[r] + (bias?[o + r] ?? 0) }
      }
      o += rows
    }
  }
  // The activation over each item's outputs afterwards, 16 at a time: a sigmoid one output at a time cost
  // as much as a 48 -> 1152 layer's multiply-adds.
  if act != NetcAct.none {
    for b in 0..<batch { netcActivate(output + b * outStride, output + b * outStride, count: outFeatures, act, slope) }
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
        let e = Float(netcExpD(Double(x[c * pixels + p] - m)))
        y[c * pixels + p] = e
        s += Double(e)
      }
      for c in 0..<channels { y[c * pixels + p] = Float(Double(y[c * pixels + p]) / s) }
    }
  }
}

/// y = act(x * scale[c] + shift[c] + residual): a batch norm that had nothing to fold into, a layer scale
/// (with the residual its block adds), or a bare activation. Each element's residual is read before the
/// element is written, so the output may be the residual.
@inline(never)
public func netcChannelAffine(channels: Int, pixels: Int, batch: Int, scale: UnsafePointer<Float>?,
                              shift: UnsafePointer<Float>?, input: UnsafePointer<Float>, inStride: Int,
                              output: UnsafeMutablePointer<Float>, outStride: Int, act: Int, slope: Float,
                              residual: UnsafePointer<Float>? = nil, resStride: Int = 0) {
  typealias V = SIMD16<Float>
  netcParallel(batch * channels, work: batch * channels * pixels) { bc in
    let b = bc / channels, c = bc % channels
    let x = input + b * inStride + c * pixels, y = output + b * outStride + c * pixels
    let s = scale?[c] ?? 1, t = shift?[c] ?? 0
    let r = residual.map { $0 + b * resStride + c * pixels }
    // 16 at a time, the tail through a partial vector: each element's residual is read before it is written.
    var i = 0
    while i < pixels {
      let n = min(16, pixels - i)
      var v = netcLoad(x + i, n) * V(repeating: s) + V(repeating: t)
      if let r { v += netcLoad(r + i, n) }
      netcStore(netcActivate(v, act, slope), y + i, n)
      i += 16
    }
  }
}

/// Elementwise add or multiply of several inputs with PyTorch broadcasting over [C, H, W]: along each row
/// an input either runs with the output or repeats one value (squeeze-excitation's [C, 1, 1] gate), so a
/// row is 16 values at a time with each input loaded or broadcast. Every input's values are read before
/// the output's are written, so the output may be one of the inputs.
@inline(never)
public func netcElementwise(isMul: Bool, shape: [Int], inputs: [(UnsafePointer<Float>, Int, [Int])], batch: Int,
                            output: UnsafeMutablePointer<Float>, outStride: Int, act: Int, slope: Float) {
  typealias V = SIMD16<Float>
  let dims = shape + [Int](repeating: 1, count: 3 - shape.count)
  let padded = inputs.map { $0.2 + [Int](repeating: 1, count: 3 - $0.2.count) }
  // Where every input either runs over the whole plane or repeats one value on it (squeeze-excitation's
  // gate), a plane is one row: 7x7 and 14x14 planes are then a few full vectors, not rows of 7 or 14.
  let flat = padded.allSatisfy { ($0[1] == 1 && $0[2] == 1) || ($0[1] == dims[1] && $0[2] == dims[2]) }
  let (C, H, W) = flat ? (dims[0], 1, dims[1] * dims[2]) : (dims[0], dims[1], dims[2])
  // Each input's steps along C, H and W: 0 where it broadcasts.
  let steps = padded.map { d -> (c: Int, h: Int, w: Bool) in
    let alongC = d[0] == 1 ? 0 : d[1] * d[2]
    return flat ? (alongC, 0, d[1] * d[2] != 1) : (alongC, d[1] == 1 ? 0 : d[2], d[2] != 1)
  }
  let identity = V(repeating: isMul ? 1 : 0)
  netcParallel(batch * C, work: batch * C * H * W * inputs.count) { bc in
    let b = bc / C, c = bc % C
    for h in 0..<H {
      let y = output + b * outStride + (c * H + h) * W
      var w = 0
      while w < W {
        let n = min(16, W - w)
        var v = identity
        for i in 0..<inputs.count {
          let step = steps[i]
          let row = inputs[i].0 + b * inputs[i].1 + c * step.c + h * step.h
          let t = step.w ? netcLoad(row + w, n) : V(repeating: row[0])
          v = isMul ? v * t : v + t
        }
        netcStore(act == NetcAct.none ? v : netcActivate(v, act, slope), y + w, n)
        w += 16
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
public func netcExpPublic(_ x: Float) -> Float { Float(netcExpD(Double(x))) }

/// Batch norm as a per-channel scale and shift: scale = gamma / sqrt(var + eps), shift = beta - mean * scale.
@inline(never)
public func netcBatchNormAffine(mean: [Float], variance: [Float], gamma: [Float]?, beta: [Float]?, eps: Double)
  -> (scale: [Float], shift: [Float])
{
  var scale = [Float](repeating: 0, count: mean.count), shift = scale
  for c in 0..<mean.count {
    (scale[c], shift[c]) = netcBatchNormChannel(mean: mean[c], variance: variance[c], gamma: gamma?[c] ?? 1,
                                                beta: beta?[c] ?? 0, eps: eps)
  }
  return (scale, shift)
}

/// netcBatchNormAffine over buffers of `channels` floats each, into `scale` and `shift`.
@inline(never)
public func netcBatchNormAffine(channels: Int, mean: UnsafePointer<Float>, variance: UnsafePointer<Float>,
                                gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?, eps: Double,
                                scale: UnsafeMutablePointer<Float>, shift: UnsafeMutablePointer<Float>) {
  for c in 0..<channels {
    (scale[c], shift[c]) = netcBatchNormChannel(mean: mean[c], variance: variance[c], gamma: gamma?[c] ?? 1,
                                                beta: beta?[c] ?? 0, eps: eps)
  }
}

@inline(__always)
func netcBatchNormChannel(mean: Float, variance: Float, gamma: Float, beta: Float, eps: Double) -> (Float, Float) {
  let s = Double(gamma) / (Double(variance) + eps).squareRoot()
  return (Float(s), Float(Double(beta) - Double(mean) * s))
}

/// Folds a batch norm into the layer before it: w' = w * scale[out], b' = b * scale + shift. The weight is
/// laid out as `netcOutChannel` describes (a linear layer is a 1x1 convolution: kernel 1, groups 1).
@inline(never)
public func netcFold(weight: [Float], bias: [Float]?, scale: [Float], shift: [Float], transposed: Bool,
                     inChannels: Int, outChannels: Int, groups: Int, kernel: Int) -> (weight: [Float], bias: [Float])
{
  var w = weight
  var b = bias ?? [Float](repeating: 0, count: scale.count)
  w.withUnsafeMutableBufferPointer { w in
    b.withUnsafeMutableBufferPointer { b in
      netcFold(weight: w, bias: b.baseAddress!, scale: scale, shift: shift, transposed: transposed,
               inChannels: inChannels, outChannels: outChannels, groups: groups, kernel: kernel)
    }
  }
  return (w, b)
}

/// netcFold in place: `bias` holds the layer's bias (zeros for none), one per channel of `scale`.
@inline(never)
public func netcFold(weight: UnsafeMutableBufferPointer<Float>, bias: UnsafeMutablePointer<Float>,
                     scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, transposed: Bool, inChannels: Int,
                     outChannels: Int, groups: Int, kernel: Int) {
  for i in 0..<weight.count {
    weight[i] *= scale[netcOutChannel(i, transposed: transposed, inChannels: inChannels, outChannels: outChannels,
                                      groups: groups, kernel: kernel)]
  }
  for c in 0..<outChannels { bias[c] = bias[c] * scale[c] + shift[c] }
}

/// The output channel of element i of a weight tensor: [out][in/g][kh][kw] for a convolution or linear
/// layer, [in][out/g][kh][kw] for a transposed convolution.
public func netcOutChannel(_ i: Int, transposed: Bool, inChannels: Int, outChannels: Int, groups: Int, kernel: Int) -> Int {
  if !transposed { return i / (inChannels / groups * kernel) }
  let coutG = outChannels / groups
  let ic = i / (coutG * kernel)
  return (ic / (inChannels / groups)) * coutG + (i / kernel) % coutG
}
