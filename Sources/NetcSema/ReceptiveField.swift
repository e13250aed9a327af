import NetcOps
/// Receptive field, effective stride and effective padding along one spatial axis, by torchscan's
/// definitions, measured in pixels of the network's input.
public struct AxisField: Equatable, Sendable {
  /// Input pixels one output pixel depends on (padding included).
  public var size: Int
  /// Input pixels between the windows of two neighbouring output pixels.
  public var stride: Int
  /// How far the first output pixel's window starts before the input's first pixel.
  public var padding: Int

  public init(size: Int, stride: Int, padding: Int) {
    self.size = size
    self.stride = stride
    self.padding = padding
  }

  /// The network's input: every pixel sees itself.
  public static let input = AxisField(size: 1, stride: 1, padding: 0)

  /// After a window of `kernel` taps `dilation` apart, moved by `stride`, with `padding` before the first:
  /// `k_eff = d(k-1)+1`, `r' = r + (k_eff-1)j`, `j' = js`, `p' = p + pad*j`. Nil past 64 bits.
  func through(kernel: Int, stride s: Int, padding pad: Int, dilation: Int) -> AxisField? {
    guard let span = try? cmul(dilation, kernel - 1),
          let size = try? cadd(size, try cmul(span, stride)),
          let jump = try? cmul(stride, s),
          let padding = try? cadd(padding, try cmul(pad, stride))
    else { return nil }
    return AxisField(size: size, stride: jump, padding: padding)
  }

  /// Where several values join (concatenation, addition, multiplication), the first output pixel's window is
  /// the union of theirs; when their strides differ the largest is kept (later windows are then approximate).
  /// For branches centred on the same pixel, as every inception or residual branch is, the union is simply
  /// the largest receptive field.
  static func union(_ fields: [AxisField]) -> AxisField? {
    guard let first = fields.first else { return nil }
    var padding = first.padding, stride = first.stride
    var reach = first.size - first.padding  // one past the last input pixel the window covers
    for f in fields.dropFirst() {
      padding = max(padding, f.padding)
      stride = max(stride, f.stride)
      reach = max(reach, f.size - f.padding)
    }
    guard let size = try? cadd(reach, padding) else { return nil }
    return AxisField(size: size, stride: stride, padding: padding)
  }
}

/// The receptive field of one value along its height and width.
public struct ReceptiveField: Equatable, Sendable {
  public var height: AxisField
  public var width: AxisField

  public init(height: AxisField, width: AxisField) {
    self.height = height
    self.width = width
  }

  public static let input = ReceptiveField(height: .input, width: .input)

  /// The field of every value of a network, indexed by value id. Nil where it is not a whole number of input
  /// pixels: after a transposed convolution or an upsampling (an output pixel then moves by a fraction of
  /// an input pixel), after anything computed from such a value, and where a figure would not fit in 64 bits.
  public static func of(_ net: CheckedNetwork) -> [ReceptiveField?] {
    var fields = [ReceptiveField?](repeating: nil, count: net.values.count)
    guard !fields.isEmpty else { return fields }
    fields[0] = .input
    for op in net.ops where fields.indices.contains(op.output) {
      guard !op.inputs.isEmpty, op.inputs.allSatisfy(fields.indices.contains) else { continue }
      let inputs = op.inputs.compactMap { fields[$0] }
      guard inputs.count == op.inputs.count else { continue }
      fields[op.output] = field(of: op.op, inputs: inputs, inputShape: net.values[op.inputs[0]],
                                outputShape: net.values[op.output])
    }
    return fields
  }

  static func field(of op: any Operation, inputs: [ReceptiveField], inputShape: Shape, outputShape: Shape) -> ReceptiveField? {
    switch op.receptiveWindow(input: inputShape, output: outputShape) {
    case .fractional:
      return nil
    case .window(let kernel, let stride, let padding, let dilation):
      return inputs[0].through(kernel: kernel, stride: stride, padding: padding, dilation: dilation)
    case .samePlace:
      // Pointwise layers, normalisations, linear layers and flattening pass the field through; joins unite it.
      guard let height = AxisField.union(inputs.map(\.height)),
            let width = AxisField.union(inputs.map(\.width)) else { return nil }
      return ReceptiveField(height: height, width: width)
    }
  }

  func through(kernel: (h: Int, w: Int), stride: (h: Int, w: Int), padding: (h: Int, w: Int),
               dilation: (h: Int, w: Int)) -> ReceptiveField? {
    guard let height = height.through(kernel: kernel.h, stride: stride.h, padding: padding.h, dilation: dilation.h),
          let width = width.through(kernel: kernel.w, stride: stride.w, padding: padding.w, dilation: dilation.w)
    else { return nil }
    return ReceptiveField(height: height, width: width)
  }

}
