/// A tiny ordered JSON value and printer: keys keep the order they were written in, so output is stable
/// and diffable (Foundation's JSONSerialization does not promise key order). Not `indirect`: arrays and
/// objects already hold their elements out of line, and boxing every number of a parsed header cost an
/// allocation (and 48 bytes) each.
public enum JSONValue: Sendable, Equatable {
  case null
  case bool(Bool)
  case int(Int)
  case double(Double)
  case string(String)
  case array([JSONValue])
  case object([(String, JSONValue)])

  public static func == (a: JSONValue, b: JSONValue) -> Bool { a.rendered() == b.rendered() }

  public func rendered(indent: Int = 2) -> String {
    var out = ""
    write(into: &out, level: 0, indent: indent)
    return out
  }

  private func write(into out: inout String, level: Int, indent: Int) {
    let pad = String(repeating: " ", count: (level + 1) * indent)
    let closePad = String(repeating: " ", count: level * indent)
    let nl = indent > 0 ? "\n" : ""
    switch self {
    case .null: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .int(let i): out += String(i)
    case .double(let d):
      if d.isFinite { out += d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : "\(d)" } else { out += "null" }
    case .string(let s): out += JSONValue.quote(s)
    case .array(let xs):
      if xs.isEmpty { out += "[]"; return }
      // Shapes and other lists of scalars read best on one line: [1, 3, 224, 224].
      if indent > 0, xs.allSatisfy(\.isScalar) {
        out += "[" + xs.map { $0.rendered(indent: 0) }.joined(separator: ", ") + "]"
        return
      }
      out += "[" + nl
      for (i, x) in xs.enumerated() {
        out += pad
        x.write(into: &out, level: level + 1, indent: indent)
        out += (i + 1 < xs.count ? "," : "") + nl
      }
      out += closePad + "]"
    case .object(let kv):
      if kv.isEmpty { out += "{}"; return }
      out += "{" + nl
      for (i, (k, v)) in kv.enumerated() {
        out += pad + JSONValue.quote(k) + (indent > 0 ? ": " : ":")
        v.write(into: &out, level: level + 1, indent: indent)
        out += (i + 1 < kv.count ? "," : "") + nl
      }
      out += closePad + "}"
    }
  }

  var isScalar: Bool {
    switch self {
    case .array, .object: return false
    default: return true
    }
  }

  public static func quote(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
      switch u {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if u.value < 0x20 {
          let hex = String(u.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
          out.unicodeScalars.append(u)
        }
      }
    }
    return out + "\""
  }
}
