/// Memory, by the conventions of the tools people compare against; each operation counts its own
/// multiply-adds (`Operation.multAdds`).
public enum DType: String, CaseIterable, Sendable {
  case f32, f16, bf16
  public var byteSize: Int { self == .f32 ? 4 : 2 }
}

/// Memory estimate with torchsummary's definitions, in bytes.
public struct MemoryEstimate: Sendable {
  public var dtype: DType
  public var batch: Int
  public var inputBytes: Double
  /// Forward and backward: twice the sum of every printed row's output.
  public var forwardBackwardBytes: Double
  public var paramBytes: Double
  public var totalBytes: Double { inputBytes + forwardBackwardBytes + paramBytes }
  /// Not torchsummary's: the largest the activations ever take at once when each buffer is reused as soon as
  /// its last reader is done (the input included), as netc's inference allocates them. Nil if not planned.
  public var peakLiveBytes: Double?

  public init(dtype: DType, batch: Int, inputBytes: Double, forwardBackwardBytes: Double, paramBytes: Double,
              peakLiveBytes: Double? = nil) {
    self.dtype = dtype
    self.batch = batch
    self.inputBytes = inputBytes
    self.forwardBackwardBytes = forwardBackwardBytes
    self.paramBytes = paramBytes
    self.peakLiveBytes = peakLiveBytes
  }
}
