/// A strict JSON reader for the headers of weight files and plans. Depth- and size-limited: a hostile
/// file gets an error, never a crash.
public struct JSONParseError: Error, CustomStringConvertible {
  public var message: String
  public var offset: Int
  public var description: String { "\(message) at byte \(offset)" }
}

extension JSONValue {
  /// `maxArrayCount` bounds every array: a format whose arrays are short (a safetensors header's shapes
  /// and offsets) refuses a long one as it reads it, before holding millions of values.
  public static func parse(_ bytes: [UInt8], maxDepth: Int = 64, maxArrayCount: Int = .max) throws -> JSONValue {
    var p = JSONReader(bytes: bytes, maxDepth: maxDepth, maxArrayCount: maxArrayCount)
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
  let maxArrayCount: Int
  var pos = 0

  init(bytes: [UInt8], maxDepth: Int, maxArrayCount: Int) {
    self.bytes = bytes
    self.maxDepth = maxDepth
    self.maxArrayCount = maxArrayCount
  }

  func fail(_ m: String) -> JSONParseError { JSONParseError(message: m, offset: pos) }

  mutating func skipSpace() {
    while pos < bytes.count {
      switch bytes[pos] {
      case 0x20, 0x09, 0x0A, 0x0D: pos += 1
      default: return
      }
    }
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
        guard xs.count < maxArrayCount else { throw fail("an array longer than \(maxArrayCount) elements") }
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

  /// A string, escapes decoded. Raw control characters and unknown escapes are refused, as JSON does; a
  /// lone UTF-16 surrogate (which Python's json writes) becomes U+FFFD.
  mutating func string() throws -> String {
    pos += 1
    var out: [UInt8] = []
    while pos < bytes.count {
      let b = bytes[pos]
      pos += 1
      if b == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
      if b < 0x20 { pos -= 1; throw fail("control character in a string") }
      if b != UInt8(ascii: "\\") { out.append(b); continue }
      guard pos < bytes.count else { break }
      let e = bytes[pos]
      pos += 1
      switch e {
      case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
      case UInt8(ascii: "n"): out.append(0x0A)
      case UInt8(ascii: "t"): out.append(0x09)
      case UInt8(ascii: "r"): out.append(0x0D)
      case UInt8(ascii: "b"): out.append(0x08)
      case UInt8(ascii: "f"): out.append(0x0C)
      case UInt8(ascii: "u"):
        var scalar = try hex4()
        if (0xD800..<0xDC00).contains(scalar), pos + 6 <= bytes.count, bytes[pos] == UInt8(ascii: "\\"),
          bytes[pos + 1] == UInt8(ascii: "u")
        {
          let save = pos
          pos += 2
          let low = try hex4()
          if (0xDC00..<0xE000).contains(low) {
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
          } else {
            pos = save
          }
        }
        out.append(contentsOf: Array(String(UnicodeScalar(scalar).map(Character.init) ?? "\u{FFFD}").utf8))
      default:
        pos -= 1
        throw fail("unknown escape '\\\(String(UnicodeScalar(e)))' in a string")
      }
    }
    throw fail("unterminated string")
  }

  /// Four hexadecimal digits after `\u`.
  mutating func hex4() throws -> UInt32 {
    guard pos + 4 <= bytes.count else { throw fail("bad \\u escape") }
    var v: UInt32 = 0
    for b in bytes[pos..<(pos + 4)] {
      let digit: UInt8
      switch b {
      case 0x30...0x39: digit = b - 0x30
      case 0x41...0x46: digit = b - 0x41 + 10
      case 0x61...0x66: digit = b - 0x61 + 10
      default: throw fail("bad \\u escape")
      }
      v = v << 4 | UInt32(digit)
    }
    pos += 4
    return v
  }

  /// A number as JSON spells it: `-`, digits without a leading zero, an optional fraction and exponent.
  /// An integer that does not fit in 64 bits becomes a Double (and no safetensors offset or size).
  mutating func number() throws -> JSONValue {
    let start = pos
    func digits() -> Int {
      let begin = pos
      while pos < bytes.count, bytes[pos] >= 0x30, bytes[pos] <= 0x39 { pos += 1 }
      return pos - begin
    }
    if pos < bytes.count, bytes[pos] == UInt8(ascii: "-") { pos += 1 }
    let intStart = pos
    let intDigits = digits()
    guard intDigits > 0 else { pos = start; throw fail("unexpected character") }
    if intDigits > 1, bytes[intStart] == 0x30 { pos = intStart; throw fail("a number with a leading zero") }
    var isInteger = true
    if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
      pos += 1
      guard digits() > 0 else { throw fail("expected digits after '.'") }
      isInteger = false
    }
    if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
      pos += 1
      if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
      guard digits() > 0 else { throw fail("expected digits in the exponent") }
      isInteger = false
    }
    let text = String(decoding: bytes[start..<pos], as: UTF8.self)
    if isInteger, let i = Int(text) { return .int(i) }
    guard let d = Double(text) else { pos = start; throw fail("unreadable number") }
    return .double(d)
  }
}
