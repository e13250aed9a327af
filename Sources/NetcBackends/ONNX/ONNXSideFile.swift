/// ONNX's external data: the weights in a file beside the model, which then holds, for each tensor moved
/// there, its place in that file (keys `location`, `offset`, `length`, as onnx and torch.onnx write them)
/// instead of its bytes. A model is one protobuf message, which cannot pass 2 GiB; its weights in a side
/// file can.
///
/// Each tensor starts at a multiple of 4096 bytes (onnx.proto asks for page-aligned offsets, so that a
/// reader can map the file), the gaps zeros. The side file holds the weight arrays themselves, not a copy:
/// `write(to:)` streams them, so a 2.6 GB model is never in memory twice.
public struct ONNXSideFile {
  /// A tensor's place: the side file's name, relative to the model's directory, and its byte range there.
  struct Place {
    var location: String
    var offset: Int
    var length: Int
  }

  public static let alignment = 4096
  /// The smallest tensor moved to the side file (onnx's own default `size_threshold`): smaller ones stay
  /// in the model, where a few bytes do not cost a 4 KiB page.
  public static let threshold = 1024

  /// The file's name, relative to the model's directory.
  public let name: String
  public private(set) var size = 0
  private var tensors: [(offset: Int, values: [Float])] = []

  init(name: String) { self.name = name }

  /// Puts a tensor at the next aligned offset.
  mutating func append(_ values: [Float]) -> Place {
    let offset = (size + Self.alignment - 1) / Self.alignment * Self.alignment
    tensors.append((offset, values))
    size = offset + values.count * 4
    return Place(location: name, offset: offset, length: values.count * 4)
  }

  /// Hands the file's bytes to `write` in order: each tensor's little-endian floats, zeros between them.
  public func write(to write: (UnsafeRawBufferPointer) throws -> Void) rethrows {
    let zeros = [UInt8](repeating: 0, count: Self.alignment)
    var at = 0
    for (offset, values) in tensors {
      if offset > at { try zeros.withUnsafeBytes { try write(UnsafeRawBufferPointer(rebasing: $0[0..<(offset - at)])) } }
      try LittleEndian.withBytes(of: values) { try write($0) }
      at = offset + values.count * 4
    }
  }
}
