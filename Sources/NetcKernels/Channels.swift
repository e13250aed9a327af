// Kernels that copy without computing: ShuffleNet's channel shuffle, one chunk of the channels, and a centre
// crop of each channel (U-Net). Each copies planes or rows, applying the fused activation on the way. Like
// the other kernels, only the standard library; the callers pass sizes from checked shapes (`channels`
// divides by `groups`, the slice and the crop lie inside the input).

/// One plane: `count` floats, through the activation if there is one.
@inline(__always)
func netcCopyPlane(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, act: Int, slope: Float) {
  if act == NetcAct.none {
    y.update(from: x, count: count)
  } else {
    netcActivate(x, y, count: count, act, slope)
  }
}

/// Channel shuffle: output channel `j * groups + i` is input channel `i * (channels / groups) + j`, as
/// PyTorch's view [groups, channels / groups], transpose, flatten computes it.
@inline(never)
public func netcChannelShuffle(channels: Int, groups: Int, pixels: Int, batch: Int, input: UnsafePointer<Float>,
                               inStride: Int, output: UnsafeMutablePointer<Float>, outStride: Int, act: Int,
                               slope: Float) {
  let perGroup = channels / groups
  netcParallel(batch * channels, work: batch * channels * pixels) { bc in
    let b = bc / channels, o = bc % channels
    let c = (o % groups) * perGroup + o / groups
    netcCopyPlane(input + b * inStride + c * pixels, output + b * outStride + o * pixels, count: pixels, act: act,
                  slope: slope)
  }
}

/// Channels `first ..< first + channels` of each batch item (one chunk of `x.chunk(n, dim=1)`): one
/// contiguous run per item.
@inline(never)
public func netcChannelSlice(first: Int, channels: Int, pixels: Int, batch: Int, input: UnsafePointer<Float>,
                             inStride: Int, output: UnsafeMutablePointer<Float>, outStride: Int, act: Int, slope: Float) {
  netcParallel(batch * channels, work: batch * channels * pixels) { bc in
    let b = bc / channels, c = bc % channels
    netcCopyPlane(input + b * inStride + (first + c) * pixels, output + b * outStride + c * pixels, count: pixels,
                  act: act, slope: slope)
  }
}

/// Rows `top ..< top + outH`, columns `left ..< left + outW` of each channel (`x[:, :, top:top + outH,
/// left:left + outW]`): one run of `outW` floats per output row.
@inline(never)
public func netcCrop(channels: Int, inH: Int, inW: Int, outH: Int, outW: Int, top: Int, left: Int, batch: Int,
                     input: UnsafePointer<Float>, inStride: Int, output: UnsafeMutablePointer<Float>, outStride: Int,
                     act: Int, slope: Float) {
  netcParallel(batch * channels, work: batch * channels * outH * outW) { bc in
    let b = bc / channels, c = bc % channels
    let plane = input + b * inStride + c * inH * inW + top * inW + left
    let out = output + b * outStride + c * outH * outW
    for row in 0..<outH {
      netcCopyPlane(plane + row * inW, out + row * outW, count: outW, act: act, slope: slope)
    }
  }
}
