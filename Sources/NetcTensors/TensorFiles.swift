// NetcTensors: weights and tensors in and out (safetensors, .npy), element conversions.
import NetcBasic

/// A tensor file that cannot be used; the message names the tensor, what was expected and what was found.
public struct TensorFileError: Error, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

public enum ElementType: String, Sendable {
  case f32 = "F32", f16 = "F16", bf16 = "BF16"
  public var size: Int { self == .f32 ? 4 : 2 }
}

/// Element conversions, bit-exact (round to nearest even when narrowing).
public enum FloatBits {
  public static func f16ToF32(_ h: UInt16) -> Float {
    let sign = UInt32(h >> 15) << 31
    var exp = Int32((h >> 10) & 0x1F)
    var mant = UInt32(h & 0x3FF)
    if exp == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
    if exp == 0 {
      if mant == 0 { return Float(bitPattern: sign) }
      while mant & 0x400 == 0 { mant <<= 1; exp -= 1 }
      exp += 1
      mant &= 0x3FF
    }
    return Float(bitPattern: sign | UInt32(exp + 112) << 23 | mant << 13)
  }

  public static func f32ToF16(_ f: Float) -> UInt16 { Float16(f).bitPattern }
  public static func bf16ToF32(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }
  public static func f32ToBF16(_ f: Float) -> UInt16 {
    let bits = f.bitPattern
    if f.isNaN { return UInt16(bits >> 16) | 0x40 }
    let rounding = 0x7FFF + ((bits >> 16) & 1)
    return UInt16((bits &+ rounding) >> 16)
  }

  static func decode(_ bytes: ArraySlice<UInt8>, _ type: ElementType) -> [Float] {
    var out = [Float](repeating: 0, count: bytes.count / type.size)
    out.withUnsafeMutableBufferPointer { decode(bytes, type, into: $0.baseAddress!) }
    return out
  }

  /// Decodes bytes.count / type.size values into `out`, which must hold that many.
  static func decode(_ bytes: ArraySlice<UInt8>, _ type: ElementType, into out: UnsafeMutablePointer<Float>) {
    let n = bytes.count / type.size
    bytes.withUnsafeBytes { raw in
      switch type {
      case .f32:
        for k in 0..<n { out[k] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self))) }
      case .f16:
        for k in 0..<n { out[k] = f16ToF32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self))) }
      case .bf16:
        for k in 0..<n { out[k] = bf16ToF32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self))) }
      }
    }
  }

  static func encode(_ xs: [Float], _ type: ElementType, into out: inout [UInt8]) {
    out.reserveCapacity(out.count + xs.count * type.size)
    for x in xs {
      switch type {
      case .f32:
        let b = x.bitPattern
        out += [UInt8(b & 0xFF), UInt8(b >> 8 & 0xFF), UInt8(b >> 16 & 0xFF), UInt8(b >> 24)]
      case .f16, .bf16:
        let h = type == .f16 ? f32ToF16(x) : f32ToBF16(x)
        out += [UInt8(h & 0xFF), UInt8(h >> 8)]
      }
    }
  }
}

/// safetensors: an 8-byte little-endian header length, a JSON header naming every tensor's dtype, shape and
/// byte range, then the data. Every offset is checked before it is used.
public enum SafeTensors {
  public struct Entry: Sendable {
    public var name: String
    public var type: ElementType
    public var shape: [Int]
    public var range: Range<Int>   // into the file's bytes
  }

  public static let maxHeader = 100 << 20

  public static func entries(_ bytes: [UInt8]) throws -> [Entry] {
    try entries(fileSize: bytes.count) { range in Array(bytes[range]) }
  }

  /// The entries of a safetensors file of `fileSize` bytes, reading only its header through `read`, which
  /// is given ranges inside the file.
  public static func entries(fileSize: Int, read: (Range<Int>) throws -> [UInt8]) throws -> [Entry] {
    guard fileSize >= 8 else { throw TensorFileError("the file is \(fileSize) bytes, too short for a safetensors header") }
    let length = try read(0..<8)
    var n: UInt64 = 0
    for k in 0..<8 { n |= UInt64(length[k]) << (8 * UInt64(k)) }
    guard n <= UInt64(maxHeader), Int(n) <= fileSize - 8 else {
      throw TensorFileError("the header claims \(n) bytes but the file holds \(fileSize - 8) after the length (truncated, or not a safetensors file)")
    }
    let header: JSONValue
    do { header = try JSONValue.parse(try read(8..<(8 + Int(n)))) } catch let e as TensorFileError {
      throw e
    } catch {
      throw TensorFileError("the safetensors header is not valid JSON: \(error)")
    }
    guard let fields = header.objectValue else { throw TensorFileError("the safetensors header is not a JSON object") }
    let dataStart = 8 + Int(n)
    let dataSize = fileSize - dataStart
    var out: [Entry] = []
    for (name, v) in fields where name != "__metadata__" {
      guard let dt = v["dtype"]?.stringValue else { throw TensorFileError("tensor '\(name)' has no dtype") }
      guard let type = ElementType(rawValue: dt) else {
        throw TensorFileError("tensor '\(name)' has dtype \(dt); netc reads F32, F16 and BF16")
      }
      guard let shapeJSON = v["shape"]?.arrayValue, let offs = v["data_offsets"]?.arrayValue, offs.count == 2,
        let begin = offs[0].intValue, let end = offs[1].intValue
      else { throw TensorFileError("tensor '\(name)' lacks a shape or data_offsets") }
      var shape: [Int] = []
      var count = 1
      for d in shapeJSON {
        guard let x = d.intValue, x >= 0, x <= 1 << 40 else { throw TensorFileError("tensor '\(name)' has a bad shape") }
        shape.append(x)
        let (m, o) = count.multipliedReportingOverflow(by: x)
        guard !o, m <= 1 << 40 else { throw TensorFileError("tensor '\(name)' is impossibly large") }
        count = m
      }
      guard begin >= 0, end >= begin, end <= dataSize else {
        throw TensorFileError("tensor '\(name)' claims bytes \(begin)..<\(end) but the data section holds \(dataSize) bytes")
      }
      guard end - begin == count * type.size else {
        throw TensorFileError("tensor '\(name)': shape \(shape) of \(dt) needs \(count * type.size) bytes, its offsets span \(end - begin)")
      }
      out.append(Entry(name: name, type: type, shape: shape, range: (dataStart + begin)..<(dataStart + end)))
    }
    return out
  }

  public static func write(_ tensors: [(name: String, shape: [Int], data: [Float])], as type: ElementType = .f32) -> [UInt8] {
    var header: [(String, JSONValue)] = [("__metadata__", .object([("format", .string("pt")), ("producer", .string("netc"))]))]
    var offset = 0
    for t in tensors {
      let size = t.data.count * type.size
      header.append((t.name, .object([("dtype", .string(type.rawValue)), ("shape", .array(t.shape.map { .int($0) })),
                                      ("data_offsets", .array([.int(offset), .int(offset + size)]))])))
      offset += size
    }
    var h = Array(JSONValue.object(header).rendered(indent: 0).utf8)
    while (h.count + 8) % 8 != 0 { h.append(0x20) }
    var out: [UInt8] = []
    let n = UInt64(h.count)
    for k in 0..<8 { out.append(UInt8(n >> (8 * UInt64(k)) & 0xFF)) }
    out += h
    for t in tensors { FloatBits.encode(t.data, type, into: &out) }
    return out
  }
}

/// NumPy's .npy format, version 1 to 3, little-endian float32/float16/float64, C order.
public enum NPY {
  public static func read(_ bytes: [UInt8]) throws -> (shape: [Int], data: [Float]) {
    let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw TensorFileError("not a .npy file (no \\x93NUMPY magic)") }
    let major = bytes[6]
    var headerLength: Int
    var start: Int
    if major == 1 {
      headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
      start = 10
    } else if major == 2 || major == 3 {
      guard bytes.count >= 12 else { throw TensorFileError("the .npy header is truncated") }
      headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
      start = 12
    } else {
      throw TensorFileError(".npy version \(major) is not supported")
    }
    guard headerLength <= bytes.count - start else { throw TensorFileError("the .npy header is truncated") }
    let header = String(decoding: bytes[start..<(start + headerLength)], as: UTF8.self)
    func field(_ key: String) -> String? {
      let needle = Array("'\(key)':".utf8)
      let h = Array(header.utf8)
      guard h.count >= needle.count else { return nil }
      for i in 0...(h.count - needle.count) where Array(h[i..<(i + needle.count)]) == needle {
        return String(decoding: h[(i + needle.count)...].drop(while: { $0 == 0x20 }), as: UTF8.self)
      }
      return nil
    }
    guard let descr = field("descr"), let fortran = field("fortran_order"), let shapeText = field("shape") else {
      throw TensorFileError("the .npy header lacks descr, fortran_order or shape")
    }
    if fortran.hasPrefix("True") { throw TensorFileError("the .npy array is in Fortran order; save it in C order") }
    let type: String
    if descr.hasPrefix("'<f4'") || descr.hasPrefix("'|f4'") { type = "f4" }
    else if descr.hasPrefix("'<f2'") { type = "f2" }
    else if descr.hasPrefix("'<f8'") { type = "f8" }
    else { throw TensorFileError("the .npy array has dtype \(descr.prefix(while: { $0 != "," })); netc reads float32, float16 and float64") }
    guard let open = shapeText.firstIndex(of: "("),
          let close = shapeText[open...].firstIndex(of: ")") else {
      throw TensorFileError("the .npy shape is malformed")
    }
    var shape: [Int] = []
    var count = 1
    for part in shapeText[shapeText.index(after: open)..<close].split(separator: ",") {
      let t = part.trimmingCharacters(in: " ")
      if t.isEmpty { continue }
      guard let d = Int(t), d >= 0, d <= 1 << 40 else { throw TensorFileError("the .npy shape is malformed") }
      let (m, o) = count.multipliedReportingOverflow(by: d)
      guard !o, m <= 1 << 40 else { throw TensorFileError("the .npy array is impossibly large") }
      count = m
      shape.append(d)
    }
    let dataStart = start + headerLength
    let size = type == "f8" ? 8 : type == "f4" ? 4 : 2
    guard bytes.count - dataStart == count * size else {
      throw TensorFileError("the .npy array of shape \(shape) needs \(count * size) bytes of data, the file holds \(bytes.count - dataStart)")
    }
    let body = bytes[dataStart...]
    switch type {
    case "f4": return (shape, FloatBits.decode(body, .f32))
    case "f2": return (shape, FloatBits.decode(body, .f16))
    default:
      var out = [Float](repeating: 0, count: count)
      var i = dataStart
      for k in 0..<count {
        var bits: UInt64 = 0
        for j in 0..<8 { bits |= UInt64(bytes[i + j]) << (8 * UInt64(j)) }
        out[k] = Float(Double(bitPattern: bits))
        i += 8
      }
      return (shape, out)
    }
  }

  public static func write(shape: [Int], data: [Float]) -> [UInt8] {
    let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
    var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(dims)), }"
    while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
    header += "\n"
    var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
    let n = header.utf8.count
    out += [UInt8(n & 0xFF), UInt8(n >> 8)]
    out += Array(header.utf8)
    FloatBits.encode(data, .f32, into: &out)
    return out
  }
}

extension StringProtocol {
  fileprivate func trimmingCharacters(in set: String) -> String {
    String(self.drop(while: { set.contains($0) }).reversed().drop(while: { set.contains($0) }).reversed())
  }
}
