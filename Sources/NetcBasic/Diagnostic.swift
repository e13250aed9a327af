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
/// `errorLimit` errors, as Go's parser does; past the limit it counts them without keeping them.
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
  /// Where the errors reported without the one-per-line rule are, with their text: a block used twice
  /// reports one mistake in its body once, but two different ones (other arguments) at one place twice.
  private var errorPlaces: Set<ErrorPlace> = []
  private var errorStarts: Set<Int> = []

  private struct ErrorPlace: Hashable {
    var start: Int
    var message: String
  }
  private var seen: Set<Diagnostic> = []

  public init(file: SourceFile, errorLimit: Int = 20) {
    self.file = file
    self.errorLimit = errorLimit
  }

  public var hasErrors: Bool { errorCount > 0 }
  public var isFull: Bool { errorCount >= errorLimit }

  public mutating func emit(_ d: Diagnostic) {
    if d.severity == .error {
      // The line is checked first, and an error past the limit still claims its line: a file with millions
      // of errors on a few lines then costs a set entry per line, not one per error. The rule also drops
      // a repeat of an error already reported, so errors need no entry in `seen`. Without the rule (the
      // checker's errors), a repeat is one at the same place, and past the limit nothing is kept.
      let line = file.lineAndColumn(of: d.range.start).line
      if oneErrorPerLine {
        guard linesWithErrors.insert(line).inserted else { return }
      } else {
        guard !linesWithErrors.contains(line), !errorPlaces.contains(ErrorPlace(start: d.range.start, message: d.message))
        else { return }
      }
      if errorCount >= errorLimit {
        suppressedErrors += 1
        return
      }
      if !oneErrorPerLine {
        errorPlaces.insert(ErrorPlace(start: d.range.start, message: d.message))
        errorStarts.insert(d.range.start)
      }
      errorCount += 1
    } else {
      // A block used many times reports a problem in its body once.
      guard seen.insert(d).inserted else { return }
    }
    diagnostics.append(d)
  }

  /// Whether an error at `range` would be shown rather than dropped (a second one on its line) or counted
  /// (past the limit). Work done only for an error's text, such as a did-you-mean search over many
  /// candidates, is skipped when it would not: a line of a million unknown options must not search a
  /// million times.
  public func wouldShowError(at range: SourceRange) -> Bool {
    !isFull && !linesWithErrors.contains(file.lineAndColumn(of: range.start).line)
      && !errorStarts.contains(range.start)
  }

  /// Puts the diagnostics in source order (stable: those at one place keep the order they came in). The
  /// parser reports before the checker, which would otherwise list a line's syntax error before an earlier
  /// line's shape error.
  public mutating func sortBySourcePosition() {
    diagnostics = diagnostics.enumerated().sorted { a, b in
      (a.element.range.start, a.offset) < (b.element.range.start, b.offset)
    }.map(\.element)
  }

  /// Counts errors that another engine (a scratch one, full) did not keep, so that the total is right.
  public mutating func countSuppressed(_ errors: Int) {
    suppressedErrors += errors
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
