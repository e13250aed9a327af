/// Prints diagnostics the way clang and swiftc do:
///
///     specs/x.net:7:4: error: fc expects 262144 inputs but receives 360448
///     fc 64*4*32*32 10
///        ^~~~~~~~~~
///     specs/x.net:5:1: note: the input is 352x32x32 = 360448
public struct DiagnosticRenderer: Sendable {
  public var useColor: Bool
  public init(useColor: Bool) { self.useColor = useColor }

  private func paint(_ s: String, _ code: String) -> String {
    useColor ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s
  }

  private func label(_ severity: Severity) -> String {
    switch severity {
    case .error: return paint("error:", "1;31")
    case .warning: return paint("warning:", "1;35")
    case .note: return paint("note:", "1;30")
    }
  }

  public func render(_ d: Diagnostic, in file: SourceFile) -> String {
    var out = ""
    out += header(d.severity, d.message, d.range, file)
    out += snippet(d.range, file, fixIts: d.fixIts)
    for note in d.notes {
      if let r = note.range {
        out += header(.note, note.message, r, file)
        out += snippet(r, file, fixIts: [])
      } else {
        out += paint("note:", "1;30") + " " + note.message + "\n"
      }
    }
    return out
  }

  public func render(_ ds: [Diagnostic], in file: SourceFile) -> String {
    ds.map { render($0, in: file) }.joined()
  }

  private func header(_ s: Severity, _ message: String, _ r: SourceRange, _ file: SourceFile) -> String {
    let (line, col) = file.lineAndColumn(of: r.start)
    let place = paint("\(file.path):\(line):\(col):", "1")
    return "\(place) \(label(s)) \(useColor ? paint(message, "1") : message)\n"
  }

  /// Longest line shown whole; of a longer one, a window of this many bytes around the caret.
  public static let widestLine = 512
  /// Bytes of a long line shown before the caret.
  public static let contextBeforeCaret = 128

  /// The source line, then a caret under the start of `r` and tildes under the rest of it on that line.
  /// A long line is cut to a window around the caret, marked with '...': a file of one long line and many
  /// diagnostics must not print (or even copy) the line once per diagnostic.
  private func snippet(_ r: SourceRange, _ file: SourceFile, fixIts: [FixIt]) -> String {
    if file.bytes.isEmpty { return "" }
    let (line, col) = file.lineAndColumn(of: r.start)
    let lineStart = file.lineStarts[line - 1]
    let newline = max(lineStart, line < file.lineStarts.count ? file.lineStarts[line] - 1 : file.bytes.count)
    var length = newline - lineStart
    if length > 0, file.bytes[newline - 1] == 13 { length -= 1 }  // CRLF line endings
    let caret = min(col - 1, length)
    var lo = 0
    var hi = length
    if length > Self.widestLine {
      lo = max(0, caret - Self.contextBeforeCaret)
      hi = min(length, lo + Self.widestLine)
      lo = max(0, hi - Self.widestLine)
      // Cut between characters, never inside one's UTF-8 bytes.
      while lo > 0, file.bytes[lineStart + lo] & 0xC0 == 0x80 { lo -= 1 }
      while hi < length, file.bytes[lineStart + hi] & 0xC0 == 0x80 { hi += 1 }
    }
    let raw = file.bytes[(lineStart + lo)..<(lineStart + hi)]
    let lead = lo > 0 ? "..." : ""
    let trail = hi < length ? "..." : ""
    // Tabs are kept so the caret lines up; other control bytes would garble a terminal.
    let shown = raw.map { b -> UInt8 in b == 9 ? 9 : (b < 32 || b == 127 ? UInt8(ascii: "?") : b) }
    let text = lead + String(decoding: shown, as: UTF8.self) + trail
    /// Spaces (and tabs) as wide as the shown bytes before `offset`, an offset into the line.
    func pad(to offset: Int) -> String {
      var out = lead.isEmpty ? "" : "   "
      // Count display columns: a UTF-8 continuation byte takes no column of its own.
      for b in raw.prefix(max(0, offset - lo)) where (b & 0xC0) != 0x80 { out += b == 9 ? "\t" : " " }
      return out
    }
    var marker = pad(to: caret)
    let spanEnd = max(caret, min(hi, min(r.end, newline) - lineStart))
    let span = file.bytes[(lineStart + caret)..<(lineStart + spanEnd)]
    let width = max(1, span.filter { ($0 & 0xC0) != 0x80 }.count)
    marker += "^" + String(repeating: "~", count: width - 1)
    var out = text + "\n" + paint(marker, "1;32") + "\n"
    // A removal shows no text of its own (JSON output carries it as an empty replacement).
    for fix in fixIts where fix.range.start >= lineStart && fix.range.start <= newline && !fix.replacement.isEmpty {
      let fixCol = fix.range.start - lineStart
      // A fix-it outside the window of a cut line would have no place to stand.
      if lo > 0 || hi < length, fixCol < lo || fixCol > hi { continue }
      let shown = fix.replacement.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? ""
      out += paint(pad(to: fixCol) + shown, "32") + "\n"
    }
    return out
  }

  /// One JSON object per diagnostic: file, line, column, severity, id, message, notes.
  public static func json(_ ds: [Diagnostic], in file: SourceFile) -> [JSONValue] {
    ds.map { d in
      let (line, col) = file.lineAndColumn(of: d.range.start)
      let (eline, ecol) = file.lineAndColumn(of: d.range.end)
      let notes: [JSONValue] = d.notes.map { n in
        var obj: [(String, JSONValue)] = [("message", .string(n.message))]
        if let r = n.range {
          let (nl, nc) = file.lineAndColumn(of: r.start)
          obj.append(("line", .int(nl)))
          obj.append(("column", .int(nc)))
        }
        return .object(obj)
      }
      let fixes: [JSONValue] = d.fixIts.map { f in
        let (fl, fc) = file.lineAndColumn(of: f.range.start)
        let (el, ec) = file.lineAndColumn(of: f.range.end)
        return .object([
          ("line", .int(fl)), ("column", .int(fc)), ("end_line", .int(el)), ("end_column", .int(ec)),
          ("replacement", .string(f.replacement)),
        ])
      }
      return .object([
        ("file", .string(file.path)), ("line", .int(line)), ("column", .int(col)),
        ("end_line", .int(eline)), ("end_column", .int(ecol)),
        ("severity", .string(d.severity.rawValue)), ("id", .string(d.id)),
        ("message", .string(d.message)), ("notes", .array(notes)), ("fixits", .array(fixes)),
      ])
    }
  }
}
