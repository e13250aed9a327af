/// How bad a diagnostic is.
public enum Severity: String, Sendable, Comparable {
  case note, warning, error
  public static func < (a: Severity, b: Severity) -> Bool {
    let order: [Severity] = [.note, .warning, .error]
    return order.firstIndex(of: a)! < order.firstIndex(of: b)!
  }
}

/// A suggested edit: replace `range` with `replacement`.
public struct FixIt: Hashable, Sendable {
  public var range: SourceRange
  public var replacement: String
  public init(range: SourceRange, replacement: String) {
    self.range = range
    self.replacement = replacement
  }
}

/// A secondary message attached to a diagnostic, optionally pointing at its own place.
public struct Note: Hashable, Sendable {
  public var message: String
  public var range: SourceRange?
  public init(_ message: String, at range: SourceRange? = nil) {
    self.message = message
    self.range = range
  }
}

/// One message about the source: lowercase text, no final period, source spellings in quotes.
public struct Diagnostic: Hashable, Sendable {
  public var severity: Severity
  /// A stable identifier of the message class (`expected-token`, `fc-input-mismatch`, ...).
  public var id: String
  public var message: String
  public var range: SourceRange
  public var notes: [Note]
  public var fixIts: [FixIt]

  public init(
    _ severity: Severity, _ id: String, _ message: String, at range: SourceRange,
    notes: [Note] = [], fixIts: [FixIt] = []
  ) {
    self.severity = severity
    self.id = id
    self.message = message
    self.range = range
    self.notes = notes
    self.fixIts = fixIts
  }
}

/// Collects diagnostics for one file. Keeps at most one error per line while `oneErrorPerLine` is set (the
/// parser's later errors on a line are usually consequences of its first) and stops collecting after
/// `errorLimit` errors, as Go's parser does.
public struct DiagnosticEngine: Sendable {
  public let file: SourceFile
  public private(set) var diagnostics: [Diagnostic] = []
  public private(set) var errorCount = 0
  public private(set) var suppressedErrors = 0
  public var errorLimit: Int
  /// The checker knows which values an error leaves unknown and stays silent about what depends on them,
  /// so its errors on one line (two branches of one combinator) are independent: it clears this. A line
  /// that already holds an error reported while it was set still takes no other.
  public var oneErrorPerLine = true
  private var linesWithErrors: Set<Int> = []
  private var errorStarts: Set<Int> = []
  private var seen: Set<Diagnostic> = []

  public init(file: SourceFile, errorLimit: Int = 20) {
    self.file = file
    self.errorLimit = errorLimit
  }

  public var hasErrors: Bool { errorCount > 0 }
  public var isFull: Bool { errorCount >= errorLimit }

  public mutating func emit(_ d: Diagnostic) {
    // A block used many times reports a problem in its body once.
    if seen.contains(d) { return }
    seen.insert(d)
    if d.severity == .error {
      let line = file.lineAndColumn(of: d.range.start).line
      if linesWithErrors.contains(line) || errorStarts.contains(d.range.start) { return }
      if errorCount >= errorLimit {
        suppressedErrors += 1
        return
      }
      if oneErrorPerLine { linesWithErrors.insert(line) }
      errorStarts.insert(d.range.start)
      errorCount += 1
    }
    diagnostics.append(d)
  }

  public mutating func error(
    _ id: String, _ message: String, at range: SourceRange, notes: [Note] = [], fixIts: [FixIt] = []
  ) {
    emit(Diagnostic(.error, id, message, at: range, notes: notes, fixIts: fixIts))
  }

  public mutating func warning(
    _ id: String, _ message: String, at range: SourceRange, notes: [Note] = [], fixIts: [FixIt] = []
  ) {
    emit(Diagnostic(.warning, id, message, at: range, notes: notes, fixIts: fixIts))
  }

  public mutating func append(contentsOf other: DiagnosticEngine) {
    for d in other.diagnostics { emit(d) }
  }
}
