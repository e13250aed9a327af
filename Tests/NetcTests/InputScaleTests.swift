import Foundation
import NetcKernels
import NetcRuntime
import Testing

/// A pointwise convolution that takes a per-channel scale of its input (squeeze-and-excitation's
/// product, fused by lowering) gives the same bits as the product written out and then convolved: the
/// GEMM multiplies its input panels by the scale as it packs them, as the product rounds them.
@Suite struct InputScaleTests {
  // (inC, H, W, outC): the GEMM over 20x20 (partial panels), 31x33 (odd rows), and channel panels over
  // 14x14 and 7x7 maps; with more than one K block (300 channels).
  @Test(arguments: [(40, 20, 20, 24), (24, 31, 33, 40), (96, 14, 14, 40), (300, 7, 7, 64), (16, 7, 7, 8), (40, 1, 1, 37)])
  func scaledInputMatchesTheProduct(cin: Int, h: Int, w: Int, cout: Int) {
    let g = NetcConvGeometry(inC: cin, inH: h, inW: w, outC: cout, outH: h, outW: w, kH: 1, kW: 1, sH: 1, sW: 1,
                             padT: 0, padL: 0, dH: 1, dW: 1, groups: 1)
    let pixels = h * w, batch = 2
    var rng = SplitMix64(seed: UInt64(cin * 1000 + h))
    let x = (0..<(batch * cin * pixels)).map { _ in Float(rng.normal()) }
    // A different scale per item, as each image's squeeze-and-excitation gives its own.
    let scale = (0..<(batch * cin)).map { _ in Float(rng.normal()) }
    let wt = (0..<(cout * cin)).map { _ in Float(rng.normal() * (2 / Double(cin)).squareRoot()) }
    let bias = (0..<cout).map { Float($0) * 0.125 - 1 }
    let residual = (0..<(batch * cout * pixels)).map { _ in Float(rng.normal()) }
    let product = x.indices.map { x[$0] * scale[$0 / pixels] }
    let packed = wt.withUnsafeBufferPointer { netcConvWeights($0.baseAddress!, g) }
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: netcConvScratch(g))
    let scales = UnsafeMutablePointer<Float>.allocate(capacity: scale.count)
    scales.initialize(from: scale, count: scale.count)
    defer { scratch.deallocate(); scales.deallocate() }
    for (act, withResidual) in [(NetcAct.silu, false), (NetcAct.none, true), (NetcAct.relu6, false)] {
      func convolve(_ input: [Float], inputScale: UnsafePointer<Float>?) -> [Float] {
        var y = [Float](repeating: .nan, count: batch * cout * pixels)
        input.withUnsafeBufferPointer { xp in
          packed.withUnsafeBufferPointer { wp in
            bias.withUnsafeBufferPointer { bp in
              residual.withUnsafeBufferPointer { rp in
                y.withUnsafeMutableBufferPointer { yp in
                  netcConv2d(g, batch: batch, input: xp.baseAddress!, inStride: cin * pixels,
                             packedWeight: wp.baseAddress!, bias: bp.baseAddress!,
                             residual: withResidual ? rp.baseAddress! : nil, resStride: cout * pixels,
                             output: yp.baseAddress!, outStride: cout * pixels, act: act, slope: 0, scratch: scratch,
                             inputScale: inputScale, scaleStride: cin)
                }
              }
            }
          }
        }
        return y
      }
      let fused = convolve(x, inputScale: scales)
      let apart = convolve(product, inputScale: nil)
      #expect(fused.map(\.bitPattern) == apart.map(\.bitPattern), "\(cin)x\(h)x\(w) -> \(cout), act \(act)")
      // And the product is really applied: without the scale the output differs.
      #expect(convolve(x, inputScale: nil) != apart)
    }
  }
}
