// The image as the network's input: its channels matched to the network's, resized bilinearly and
// normalised per channel.

/// CIFAR-10's per-channel mean and standard deviation of pixels in [0, 1], the usual normalisation of
/// networks trained on it.
let cifar10Mean: [Float] = [0.4914, 0.4822, 0.4465]
let cifar10Std: [Float] = [0.2470, 0.2435, 0.2616]

/// A grey image repeated into three channels, or a colour image reduced to grey with ITU-R 601's luma
/// weights (those of torchvision's `rgb_to_grayscale` and PIL's `convert("L")`).
func matchChannels(_ image: Image, to channels: Int) throws -> Image {
  if image.channels == channels { return image }
  let pixels = image.width * image.height
  var result = image
  result.channels = channels
  switch (image.channels, channels) {
  case (1, 3):
    result.samples = image.samples + image.samples + image.samples
  case (3, 1):
    result.samples = (0..<pixels).map { p in
      0.299 * image.samples[p] + 0.587 * image.samples[pixels + p] + 0.114 * image.samples[2 * pixels + p]
    }
  default:
    throw FileError("the network takes \(channels) channels; an image has 1 or 3")
  }
  return result
}

/// Bilinear resizing to height x width as `torch.nn.functional.interpolate(mode="bilinear",
/// align_corners=False, antialias=False)` computes it, and torchvision's `Resize((h, w),
/// antialias=False)` on a tensor: pixel centres aligned (half-pixel), source coordinates clamped at the
/// first pixel and the last. Without antialiasing a large reduction samples rather than averages.
func resizeBilinear(_ image: Image, height: Int, width: Int) -> Image {
  let xs = bilinearTaps(from: image.width, to: width)
  let ys = bilinearTaps(from: image.height, to: height)
  let plane = image.width * image.height
  var samples = [Float](repeating: 0, count: image.channels * height * width)
  for c in 0..<image.channels {
    let source = c * plane
    for (y, ty) in ys.enumerated() {
      let row0 = source + ty.low * image.width
      let row1 = source + ty.high * image.width
      for (x, tx) in xs.enumerated() {
        let top = (1 - tx.weight) * image.samples[row0 + tx.low] + tx.weight * image.samples[row0 + tx.high]
        let bottom = (1 - tx.weight) * image.samples[row1 + tx.low] + tx.weight * image.samples[row1 + tx.high]
        samples[(c * height + y) * width + x] = (1 - ty.weight) * top + ty.weight * bottom
      }
    }
  }
  return Image(width: width, height: height, channels: image.channels, samples: samples)
}

/// For each output position, the two source positions it blends and the weight of the second.
private func bilinearTaps(from input: Int, to output: Int) -> [(low: Int, high: Int, weight: Float)] {
  let scale = Double(input) / Double(output)
  return (0..<output).map { i in
    let source = max((Double(i) + 0.5) * scale - 0.5, 0)
    let low = min(Int(source), input - 1)
    return (low, min(low + 1, input - 1), Float(source - Double(low)))
  }
}

/// (sample - mean[c]) / std[c] in each channel c.
func normalize(_ image: Image, mean: [Float], std: [Float]) -> [Float] {
  let plane = image.width * image.height
  return image.samples.enumerated().map { index, value in
    let c = index / plane
    return (value - mean[c]) / std[c]
  }
}
