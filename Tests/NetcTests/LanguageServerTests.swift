import NetcBasic
@testable import NetcLanguageServer
import Testing

/// netc lsp's own parts: UTF-16 positions, the base protocol's framing, and the server answering in
/// process (Tests/lsp drives the built executable with a real client).
@Suite struct LanguageServerTests {
  // MARK: Positions

  @Test func positionsCountUTF16CodeUnits() {
    // 'é' is 2 bytes and 1 unit, '中' 3 bytes and 1 unit, '𝄞' 4 bytes and 2 units (a surrogate pair).
    let text = "conv 3x3 8  # é中𝄞!\nrelu\n"
    let index = LineIndex(bytes: Array(text.utf8))
    let bang = Array(text.utf8).firstIndex(of: UInt8(ascii: "!"))!
    #expect(bang == 23)
    #expect(index.position(of: bang) == LSPPosition(line: 0, character: 18))
    #expect(index.offset(of: LSPPosition(line: 0, character: 18)) == bang)
    // Each character's start, both ways.
    let starts = [(14, 14), (15, 16), (16, 19), (18, 23)]
    for (character, byte) in starts {
      #expect(index.position(of: byte) == LSPPosition(line: 0, character: character))
      #expect(index.offset(of: LSPPosition(line: 0, character: character)) == byte)
    }
    // The middle of the surrogate pair is the pair's start; an offset inside a character passes it.
    #expect(index.offset(of: LSPPosition(line: 0, character: 17)) == 19)
    #expect(index.position(of: 20) == LSPPosition(line: 0, character: 18))
    // Past the end of a line: the line's end, before its '\n'; past the last line: the end of the text.
    #expect(index.offset(of: LSPPosition(line: 0, character: 500)) == 24)
    #expect(index.position(of: 24) == LSPPosition(line: 0, character: 19))
    #expect(index.offset(of: LSPPosition(line: 1, character: 2)) == 27)
    #expect(index.offset(of: LSPPosition(line: 9, character: 0)) == text.utf8.count)
    #expect(index.position(of: text.utf8.count) == LSPPosition(line: 2, character: 0))
  }

  @Test func crlfAndInvalidBytes() {
    // A '\r' before '\n' is no column; a byte that starts no valid sequence is one unit (its U+FFFD).
    let bytes: [UInt8] = Array("ab\r\n".utf8) + [0xFF, 0xC3, 0x28] + Array("x".utf8)
    let index = LineIndex(bytes: bytes)
    #expect(index.offset(of: LSPPosition(line: 0, character: 9)) == 2)
    #expect(index.position(of: 7) == LSPPosition(line: 1, character: 3))
    #expect(index.offset(of: LSPPosition(line: 1, character: 3)) == 7)
  }

  // MARK: Framing

  static func frame(_ json: String) -> [UInt8] { framed(Array(json.utf8)) }

  @Test func messagesArriveWhateverTheChunks() {
    let stream = LanguageServerTests.frame(#"{"a":1}"#) + LanguageServerTests.frame(#"{"é":"𝄞"}"#)
      + Array("Content-Type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-length: 2\r\n\r\n[]".utf8)
    for chunk in [1, 2, 7, stream.count] {
      var reader = MessageReader()
      var got: [String] = []
      var i = 0
      while i < stream.count {
        reader.append(stream[i..<min(i + chunk, stream.count)])
        i += chunk
        while let item = reader.next() {
          guard case .message(let body) = item else { Issue.record("\(item)"); return }
          got.append(String(decoding: body, as: UTF8.self))
        }
      }
      #expect(got == [#"{"a":1}"#, #"{"é":"𝄞"}"#, "[]"], "chunks of \(chunk)")
      #expect(reader.pendingByteCount == 0)
    }
  }

  @Test func malformedHeadersAreReportedAndSkipped() {
    var reader = MessageReader()
    reader.append(Array("Content-Lenght: 3\r\n\r\nabcContent-Length: x1\r\n\r\n".utf8))
    // What follows a bad header up to the next Content-Length is its body, of unknown length: skipped.
    reader.append(Array("not a header\r\n\r\n".utf8) + LanguageServerTests.frame("{}"))
    reader.append(Array("Content-Length: 99999999999\r\n\r\n".utf8) + LanguageServerTests.frame("[1]"))
    var items: [MessageReader.Item] = []
    while let item = reader.next() { items.append(item) }
    #expect(items == [
      .malformed("a message header without Content-Length", streamOffset: 0),
      .malformed("Content-Length 'x1' is not a number of bytes", streamOffset: 24),
      .message(Array("{}".utf8)),
      .malformed("Content-Length 99999999999 is over the limit of 33554432 bytes", streamOffset: 85),
      .message(Array("[1]".utf8)),
    ])
    var noColon = MessageReader()
    noColon.append(Array("no colon here\r\n\r\n".utf8) + LanguageServerTests.frame("{}"))
    #expect(noColon.next() == .malformed("header line 'no colon here' is not 'Name: value'", streamOffset: 0))
    #expect(noColon.next() == .message(Array("{}".utf8)))
    // A header that never ends is refused once it is longer than any header.
    var endless = MessageReader()
    endless.append([UInt8](repeating: UInt8(ascii: "a"), count: MessageReader.maxHeaderBytes + 1))
    #expect(endless.next() == .malformed("no end of header within 8192 bytes", streamOffset: 0))
  }

  // MARK: The server in process

  final class Recorder: @unchecked Sendable {
    var messages: [JSONValue] = []
    func take() -> [JSONValue] {
      defer { messages.removeAll() }
      return messages
    }
  }

  static func server() -> (LanguageServer, Recorder) {
    let recorder = Recorder()
    let server = LanguageServer(version: "test") { bytes in
      var reader = MessageReader()
      reader.append(bytes)
      guard case .message(let body)? = reader.next(), let json = try? JSONValue.parse(body) else {
        Issue.record("the server framed a message badly")
        return
      }
      recorder.messages.append(json)
    }
    return (server, recorder)
  }

  static func send(_ server: LanguageServer, _ json: String) {
    server.receive(frame(json))
  }

  @Test func incrementalChangesAndDiagnostics() throws {
    let (server, out) = LanguageServerTests.server()
    LanguageServerTests.send(server, #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#)
    #expect(out.take().first?["result"]?["capabilities"]?["textDocumentSync"]?["change"] == .int(2))
    let open = #"{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"file:///t%20x.net","version":1,"text":"network T\ninput 3x8x8 # é𝄞\nconv 3x3 4 p1\nfc 2\n"}}}"#
    LanguageServerTests.send(server, open)
    let published = try #require(out.take().first)
    #expect(published["method"] == .string("textDocument/publishDiagnostics"))
    let diagnostics = try #require(published["params"]?["diagnostics"]?.arrayValue)
    #expect(diagnostics.map { $0["code"] } == [.string("needs-flat-input")])
    #expect(diagnostics[0]["range"] == .object([
      ("start", .object([("line", .int(3)), ("character", .int(0))])),
      ("end", .object([("line", .int(3)), ("character", .int(4))])),
    ]))
    // Two edits in one message, then a second message: one check for the burst, after both.
    let insert = #"{"range":{"start":{"line":1,"character":17},"end":{"line":1,"character":17}},"text":" ok"}"#
    let flatten = #"{"range":{"start":{"line":3,"character":0},"end":{"line":3,"character":0}},"text":"flatten, "}"#
    let first = #"{"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri":"file:///t%20x.net","version":2},"contentChanges":["# + insert + "," + flatten + #"]}}"#
    let hover = #"{"jsonrpc":"2.0","id":2,"method":"textDocument/hover","params":{"textDocument":{"uri":"file:///t%20x.net"},"position":{"line":3,"character":0}}}"#
    server.receive(LanguageServerTests.frame(first) + LanguageServerTests.frame(hover))
    let after = out.take()
    #expect(after.count == 2)
    #expect(after[0]["params"]?["version"] == .int(2))
    #expect(after[0]["params"]?["diagnostics"] == .array([]))
    let markdown = try #require(after[1]["result"]?["contents"]?["value"]?.stringValue)
    #expect(markdown == """
      **Flatten, Linear**

      | input | output | params | mult-adds | receptive field | eff. stride | eff. padding |
      |---|---|---:|---:|---:|---:|---:|
      | 4x8x8 | 2 | 514 | 514 | 3 | 1 | 1 |

      """)
    let document = try #require(server.document("file:///t%20x.net"))
    #expect(String(decoding: document.text, as: UTF8.self) == "network T\ninput 3x8x8 # é𝄞 ok\nconv 3x3 4 p1\nflatten, fc 2\n")
    #expect(document.path == "/t x.net")
  }

  @Test func aFileOverTheLimitIsRefusedAsCheckRefusesIt() {
    let analysis = Analysis(path: "big.net", bytes: Array("input 1x8x8\n".utf8) + [UInt8](repeating: 0x23, count: 8 << 20))
    #expect(analysis.lspDiagnostics(uri: "file:///big.net").map { $0["message"] }
      == [.string("the file is 8,388,620 bytes; netc reads such files up to 8,388,608 bytes")])
    #expect(analysis.compilation.syntax == nil)
  }

  @Test func lifecycle() {
    let (server, out) = LanguageServerTests.server()
    LanguageServerTests.send(server, #"{"jsonrpc":"2.0","id":"a","method":"shutdown"}"#)
    #expect(out.take().first?["error"]?["code"] == .int(-32002))
    LanguageServerTests.send(server, #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#)
    LanguageServerTests.send(server, #"{"jsonrpc":"2.0","id":2,"method":"initialize","params":{}}"#)
    #expect(out.take().last?["error"]?["code"] == .int(-32600))
    LanguageServerTests.send(server, #"{"jsonrpc":"2.0","id":3,"method":"shutdown"}"#)
    LanguageServerTests.send(server, #"{"jsonrpc":"2.0","id":4,"method":"textDocument/hover","params":{}}"#)
    #expect(out.take().map { $0["id"] } == [.int(3), .int(4)])
    #expect(!server.receive(LanguageServerTests.frame(#"{"jsonrpc":"2.0","method":"exit"}"#)))
    #expect(server.endOfInput() == 0)
  }
}
