/// Protocol Buffers' wire format, the little of it ONNX needs: every field is a key (field number << 3 |
/// wire type) as a varint, then a varint (type 0), eight bytes (type 1), a length-prefixed payload (type 2:
/// strings, bytes, nested messages) or four bytes (type 5). Fields are written in the order they are
/// given; repeated scalars are written one key per element (proto2's unpacked form, which every parser
/// accepts). Little-endian throughout.
///
/// A measuring writer keeps no bytes and only counts them: the size a message would have, found without
/// building it (an ONNX model with 2.6 GB of weights inside, to learn that it is over protobuf's limit).
public struct ProtobufWriter {
  public private(set) var bytes: [UInt8] = []
  /// The bytes written so far, kept or not.
  public private(set) var count = 0
  public let measuring: Bool

  public init(measuring: Bool = false) { self.measuring = measuring }

  enum WireType: UInt64 { case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5 }

  private mutating func append(_ byte: UInt8) {
    count += 1
    if !measuring { bytes.append(byte) }
  }

  private mutating func append(_ raw: UnsafeRawBufferPointer) {
    count += raw.count
    if !measuring { bytes.append(contentsOf: raw) }
  }

  /// An unsigned LEB128 varint: seven bits a byte, low bits first, the high bit set on all but the last.
  mutating func varint(_ value: UInt64) {
    var v = value
    while v >= 0x80 {
      append(UInt8(v & 0x7F) | 0x80)
      v >>= 7
    }
    append(UInt8(v))
  }

  mutating func key(_ field: Int, _ type: WireType) {
    precondition(field > 0 && field < 1 << 29, "netc internal error: protobuf field number \(field)")
    varint(UInt64(field) << 3 | type.rawValue)
  }

  /// An int32/int64/enum field. Negative values take ten bytes (two's complement as a 64-bit varint).
  public mutating func int(_ field: Int, _ value: Int) {
    key(field, .varint)
    varint(UInt64(bitPattern: Int64(value)))
  }

  public mutating func ints(_ field: Int, _ values: [Int]) {
    for v in values { int(field, v) }
  }

  /// A float field: the IEEE 754 single-precision bits, four bytes.
  public mutating func float(_ field: Int, _ value: Float) {
    key(field, .fixed32)
    let b = value.bitPattern
    for k in 0..<4 { append(UInt8(b >> (8 * UInt32(k)) & 0xFF)) }
  }

  public mutating func string(_ field: Int, _ value: String) {
    data(field, Array(value.utf8))
  }

  /// A bytes field: the length as a varint, then the bytes.
  public mutating func data(_ field: Int, _ value: [UInt8]) {
    key(field, .lengthDelimited)
    varint(UInt64(value.count))
    value.withUnsafeBytes { append($0) }
  }

  /// A bytes field holding floats, little-endian, without an intermediate array per element.
  public mutating func floatData(_ field: Int, _ values: [Float]) {
    key(field, .lengthDelimited)
    varint(UInt64(values.count * 4))
    LittleEndian.withBytes(of: values) { append($0) }
  }

  /// An embedded message, written by `body` into a writer of its own and then copied in with its length.
  public mutating func message(_ field: Int, _ body: (inout ProtobufWriter) -> Void) {
    var inner = ProtobufWriter(measuring: measuring)
    body(&inner)
    key(field, .lengthDelimited)
    varint(UInt64(inner.count))
    if measuring { count += inner.count } else { inner.bytes.withUnsafeBytes { append($0) } }
  }
}

/// Floats as ONNX stores them, little-endian IEEE 754 single precision, whatever the machine's order.
enum LittleEndian {
  /// `values`' bytes in that order: the array's own memory on a little-endian machine, no copy made.
  static func withBytes<R>(of values: [Float], _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    #if _endian(little)
      return try values.withUnsafeBytes(body)
    #else
      let swapped = values.map { $0.bitPattern.littleEndian }
      return try swapped.withUnsafeBytes(body)
    #endif
  }
}
