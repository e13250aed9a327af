import Foundation
@testable import NetcBackends
import NetcDriver
import NetcIR
import NetcKernels
import NetcKernelSources
import NetcTensors
import NetcRuntime
import Testing

/// The interpreter, weight and tensor files, and the emitters, without PyTorch (Tests/parity covers that).
@Suite(.serialized) struct RuntimeTests {
  let dir: URL = {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("netc-runtime-tests-\(getpid())")
    try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
    return d
  }()

  func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

  func write(_ name: String, _ source: String) -> String {
    let p = path(name)
    FileManager.default.createFile(atPath: p, contents: Data(source.utf8))
    return p
  }

  /// The GEMM convolution (packed weights, panels gathered from the input, partial tiles, fused bias and
  /// residual) against the definition, a direct 7-deep loop, on shapes the parity networks do not have:
  /// groups, dilation, asymmetric strides and padding, strides larger than the kernel, channel counts that
  /// are not multiples of 8, more output pixels than one 32-wide panel or one 512-wide block, and maps small
  /// enough for the output channels to run along the vector (netcUsesChannelPanels), and strided ones read
  /// 8 pixels at a time from the phase images (netcUsesPhasePanels).
  @Test func convolutionMatchesItsDefinition() throws {
    let cases = [
      ("input 4x9x11\nconv 3x3 6 stride=2x1 pad=2x1 dilation=2 groups=2", 4, 9, 11, 6, 3, 3, (2, 1), (2, 1), 2, 2),
      ("input 3x40x41\nconv 5x3 13 pad=2x1", 3, 40, 41, 13, 5, 3, (1, 1), (2, 1), 1, 1),
      ("input 10x6x7\nconv 3x3 10 p1 groups=10", 10, 6, 7, 10, 3, 3, (1, 1), (1, 1), 1, 10),
      ("input 300x5x5\nconv 1x1 20", 300, 5, 5, 20, 1, 1, (1, 1), (0, 0), 1, 1),
      // Strided and undilated: through phase images.
      ("input 5x13x12\nconv 3x3 9 s2 p1", 5, 13, 12, 9, 3, 3, (2, 2), (1, 1), 1, 1),
      ("input 3x23x20\nconv 7x7 16 s2 p3", 3, 23, 20, 16, 7, 7, (2, 2), (3, 3), 1, 1),
      ("input 40x9x9\nconv 1x1 20 s2", 40, 9, 9, 20, 1, 1, (2, 2), (0, 0), 1, 1),
      // Rows wide enough for the phase split's 16-column vector copies (stride 2), then a scalar tail.
      ("input 4x9x75\nconv 3x3 8 s2 p1", 4, 9, 75, 8, 3, 3, (2, 2), (1, 1), 1, 1),
      ("input 3x30x29\nconv 11x11 8 stride=4 pad=2", 3, 30, 29, 8, 11, 11, (4, 4), (2, 2), 1, 1),
      ("input 6x17x19\nconv 3x5 10 stride=2x3 pad=1x2 groups=2", 6, 17, 19, 10, 3, 5, (2, 3), (1, 2), 1, 2),
      ("input 4x10x11\nconv 2x2 8 stride=3", 4, 10, 11, 8, 2, 2, (3, 3), (0, 0), 1, 1),
      // K from 256: 8 pixels read straight from the phase images (netcUsesPhasePanels), partial
      // in pixels (42) and channels (56 = 32 + 24), strided and at stride 1 from the padded input (a 5x5
      // kernel, padding 2 and 1). The 11x11 one above (K = 363) has too few channels for 32-channel panels.
      ("input 30x13x11\nconv 3x3 56 s2 p1", 30, 13, 11, 56, 3, 3, (2, 2), (1, 1), 1, 1),
      ("input 12x9x10\nconv 5x5 26 pad=2x1", 12, 9, 10, 26, 5, 5, (1, 1), (2, 1), 1, 1),
      // K above 2304 (2700): the input channels in two chunks (256 + 44), partial sums held between them.
      ("input 300x9x8\nconv 3x3 56 s2 p1", 300, 9, 8, 56, 3, 3, (2, 2), (1, 1), 1, 1),
      // Few output pixels: 8-pixel by 32-channel tiles, partial in pixels, channels and K blocks.
      ("input 70x7x7\nconv 1x1 96", 70, 7, 7, 96, 1, 1, (1, 1), (0, 0), 1, 1),
      ("input 20x14x13\nconv 3x3 64 s2 p1", 20, 14, 13, 64, 3, 3, (2, 2), (1, 1), 1, 1),
      ("input 300x2x5\nconv 1x1 72", 300, 2, 5, 72, 1, 1, (1, 1), (0, 0), 1, 1),
      // One pixel to one: a fully connected layer (netcUsesLinear), outputs not a multiple of 4 or 16.
      ("input 40x1x1\nconv 1x1 37", 40, 1, 1, 37, 1, 1, (1, 1), (0, 0), 1, 1),
      // A 1x1 GEMM reading its input in place: a partial last panel (575 pixels), two K blocks, two
      // 512-column chunks, a partial row block; then enough output channels that A outgrows L2 and the row
      // blocks go outermost.
      ("input 300x23x25\nconv 1x1 13", 300, 23, 25, 13, 1, 1, (1, 1), (0, 0), 1, 1),
      ("input 256x9x30\nconv 1x1 600", 256, 9, 30, 600, 1, 1, (1, 1), (0, 0), 1, 1),
      // Depthwise, plane by plane (netcUsesDepthwise; the 10x6x7 one above too): rows of two full vectors
      // and a partial one (computed as the row's last 16), a kernel taller than wide with asymmetric
      // padding, no padding, a 5x5 over 11 rows (two blocks of four and three); strided, split by column
      // phase: odd and even left padding, rows wide enough for the 32-column deinterleave and its
      // overlapping last step (75, 70), a 5x5 at stride 2, stride 3, unequal strides, dilation.
      ("input 5x9x37\nconv 5x3 5 pad=2x1 groups=5", 5, 9, 37, 5, 5, 3, (1, 1), (2, 1), 1, 5),
      ("input 3x11x37\nconv 5x5 3 p2 groups=3", 3, 11, 37, 3, 5, 5, (1, 1), (2, 2), 1, 3),
      ("input 3x8x20\nconv 3x3 3 groups=3", 3, 8, 20, 3, 3, 3, (1, 1), (0, 0), 1, 3),
      ("input 6x12x12\nconv 3x3 6 s2 p1 groups=6", 6, 12, 12, 6, 3, 3, (2, 2), (1, 1), 1, 6),
      ("input 4x9x75\nconv 3x3 4 s2 p1 groups=4", 4, 9, 75, 4, 3, 3, (2, 2), (1, 1), 1, 4),
      ("input 3x11x70\nconv 5x5 3 s2 p2 groups=3", 3, 11, 70, 3, 5, 5, (2, 2), (2, 2), 1, 3),
      ("input 3x10x40\nconv 3x3 3 s2 groups=3", 3, 10, 40, 3, 3, 3, (2, 2), (0, 0), 1, 3),
      ("input 2x13x50\nconv 5x3 2 stride=3x2 pad=2x1 groups=2", 2, 13, 50, 2, 5, 3, (3, 2), (2, 1), 1, 2),
      ("input 3x12x35\nconv 3x3 3 stride=3 pad=1 groups=3", 3, 12, 35, 3, 3, 3, (3, 3), (1, 1), 1, 3),
      ("input 2x15x40\nconv 3x3 2 s2 pad=2 dilation=2 groups=2", 2, 15, 40, 2, 3, 3, (2, 2), (2, 2), 2, 2),
      // Narrow maps, 16 channels to a vector (netcDepthwiseTile; the 10x6x7, 6x12x12 and 3x12x35 ones above
      // too): two blocks, the second partial, rows of 4 + 3 pixels; strided and dilated.
      ("input 20x7x7\nconv 5x5 20 p2 groups=20", 20, 7, 7, 20, 5, 5, (1, 1), (2, 2), 1, 20),
      ("input 17x15x19\nconv 3x3 17 stride=2x2 pad=2 dilation=2 groups=17", 17, 15, 19, 17, 3, 3, (2, 2), (2, 2), 2, 17),
      // Grouped, plane by plane (netcUsesGroupPlanes): 8 input and 12 output channels a group, a partial
      // last vector; strided; 3 and 1 channels a group with dilation.
      ("input 16x20x30\nconv 3x3 24 p1 groups=2", 16, 20, 30, 24, 3, 3, (1, 1), (1, 1), 1, 2),
      ("input 8x21x40\nconv 3x3 8 s2 p1 groups=2", 8, 21, 40, 8, 3, 3, (2, 2), (1, 1), 1, 2),
      ("input 6x12x33\nconv 3x3 2 pad=2 dilation=2 groups=2", 6, 12, 33, 2, 3, 3, (1, 1), (2, 2), 2, 2),
      // (The first case above and the 6x17x19 one, 9 and 7 wide, are grouped plane by plane too.) Narrower
      // than 7: a GEMM per group.
      ("input 4x9x6\nconv 3x3 6 p1 groups=2", 4, 9, 6, 6, 3, 3, (1, 1), (1, 1), 1, 2),
    ]
    var byChannelPanels = 0, byPhaseImages = 0, byPhasePanels = 0, byDepthwise = 0, byGroupPlanes = 0
    for (source, cin, h, w, cout, kh, kw, stride, pad, dil, groups) in cases {
      let c = Pipeline.compile(path: "t.net", bytes: Array(source.utf8))
      let net = try #require(c.network, "\(source)")
      let g = Lowering.lower(net)
      var weights: [String: [Float]] = [:]
      for t in WeightLoader.heInit(g, seed: 7) { weights[t.name] = t.data }
      var bias = weights["conv1.bias"]!
      for i in bias.indices { bias[i] = Float(i) * 0.25 - 1 }
      weights["conv1.bias"] = bias
      var rng = SplitMix64(seed: 3)
      let x = (0..<(2 * cin * h * w)).map { _ in Float(rng.normal()) }
      let y = try Interpreter(graph: g, plan: BufferPlan(g), weights: weights, batch: 2).run(x)[0]
      let wt = weights["conv1.weight"]!
      let oh = (h + 2 * pad.0 - dil * (kh - 1) - 1) / stride.0 + 1, ow = (w + 2 * pad.1 - dil * (kw - 1) - 1) / stride.1 + 1
      #expect(y.count == 2 * cout * oh * ow, "\(source)")
      let geometry = NetcConvGeometry(inC: cin, inH: h, inW: w, outC: cout, outH: oh, outW: ow, kH: kh, kW: kw,
                                      sH: stride.0, sW: stride.1, padT: pad.0, padL: pad.1, dH: dil, dW: dil,
                                      groups: groups)
      if netcUsesGroupPlanes(geometry) {
        byGroupPlanes += 1
      } else if netcUsesDepthwise(geometry) {
        byDepthwise += 1
      } else if netcUsesPhasePanels(geometry) {
        byPhasePanels += 1
      } else if netcUsesChannelPanels(geometry) {
        byChannelPanels += 1
      }
      if NetcPhaseImages.applies(geometry) && !netcUsesDepthwise(geometry) && !netcUsesGroupPlanes(geometry) { byPhaseImages += 1 }
      let cinG = cin / groups, coutG = cout / groups
      var worst: Float = 0
      for b in 0..<2 {
        for o in 0..<cout {
          for i in 0..<oh {
            for j in 0..<ow {
              var s = Double(bias[o])
              for ci in 0..<cinG {
                let cIn = (o / coutG) * cinG + ci
                for u in 0..<kh {
                  for v in 0..<kw {
                    let ih = i * stride.0 - pad.0 + u * dil, iw = j * stride.1 - pad.1 + v * dil
                    guard ih >= 0, ih < h, iw >= 0, iw < w else { continue }
                    s += Double(wt[((o * cinG + ci) * kh + u) * kw + v]) * Double(x[((b * cin + cIn) * h + ih) * w + iw])
                  }
                }
              }
              worst = max(worst, abs(Float(s) - y[((b * cout + o) * oh + i) * ow + j]))
            }
          }
        }
      }
      #expect(worst < 1e-4, "\(source): max|diff| \(worst)")
    }
    #expect(byChannelPanels == 3 && byPhaseImages == 9 && byPhasePanels == 3 && byDepthwise == 13
            && byGroupPlanes == 5)
  }

  /// The fully connected kernel against its definition: feature counts that are not multiples of 16 (the
  /// vector) or 4 (the rows taken together), batch 3, bias and ReLU.
  @Test func linearMatchesItsDefinition() throws {
    for (inF, outF) in [(37, 23), (9, 2), (64, 16), (100, 5)] {
      var rng = SplitMix64(seed: UInt64(inF * 100 + outF))
      let w = (0..<(inF * outF)).map { _ in Float(rng.normal()) }
      let x = (0..<(3 * inF)).map { _ in Float(rng.normal()) }
      let bias = (0..<outF).map { Float($0) * 0.5 - 2 }
      var y = [Float](repeating: .nan, count: 3 * outF)
      w.withUnsafeBufferPointer { wp in
        x.withUnsafeBufferPointer { xp in
          bias.withUnsafeBufferPointer { bp in
            y.withUnsafeMutableBufferPointer { yp in
              netcLinear(inFeatures: inF, outFeatures: outF, batch: 3, input: xp.baseAddress!, inStride: inF,
                         weight: wp.baseAddress!, bias: bp.baseAddress!, output: yp.baseAddress!, outStride: outF,
                         act: NetcAct.relu, slope: 0)
            }
          }
        }
      }
      var worst: Float = 0
      for b in 0..<3 {
        for o in 0..<outF {
          var sum = Double(bias[o])
          for i in 0..<inF { sum += Double(w[o * inF + i]) * Double(x[b * inF + i]) }
          worst = max(worst, abs(Float(max(sum, 0)) - y[b * outF + o]))
        }
      }
      #expect(worst < 1e-4, "\(inF) -> \(outF): max|diff| \(worst)")
    }
  }

  /// Winograd F(2x2, 3x3), F(4x4, 3x3) and F(2x2, 5x5) against the definition, through the kernels directly
  /// (whatever netcConv2d would choose): output maps of 1x1, 2x2, odd and even sizes (partial tiles at the
  /// right and bottom), padding 1 and 0, channel counts that are not multiples of 8, several tile blocks,
  /// blocks of 32 tiles (many input channels), 16-tile runs stored whole and one by one, fewer blocks than
  /// threads' shares (the output channels split into parts as well, unevenly), bias, residual and
  /// activations, batch 2.
  @Test func winogradMatchesItsDefinition() throws {
    // (inC, outC, inH, inW, pad, residual, activation)
    let cases: [(Int, Int, Int, Int, Int, Bool, Int)] = [
      (3, 5, 1, 1, 1, false, NetcAct.none), (8, 16, 2, 2, 1, true, NetcAct.relu), (13, 9, 3, 5, 1, false, NetcAct.none),
      (16, 24, 9, 9, 0, true, NetcAct.relu), (20, 33, 14, 14, 1, true, NetcAct.relu), (17, 12, 58, 58, 0, false, NetcAct.relu),
      (40, 16, 34, 40, 1, true, NetcAct.relu), (24, 8, 36, 70, 1, true, NetcAct.relu6), (520, 10, 7, 7, 1, false, NetcAct.leaky),
      (9, 11, 4, 3, 0, false, NetcAct.none), (200, 8, 30, 30, 1, true, NetcAct.relu),
      (24, 72, 7, 7, 1, true, NetcAct.relu),
    ]
    for (tile, k) in [(2, 3), (4, 3), (2, 5)] {
      for (cin, cout, h, w, pad3, hasResidual, act) in cases {
        // A 5x5 kernel gets the inputs and padding that give its 3x3 case's output size.
        let pad = k == 5 ? 2 * pad3 : pad3, grow = k == 5 ? 2 - 2 * pad3 : 0
        let (h, w) = (h + grow, w + grow)
        let oh = h + 2 * pad - k + 1, ow = w + 2 * pad - k + 1
        let g = NetcConvGeometry(inC: cin, inH: h, inW: w, outC: cout, outH: oh, outW: ow, kH: k, kW: k, sH: 1, sW: 1,
                                 padT: pad, padL: pad, dH: 1, dW: 1, groups: 1)
        var rng = SplitMix64(seed: UInt64(cin * 1000 + cout))
        let x = (0..<(2 * cin * h * w)).map { _ in Float(rng.normal()) }
        let wt = (0..<(cout * cin * k * k)).map { _ in Float(rng.normal() * (2 / Double(cin * k * k)).squareRoot()) }
        let bias = (0..<cout).map { Float($0) * 0.25 - 1 }
        let res = (0..<(2 * cout * oh * ow)).map { _ in Float(rng.normal()) }
        let u = wt.withUnsafeBufferPointer {
          netcWinogradWeights($0.baseAddress!, outC: cout, inC: cin, tile: tile, kernel: k)
        }
        #expect(u.count == (tile + k - 1) * (tile + k - 1) * ((cout + 7) / 8 * 8) * cin)
        let scratchCount = netcWinogradScratch(g, tile: tile)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
        defer { scratch.deallocate() }
        scratch.initialize(repeating: .nan, count: scratchCount)
        // Filled with a marker, so that a pixel the kernel does not write fails.
        var y = [Float](repeating: .nan, count: 2 * cout * oh * ow)
        x.withUnsafeBufferPointer { xp in
          u.withUnsafeBufferPointer { up in
            bias.withUnsafeBufferPointer { bp in
              res.withUnsafeBufferPointer { rp in
                y.withUnsafeMutableBufferPointer { yp in
                  netcWinogradConv2d(g, tile: tile, batch: 2, input: xp.baseAddress!, inStride: cin * h * w, weight: up.baseAddress!,
                                     bias: bp.baseAddress!, residual: hasResidual ? rp.baseAddress! : nil,
                                     resStride: cout * oh * ow, output: yp.baseAddress!, outStride: cout * oh * ow,
                                     act: act, slope: 0.125, scratch: scratch)
                }
              }
            }
          }
        }
        // With a residual, once more written over it, as the buffer plan has a residual read last.
        var over = res
        if hasResidual {
          x.withUnsafeBufferPointer { xp in
            u.withUnsafeBufferPointer { up in
              bias.withUnsafeBufferPointer { bp in
                over.withUnsafeMutableBufferPointer { op in
                  netcWinogradConv2d(g, tile: tile, batch: 2, input: xp.baseAddress!, inStride: cin * h * w, weight: up.baseAddress!,
                                     bias: bp.baseAddress!, residual: op.baseAddress!, resStride: cout * oh * ow,
                                     output: op.baseAddress!, outStride: cout * oh * ow, act: act, slope: 0.125,
                                     scratch: scratch)
                }
              }
            }
          }
          #expect(over == y, "F(\(tile), \(k)): \(cin)x\(h)x\(w) -> \(cout) in place")
        }
        var worst: Float = 0
        for b in 0..<2 {
          for o in 0..<cout {
            for i in 0..<oh {
              for j in 0..<ow {
                var s = Double(bias[o])
                for ci in 0..<cin {
                  for p in 0..<k {
                    for q in 0..<k {
                      let ih = i - pad + p, iw = j - pad + q
                      guard ih >= 0, ih < h, iw >= 0, iw < w else { continue }
                      s += Double(wt[((o * cin + ci) * k + p) * k + q]) * Double(x[((b * cin + ci) * h + ih) * w + iw])
                    }
                  }
                }
                let at = ((b * cout + o) * oh + i) * ow + j
                if hasResidual { s += Double(res[at]) }
                let expected = netcActivate(Float(s), act, 0.125)
                let diff = abs(expected - y[at])
                worst = diff.isNaN ? .infinity : max(worst, diff)
              }
            }
          }
        }
        #expect(worst < 1e-4, "F(\(tile), \(k)): \(cin)x\(h)x\(w) -> \(cout), pad \(pad): max|diff| \(worst)")
      }
    }
  }

  /// The residual add and the activation fused into the GEMM's stores, on full 8x32 tiles (added in
  /// registers) and partial ones (13 channels, 400 pixels), with ReLU, ReLU6 and none; and the same
  /// through the interpreter's Winograd path (a 3x3 kernel: F(2x2) on 10 and 28 rows; the GEMM gets a 5x5
  /// one). F(4x4), which the interpreter picks only from 384 channels, has its epilogue checked by
  /// winogradMatchesItsDefinition.
  @Test(arguments: [(3, 10, 2), (3, 28, 2), (5, 10, 0)])
  func fusedResidualMatchesItsDefinition(k: Int, h: Int, tile: Int) throws {
    let (ch, w) = (13, 40)
    #expect(netcWinogradTile(NetcConvGeometry(inC: ch, inH: h, inW: w, outC: ch, outH: h, outW: w, kH: k, kW: k, sH: 1,
                                              sW: 1, padT: k / 2, padL: k / 2, dH: 1, dW: 1, groups: 1)) == tile)
    for (act, f) in [("relu", { (v: Float) in max(v, 0) }), ("relu6", { min(max($0, 0), 6) }), ("", { $0 })] {
      let source = "input \(ch)x\(h)x\(w)\nresidual< conv \(k)x\(k) \(ch) p\(k / 2) >\n\(act)\n"
      let c = Pipeline.compile(path: "t.net", bytes: Array(source.utf8))
      let g = Lowering.lower(try #require(c.network, "\(source)"))
      #expect(g.nodes.count == 1, "\(source): the add and activation are not fused")
      var weights: [String: [Float]] = [:]
      for t in WeightLoader.heInit(g, seed: 11) { weights[t.name] = t.data }
      let wName = try #require(weights.keys.first { $0.hasSuffix(".weight") })
      let bName = try #require(weights.keys.first { $0.hasSuffix(".bias") })
      let wt = weights[wName]!, bias = weights[bName]!
      var rng = SplitMix64(seed: 9)
      let x = (0..<(ch * h * w)).map { _ in Float(rng.normal()) * 3 }
      let y = try Interpreter(graph: g, plan: BufferPlan(g), weights: weights, batch: 1).run(x)[0]
      var worst: Float = 0
      for o in 0..<ch {
        for i in 0..<h {
          for j in 0..<w {
            var s = Double(bias[o])
            for ci in 0..<ch {
              for u in 0..<k {
                for v in 0..<k {
                  let ih = i - k / 2 + u, iw = j - k / 2 + v
                  guard ih >= 0, ih < h, iw >= 0, iw < w else { continue }
                  s += Double(wt[((o * ch + ci) * k + u) * k + v]) * Double(x[(ci * h + ih) * w + iw])
                }
              }
            }
            let expected = f(Float(s) + x[(o * h + i) * w + j])
            worst = max(worst, abs(expected - y[(o * h + i) * w + j]))
          }
        }
      }
      #expect(worst < 1e-4, "\(source): max|diff| \(worst)")
    }
  }

  /// A convolution may write its output over the residual it adds (the buffer plan does so when the residual
  /// is read last there): every path gives what it gives with the residual elsewhere. The GEMM reading its
  /// input in place with one K block and with two (300 rows: C starts as the residual), gathering im2col
  /// panels per group, channel panels over a 7x7 map with two K blocks, phase panels, Winograd F(2x2) for
  /// 3x3 and 5x5 kernels (F(4x4) in place: winogradMatchesItsDefinition) and the transposed convolution.
  @Test func residualWrittenOverGivesTheSameOutput() throws {
    // (inC, H, W, outC, kernel, stride, pad, groups, transposed)
    let cases: [(Int, Int, Int, Int, Int, Int, Int, Int, Bool)] = [
      (64, 20, 20, 24, 1, 1, 0, 1, false), (300, 16, 17, 20, 1, 1, 0, 1, false), (80, 16, 16, 16, 3, 1, 1, 2, false),
      (300, 7, 7, 64, 1, 1, 0, 1, false), (30, 13, 11, 56, 3, 2, 1, 1, false), (13, 10, 40, 13, 3, 1, 1, 1, false),
      (16, 12, 12, 16, 5, 1, 2, 1, false), (6, 5, 4, 4, 3, 2, 1, 2, true),
      // Depthwise: plane by plane at strides 1 and 2, and 16 channels to a vector over a narrow map.
      (24, 20, 20, 24, 3, 1, 1, 24, false), (24, 20, 21, 24, 5, 2, 2, 24, false), (40, 7, 7, 40, 5, 1, 2, 40, false),
      // Grouped, plane by plane.
      (32, 16, 20, 32, 3, 1, 1, 4, false),
      // One pixel to one, as a fully connected layer.
      (40, 1, 1, 37, 1, 1, 0, 1, false),
    ]
    var paths = Set<String>()
    for (cin, h, w, cout, k, s, pad, groups, transposed) in cases {
      let oh = transposed ? (h - 1) * s - 2 * pad + k : (h + 2 * pad - k) / s + 1
      let ow = transposed ? (w - 1) * s - 2 * pad + k : (w + 2 * pad - k) / s + 1
      let g = NetcConvGeometry(inC: cin, inH: h, inW: w, outC: cout, outH: oh, outW: ow, kH: k, kW: k, sH: s, sW: s,
                               padT: pad, padL: pad, dH: 1, dW: 1, groups: groups)
      paths.insert(transposed ? "transposed" : netcWinogradTile(g) != 0 ? "winograd" : netcUsesPhasePanels(g) ? "phases"
                   : netcUsesDepthwise(g) ? (netcUsesDepthwiseTiles(g) ? "depthwise tiles" : "depthwise planes")
                   : netcUsesGroupPlanes(g) ? "group planes" : netcUsesLinear(g) ? "linear"
                   : netcUsesChannelPanels(g) ? "channel panels" : "gemm")
      var rng = SplitMix64(seed: UInt64(cin * 100 + k))
      let x = (0..<(2 * cin * h * w)).map { _ in Float(rng.normal()) }
      let wt = (0..<(cout * cin / groups * k * k)).map { _ in Float(rng.normal() * (2 / Double(cin * k * k)).squareRoot()) }
      let bias = (0..<cout).map { Float($0) * 0.25 - 1 }
      let res = (0..<(2 * cout * oh * ow)).map { _ in Float(rng.normal()) }
      let packed = transposed ? wt : wt.withUnsafeBufferPointer { netcConvWeights($0.baseAddress!, g) }
      let scratchCount = transposed ? 1 : netcConvScratch(g)
      let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
      defer { scratch.deallocate() }
      func convolve(_ y: inout [Float], residual: UnsafePointer<Float>?) {
        x.withUnsafeBufferPointer { xp in
          packed.withUnsafeBufferPointer { wp in
            bias.withUnsafeBufferPointer { bp in
              y.withUnsafeMutableBufferPointer { yp in
                let r = residual ?? UnsafePointer(yp.baseAddress!)
                if transposed {
                  netcConvTranspose2d(g, batch: 2, input: xp.baseAddress!, inStride: cin * h * w, weight: wp.baseAddress!,
                                      bias: bp.baseAddress!, residual: r, resStride: cout * oh * ow,
                                      output: yp.baseAddress!, outStride: cout * oh * ow, act: NetcAct.relu, slope: 0)
                } else {
                  netcConv2d(g, batch: 2, input: xp.baseAddress!, inStride: cin * h * w, packedWeight: wp.baseAddress!,
                             bias: bp.baseAddress!, residual: r, resStride: cout * oh * ow, output: yp.baseAddress!,
                             outStride: cout * oh * ow, act: NetcAct.relu, slope: 0, scratch: scratch)
                }
              }
            }
          }
        }
      }
      var apart = [Float](repeating: .nan, count: res.count)
      res.withUnsafeBufferPointer { convolve(&apart, residual: $0.baseAddress!) }
      var over = res
      convolve(&over, residual: nil)
      var worst: Float = 0
      for i in res.indices { worst = abs(apart[i] - over[i]).isNaN ? .infinity : max(worst, abs(apart[i] - over[i])) }
      #expect(worst < 1e-5, "\(cin)x\(h)x\(w) -> \(cout), \(k)x\(k) s\(s): max|diff| \(worst)")
      #expect(apart.contains { $0 > 0 } && apart.contains { $0 == 0 }, "the cases exercise the ReLU")
    }
    #expect(paths == ["gemm", "channel panels", "phases", "winograd", "transposed", "depthwise planes", "depthwise tiles", "group planes",
                     "linear"])
  }

  /// Elementwise add and multiply with PyTorch's broadcasting against the definition: a per-channel gate
  /// (squeeze-excitation's, a plane taken as one row), a per-pixel map, a per-row and a per-column one
  /// (rows of vectors), a map one wide, three inputs, batch 2, written over its first input, with ReLU.
  @Test func elementwiseMatchesItsDefinition() {
    let cases: [([Int], [[Int]])] = [
      ([5, 7, 7], [[5, 7, 7], [5, 1, 1]]), ([3, 9, 20], [[3, 9, 20], [1, 9, 20], [3, 1, 1]]),
      ([4, 6, 18], [[4, 6, 18], [4, 6, 1]]), ([4, 6, 18], [[4, 6, 18], [4, 1, 18]]), ([3, 5, 1], [[3, 5, 1], [3, 5, 1]]),
    ]
    for (shape, inputShapes) in cases {
      for isMul in [false, true] {
        var rng = SplitMix64(seed: UInt64(shape.reduce(0, +) * 10 + inputShapes.count))
        let count = shape.reduce(1, *)
        let values = inputShapes.map { s in (0..<(2 * s.reduce(1, *))).map { _ in Float(rng.normal()) } }
        var want = [Float](repeating: 0, count: 2 * count)
        for b in 0..<2 {
          for c in 0..<shape[0] {
            for h in 0..<shape[1] {
              for w in 0..<shape[2] {
                var v: Float = isMul ? 1 : 0
                for (s, x) in zip(inputShapes, values) {
                  let t = x[b * s.reduce(1, *) + ((s[0] == 1 ? 0 : c) * s[1] + (s[1] == 1 ? 0 : h)) * s[2] + (s[2] == 1 ? 0 : w)]
                  v = isMul ? v * t : v + t
                }
                want[b * count + (c * shape[1] + h) * shape[2] + w] = max(v, 0)
              }
            }
          }
        }
        // The output is the first input's buffer, which has the output's shape.
        var out = values[0]
        let rest = values.dropFirst().map { UnsafeMutableBufferPointer<Float>.allocate(capacity: $0.count) }
        defer { rest.forEach { $0.deallocate() } }
        for (buffer, x) in zip(rest, values.dropFirst()) { _ = buffer.initialize(from: x) }
        out.withUnsafeMutableBufferPointer { o in
          let inputs = [(UnsafePointer(o.baseAddress!), count, inputShapes[0])]
            + zip(rest, inputShapes.dropFirst()).map { (UnsafePointer($0.0.baseAddress!), $0.1.reduce(1, *), $0.1) }
          netcElementwise(isMul: isMul, shape: shape, inputs: inputs, batch: 2, output: o.baseAddress!, outStride: count,
                          act: NetcAct.relu, slope: 0)
        }
        #expect(out == want, "\(shape) \(inputShapes) \(isMul ? "mul" : "add")")
      }
    }
  }

  /// Global pooling (adaptive to 1x1, summed in vector chains) against the mean and maximum in double
  /// precision: planes shorter than a vector, than four, and longer with a tail; NaN wins a maximum.
  @Test func globalPoolingMatchesItsDefinition() {
    for (h, w) in [(3, 3), (7, 7), (9, 13), (56, 56)] {
      var rng = SplitMix64(seed: UInt64(h * 100 + w))
      var x = (0..<(3 * h * w)).map { _ in Float(rng.normal()) + 2 }
      x[2 * h * w + h * w / 2] = .nan
      for isMax in [false, true] {
        var y = [Float](repeating: 0, count: 3)
        x.withUnsafeBufferPointer { xp in
          y.withUnsafeMutableBufferPointer { yp in
            netcAdaptivePool(channels: 3, inH: h, inW: w, outH: 1, outW: 1, isMax: isMax, batch: 1, input: xp.baseAddress!,
                             inStride: 3 * h * w, output: yp.baseAddress!, outStride: 3, act: NetcAct.none, slope: 0)
          }
        }
        for c in 0..<2 {
          let plane = x[(c * h * w)..<((c + 1) * h * w)].map(Double.init)
          let want = isMax ? plane.max()! : plane.reduce(0, +) / Double(h * w)
          #expect(abs(Double(y[c]) - want) <= 1e-6 * abs(want), "\(h)x\(w) \(isMax ? "max" : "mean") channel \(c)")
        }
        #expect(y[2].isNaN, "\(h)x\(w): NaN in the plane")
      }
    }
  }

  /// Pooling against PyTorch's definition, computed here window by window: padding, dilation, ceil mode
  /// (a last window hanging over the edge), strides wider than the kernel, both divisors, and NaN winning
  /// a max.
  @Test func poolingMatchesItsDefinition() throws {
    // (source, kernel, stride, pad, dilation, ceil, max, count_include_pad)
    let cases: [(String, Int, Int, Int, Int, Bool, Bool, Bool)] = [
      ("maxpool 3x3 s2 ceil", 3, 2, 0, 1, true, true, true),
      ("maxpool 3x3 s1 p1", 3, 1, 1, 1, false, true, true),
      ("maxpool 3x3 s2 p1 d2 ceil", 3, 2, 1, 2, true, true, true),
      ("maxpool 2x2 s3", 2, 3, 0, 1, false, true, true),
      ("maxpool 2x2 s2 ceil", 2, 2, 0, 1, true, true, true),
      ("avgpool 3x3 s2 p1 ceil", 3, 2, 1, 1, true, false, true),
      ("avgpool 3x3 s2 p1 ceil exclude_pad", 3, 2, 1, 1, true, false, false),
      ("avgpool 5x5 s3", 5, 3, 0, 1, false, false, true),
    ]
    // 37 columns: rows reduced in a buffer on the stack; 600: too wide for it, tap by tap; 5: narrower
    // than one 8-wide vector; 300 channels: runs of many planes sharing the stack buffers, the first
    // holding a NaN.
    for (cin, h, w) in [(3, 23, 37), (2, 7, 600), (2, 9, 5), (300, 14, 14)] {
      for (layer, k, s, p, d, ceil, isMax, includePad) in cases where w > 5 || k < 5 {
        let source = "input \(cin)x\(h)x\(w)\n\(layer)\n"
        let c = Pipeline.compile(path: "t.net", bytes: Array(source.utf8))
        let net = try #require(c.network, "\(source)")
        let g = Lowering.lower(net)
        var rng = SplitMix64(seed: 5)
        var x = (0..<(2 * cin * h * w)).map { _ in Float(rng.normal()) }
        x[w + 3] = .nan  // row 1, column 3: inside a window of every case
        let y = try Interpreter(graph: g, plan: BufferPlan(g), weights: [:], batch: 2).run(x)[0]
        func outSize(_ n: Int) -> Int {
          let span = n + 2 * p - d * (k - 1) - 1
          var o = (ceil ? (span + s - 1) / s : span / s) + 1
          if ceil && (o - 1) * s >= n + p { o -= 1 }  // the last window must start inside the input or left pad
          return o
        }
        let oh = outSize(h), ow = outSize(w)
        #expect(y.count == 2 * cin * oh * ow, "\(layer)")
        var mismatches = 0, nans = 0
        for b in 0..<2 {
          for ch in 0..<cin {
            for i in 0..<oh {
              for j in 0..<ow {
                let plane = (b * cin + ch) * h * w
                var m = -Float.infinity, sawNaN = false, sum: Float = 0, valid = 0
                for u in 0..<k {
                  for v in 0..<k {
                    let ih = i * s - p + u * d, iw = j * s - p + v * d
                    guard ih >= 0, ih < h, iw >= 0, iw < w else { continue }
                    let t = x[plane + ih * w + iw]
                    sawNaN = sawNaN || t.isNaN
                    m = max(m, t.isNaN ? m : t)
                    sum += t
                    valid += 1
                  }
                }
                // count_include_pad counts padding cells but not the cells past the padding (ceil mode).
                let hs = i * s - p, ws = j * s - p
                let padded = (min(hs + k, h + p) - hs) * (min(ws + k, w + p) - ws)
                let expected = isMax ? (sawNaN ? .nan : m) : sum / Float(includePad ? padded : valid)
                let got = y[((b * cin + ch) * oh + i) * ow + j]
                if expected.isNaN { nans += 1; if !got.isNaN { mismatches += 1 } }
                else if !(abs(got - expected) <= 1e-5) { mismatches += 1 }
              }
            }
          }
        }
        #expect(mismatches == 0, "\(layer), \(h)x\(w): \(mismatches) outputs differ")
        #expect(!isMax || nans > 0, "\(layer), \(h)x\(w): the NaN input reached no window")
      }
    }
  }

  /// A network small enough to compute by hand: 2x + 1 through a 1x1 convolution, then ReLU, then a
  /// 2x2 average pool.
  @Test func interpreterComputesByHand() throws {
    let spec = write("tiny.net", "input 1x2x2\nconv 1x1 1, relu\navgpool 2x2\n")
    let weights = path("tiny.safetensors")
    try Data(SafeTensors.write([("conv1.weight", [1, 1, 1, 1], [2]), ("conv1.bias", [1], [1])])).write(to: URL(fileURLWithPath: weights))
    let input = path("x.npy"), output = path("y.npy")
    try Data(NPY.write(shape: [1, 1, 2, 2], data: [1, -3, 2, 0.5])).write(to: URL(fileURLWithPath: input))
    let r = Driver.run(["run", spec, "--weights", weights, "--input", input, "-o", output])
    #expect(r.status == 0, "\(r.stderr)")
    let (shape, y) = try NPY.read([UInt8](Data(contentsOf: URL(fileURLWithPath: output))))
    #expect(shape == [1, 1, 1, 1])
    // relu(2x+1) = [3, 0, 5, 2]; mean 2.5.
    #expect(y == [2.5])
  }

  /// `--output-index k` makes `-o` write side output k instead of the main output.
  @Test func outputIndexWritesASideOutput() throws {
    let spec = write("sides.net", "input 1x2x2\nconv 1x1 1\nside< global_avgpool >\nside< global_maxpool, flatten >\nrelu\n")
    let weights = path("sides.safetensors")
    try Data(SafeTensors.write([("conv1.weight", [1, 1, 1, 1], [2]), ("conv1.bias", [1], [1])])).write(to: URL(fileURLWithPath: weights))
    let input = path("x.npy"), output = path("y.npy")
    try Data(NPY.write(shape: [1, 1, 2, 2], data: [1, -3, 2, 0.5])).write(to: URL(fileURLWithPath: input))
    // 2x + 1 = [3, -5, 5, 2]: the main output is its ReLU, the side outputs its mean and its maximum.
    let expected: [(shape: [Int], values: [Float])] = [([1, 1, 2, 2], [3, 0, 5, 2]), ([1, 1, 1, 1], [1.25]), ([1, 1], [5])]
    for (k, want) in expected.enumerated() {
      let r = Driver.run(["run", spec, "--weights", weights, "--input", input, "-o", output] + (k == 0 ? [] : ["--output-index", "\(k)"]))
      #expect(r.status == 0, "\(r.stderr)")
      let (shape, y) = try NPY.read([UInt8](Data(contentsOf: URL(fileURLWithPath: output))))
      #expect(shape == want.shape && y == want.values, "output \(k)")
    }
    let past = Driver.run(["run", spec, "--weights", weights, "--input", input, "-o", output, "--output-index", "3"])
    #expect(past.status == 2)
    #expect(past.stderr.contains("'--output-index' is 3, but the network has 3 outputs (indices 0 to 2)"))
    let alone = Driver.run(["run", spec, "--weights", weights, "--input", input, "--output-index", "1"])
    #expect(alone.status == 2)
    #expect(alone.stderr.contains("'--output-index' chooses the output '-o' writes: give '-o' too"))
  }

  @Test func batchNormFoldsIntoTheConvolution() throws {
    let net = try network("input 1x1x1\nconv 1x1 1 nobias\nbn eps=1e-9\n")
    let g = Lowering.lower(net)
    #expect(g.nodes.count == 1)
    let weights: [String: [Float]] = ["conv1.weight": [3], "bn2.weight": [2], "bn2.bias": [1],
                                      "bn2.running_mean": [4], "bn2.running_var": [16]]
    let interpreter = try Interpreter(graph: g, plan: BufferPlan(g), weights: weights, batch: 1)
    // bn(conv(x)) = (3x - 4) / 4 * 2 + 1 at x = 2: 2.
    let y = try interpreter.run([2])
    #expect(abs(y[0][0] - 2) < 1e-6)
  }

  @Test func initIsDeterministicAndHe() throws {
    let spec = Paths.spec("lenet5").path
    #expect(Driver.run(["init", spec, "--seed", "7", "-o", path("a.safetensors")]).status == 0)
    #expect(Driver.run(["init", spec, "--seed", "7", "-o", path("b.safetensors")]).status == 0)
    #expect(Driver.run(["init", spec, "--seed", "8", "-o", path("c.safetensors")]).status == 0)
    let a = try Data(contentsOf: URL(fileURLWithPath: path("a.safetensors")))
    #expect(a == (try Data(contentsOf: URL(fileURLWithPath: path("b.safetensors")))))
    #expect(a != (try Data(contentsOf: URL(fileURLWithPath: path("c.safetensors")))))
    let entries = try SafeTensors.entries([UInt8](a))
    #expect(entries.map(\.name) == ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc3.weight", "fc3.bias",
                                    "fc4.weight", "fc4.bias", "fc5.weight", "fc5.bias"])
    // fc3: fan_in 400, so the standard deviation is sqrt(2/400) = 0.0707.
    let fc3 = try #require(entries.first { $0.name == "fc3.weight" })
    let values = [UInt8](a)[fc3.range].withUnsafeBytes { raw in (0..<(fc3.range.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
    let std = (values.reduce(0) { $0 + Double($1 * $1) } / Double(values.count)).squareRoot()
    #expect(abs(std - 0.0707) < 0.002)
  }

  /// Every way a weight file can lie ends in one error naming the problem, exit 1, and no output file.
  @Test func badWeightFiles() throws {
    let spec = Paths.spec("lenet5").path
    let good = [UInt8](SafeTensors.write(WeightLoader.heInit(Lowering.lower(try network(try readText(URL(fileURLWithPath: spec)))), seed: 0)))
    func header(_ json: String, data: Int) -> [UInt8] {
      var h = Array(json.utf8)
      while h.count % 8 != 0 { h.append(0x20) }
      return (0..<8).map { UInt8((h.count >> (8 * $0)) & 0xFF) } + h + [UInt8](repeating: 0, count: data)
    }
    let withExtra = [UInt8](SafeTensors.write(WeightLoader.heInit(Lowering.lower(try network(try readText(URL(fileURLWithPath: spec)))), seed: 0) + [("extra.weight", [1], [0])]))
    let renamed = [UInt8](SafeTensors.write(WeightLoader.heInit(Lowering.lower(try network(try readText(URL(fileURLWithPath: spec)))), seed: 0)
      .map { ($0.name == "conv1.bias" ? "conv1.biass" : $0.name, $0.shape, $0.data) }))
    let cases: [(String, [UInt8], String)] = [
      ("empty", [], "too short for a safetensors header"),
      ("renamed", renamed, "lacks 1 tensor this network needs: 'conv1.bias'; it has 1 this network does not: 'conv1.biass' (renamed? 'conv1.biass' for 'conv1.bias')"),
      ("truncated", Array(good.prefix(good.count / 2)), "data section holds"),
      ("header-lies", [0xFF, 0xFF, 0xFF, 0x7F, 0, 0, 0, 0] + Array(good.dropFirst(8)),
       "the header claims 2147483647 bytes; safetensors refuses headers over 104,857,600 bytes"),
      ("header-truncated", [0xFF, 0xFF, 0, 0, 0, 0, 0, 0] + Array(good.dropFirst(8).prefix(100)),
       "the header claims 65535 bytes but the file holds 100 after the length"),
      ("not-json", header("{nope", data: 0), "not valid JSON"),
      ("wrong-dtype", header("{\"conv1.weight\":{\"dtype\":\"I64\",\"shape\":[6,1,5,5],\"data_offsets\":[0,1200]}}", data: 1200), "dtype I64"),
      ("offsets-outside", header("{\"conv1.weight\":{\"dtype\":\"F32\",\"shape\":[6,1,5,5],\"data_offsets\":[0,600]}}", data: 8), "claims bytes 0..<600 but the data section holds 8 bytes"),
      ("missing", header("{}", data: 0), "lacks 10 tensors this network needs: 'conv1.weight', 'conv1.bias', 'conv2.weight' and 7 more"),
      ("shape", header("{\"conv1.weight\":{\"dtype\":\"F32\",\"shape\":[6,1,3,3],\"data_offsets\":[0,216]}}", data: 216), "tensor 'conv1.weight': expected shape [6, 1, 5, 5], found [6, 1, 3, 3]"),
      ("extra", withExtra, "has 1 tensor this network does not: 'extra.weight'"),
    ]
    for (name, bytes, message) in cases {
      let w = path("\(name).safetensors")
      try Data(bytes).write(to: URL(fileURLWithPath: w))
      let out = path("\(name)-out.npy")
      let r = Driver.run(["run", spec, "--weights", w, "--input", "random", "-o", out])
      #expect(r.status == 1, "\(name)")
      #expect(r.stderr.contains(message), "\(name): \(r.stderr)")
      #expect(r.stderr.split(separator: "\n").count == 1, "\(name): \(r.stderr)")
      #expect(!FileManager.default.fileExists(atPath: out), "\(name) left an output file")
    }
  }

  @Test func badInputTensors() throws {
    let spec = Paths.spec("lenet5").path
    let w = path("w.safetensors")
    #expect(Driver.run(["init", spec, "-o", w]).status == 0)
    let good = NPY.write(shape: [1, 1, 32, 32], data: [Float](repeating: 0, count: 1024))
    var fortran = good
    let pos = try #require(String(decoding: good, as: UTF8.self).range(of: "False")).lowerBound.utf16Offset(in: String(decoding: good, as: UTF8.self))
    fortran.replaceSubrange(pos..<(pos + 5), with: Array("True ".utf8))
    let cases: [(String, [UInt8], String)] = [
      ("not-npy", Array("hello".utf8), "not a .npy file"),
      ("wrong-shape", NPY.write(shape: [1, 3, 32, 32], data: [Float](repeating: 0, count: 3072)), "holds a tensor of shape [1, 3, 32, 32]; this network takes [N, 1, 32, 32]"),
      ("truncated", Array(good.dropLast(100)), "needs 4096 bytes of data"),
      ("fortran", fortran, "Fortran order"),
      // Found by scripts/fuzz.sh (fuzz-npy): a ')' before the '(' of the shape once trapped.
      ("shape-parens-reversed", npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': )22 (,, }"), "shape is malformed"),
      ("negative-size", npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3), }"), "shape is malformed"),
      ("float64-short", npy(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", body: [0, 0, 0]), "needs 16 bytes"),
    ]
    for (name, bytes, message) in cases {
      let x = path("\(name).npy")
      try Data(bytes).write(to: URL(fileURLWithPath: x))
      let r = Driver.run(["run", spec, "--weights", w, "--input", x])
      #expect(r.status == 1, "\(name)")
      #expect(r.stderr.contains(message), "\(name): \(r.stderr)")
    }
  }

  /// Without '-o', 'netc run' prints the top classes; probabilities it computes itself are said to be
  /// from a softmax applied for display, with the network's raw scores beside them.
  @Test func runSummarySaysWhoAppliedSoftmax() throws {
    for softmax in [false, true] {
      let spec = write("classes-\(softmax).net", "input 4\nfc 3\(softmax ? ", softmax" : "")\n")
      let w = path("classes-\(softmax).safetensors")
      #expect(Driver.run(["init", spec, "-o", w]).status == 0)
      let r = Driver.run(["run", spec, "--weights", w, "--input", "random", "--batch", "2"])
      #expect(r.status == 0, "\(r.stderr)")
      let lines = r.stdout.split(separator: "\n").map(String.init)
      #expect(lines.count == 2 + 2 * 4, "\(r.stdout)")
      if softmax {
        #expect(lines.prefix(2) == ["output: 2x3 (the network's softmax probabilities)", "top 3 classes:"])
      } else {
        #expect(lines.prefix(2) == ["output: 2x3 (raw scores: the network ends without a softmax)",
                                    "top 3 classes, with probabilities from a softmax applied for display:"])
      }
      #expect(lines[2] == "item 0:" && lines[6] == "item 1:")
      let row = softmax ? #/  class [0-2]: [01]\.\d{4}/# : #/  class [0-2]: [01]\.\d{4}  \(score -?\d+\.\d{4}\)/#
      for line in lines where line.hasPrefix("  ") { #expect(line.wholeMatch(of: row) != nil, "\(line)") }
    }
  }

  /// A version 1.0 `.npy` file with this header text and body.
  func npy(header: String, body: [UInt8] = []) -> [UInt8] {
    let h = Array(header.utf8)
    return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(h.count & 0xFF), UInt8(h.count >> 8)] + h + body
  }

  @Test func memoryLimitIsADiagnostic() throws {
    let spec = Paths.spec("vgg11").path
    let w = path("vgg-missing.safetensors")
    try Data(SafeTensors.write([])).write(to: URL(fileURLWithPath: w))
    // The weights are checked first; a network whose activations exceed the limit is refused.
    let small = write("big.net", "input 3x2048x2048\nconv 3x3 64 p1\n")
    let sw = path("big.safetensors")
    #expect(Driver.run(["init", small, "-o", sw]).status == 0)
    let r = Driver.run(["run", small, "--weights", sw, "--input", "random", "--memory-limit", "64"])
    #expect(r.status == 1)
    #expect(r.stderr.contains("above the limit of 64 MiB (67,108,864 bytes); raise '--memory-limit'"))
    _ = w
  }

  @Test func planFilesRunAndRefuseEdits() throws {
    let spec = Paths.spec("simple_inception").path
    let plan = path("s.plan"), w = path("s.safetensors")
    #expect(Driver.run(["emit", "--target", "plan", spec, "-o", plan]).status == 0)
    #expect(Driver.run(["init", spec, "-o", w]).status == 0)
    let fromSpec = Driver.run(["run", spec, "--weights", w, "--input", "random", "--seed", "3"])
    let fromPlan = Driver.run(["run", plan, "--weights", w, "--input", "random", "--seed", "3"])
    #expect(fromSpec.status == 0 && fromPlan.status == 0)
    #expect(fromSpec.stdout == fromPlan.stdout)
    var text = try readText(URL(fileURLWithPath: plan))
    text = text.replacingOccurrences(of: "\"groups\": 1", with: "\"groups\": 2")
    try text.write(toFile: plan, atomically: true, encoding: .utf8)
    let edited = Driver.run(["run", plan, "--weights", w, "--input", "random"])
    #expect(edited.status == 1)
    #expect(edited.stderr.contains("does not match the spec it holds"))
  }

  @Test func failedEmitLeavesNoFile() throws {
    let out = path("never.swift")
    let bug = Paths.specs.appendingPathComponent("examples/simple_inception_bug.net").path
    #expect(Driver.run(["emit", "--target", "swift", bug, "-o", out]).status == 1)
    #expect(!FileManager.default.fileExists(atPath: out))
    let r = Driver.run(["emit", "--target", "swift", Paths.spec("lenet5").path, "-o", "/nonexistent-dir/x.swift"])
    #expect(r.status == 1)
    #expect(r.stderr.contains("cannot write '/nonexistent-dir/x.swift'"))
  }

  /// `--self-contained` writes every file of NetcKernels after the network, as the EmbedKernels plugin
  /// read it at build time, its imports once at the top and `public` gone; by default, the file imports
  /// the library instead.
  @Test func selfContainedSwiftHoldsEveryKernelFile() throws {
    let spec = Paths.spec("lenet5").path
    let out = path("lenet5-sc.swift"), lib = path("lenet5-lib.swift")
    #expect(Driver.run(["emit", "--target", "swift", "--self-contained", spec, "-o", out], kernelSources: netcKernelSources).status == 0)
    #expect(Driver.run(["emit", "--target", "swift", spec, "-o", lib]).status == 0)
    let text = try readText(URL(fileURLWithPath: out))
    let kernels = Paths.root.appendingPathComponent("Sources/NetcKernels")
    let files = try FileManager.default.contentsOfDirectory(atPath: kernels.path).filter { $0.hasSuffix(".swift") }.sorted()
    #expect(files.count >= 9)
    let marks = text.split(separator: "\n").filter { $0.hasPrefix("// MARK: - NetcKernels/") }
    #expect(marks.map { String($0.dropFirst("// MARK: - NetcKernels/".count)) } == files)
    var imports: Set<String> = []
    for file in files {
      let source = try readText(kernels.appendingPathComponent(file))
      let inlined = SwiftEmitter.inlined(source)
      #expect(text.contains(inlined.body.drop { $0 == "\n" }), "\(file) is not in the self-contained output as it is now")
      imports.formUnion(inlined.imports)
    }
    let header = text[..<text.range(of: "public final class ")!.lowerBound]
    #expect(header.split(separator: "\n").filter { $0.hasPrefix("import ") }.map(String.init) == imports.sorted())
    #expect(!imports.contains("import NetcKernels") && !text.contains("import NetcKernels"))
    // Only the network's own declarations stay public.
    let tail = text[text.range(of: "// MARK: - NetcKernels/")!.lowerBound...]
    #expect(!tail.split(separator: "\n").contains { $0.drop { $0 == " " }.hasPrefix("public ") })
    let library = try readText(URL(fileURLWithPath: lib))
    #expect(library.split(separator: "\n").filter { $0.hasPrefix("import ") } == ["import NetcKernels"])
    #expect(!library.contains("// MARK: - NetcKernels/"))
    #expect(text.hasSuffix(library[library.range(of: "public final class ")!.lowerBound...] + "\n" + String(tail)))
  }

  /// Without NetcKernels' sources (the NetcPlugin build plugin's tool), `--self-contained` is an error
  /// that says where to find them, and writes nothing; the default form needs none.
  @Test func selfContainedSwiftWithoutKernelSources() throws {
    let spec = Paths.spec("lenet5").path
    let out = path("lenet5-nosources.swift")
    let r = Driver.run(["emit", "--target", "swift", "--self-contained", spec, "-o", out])
    #expect(r.status == 1)
    #expect(r.stderr == "netc: error: this build of netc holds no copy of NetcKernels' sources for '--self-contained' (the NetcPlugin build plugin's tool has none); use the netc executable\n")
    #expect(!FileManager.default.fileExists(atPath: out))
    #expect(Driver.run(["emit", "--target", "swift", spec, "-o", out]).status == 0)
    #expect(try readText(URL(fileURLWithPath: out)).contains("import NetcKernels\n"))
  }

  /// `--name` names the emitted class, so that two networks of one name build in one module; a network
  /// named after a keyword still makes a valid file in each language.
  @Test func emittedClassNames() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("netc-names-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    func spec(_ name: String) throws -> String {
      let path = dir.appendingPathComponent("\(name).net").path
      try "network \(name)\ninput 3x8x8\nrelu\n".write(toFile: path, atomically: true, encoding: .utf8)
      return path
    }
    /// What `netc emit ARGUMENTS -o FILE` writes, and its status and diagnostics.
    func emit(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
      let out = dir.appendingPathComponent("out").path
      try? FileManager.default.removeItem(atPath: out)
      let r = Driver.run(["emit"] + arguments + ["-o", out])
      return (r.status, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "", r.stderr)
    }
    let lenet = Paths.spec("lenet5").path
    let renamed = try emit(["--target", "swift", lenet, "--name", "Digits"])
    #expect(renamed.status == 0 && renamed.stdout.contains("\npublic final class Digits {\n"), "\(renamed.stderr)")
    #expect(!renamed.stdout.contains("LeNet5 {"))
    let torch = try emit(["--target", "pytorch", lenet, "--name", "Digits"])
    #expect(torch.status == 0 && torch.stdout.contains("\nclass Digits(nn.Module):\n"), "\(torch.stderr)")
    let swiftKeyword = try emit(["--target", "swift", try spec("class")])
    #expect(swiftKeyword.stdout.contains("public final class `class` {"), "\(swiftKeyword.stderr)")
    #expect(swiftKeyword.stdout.contains("let net = try `class`(weightsPath:"))
    let pythonKeyword = try emit(["--target", "pytorch", try spec("def")])
    #expect(pythonKeyword.stdout.contains("\nclass def_(nn.Module):\n"), "\(pythonKeyword.stderr)")
    for (arguments, message) in [
      (["--target", "swift", "--name", "9lives"], "'--name' must be an identifier"),
      (["--target", "swift", "--name", "a-b"], "'--name' must be an identifier"),
      (["--target", "plan", "--name", "Digits"], "'--name' applies to '--target swift' and '--target pytorch'"),
    ] {
      let r = Driver.run(["emit"] + arguments + [lenet, "-o", "-"])
      #expect(r.status == 2 && r.stderr.contains(message), "\(arguments): \(r.stderr)")
    }
  }

  @Test func emittedCodeGolden() throws {
    for (target, snapshot) in [("pytorch", "lenet5.pytorch.golden"), ("swift", "lenet5.swift.golden")] {
      let out = path("lenet5.\(target)")
      let status = inDirectory(Paths.root.path) { Driver.run(["emit", "--target", target, "specs/lenet/lenet5.net", "-o", out]).status }
      #expect(status == 0)
      try assertSnapshot(try readText(URL(fileURLWithPath: out)), snapshot)
    }
  }
}
