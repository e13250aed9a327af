import NetcBasic

/// A JSON-RPC error the server answers with.
public struct ProtocolError: Error, Equatable {
  public enum Code: Int, Sendable {
    case parseError = -32700
    case invalidRequest = -32600
    case methodNotFound = -32601
    case invalidParams = -32602
    case internalError = -32603
    case serverNotInitialized = -32002
    case requestFailed = -32803
  }
  public var code: Code
  public var message: String
  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  var json: JSONValue { .object([("code", .int(code.rawValue)), ("message", .string(message))]) }
}

/// LSP's `Range`: two positions.
public struct LSPRange: Equatable, Sendable {
  public var start: LSPPosition
  public var end: LSPPosition

  public init(start: LSPPosition, end: LSPPosition) {
    self.start = start
    self.end = end
  }

  init(_ json: JSONValue) throws(ProtocolError) {
    guard let start = json["start"], let end = json["end"] else {
      throw ProtocolError(.invalidParams, "a range needs 'start' and 'end'")
    }
    self.start = try LSPPosition(start)
    self.end = try LSPPosition(end)
  }

  var json: JSONValue { .object([("start", start.json), ("end", end.json)]) }
}

extension LSPPosition {
  init(_ json: JSONValue) throws(ProtocolError) {
    guard let line = json["line"]?.intValue, let character = json["character"]?.intValue, line >= 0, character >= 0 else {
      throw ProtocolError(.invalidParams, "a position needs a 'line' and a 'character', each a number 0 or more")
    }
    self.init(line: line, character: character)
  }

  var json: JSONValue { .object([("line", .int(line)), ("character", .int(character))]) }
}

extension LineIndex {
  func lspRange(_ r: SourceRange) -> LSPRange {
    LSPRange(start: position(of: r.start), end: position(of: r.end))
  }

  /// The range of 0-based `line`'s code: from its first non-blank byte to its last one before a comment.
  func codeRange(ofLine line: Int) -> SourceRange {
    let start = lineStarts[line]
    var end = lineEnd(line)
    if let hash = bytes[start..<end].firstIndex(of: UInt8(ascii: "#")) { end = hash }
    var first = start
    while first < end, bytes[first] == 0x20 || bytes[first] == 0x09 { first += 1 }
    while end > first, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
    return SourceRange(first, end)
  }
}

func location(_ uri: String, _ range: LSPRange) -> JSONValue {
  .object([("uri", .string(uri)), ("range", range.json)])
}

func textEdit(_ range: LSPRange, _ newText: String) -> JSONValue {
  .object([("range", range.json), ("newText", .string(newText))])
}

/// LSP's enumerations the server uses.
enum SymbolKind: Int {
  case module = 2, namespace = 3, class_ = 5, function = 12, variable = 13
}

enum CompletionKind: Int {
  case function = 3, field = 5, variable = 6, class_ = 7, property = 10, keyword = 14, enumMember = 20
}
