// NetcTensors: weights and tensors in and out (safetensors, .npy), element conversions.
import NetcBasic
import NetcOps

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

  /// Appends `xs` little-endian. The caller reserves the whole file once: reserving each tensor's exact
  /// size here reallocated the file per tensor (`netc init` of 40,000 tensors: 10 s).
  static func encode(_ xs: [Float], _ type: ElementType, into out: inout [UInt8]) {
    // A whole tensor at once: appending four bytes a value took 3.9 s for AlexNet's 62 M weights, copying
    // the floats' bytes 0.4 s.
    switch type {
    case .f32:
      #if _endian(little)
        xs.withUnsafeBytes { out.append(contentsOf: $0) }
      #else
        xs.map { $0.bitPattern.littleEndian }.withUnsafeBytes { out.append(contentsOf: $0) }
      #endif
    case .f16, .bf16:
      xs.map { (type == .f16 ? f32ToF16($0) : f32ToBF16($0)).littleEndian }.withUnsafeBytes { out.append(contentsOf: $0) }
    }
  }
}

/// safetensors: an 8-byte little-endian header length, a JSON header naming every tensor's dtype, shape and
/// byte range, then the data. Every offset is checked before it is used.
public enum SafeTensors {
  public struct Entry: Sendable {
    public var name: String
    /// As the header names it: `F32`, `I64`.
    public var dtype: String
    /// Bytes per element.
    public var elementSize: Int
    /// The float type netc decodes; nil for the other dtypes (PyTorch's integer buffers, such as batch
    /// norm's `num_batches_tracked`), which netc never reads.
    public var type: ElementType?
    public var shape: [Int]
    public var range: Range<Int>   // into the file's bytes

    public var isInteger: Bool { type == nil && dtype != "F64" && !dtype.hasPrefix("F8") }
  }

  /// Every dtype the format defines, with its size in bytes.
  static let dtypeSizes: [String: Int] = [
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8,
  ]

  /// The reference implementation's limit on the header.
  public static let maxHeader = 100 << 20
  /// Most dimensions of a tensor (numpy's limit); no array in a header is longer.
  static let maxDimensions = 64

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
    guard n <= UInt64(maxHeader) else {
      throw TensorFileError("the header claims \(n) bytes; safetensors refuses headers over \(grouped(maxHeader)) bytes")
    }
    guard Int(n) <= fileSize - 8 else {
      throw TensorFileError("the header claims \(n) bytes but the file holds \(fileSize - 8) after the length (truncated, or not a safetensors file)")
    }
    let header: JSONValue
    do {
      header = try JSONValue.parse(try read(8..<(8 + Int(n))), maxDepth: 8, maxArrayCount: maxDimensions)
    } catch let e as TensorFileError {
      throw e
    } catch {
      throw TensorFileError("the safetensors header is not valid JSON: \(error)")
    }
    guard let fields = header.objectValue else { throw TensorFileError("the safetensors header is not a JSON object") }
    let dataStart = 8 + Int(n)
    let dataSize = fileSize - dataStart
    var out: [Entry] = []
    // JSON leaves duplicate keys to the reader, and readers differ on which one wins; the format forbids them.
    var names: Set<String> = []
    for (name, v) in fields {
      guard names.insert(name).inserted else { throw TensorFileError("the safetensors header names '\(name)' twice") }
      if name == "__metadata__" { continue }
      var keys: Set<String> = []
      for (key, _) in v.objectValue ?? [] where !keys.insert(key).inserted {
        throw TensorFileError("tensor '\(name)' gives '\(key)' twice")
      }
      guard let dt = v["dtype"]?.stringValue else { throw TensorFileError("tensor '\(name)' has no dtype") }
      guard let size = dtypeSizes[dt] else {
        throw TensorFileError("tensor '\(name)' has dtype \(dt), which safetensors does not define")
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
      guard end - begin == count * size else {
        throw TensorFileError("tensor '\(name)': shape \(shape) of \(dt) needs \(count * size) bytes, its offsets span \(end - begin)")
      }
      out.append(Entry(name: name, dtype: dt, elementSize: size, type: ElementType(rawValue: dt), shape: shape,
                       range: (dataStart + begin)..<(dataStart + end)))
    }
    try checkTiling(out, dataStart: dataStart, fileSize: fileSize)
    return out
  }

  /// The format gives every tensor bytes of its own and leaves no byte over: in order of their offsets,
  /// the tensors cover the data section exactly. Overlapping tensors would read the same bytes under two
  /// names, and bytes in a gap belong to nothing (a place to hide another file); the reference
  /// implementation refuses both, and so does netc.
  static func checkTiling(_ entries: [Entry], dataStart: Int, fileSize: Int) throws {
    let sorted = entries.sorted {
      ($0.range.lowerBound, $0.range.upperBound, $0.name) < ($1.range.lowerBound, $1.range.upperBound, $1.name)
    }
    func bytes(_ e: Entry) -> String { "bytes \(e.range.lowerBound - dataStart)..<\(e.range.upperBound - dataStart)" }
    var end = dataStart
    var previous: Entry?
    for e in sorted {
      if e.range.lowerBound < end, let p = previous {
        throw TensorFileError("tensors '\(p.name)' (\(bytes(p))) and '\(e.name)' (\(bytes(e))) overlap; safetensors gives each tensor bytes of its own")
      }
      if e.range.lowerBound > end {
        throw TensorFileError("bytes \(end - dataStart)..<\(e.range.lowerBound - dataStart) of the data section belong to no tensor (safetensors allows no gaps)")
      }
      end = e.range.upperBound
      previous = e
    }
    if end < fileSize {
      throw TensorFileError("the last \(grouped(fileSize - end)) bytes of the file belong to no tensor (safetensors allows no gaps)")
    }
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
    out.reserveCapacity(tensors.reduce(8 + h.count) { $0 + $1.data.count * type.size })
    let n = UInt64(h.count)
    for k in 0..<8 { out.append(UInt8(n >> (8 * UInt64(k)) & 0xFF)) }
    out += h
    for t in tensors { FloatBits.encode(t.data, type, into: &out) }
    return out
  }
}

/// NumPy's .npy format, version 1 to 3, little-endian float32/float16/float64, C order.
public enum NPY {
  /// numpy's own limit on a header (`max_header_size` in numpy/lib/format.py): it refuses a longer one as
  /// unsafe to parse. netc's reader is linear, but a header of megabytes of padding is no .npy file.
  public static let maxHeaderBytes = 10_000
  /// Most elements and dimensions of a tensor; the file must hold exactly its elements anyway.
  static let maxElements = 1 << 40
  static let maxDimensions = 64

  public static func read(_ bytes: [UInt8]) throws -> (shape: [Int], data: [Float]) {
    try read(fileSize: bytes.count) { range in Array(bytes[range]) }
  }

  /// The tensor of a .npy file of `fileSize` bytes, read through `read` (given ranges inside the file):
  /// the header is checked before the data is read, so a hostile header costs a few kilobytes.
  public static func read(fileSize: Int, read: (Range<Int>) throws -> [UInt8]) throws -> (shape: [Int], data: [Float]) {
    let layout = try self.layout(fileSize: fileSize, read: read)
    let body = try read(layout.data)
    guard body.count == layout.data.count else { throw TensorFileError("the .npy file ended early (truncated while reading?)") }
    guard let type = layout.type else {
      var out = [Float](repeating: 0, count: layout.count)
      body.withUnsafeBytes { raw in
        for k in 0..<layout.count {
          out[k] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self))))
        }
      }
      return (layout.shape, out)
    }
    return (layout.shape, FloatBits.decode(body[...], type))
  }

  /// Where a .npy file's data is and what it holds: `type` nil is float64.
  public struct Layout {
    public var shape: [Int]
    public var type: ElementType?
    public var count: Int
    public var data: Range<Int>
  }

  public static func layout(fileSize: Int, read: (Range<Int>) throws -> [UInt8]) throws -> Layout {
    let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    guard fileSize >= 10 else { throw TensorFileError("not a .npy file (no \\x93NUMPY magic)") }
    let prefix = try read(0..<min(fileSize, 12))
    guard prefix.count >= 10, Array(prefix[0..<6]) == magic else { throw TensorFileError("not a .npy file (no \\x93NUMPY magic)") }
    let major = prefix[6]
    let headerLength: Int
    let start: Int
    if major == 1 {
      headerLength = Int(prefix[8]) | Int(prefix[9]) << 8
      start = 10
    } else if major == 2 || major == 3 {
      guard prefix.count >= 12 else { throw TensorFileError("the .npy header is truncated") }
      headerLength = Int(prefix[8]) | Int(prefix[9]) << 8 | Int(prefix[10]) << 16 | Int(prefix[11]) << 24
      start = 12
    } else {
      throw TensorFileError(".npy version \(major) is not supported")
    }
    guard headerLength <= maxHeaderBytes else {
      throw TensorFileError("the .npy header is \(grouped(headerLength)) bytes; numpy itself refuses headers over \(grouped(maxHeaderBytes)) bytes as unsafe")
    }
    guard headerLength <= fileSize - start else { throw TensorFileError("the .npy header is truncated") }
    let headerBytes = try read(start..<(start + headerLength))
    guard headerBytes.count == headerLength else { throw TensorFileError("the .npy header is truncated") }
    var parser = HeaderParser(headerBytes[...])
    let header = try parser.parse()
    if header.fortranOrder { throw TensorFileError("the .npy array is in Fortran order; save it in C order") }
    let type: ElementType?
    let size: Int
    switch header.descr {
    case "<f4", "|f4": (type, size) = (.f32, 4)
    case "<f2": (type, size) = (.f16, 2)
    case "<f8": (type, size) = (nil, 8)
    default:
      throw TensorFileError("the .npy array has dtype '\(header.descr)'; netc reads float32, float16 and float64 (little-endian)")
    }
    var count = 1
    for d in header.shape {
      let (m, o) = count.multipliedReportingOverflow(by: d)
      guard !o, m <= maxElements else { throw TensorFileError("the .npy array is impossibly large") }
      count = m
    }
    let dataStart = start + headerLength
    guard fileSize - dataStart == count * size else {
      throw TensorFileError("the .npy array of shape \(header.shape) needs \(count * size) bytes of data, the file holds \(fileSize - dataStart)")
    }
    return Layout(shape: header.shape, type: type, count: count, data: dataStart..<fileSize)
  }

  /// The header: a Python dict literal of exactly 'descr' (a string), 'fortran_order' (True or False) and
  /// 'shape' (a tuple of integers), padded with spaces and a newline. Parsed in one pass; anything else is
  /// refused, as numpy refuses it.
  struct Header {
    var descr: String
    var fortranOrder: Bool
    var shape: [Int]
  }

  struct HeaderParser {
    let bytes: ArraySlice<UInt8>
    var pos: Int

    init(_ bytes: ArraySlice<UInt8>) {
      self.bytes = bytes
      pos = bytes.startIndex
    }

    func malformed(_ what: String) -> TensorFileError {
      TensorFileError("the .npy header is malformed: \(what) at byte \(pos - bytes.startIndex)")
    }

    var current: UInt8? { pos < bytes.endIndex ? bytes[pos] : nil }

    mutating func skipSpace() {
      while let b = current, b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { pos += 1 }
    }

    mutating func expect(_ c: Character) throws {
      guard let b = current, b == c.asciiValue else { throw malformed("expected '\(c)'") }
      pos += 1
    }

    mutating func parse() throws -> Header {
      var descr: String?
      var fortranOrder: Bool?
      var shape: [Int]?
      skipSpace()
      try expect("{")
      while true {
        skipSpace()
        if current == UInt8(ascii: "}") { pos += 1; break }
        let key = try string()
        skipSpace()
        try expect(":")
        skipSpace()
        switch key {
        case "descr" where descr == nil: descr = try string()
        case "fortran_order" where fortranOrder == nil: fortranOrder = try bool()
        case "shape" where shape == nil: shape = try tuple()
        case "descr", "fortran_order", "shape": throw TensorFileError("the .npy header gives '\(key)' twice")
        default: throw TensorFileError("the .npy header has the unknown key '\(key)'")
        }
        skipSpace()
        if current == UInt8(ascii: ",") { pos += 1; continue }
        try expect("}")
        break
      }
      skipSpace()
      guard pos == bytes.endIndex else { throw malformed("text after the header's dict") }
      guard let descr, let fortranOrder, let shape else {
        throw TensorFileError("the .npy header lacks descr, fortran_order or shape")
      }
      return Header(descr: descr, fortranOrder: fortranOrder, shape: shape)
    }

    /// A quoted string without escapes (no dtype string or key has any).
    mutating func string() throws -> String {
      guard let quote = current, quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else {
        throw malformed("expected a quoted string")
      }
      pos += 1
      let begin = pos
      while let b = current, b != quote {
        guard b != UInt8(ascii: "\\"), b >= 0x20 else { throw malformed("unexpected character in a string") }
        pos += 1
      }
      guard current == quote else { throw malformed("unterminated string") }
      pos += 1
      return String(decoding: bytes[begin..<(pos - 1)], as: UTF8.self)
    }

    mutating func bool() throws -> Bool {
      for (word, value) in [("True", true), ("False", false)] where bytes[pos...].starts(with: word.utf8) {
        pos += word.utf8.count
        return value
      }
      throw malformed("expected True or False")
    }

    /// `()`, `(3,)`, `(2, 3)`; Python 2 wrote `3L`.
    mutating func tuple() throws -> [Int] {
      func malformedShape(_ what: String) -> TensorFileError { TensorFileError("the .npy shape is malformed: \(what)") }
      guard current == UInt8(ascii: "(") else { throw malformedShape("it is not a tuple such as (1, 3, 224, 224)") }
      pos += 1
      var dims: [Int] = []
      while true {
        skipSpace()
        if current == UInt8(ascii: ")") { pos += 1; return dims }
        if current == UInt8(ascii: "-") { throw malformedShape("a dimension is negative") }
        let begin = pos
        var value = 0
        while let b = current, b >= 0x30, b <= 0x39 {
          value = value * 10 + Int(b - 0x30)
          guard value <= NPY.maxElements else { throw TensorFileError("the .npy array is impossibly large") }
          pos += 1
        }
        guard pos > begin else { throw malformedShape("expected a dimension") }
        if current == UInt8(ascii: "L") { pos += 1 }
        dims.append(value)
        guard dims.count <= NPY.maxDimensions else { throw malformedShape("more than \(NPY.maxDimensions) dimensions") }
        skipSpace()
        if current == UInt8(ascii: ",") { pos += 1; continue }
        guard current == UInt8(ascii: ")") else { throw malformedShape("expected ',' or ')'") }
        pos += 1
        return dims
      }
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
    out.reserveCapacity(out.count + data.count * 4)
    FloatBits.encode(data, .f32, into: &out)
    return out
  }
}
