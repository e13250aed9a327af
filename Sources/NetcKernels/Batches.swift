// A batch in and out of the activation arena of the Swift that `netc emit` writes, where each item sits a
// fixed number of floats after the one before.

/// Copies `batch` items of `count` floats from `xs`, where they are contiguous, to `p`, one every `stride`
/// floats.
public func netcScatter(_ xs: [Float], to p: UnsafeMutablePointer<Float>, stride: Int, count: Int, batch: Int) {
  xs.withUnsafeBufferPointer { x in
    for i in 0..<batch { (p + i * stride).update(from: x.baseAddress! + i * count, count: count) }
  }
}

/// The `batch` items of `count` floats at `p`, one every `stride` floats, as one contiguous array.
public func netcGather(_ p: UnsafeMutablePointer<Float>, stride: Int, count: Int, batch: Int) -> [Float] {
  var out = [Float](repeating: 0, count: count * batch)
  out.withUnsafeMutableBufferPointer { y in
    for i in 0..<batch { (y.baseAddress! + i * count).update(from: p + i * stride, count: count) }
  }
  return out
}
