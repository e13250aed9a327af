import NetcBasic
import NetcReport
import NetcSema

/// Everything the server knows about one version of a document, computed once per version: the
/// compilation on every change (diagnostics need it), the rest the first time a request asks.
public final class Analysis {
  public let compilation: Compilation
  public let lines: LineIndex

  public init(path: String, bytes: [UInt8]) {
    if bytes.count > Compilation.maxSourceBytes {
      // As `netc check` refuses to read it: one error, and nothing parsed.
      let file = SourceFile(path: path, bytes: bytes)
      var diagnostics = DiagnosticEngine(file: file)
      diagnostics.error("file-too-large", "the file is \(grouped(bytes.count)) bytes; netc reads such files up to \(grouped(Compilation.maxSourceBytes)) bytes",
                        at: .point(0))
      compilation = Compilation(file: file, diagnostics: diagnostics)
    } else {
      compilation = Compilation.compile(path: path, bytes: bytes)
    }
    lines = LineIndex(compilation.file)
  }

  public var file: SourceFile { compilation.file }

  /// The figures `netc params` prints (batch 1); for a file with errors, those of the network up to the
  /// first one (what `netc graph` draws), so the lines above a mistake keep their hover and hints.
  public private(set) lazy var summary: Summary? =
    (compilation.network ?? compilation.partial?.network).map { Summary($0) }

  public private(set) lazy var layerLines: LayerLines = summary.map { LayerLines($0, file: file) } ?? LayerLines()

  public private(set) lazy var symbols: SymbolIndex =
    compilation.syntax.map { SymbolIndex($0, file: file) } ?? SymbolIndex()
}

/// An open document: its text, as the client's edits leave it, and the analysis of its current version.
public final class Document {
  public let uri: String
  public let path: String
  public private(set) var version: Int
  public private(set) var text: [UInt8]
  private var cached: Analysis?

  public init(uri: String, version: Int, text: String) {
    self.uri = uri
    self.path = Document.path(ofURI: uri)
    self.version = version
    self.text = Array(text.utf8)
  }

  public var analysis: Analysis {
    if let cached { return cached }
    let fresh = Analysis(path: path, bytes: text)
    cached = fresh
    return fresh
  }

  public var isAnalysed: Bool { cached != nil }

  /// Applies `didChange`'s content changes in order: one with a range replaces that range (positions
  /// in UTF-16 code units, each against the text the previous changes left), one without replaces the
  /// whole text.
  public func apply(_ changes: [JSONValue], version: Int) throws(ProtocolError) {
    for change in changes {
      guard let newText = change["text"]?.stringValue else {
        throw ProtocolError(.invalidParams, "a content change without 'text'")
      }
      if let rangeValue = change["range"], rangeValue != .null {
        let index = LineIndex(bytes: text)
        let range = try LSPRange(rangeValue)
        let start = index.offset(of: range.start), end = max(start, index.offset(of: range.end))
        text.replaceSubrange(start..<end, with: Array(newText.utf8))
      } else {
        text = Array(newText.utf8)
      }
    }
    self.version = version
    cached = nil
  }

  /// `file:///a/b%20c.net` -> `/a/b c.net`; any other URI is its own path (it only names the file).
  static func path(ofURI uri: String) -> String {
    guard uri.hasPrefix("file://") else { return uri }
    var bytes: [UInt8] = []
    let raw = Array(uri.utf8.dropFirst(7))
    var i = 0
    while i < raw.count {
      if raw[i] == UInt8(ascii: "%"), i + 2 < raw.count, let h = hexValue(raw[i + 1]), let l = hexValue(raw[i + 2]) {
        bytes.append(h << 4 | l)
        i += 3
      } else {
        bytes.append(raw[i])
        i += 1
      }
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  private static func hexValue(_ b: UInt8) -> UInt8? {
    switch b {
    case 0x30...0x39: return b - 0x30
    case 0x41...0x46: return b - 0x41 + 10
    case 0x61...0x66: return b - 0x61 + 10
    default: return nil
    }
  }
}
