/// A strict JSON reader for the headers of weight files and plans. Depth- and size-limited: a hostile
/// file gets an error, never a crash.
public struct JSONParseError: Error, CustomStringConvertible {
  public var message: String
  public var offset: Int
  public var description: String { "\(message) at byte \(offset)" }
}

extension JSONValue {
  public static func parse(_ bytes: [UInt8], maxDepth: Int = 64) throws -> JSONValue {
    var p = JSONReader(bytes: bytes, maxDepth: maxDepth)
    p.skipSpace()
    let v = try p.value(depth: 0)
    p.skipSpace()
    guard p.pos == bytes.count else { throw JSONParseError(message: "unexpected text after the JSON value", offset: p.pos) }
    return v
  }

  public subscript(key: String) -> JSONValue? {
    guard case .object(let kv) = self else { return nil }
    return kv.first { $0.0 == key }?.1
  }

  public var intValue: Int? {
    switch self {
    case .int(let i): return i
    case .double(let d) where d == d.rounded() && abs(d) < 9e15: return Int(d)
    default: return nil
    }
  }

  public var doubleValue: Double? {
    switch self {
    case .int(let i): return Double(i)
    case .double(let d): return d
    default: return nil
    }
  }

  public var stringValue: String? {
    if case .string(let s) = self { return s }
    return nil
  }

  public var arrayValue: [JSONValue]? {
    if case .array(let a) = self { return a }
    return nil
  }

  public var objectValue: [(String, JSONValue)]? {
    if case .object(let o) = self { return o }
    return nil
  }
}

struct JSONReader {
  let bytes: [UInt8]
  let maxDepth: Int
  var pos = 0

  init(bytes: [UInt8], maxDepth: Int) {
    self.bytes = bytes
    self.maxDepth = maxDepth
  }

  func fail(_ m: String) -> JSONParseError { JSONParseError(message: m, offset: pos) }

  mutating func skipSpace() {
    while pos < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[pos]) { pos += 1 }
  }

  mutating func expect(_ s: String) throws {
    for b in s.utf8 {
      guard pos < bytes.count, bytes[pos] == b else { throw fail("expected '\(s)'") }
      pos += 1
    }
  }

  mutating func value(depth: Int) throws -> JSONValue {
    guard depth < maxDepth else { throw fail("JSON nested deeper than \(maxDepth)") }
    guard pos < bytes.count else { throw fail("unexpected end of JSON") }
    switch bytes[pos] {
    case UInt8(ascii: "{"):
      pos += 1
      var kv: [(String, JSONValue)] = []
      skipSpace()
      if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(kv) }
      while true {
        skipSpace()
        guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
        let k = try string()
        skipSpace()
        try expect(":")
        skipSpace()
        kv.append((k, try value(depth: depth + 1)))
        skipSpace()
        guard pos < bytes.count else { throw fail("unexpected end of JSON object") }
        if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
        if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(kv) }
        throw fail("expected ',' or '}'")
      }
    case UInt8(ascii: "["):
      pos += 1
      var xs: [JSONValue] = []
      skipSpace()
      if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(xs) }
      while true {
        skipSpace()
        xs.append(try value(depth: depth + 1))
        skipSpace()
        guard pos < bytes.count else { throw fail("unexpected end of JSON array") }
        if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
        if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(xs) }
        throw fail("expected ',' or ']'")
      }
    case UInt8(ascii: "\""): return .string(try string())
    case UInt8(ascii: "t"): try expect("true"); return .bool(true)
    case UInt8(ascii: "f"): try expect("false"); return .bool(false)
    case UInt8(ascii: "n"): try expect("null"); return .null
    default: return try number()
    }
  }

  mutating func string() throws -> String {
    pos += 1
    var out: [UInt8] = []
    while pos < bytes.count {
      let b = bytes[pos]
      pos += 1
      if b == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
      if b == UInt8(ascii: "\\") {
        guard pos < bytes.count else { break }
        let e = bytes[pos]
        pos += 1
        switch e {
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "u"):
          guard pos + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[pos..<pos + 4], as: UTF8.self), radix: 16)
          else { throw fail("bad \\u escape") }
          pos += 4
          out.append(contentsOf: Array(String(UnicodeScalar(v).map(Character.init) ?? "\u{FFFD}").utf8))
        default: out.append(e)
        }
      } else {
        out.append(b)
      }
    }
    throw fail("unterminated string")
  }

  mutating func number() throws -> JSONValue {
    let start = pos
    while pos < bytes.count, "+-0123456789.eE".utf8.contains(bytes[pos]) { pos += 1 }
    let text = String(decoding: bytes[start..<pos], as: UTF8.self)
    if let i = Int(text) { return .int(i) }
    if let d = Double(text), !text.isEmpty { return .double(d) }
    pos = start
    throw fail("unexpected character")
  }
}
