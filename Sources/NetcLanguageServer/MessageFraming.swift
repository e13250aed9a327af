// NetcLanguageServer: `netc lsp`, the Language Server Protocol over stdio. It compiles each open document
// with the compiler's own front end (NetcSema's `Compilation.compile`), figures (NetcReport's `Summary`)
// and formatter (NetcFormat), so the editor shows what `netc check`, `netc params` and `netc fmt` print.

/// The base protocol's framing: header lines `Name: value` ended by CRLF, an empty line, then exactly
/// `Content-Length` bytes of JSON. Bytes arrive in arbitrary chunks; `next()` hands out each complete
/// message. A malformed header is reported and skipped: the reader resynchronises at the next
/// `Content-Length` header, so one bad message never stops the server.
public struct MessageReader {
  public enum Item: Equatable {
    case message([UInt8])
    /// What was wrong, and where in the stream (the byte offset since the server started).
    case malformed(String, streamOffset: Int)
  }

  /// Larger bodies are refused: a spec is at most 8 MiB, and its JSON escaping at most doubles it.
  public static let maxBodyBytes = 32 << 20
  /// A header block longer than this without its empty line is garbage, not a header.
  public static let maxHeaderBytes = 8192

  private var buffer: [UInt8] = []
  private var start = 0
  /// Bytes dropped from the front of `buffer`, so offsets in reports count from the stream's start.
  private var dropped = 0
  /// Where the search for the end of the current header resumes, so that a header arriving byte by byte
  /// costs linear time.
  private var scanned = 0

  public init() {}

  public mutating func append(_ bytes: some Sequence<UInt8>) {
    if start > 65536, start * 2 > buffer.count {
      buffer.removeFirst(start)
      dropped += start
      scanned -= start
      start = 0
    }
    buffer.append(contentsOf: bytes)
  }

  /// Bytes held that no complete message has used yet.
  public var pendingByteCount: Int { buffer.count - start }

  /// The next complete message, a report of a malformed one, or nil until more bytes arrive.
  public mutating func next() -> Item? {
    // Blank lines between messages are tolerated (some clients end a body with a newline).
    while start < buffer.count, buffer[start] == 0x0D || buffer[start] == 0x0A { start += 1 }
    guard start < buffer.count else { return nil }
    scanned = max(scanned, start)
    guard let headerEnd = findHeaderEnd() else {
      if buffer.count - start > MessageReader.maxHeaderBytes {
        return malformed("no end of header within \(MessageReader.maxHeaderBytes) bytes")
      }
      return nil
    }
    var contentLength: Int?
    // Split as bytes: in a Swift String "\r\n" is one Character, which a split at "\n" would not see.
    for rawLine in buffer[start..<headerEnd.headerStop].split(separator: 0x0A) {
      let line = Substring(String(decoding: rawLine.last == 0x0D ? rawLine.dropLast() : rawLine, as: UTF8.self))
      guard let colon = line.firstIndex(of: ":") else {
        return malformed("header line '\(clipped(line))' is not 'Name: value'")
      }
      let name = line[..<colon].lowercased()
      let value = line[line.index(after: colon)...].trimmingSpaces
      if name == "content-length" {
        guard !value.isEmpty, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), value.utf8.count <= 12,
              let n = Int(value)
        else { return malformed("Content-Length '\(clipped(value))' is not a number of bytes") }
        guard n <= MessageReader.maxBodyBytes else {
          return malformed("Content-Length \(n) is over the limit of \(MessageReader.maxBodyBytes) bytes")
        }
        contentLength = n
      }
    }
    guard let length = contentLength else { return malformed("a message header without Content-Length") }
    let bodyStart = headerEnd.bodyStart
    guard buffer.count - bodyStart >= length else { return nil }
    let body = Array(buffer[bodyStart..<(bodyStart + length)])
    start = bodyStart + length
    scanned = start
    return .message(body)
  }

  /// The end of the header block at `start`: where its text stops and where the body begins.
  private mutating func findHeaderEnd() -> (headerStop: Int, bodyStart: Int)? {
    var i = max(scanned, start)
    while i + 3 < buffer.count {
      if buffer[i] == 0x0D, buffer[i + 1] == 0x0A, buffer[i + 2] == 0x0D, buffer[i + 3] == 0x0A {
        return (i, i + 4)
      }
      i += 1
    }
    scanned = max(start, i)
    return nil
  }

  /// Reports the problem at `start` and skips to the next `Content-Length` header (or keeps only a tail
  /// that may be the beginning of one).
  private mutating func malformed(_ problem: String) -> Item {
    let at = dropped + start
    let needle = Array("content-length".utf8)
    var i = start + 1
    var found: Int?
    while i + needle.count <= buffer.count {
      var matches = true
      for (k, b) in needle.enumerated() where lowercase(buffer[i + k]) != b {
        matches = false
        break
      }
      // Anywhere, not only at a line's start: after a header without a usable length, the body of
      // unknown length runs straight into the next header.
      if matches {
        found = i
        break
      }
      i += 1
    }
    start = found ?? max(start + 1, buffer.count - needle.count + 1)
    scanned = start
    return .malformed(problem, streamOffset: at)
  }

  private func lowercase(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b + 32 : b }

  private func clipped(_ text: some StringProtocol) -> String { text.count > 40 ? text.prefix(40) + "..." : String(text) }
}

/// A message as the base protocol sends it: the header, then the body.
public func framed(_ body: [UInt8]) -> [UInt8] {
  Array("Content-Length: \(body.count)\r\n\r\n".utf8) + body
}

extension Substring {
  var trimmingSpaces: String {
    String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
  }
}
