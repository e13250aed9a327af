import NetcBasic

/// A position as LSP counts it: a 0-based line and a 0-based offset in UTF-16 code units on that line.
/// netc counts in bytes of UTF-8; every range crosses between the two here.
public struct LSPPosition: Equatable, Sendable {
  public var line: Int
  public var character: Int
  public init(line: Int, character: Int) {
    self.line = line
    self.character = character
  }
}

/// Converts between netc's byte offsets and LSP positions for one text. Lines end at '\n' (as netc's
/// SourceFile counts them; a '\r' before it belongs to no column a position can name).
public struct LineIndex: Sendable {
  public let file: SourceFile
  public var bytes: [UInt8] { file.bytes }
  public var lineStarts: [Int] { file.lineStarts }

  public init(_ file: SourceFile) {
    self.file = file
  }

  public init(bytes: [UInt8]) {
    self.init(SourceFile(path: "", bytes: bytes))
  }

  /// The position of byte `offset` (clamped into the text). An offset inside a multi-byte character
  /// counts that character as passed.
  public func position(of offset: Int) -> LSPPosition {
    let offset = max(0, min(offset, bytes.count))
    let line = file.lineAndColumn(of: offset).line - 1
    var units = 0
    var i = lineStarts[line]
    while i < offset {
      let (length, width) = LineIndex.scalar(at: i, in: bytes)
      units += width
      i += length
    }
    return LSPPosition(line: line, character: units)
  }

  /// The byte offset of `position`. A line past the end is the end of the text; a character past the
  /// end of its line is the end of the line (LSP's rule); one inside a surrogate pair is the pair's start.
  public func offset(of position: LSPPosition) -> Int {
    guard position.line >= 0 else { return 0 }
    guard position.line < lineStarts.count else { return bytes.count }
    let end = lineEnd(position.line)
    var units = 0
    var i = lineStarts[position.line]
    while i < end {
      let (length, width) = LineIndex.scalar(at: i, in: bytes)
      if units + width > position.character { break }
      units += width
      i += length
    }
    return min(i, end)
  }

  /// Where 0-based `line`'s text ends, before its '\n' (and a '\r' before that).
  public func lineEnd(_ line: Int) -> Int {
    var end = line + 1 < lineStarts.count ? lineStarts[line + 1] - 1 : bytes.count
    if end > lineStarts[line], bytes[end - 1] == 0x0D { end -= 1 }
    return end
  }

  public var lineCount: Int { lineStarts.count }

  public func range(_ r: SourceRange) -> (start: LSPPosition, end: LSPPosition) {
    (position(of: r.start), position(of: r.end))
  }

  /// The bytes of the UTF-8 sequence at `i` and how many UTF-16 code units it takes: 4-byte sequences
  /// (outside the Basic Multilingual Plane) take a surrogate pair. A byte that starts no valid sequence
  /// is one unit, as the U+FFFD it decodes to.
  static func scalar(at i: Int, in bytes: [UInt8]) -> (length: Int, width: Int) {
    let b = bytes[i]
    let length: Int
    switch b {
    case 0x00..<0x80: return (1, 1)
    case 0xC2..<0xE0: length = 2
    case 0xE0..<0xF0: length = 3
    case 0xF0..<0xF5: length = 4
    default: return (1, 1)
    }
    guard i + length <= bytes.count else { return (1, 1) }
    for k in 1..<length where bytes[i + k] & 0xC0 != 0x80 { return (1, 1) }
    return (length, length == 4 ? 2 : 1)
  }
}
