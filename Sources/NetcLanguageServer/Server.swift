#if canImport(Glibc)
  import Glibc
#endif
import NetcBasic

/// The language server: JSON-RPC messages in, responses and notifications out. It runs on one thread;
/// `receive` takes bytes as they arrive and answers every complete message in them. Edits are applied
/// as they come, but a document is checked again only once the messages at hand are handled (or when a
/// request needs it): a burst of keystrokes costs one check, not one per keystroke.
public final class LanguageServer {
  public enum State: Equatable {
    case starting, running, shuttingDown, exited(code: Int32)
  }

  public private(set) var state = State.starting
  private var reader = MessageReader()
  private var documents: [String: Document] = [:]
  /// Documents whose diagnostics are out of date, in the order they changed.
  private var stale: [String] = []
  private let send: ([UInt8]) -> Void
  private let version: String

  /// `send` gets each outgoing message, framed.
  public init(version: String, send: @escaping ([UInt8]) -> Void) {
    self.version = version
    self.send = send
  }

  /// Handles every complete message in the bytes received so far; returns false once `exit` came.
  @discardableResult
  public func receive(_ bytes: some Sequence<UInt8>) -> Bool {
    reader.append(bytes)
    while !isExited, let item = reader.next() {
      switch item {
      case .message(let body): handle(body: body)
      case .malformed(let problem, let at):
        log("netc lsp: malformed message header at byte \(at) of the input: \(problem); skipped", type: 1)
      }
    }
    if !isExited { publishStaleDiagnostics() }
    return !isExited
  }

  public var isExited: Bool {
    if case .exited = state { return true }
    return false
  }

  /// The exit status once the input ends or `exit` came: 0 after `shutdown`, else 1, as LSP asks.
  public func endOfInput() -> Int32 {
    if case .exited(let code) = state { return code }
    let code: Int32 = state == .shuttingDown ? 0 : 1
    state = .exited(code: code)
    return code
  }

  func handle(body: [UInt8]) {
    let message: JSONValue
    do {
      message = try JSONValue.parse(body)
    } catch {
      let problem = (error as? JSONParseError).map { "\($0.message) at byte \($0.offset) of the message" } ?? "\(error)"
      log("netc lsp: a message that is not JSON: \(problem); skipped", type: 1)
      respond(id: .null, error: ProtocolError(.parseError, "not JSON: \(problem)"))
      return
    }
    guard case .object = message, let method = message["method"]?.stringValue else {
      // A response to a request the server never sends, or no message at all.
      if message["id"] == nil || message["method"] != nil {
        respond(id: message["id"] ?? .null, error: ProtocolError(.invalidRequest, "a request or notification needs a 'method' string"))
      }
      return
    }
    let id = message["id"]
    let params = message["params"] ?? .null
    guard let id else {
      notification(method, params)
      return
    }
    do throws(ProtocolError) {
      respond(id: id, result: try request(method, params))
    } catch {
      respond(id: id, error: error)
    }
  }

  // MARK: Requests

  private func request(_ method: String, _ params: JSONValue) throws(ProtocolError) -> JSONValue {
    switch state {
    case .starting where method != "initialize":
      throw ProtocolError(.serverNotInitialized, "the server is not initialized: 'initialize' comes first")
    case .shuttingDown:
      throw ProtocolError(.invalidRequest, "the server is shutting down: only 'exit' is left")
    default: break
    }
    switch method {
    case "initialize":
      guard state == .starting else { throw ProtocolError(.invalidRequest, "'initialize' was already sent") }
      state = .running
      return initializeResult
    case "shutdown":
      state = .shuttingDown
      return .null
    case "textDocument/hover":
      return try analysis(params).hover(at: try position(params))
    case "textDocument/inlayHint":
      guard let range = params["range"] else { throw ProtocolError(.invalidParams, "inlayHint needs a 'range'") }
      return .array(try analysis(params).inlayHints(in: try LSPRange(range)))
    case "textDocument/definition":
      return try analysis(params).definition(uri: try uri(params), at: try position(params))
    case "textDocument/references":
      let include = params["context"]?["includeDeclaration"] == .bool(true)
      return try analysis(params).references(uri: try uri(params), at: try position(params), includeDeclaration: include)
    case "textDocument/completion":
      return .object([("isIncomplete", .bool(false)), ("items", .array(try analysis(params).completions(at: try position(params))))])
    case "textDocument/documentSymbol":
      return try analysis(params).documentSymbols()
    case "textDocument/formatting":
      guard let edits = try analysis(params).formattingEdits() else {
        log("netc lsp: \(try uri(params)) has syntax errors; 'netc fmt' formats only a file that parses", type: 2)
        return .null
      }
      return .array(edits)
    case "textDocument/codeAction":
      guard let range = params["range"] else { throw ProtocolError(.invalidParams, "codeAction needs a 'range'") }
      return .array(try analysis(params).codeActions(uri: try uri(params), range: try LSPRange(range)))
    default:
      throw ProtocolError(.methodNotFound, "netc lsp does not handle '\(method)'")
    }
  }

  private var initializeResult: JSONValue {
    .object([
      ("capabilities", .object([
        ("positionEncoding", .string("utf-16")),
        ("textDocumentSync", .object([("openClose", .bool(true)), ("change", .int(2))])),
        ("hoverProvider", .bool(true)),
        ("inlayHintProvider", .bool(true)),
        ("definitionProvider", .bool(true)),
        ("referencesProvider", .bool(true)),
        ("completionProvider", .object([("triggerCharacters", .array([.string("@")]))])),
        ("documentSymbolProvider", .bool(true)),
        ("documentFormattingProvider", .bool(true)),
        ("codeActionProvider", .object([("codeActionKinds", .array([.string("quickfix")]))])),
      ])),
      ("serverInfo", .object([("name", .string("netc")), ("version", .string(version))])),
    ])
  }

  // MARK: Notifications

  private func notification(_ method: String, _ params: JSONValue) {
    if method == "exit" {
      state = .exited(code: state == .shuttingDown ? 0 : 1)
      return
    }
    // Before 'initialize' every notification but 'exit' is dropped, as LSP asks.
    guard state == .running else { return }
    do throws(ProtocolError) {
      switch method {
      case "textDocument/didOpen":
        guard let item = params["textDocument"], let uri = item["uri"]?.stringValue, let text = item["text"]?.stringValue else {
          throw ProtocolError(.invalidParams, "didOpen needs a textDocument with 'uri' and 'text'")
        }
        documents[uri] = Document(uri: uri, version: item["version"]?.intValue ?? 0, text: text)
        markStale(uri)
      case "textDocument/didChange":
        let uri = try self.uri(params)
        guard let document = documents[uri] else { throw ProtocolError(.invalidParams, "didChange for '\(uri)', which is not open") }
        guard let changes = params["contentChanges"]?.arrayValue else {
          throw ProtocolError(.invalidParams, "didChange needs 'contentChanges'")
        }
        try document.apply(changes, version: params["textDocument"]?["version"]?.intValue ?? document.version + 1)
        markStale(uri)
      case "textDocument/didClose":
        let uri = try self.uri(params)
        documents[uri] = nil
        stale.removeAll { $0 == uri }
        publish(uri: uri, version: nil, diagnostics: [])
      default:
        break  // didSave, $/cancelRequest, $/setTrace, workspace notifications: nothing to do
      }
    } catch {
      log("netc lsp: \(method): \(error.message)", type: 1)
    }
  }

  func document(_ uri: String) -> Document? { documents[uri] }

  private func markStale(_ uri: String) {
    if !stale.contains(uri) { stale.append(uri) }
  }

  private func publishStaleDiagnostics() {
    let uris = stale
    stale.removeAll()
    for uri in uris {
      guard let document = documents[uri] else { continue }
      publish(uri: uri, version: document.version, diagnostics: document.analysis.lspDiagnostics(uri: uri))
    }
  }

  private func publish(uri: String, version: Int?, diagnostics: [JSONValue]) {
    var params: [(String, JSONValue)] = [("uri", .string(uri))]
    if let version { params.append(("version", .int(version))) }
    params.append(("diagnostics", .array(diagnostics)))
    notify("textDocument/publishDiagnostics", .object(params))
  }

  // MARK: Parameters

  private func uri(_ params: JSONValue) throws(ProtocolError) -> String {
    guard let uri = params["textDocument"]?["uri"]?.stringValue else {
      throw ProtocolError(.invalidParams, "the request needs 'textDocument.uri'")
    }
    return uri
  }

  private func position(_ params: JSONValue) throws(ProtocolError) -> LSPPosition {
    guard let p = params["position"] else { throw ProtocolError(.invalidParams, "the request needs a 'position'") }
    return try LSPPosition(p)
  }

  /// The analysis of the request's document as it is now; a request after edits not yet checked checks
  /// them first and publishes their diagnostics, so the two never disagree.
  private func analysis(_ params: JSONValue) throws(ProtocolError) -> Analysis {
    let uri = try uri(params)
    guard let document = documents[uri] else { throw ProtocolError(.invalidParams, "'\(uri)' is not open") }
    if stale.contains(uri) {
      stale.removeAll { $0 == uri }
      publish(uri: uri, version: document.version, diagnostics: document.analysis.lspDiagnostics(uri: uri))
    }
    return document.analysis
  }

  // MARK: Output

  private func respond(id: JSONValue, result: JSONValue) {
    write(.object([("jsonrpc", .string("2.0")), ("id", id), ("result", result)]))
  }

  private func respond(id: JSONValue, error: ProtocolError) {
    write(.object([("jsonrpc", .string("2.0")), ("id", id), ("error", error.json)]))
  }

  private func notify(_ method: String, _ params: JSONValue) {
    write(.object([("jsonrpc", .string("2.0")), ("method", .string(method)), ("params", params)]))
  }

  /// `window/logMessage` (1 error, 2 warning, 3 info, 4 log), and the same line on stderr, which
  /// editors keep in the server's log.
  private func log(_ message: String, type: Int) {
    FileOutput.write(2, message + "\n")
    notify("window/logMessage", .object([("type", .int(type)), ("message", .string(message))]))
  }

  private func write(_ message: JSONValue) {
    send(framed(Array(message.rendered(indent: 0).utf8)))
  }
}

extension LanguageServer {
  /// Serves stdin and stdout until `exit` or the end of the input; returns the exit status.
  public static func serveStandardStreams(version: String) -> Int32 {
    let server = LanguageServer(version: version) { FileOutput.write(1, $0) }
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        return server.endOfInput()
      }
      if n == 0 { return server.endOfInput() }
      if !server.receive(chunk[0..<n]) { return server.endOfInput() }
    }
  }
}

enum FileOutput {
  static func write(_ fd: Int32, _ text: String) { write(fd, Array(text.utf8)) }

  static func write(_ fd: Int32, _ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { return }
      offset += n
    }
  }
}
