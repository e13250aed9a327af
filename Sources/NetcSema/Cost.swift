/// Multiply-adds and memory, by the conventions of the tools people compare against.
public enum Cost {
  /// torchinfo's convention: a convolution counts its parameters (bias included) once per output pixel;
  /// every other layer with parameters counts them once; layers without parameters count nothing.
  /// Multiply-adds of one layer for one item, torchinfo's convention; nil if they do not fit in 64 bits.
  static func multAdds(_ op: Op, params: [ParamTensor], output: Shape) -> Int? {
    let count = params.reduce(0) { $0 + $1.elementCount }
    if case .conv = op, output.isSpatial {
      return try? cmul(count, cmul(output.height, output.width))
    }
    return count
  }
}

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
