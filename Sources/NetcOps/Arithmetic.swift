/// Checked integer arithmetic: every size and count in netc goes through these, so an absurd spec is a
/// diagnostic instead of a trap.
public struct Overflow: Error {}

@inline(__always) public func cmul(_ a: Int, _ b: Int) throws -> Int {
  let (r, o) = a.multipliedReportingOverflow(by: b)
  if o { throw Overflow() }
  return r
}

@inline(__always) public func cadd(_ a: Int, _ b: Int) throws -> Int {
  let (r, o) = a.addingReportingOverflow(b)
  if o { throw Overflow() }
  return r
}

@inline(__always) public func csub(_ a: Int, _ b: Int) throws -> Int {
  let (r, o) = a.subtractingReportingOverflow(b)
  if o { throw Overflow() }
  return r
}

public func cproduct(_ xs: [Int]) throws -> Int { try xs.reduce(1) { try cmul($0, $1) } }

/// Floor division for possibly negative numerators (Python's `//`, PyTorch's `div_rtn`).
public func floorDiv(_ a: Int, _ b: Int) -> Int {
  let q = a / b
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

/// PyTorch's output-size rule for convolution and pooling along one axis, in exactly one place:
/// `floor((in + padBefore + padAfter - dilation*(k-1) - 1) / stride) + 1`, or with `ceil` the ceiling,
/// minus one if the last window would start inside the right padding (pooling's ceil_mode).
public enum SpatialRule {
  public static func outputSize(
    input: Int, kernel: Int, stride: Int, padBefore: Int, padAfter: Int, dilation: Int, ceil: Bool
  ) throws -> Int {
    let span = try cadd(try cmul(dilation, kernel - 1), 1)
    let numerator = try csub(try cadd(input, try cadd(padBefore, padAfter)), span)
    if !ceil { return floorDiv(numerator, stride) + 1 }
    var out = floorDiv(try cadd(numerator, stride - 1), stride) + 1
    if out > 0, try cmul(out - 1, stride) >= (try cadd(input, padBefore)) { out -= 1 }
    return out
  }

  /// ConvTranspose2d: `(in-1)*stride - padBefore - padAfter + dilation*(k-1) + outputPadding + 1`.
  public static func transposedOutputSize(
    input: Int, kernel: Int, stride: Int, pad: Int, dilation: Int, outputPadding: Int
  ) throws -> Int {
    let grown = try cmul(input - 1, stride)
    return try cadd(try csub(grown, try cmul(2, pad)), try cadd(try cmul(dilation, kernel - 1), outputPadding + 1))
  }

  /// Input rows (or columns) after the last window that no window reads, not counting padding. Only
  /// meaningful when windows overlap or touch (span >= stride); otherwise every window skips rows anyway.
  public static func droppedInput(
    input: Int, kernel: Int, stride: Int, padBefore: Int, padAfter: Int, dilation: Int
  ) -> Int {
    let span = dilation * (kernel - 1) + 1
    guard span >= stride else { return 0 }
    let remainder = (input + padBefore + padAfter - span) % stride
    return max(0, remainder - padAfter)
  }
}
