// Convolution: the geometry, the GEMM's views of the input (the im2col gathered panel by panel, or the
// phase images of a strided convolution) and the transposed convolution. Only the standard library, like
// Kernels.swift.

/// Geometry of a 2-d convolution or pooling over one batch item in NCHW.
public struct NetcConvGeometry {
  public var inC: Int, inH: Int, inW: Int
  public var outC: Int, outH: Int, outW: Int
  public var kH: Int, kW: Int, sH: Int, sW: Int, padT: Int, padL: Int, dH: Int, dW: Int, groups: Int
  public init(inC: Int, inH: Int, inW: Int, outC: Int, outH: Int, outW: Int, kH: Int, kW: Int, sH: Int, sW: Int,
              padT: Int, padL: Int, dH: Int, dW: Int, groups: Int) {
    self.inC = inC; self.inH = inH; self.inW = inW; self.outC = outC; self.outH = outH; self.outW = outW
    self.kH = kH; self.kW = kW; self.sH = sH; self.sW = sW; self.padT = padT; self.padL = padL
    self.dH = dH; self.dW = dW; self.groups = groups
  }
  /// Whether the convolution reads its input directly as the GEMM's B (a 1x1, stride 1, unpadded one).
  public var isPointwise: Bool { kH == 1 && kW == 1 && sH == 1 && sW == 1 && padT == 0 && padL == 0 }
}

/// Convolution as a GEMM of the packed weights with the input's im2col, gathered panel by panel, with the
/// epilogue (bias, residual, activation) fused into the GEMM's stores, or by Winograd where
/// `netcUsesWinograd(g)`, or plane by plane where `netcUsesDepthwise(g)` or `netcUsesGroupPlanes(g)`. `packedWeight` comes from
/// `netcConvWeights`; `scratch` holds `netcConvScratch(g)` floats.
/// A strided convolution first splits its input into phase images (`NetcPhaseImages`), from which the
/// GEMM gathers contiguous runs instead of every sW-th float.
/// With `inputScale` (a pointwise, ungrouped convolution only), the input is taken times inputScale[c] per
/// channel, `scaleStride` floats per batch item: squeeze-and-excitation's product, done as the GEMM packs
/// its panels instead of in a pass over the map.
@inline(never)
public func netcConv2d(_ g: NetcConvGeometry, batch: Int,
                       input: UnsafePointer<Float>, inStride: Int,
                       packedWeight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                       residual: UnsafePointer<Float>?, resStride: Int,
                       output: UnsafeMutablePointer<Float>, outStride: Int,
                       act: Int, slope: Float, scratch: UnsafeMutablePointer<Float>,
                       inputScale: UnsafePointer<Float>? = nil, scaleStride: Int = 0) {
  if netcUsesDepthwise(g) || netcUsesGroupPlanes(g) {
    return netcDepthwiseConv2d(g, batch: batch, input: input, inStride: inStride, weight: packedWeight, bias: bias,
                               residual: residual, resStride: resStride, output: output, outStride: outStride, act: act,
                               slope: slope, scratch: scratch)
  }
  if netcUsesLinear(g) {
    return netcConvAsLinear(g, batch: batch, input: input, inStride: inStride, weight: packedWeight, bias: bias,
                            residual: residual, resStride: resStride, output: output, outStride: outStride, act: act,
                            slope: slope, scratch: scratch, inputScale: inputScale, scaleStride: scaleStride)
  }
  let tile = netcWinogradTile(g)
  if tile != 0 {
    return netcWinogradConv2d(g, tile: tile, batch: batch, input: input, inStride: inStride, weight: packedWeight,
                              bias: bias, residual: residual, resStride: resStride, output: output,
                              outStride: outStride, act: act, slope: slope, scratch: scratch)
  }
  if netcUsesPhasePanels(g) {
    for b in 0..<batch {
      netcSplitPhases(g, input + b * inStride, scratch)
      netcConvFromPhases(g, NetcPhaseImages(g, scratch, group: 0), weight: packedWeight, bias: bias,
                         residual: residual.map { $0 + b * resStride }, output: output + b * outStride, act: act,
                         slope: slope)
    }
    return
  }
  let cinG = g.inC / g.groups, coutG = g.outC / g.groups
  let kdim = cinG * g.kH * g.kW
  let npix = g.outH * g.outW
  let packedRows = (coutG + NetcGemmBlocking.mr - 1) / NetcGemmBlocking.mr * NetcGemmBlocking.mr
  let phased = NetcPhaseImages.applies(g)
  let byChannelPanels = netcUsesChannelPanels(g)
  let images = scratch + (byChannelPanels ? NetcChannelPanelPlan(g).scratch : NetcGemmBlocking.scratch)
  for b in 0..<batch {
    let x = input + b * inStride
    let y = output + b * outStride
    if phased { netcSplitPhases(g, x, images) }
    for grp in 0..<g.groups {
      let e = NetcEpilogue(bias: bias.map { $0 + grp * coutG },
                           residual: residual.map { $0 + b * resStride + grp * coutG * npix }, ldr: npix,
                           act: act, slope: slope)
      let source: NetcGemmSource, xg: UnsafePointer<Float>
      if phased {
        let p = NetcPhaseImages(g, images, group: grp)
        // A 1x1 kernel has one phase image, [cinG][outH][outW]: the GEMM's B as it is.
        source = g.kH == 1 && g.kW == 1 ? .matrix : .phases(p)
        xg = p.base
      } else {
        if let s = inputScale, g.isPointwise, g.groups == 1 {
          source = .scaledMatrix(s + b * scaleStride)
        } else {
          source = g.isPointwise ? .matrix : .im2col(g)
        }
        xg = x + grp * cinG * g.inH * g.inW
      }
      if byChannelPanels {
        netcConvByChannelPanels(g, source, xg, npix, weight: packedWeight, bias: e.bias, residual: e.residual,
                                output: y, act: act, slope: slope, scratch: scratch)
      } else {
        netcGemm(coutG, npix, kdim, packedA: packedWeight + grp * packedRows * kdim, xg, npix,
                 y + grp * coutG * npix, npix, e, source: source, scratch: scratch)
      }
    }
  }
}

/// Whether netcConv2d computes `g` as a fully connected layer: an ungrouped 1x1 convolution from one pixel
/// to one pixel, squeeze-and-excitation's two convolutions. Its weights, as stored, are the layer's
/// [outC][inC] matrix, which netcLinear streams once; as a tile of 8 pixels by 32 channels, seven eighths of
/// the tile was padding and the input was packed as a panel first (EfficientNet-B0's 48 -> 1152 with its
/// sigmoid, two threads: 0.061 ms).
public func netcUsesLinear(_ g: NetcConvGeometry) -> Bool {
  g.groups == 1 && g.kH == 1 && g.kW == 1 && g.inH == 1 && g.inW == 1 && g.outH == 1 && g.outW == 1
}

/// `g` (see netcUsesLinear) over a batch, with netcConv2d's residual and input scale; `scratch` holds
/// g.inC floats for an item's scaled input and g.outC for its sums before the residual, which the output
/// may be.
private func netcConvAsLinear(_ g: NetcConvGeometry, batch: Int, input: UnsafePointer<Float>, inStride: Int,
                              weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                              residual: UnsafePointer<Float>?, resStride: Int, output: UnsafeMutablePointer<Float>,
                              outStride: Int, act: Int, slope: Float, scratch: UnsafeMutablePointer<Float>,
                              inputScale: UnsafePointer<Float>?, scaleStride: Int) {
  // The residual is added before the activation, as the other paths' epilogues do.
  let linearAct = residual == nil ? act : NetcAct.none
  for b in 0..<batch {
    var x = input + b * inStride
    if let s = inputScale {
      for c in 0..<g.inC { scratch[c] = x[c] * s[b * scaleStride + c] }
      x = UnsafePointer(scratch)
    }
    let y = output + b * outStride, sums = residual == nil ? y : scratch + g.inC
    netcLinear(inFeatures: g.inC, outFeatures: g.outC, batch: 1, input: x, inStride: g.inC, weight: weight,
               bias: bias, output: sums, outStride: g.outC, act: linearAct, slope: slope)
    if let r = residual {
      let rb = r + b * resStride
      for o in 0..<g.outC { y[o] = sums[o] + rb[o] }
      netcActivate(y, y, count: g.outC, act, slope)
    }
  }
}

/// Scratch floats netcConv2d needs for `g`: the GEMM's panels (or sums) and a strided convolution's phase
/// images, or the Winograd workers' buffers; Int.max when that would not fit an Int, which no allocation
/// passes.
public func netcConvScratch(_ g: NetcConvGeometry) -> Int {
  if netcUsesDepthwise(g) || netcUsesGroupPlanes(g) { return netcDepthwiseScratch(g) }
  if netcUsesLinear(g) { return g.inC + g.outC }
  let tile = netcWinogradTile(g)
  if tile != 0 { return netcWinogradScratch(g, tile: tile) }
  if netcUsesPhasePanels(g) { return NetcPhaseImages.floats(g) }
  // Channel panels need at most 224 pixels and 2^16 channels: their scratch is far from overflowing.
  let gemm = netcUsesChannelPanels(g) ? NetcChannelPanelPlan(g).scratch : NetcGemmBlocking.scratch
  guard NetcPhaseImages.applies(g) else { return gemm }
  let (total, overflow) = gemm.addingReportingOverflow(NetcPhaseImages.floats(g))
  return overflow ? Int.max : total
}

/// The weights of `g` ([outC][inC/groups][kH][kW]) as netcConv2d reads them.
public func netcConvWeights(_ weight: UnsafePointer<Float>, _ g: NetcConvGeometry) -> [Float] {
  var packed = [Float](repeating: 0, count: netcConvWeightsCount(g))
  packed.withUnsafeMutableBufferPointer { netcConvWeights(weight, g, into: $0.baseAddress!) }
  return packed
}

/// Floats netcConvWeights writes.
public func netcConvWeightsCount(_ g: NetcConvGeometry) -> Int {
  if netcUsesDepthwise(g) || netcUsesGroupPlanes(g) || netcUsesLinear(g) { return g.outC * g.inC / g.groups * g.kH * g.kW }
  let tile = netcWinogradTile(g)
  if tile != 0 { return netcWinogradWeightsCount(outC: g.outC, inC: g.inC, tile: tile, kernel: g.kH) }
  let kdim = g.inC / g.groups * g.kH * g.kW
  if netcUsesPhasePanels(g) || netcUsesChannelPanels(g) { return netcChannelPanelsCount(outC: g.outC, kdim: kdim) }
  return netcPackedWeightsCount(outC: g.outC, groups: g.groups, kdim: kdim)
}

/// netcConvWeights into `out`: netcConvWeightsCount(g) zeroed floats, which the caller allocated (the
/// interpreter, so that running out of memory is an error rather than a trap).
public func netcConvWeights(_ weight: UnsafePointer<Float>, _ g: NetcConvGeometry, into out: UnsafeMutablePointer<Float>) {
  // A depthwise or plane-by-plane grouped convolution, or one over a single pixel, reads its weights as
  // stored.
  if netcUsesDepthwise(g) || netcUsesGroupPlanes(g) || netcUsesLinear(g) {
    return out.update(from: weight, count: g.outC * g.inC / g.groups * g.kH * g.kW)
  }
  let tile = netcWinogradTile(g)
  if tile != 0 { return netcWinogradWeights(weight, outC: g.outC, inC: g.inC, tile: tile, kernel: g.kH, into: out) }
  let kdim = g.inC / g.groups * g.kH * g.kW
  if netcUsesPhasePanels(g) || netcUsesChannelPanels(g) {
    return netcPackChannelPanels(weight, outC: g.outC, kdim: kdim, into: out)
  }
  netcPackWeights(weight, outC: g.outC, groups: g.groups, kdim: kdim, into: out)
}

/// A convolution's input split by phase: image (a, b) holds x[c][i sH + a - padT][j sW + b - padL],
/// zero outside x, for a < min(sH, kH) and b < min(sW, kW), stored [a][b][c][rows][pitch]. Tap (kh, kw) of
/// output (oh, ow) is image (kh % sH, kw % sW) at (oh + kh / sH, ow + kw / sW), so each row of the im2col
/// matrix is a run of contiguous floats per output row, gathered without strides or bounds checks. At
/// stride 1 the one image is the input, zero-padded (netcUsesPhasePanels).
public struct NetcPhaseImages {
  /// The first channel of one group.
  public let base: UnsafePointer<Float>
  let phasesW: Int, imageStride: Int, rows: Int, pitch: Int
  let kH: Int, kW: Int, sH: Int, sW: Int, outW: Int

  init(_ g: NetcConvGeometry, _ images: UnsafePointer<Float>, group: Int) {
    rows = g.outH + (g.kH - 1) / g.sH
    pitch = g.outW + (g.kW - 1) / g.sW
    phasesW = min(g.sW, g.kW)
    imageStride = g.inC * rows * pitch
    base = images + group * (g.inC / g.groups) * rows * pitch
    kH = g.kH; kW = g.kW; sH = g.sH; sW = g.sW; outW = g.outW
  }

  /// Where tap (kh, kw) of a pixel is, from the pixel's place in the first image: image (kh % sH, kw % sW),
  /// shifted by (kh / sH, kw / sW).
  @inline(__always) func tapOffset(_ kh: Int, _ kw: Int) -> Int {
    ((kh % sH) * phasesW + kw % sW) * imageStride + kh / sH * pitch + kw / sW
  }

  /// Whether netcConv2d goes through phase images: strided and undilated.
  public static func applies(_ g: NetcConvGeometry) -> Bool { (g.sH > 1 || g.sW > 1) && g.dH == 1 && g.dW == 1 }

  /// Floats the images of `g` take; Int.max when that would not fit an Int.
  public static func floats(_ g: NetcConvGeometry) -> Int {
    let factors = [min(g.sH, g.kH), min(g.sW, g.kW), g.inC, g.outH + (g.kH - 1) / g.sH, g.outW + (g.kW - 1) / g.sW]
    var total = 1
    for f in factors {
      let (product, overflow) = total.multipliedReportingOverflow(by: f)
      if overflow { return Int.max }
      total = product
    }
    return total
  }
}

/// Writes the phase images of `x` (one batch item, all groups) to `dst`, `NetcPhaseImages.floats(g)` floats.
@inline(never)
func netcSplitPhases(_ g: NetcConvGeometry, _ x: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>) {
  let phasesH = min(g.sH, g.kH), phasesW = min(g.sW, g.kW)
  let rows = g.outH + (g.kH - 1) / g.sH, pitch = g.outW + (g.kW - 1) / g.sW
  let count = phasesH * phasesW * g.inC
  netcParallel(count, work: count * rows * pitch) { index in
    let c = index % g.inC, phase = index / g.inC
    let a = phase / phasesW, b = phase % phasesW
    let plane = x + c * g.inH * g.inW
    let image = dst + index * rows * pitch
    // Columns j with 0 <= j sW + b - padL < inW.
    let jLo = min(pitch, g.padL > b ? (g.padL - b + g.sW - 1) / g.sW : 0)
    let last = g.inW - 1 - b + g.padL
    let jHi = max(jLo, last < 0 ? 0 : min(pitch, last / g.sW + 1))
    for i in 0..<rows {
      let row = image + i * pitch
      let ih = i * g.sH + a - g.padT
      if ih < 0 || ih >= g.inH || jLo == jHi {
        row.update(repeating: 0, count: pitch)
        continue
      }
      if jLo > 0 { row.update(repeating: 0, count: jLo) }
      let src = plane + ih * g.inW + b - g.padL
      var j = jLo
      if g.sW == 2 {
        // Sixteen columns from the even lanes of 32 floats; strictly before jHi, so that the load's last
        // float (column 2j + 31) is a column of this row.
        while j + 16 < jHi {
          let v = netcLoad32(src + 2 * j)
          UnsafeMutableRawPointer(row + j).storeBytes(of: v.evenHalf, as: SIMD16<Float>.self)
          j += 16
        }
      }
      while j < jHi { row[j] = src[j * g.sW]; j += 1 }
      if jHi < pitch { (row + jHi).update(repeating: 0, count: pitch - jHi) }
    }
  }
}

/// Gathers rows k0..<k0+kb, columns col..<col+width of one group's im2col matrix from its phase images
/// into a panel [kb][32], zero-padded. Tap (c, kh, kw) is image (kh % sH, kw % sW) shifted by (kh / sH,
/// kw / sW); the offset is stepped from tap to tap rather than divided out for each (four divisions a row
/// were as much as the copy: the 7x7 stride-2 stem's packing took 17% of its time).
@inline(__always)
func netcPackPhasePanel(_ p: NetcPhaseImages, k0: Int, kb: Int, col: Int, width: Int,
                        _ dst: UnsafeMutablePointer<Float>) {
  let oh0 = col / p.outW, ow0 = col % p.outW
  let taps = p.kH * p.kW, channelStride = p.rows * p.pitch, phaseRow = p.phasesW * p.imageStride
  var c = k0 / taps, kh = k0 % taps / p.kW, kw = k0 % p.kW
  var rowPhase = kh % p.sH, columnPhase = kw % p.sW
  var rowOffset = p.tapOffset(kh, 0), columnOffset = p.tapOffset(0, kw)
  let base = p.base + oh0 * p.pitch
  for r in 0..<kb {
    let d = dst + r * 32
    var src = base + c * channelStride + rowOffset + columnOffset
    var q = 0, ow = ow0
    while q < width {
      let run = min(width - q, p.outW - ow)
      netcCopyRun(src + ow, d + q, run)
      q += run
      ow = 0
      src += p.pitch
    }
    if width < 32 { (d + width).update(repeating: 0, count: 32 - width) }
    kw += 1
    if kw < p.kW {
      columnPhase += 1
      if columnPhase == p.sW {
        columnPhase = 0
        columnOffset += 1 - (p.sW - 1) * p.imageStride
      } else {
        columnOffset += p.imageStride
      }
      continue
    }
    kw = 0; columnPhase = 0; columnOffset = 0
    kh += 1
    if kh < p.kH {
      rowPhase += 1
      if rowPhase == p.sH {
        rowPhase = 0
        rowOffset += p.pitch - (p.sH - 1) * phaseRow
      } else {
        rowOffset += phaseRow
      }
    } else {
      kh = 0; rowPhase = 0; rowOffset = 0
      c += 1
    }
  }
}

/// Row k of a convolution's im2col matrix: input channel c, kernel tap (kh, kw), stepped row by row rather
/// than divided out for each.
struct NetcIm2colRow {
  var c: Int, kh: Int, kw: Int
  let kH: Int, kW: Int
  @inline(__always) init(_ k: Int, kH: Int, kW: Int) {
    c = k / (kH * kW); kh = k % (kH * kW) / kW; kw = k % kW
    self.kH = kH; self.kW = kW
  }
  @inline(__always) mutating func advance() {
    kw += 1
    if kw == kW {
      kw = 0
      kh += 1
      if kh == kH { kh = 0; c += 1 }
    }
  }
}

/// Copies n <= 32 floats with at most two (overlapping) vector moves of the widest size that fits.
@inline(__always)
func netcCopyRun(_ s: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ n: Int) {
  @inline(__always) func move<V: SIMD>(_ type: V.Type) where V.Scalar == Float {
    let w = V.scalarCount
    let head = UnsafeRawPointer(s).loadUnaligned(as: V.self)
    let tail = UnsafeRawPointer(s + n - w).loadUnaligned(as: V.self)
    UnsafeMutableRawPointer(d).storeBytes(of: head, as: V.self)
    UnsafeMutableRawPointer(d + n - w).storeBytes(of: tail, as: V.self)
  }
  if n >= 16 {
    move(SIMD16<Float>.self)
  } else if n >= 8 {
    move(SIMD8<Float>.self)
  } else if n >= 4 {
    move(SIMD4<Float>.self)
  } else {
    for t in 0..<n { d[t] = s[t] }
  }
}

/// Gathers rows k0..<k0+kb of the im2col matrix of `x` (one group), columns col..<col+width, into a
/// panel [kb][32], zero-padded: what the GEMM would read from the im2col matrix, without writing it.
@inline(__always)
func netcPackConvPanel(_ g: NetcConvGeometry, _ x: UnsafePointer<Float>, k0: Int, kb: Int, col: Int, width: Int,
                       _ dst: UnsafeMutablePointer<Float>) {
  let oh0 = col / g.outW, ow0 = col % g.outW
  var tap = NetcIm2colRow(k0, kH: g.kH, kW: g.kW)
  for p in 0..<kb {
    let d = dst + p * 32
    let (c, kh, kw) = (tap.c, tap.kh, tap.kw)
    let plane = x + c * g.inH * g.inW
    let iwShift = kw * g.dW - g.padL
    // The columns of an output row whose tap falls inside the input: 0 <= ow * sW + iwShift < inW.
    let owLo = iwShift >= 0 ? 0 : (-iwShift + g.sW - 1) / g.sW
    let owHi = iwShift < g.inW ? min(g.outW, (g.inW - 1 - iwShift) / g.sW + 1) : 0
    var q = 0, oh = oh0, ow = ow0
    while q < width {
      // One output row's stretch of this panel: columns ow..<ow+run.
      let run = min(width - q, g.outW - ow)
      let ih = oh * g.sH - g.padT + kh * g.dH
      let lo = max(ow, owLo), hi = min(ow + run, owHi)
      if ih < 0 || ih >= g.inH || lo >= hi {
        (d + q).update(repeating: 0, count: run)
      } else {
        if lo > ow { (d + q).update(repeating: 0, count: lo - ow) }
        let out = d + q + (lo - ow)
        let src = plane + ih * g.inW + lo * g.sW + iwShift
        if g.sW == 1 {
          netcCopyRun(src, out, hi - lo)
        } else {
          for t in 0..<(hi - lo) { out[t] = src[t * g.sW] }
        }
        if hi < ow + run { (d + q + (hi - ow)).update(repeating: 0, count: ow + run - hi) }
      }
      q += run
      ow = 0
      oh += 1
    }
    if width < 32 { (d + width).update(repeating: 0, count: 32 - width) }
    tap.advance()
  }
}

/// Transposed convolution by scattering each input pixel; `weight` is [inC][outC/groups][kH][kW].
/// `g.padT`/`g.padL` are the convolution's padding, which the transposed output crops.
@inline(never)
public func netcConvTranspose2d(_ g: NetcConvGeometry, batch: Int, input: UnsafePointer<Float>, inStride: Int,
                                weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                residual: UnsafePointer<Float>?, resStride: Int,
                                output: UnsafeMutablePointer<Float>, outStride: Int, act: Int, slope: Float) {
  let cinG = g.inC / g.groups, coutG = g.outC / g.groups
  let npix = g.outH * g.outW
  for b in 0..<batch {
    let x = input + b * inStride
    let y = output + b * outStride
    netcParallel(g.outC, work: g.outC * npix * cinG * g.kH * g.kW) { oc in
      let grp = oc / coutG, ocg = oc % coutG
      let yc = y + oc * npix
      // The residual first: it may be the output itself.
      let r = residual.map { $0 + b * resStride + oc * npix }
      for i in 0..<npix { yc[i] = (bias?[oc] ?? 0) + (r?[i] ?? 0) }
      for icg in 0..<cinG {
        let ic = grp * cinG + icg
        let w = weight + ((ic * coutG + ocg) * g.kH) * g.kW
        let xc = x + ic * g.inH * g.inW
        for ih in 0..<g.inH {
          for kh in 0..<g.kH {
            let oh = ih * g.sH - g.padT + kh * g.dH
            if oh < 0 || oh >= g.outH { continue }
            for iw in 0..<g.inW {
              let v = xc[ih * g.inW + iw]
              for kw in 0..<g.kW {
                let ow = iw * g.sW - g.padL + kw * g.dW
                if ow >= 0 && ow < g.outW { yc[oh * g.outW + ow] += v * w[kh * g.kW + kw] }
              }
            }
          }
        }
      }
      if act != NetcAct.none { netcActivate(yc, yc, count: npix, act, slope) }
    }
  }
}
