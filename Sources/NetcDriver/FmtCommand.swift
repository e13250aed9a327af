#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import NetcBasic
import NetcOps
import NetcFormat
import NetcSema

/// `netc fmt FILE` prints the file in canonical layout; `-i` rewrites files in place; `--check` changes
/// nothing and reports every file that is not formatted. A file with syntax errors is never formatted.
enum FmtCommand {
  static func run(_ args: [String], _ terminal: Terminal, _ r: inout CommandResult) throws {
    let a = try Arguments(args, command: "fmt", valued: ["--color", "--diagnostics-format"], flags: ["-i", "--check"])
    if a.flags.contains("--help") { r.stdout = Help.fmt; return }
    let common = try CommonOptions(a, command: "fmt", terminal: terminal)
    let inPlace = a.flags.contains("-i")
    let check = a.flags.contains("--check")
    if inPlace && check { throw UsageError(message: "'-i' and '--check' cannot be combined", command: "fmt") }
    guard !a.positional.isEmpty else { throw UsageError(message: "no input file", command: "fmt") }
    if !inPlace && !check && a.positional.count > 1 {
      throw UsageError(message: "'fmt' prints one file, found \(a.positional.count); use '-i' or '--check' for several",
                       command: "fmt")
    }
    var failed = false
    for path in a.positional {
      guard let (file, formatted) = format(path, common, &r) else {
        failed = true
        continue
      }
      let unchanged = Array(formatted.utf8) == file.bytes
      if check {
        if !unchanged {
          reportUnformatted(file, formatted, common, &r)
          failed = true
        }
      } else if inPlace {
        if !unchanged { try rewrite(path, with: formatted) }
      } else {
        r.stdout += formatted
      }
    }
    r.status = failed ? 1 : 0
  }

  /// Reads and formats one file; on an unreadable file or syntax errors, reports them and returns nil.
  private static func format(_ path: String, _ common: CommonOptions, _ r: inout CommandResult)
    -> (SourceFile, String)?
  {
    switch Pipeline.read(path: path) {
    case .failure(let e):
      if common.jsonDiagnostics {
        r.stderr += JSONValue.object([("file", .string(path)), ("severity", .string("error")),
                                      ("id", .string("cannot-read")), ("message", .string(e.message))]).rendered(indent: 0) + "\n"
      } else {
        r.stderr += "\(path): error: \(e.message)\n"
      }
      return nil
    case .success(let bytes):
      let file = SourceFile(path: path, bytes: bytes)
      var diagnostics = DiagnosticEngine(file: file)
      let formatted = SourceFormatter.format(file, diagnostics: &diagnostics)
      common.report(Compilation(file: file, diagnostics: diagnostics), into: &r)
      return formatted.map { (file, $0) }
    }
  }

  /// One error at the first byte where the file and its canonical layout differ.
  private static func reportUnformatted(_ file: SourceFile, _ formatted: String, _ common: CommonOptions,
                                        _ r: inout CommandResult) {
    let canonical = Array(formatted.utf8)
    var i = 0
    while i < file.bytes.count && i < canonical.count && file.bytes[i] == canonical[i] { i += 1 }
    var diagnostics = DiagnosticEngine(file: file)
    diagnostics.error("not-formatted", "'\(file.path)' is not formatted; the first difference is here",
                      at: SourceRange.point(min(i, file.bytes.count)),
                      notes: [Note("'netc fmt -i \(file.path)' rewrites it in canonical layout")])
    common.report(Compilation(file: file, diagnostics: diagnostics), into: &r)
  }

  /// Writes the file whole or not at all (through a temporary file beside it), keeping its permissions,
  /// and through a symbolic link rather than replacing the link.
  private static func rewrite(_ path: String, with text: String) throws {
    var target = path
    if let resolved = realpath(path, nil) {
      target = String(cString: resolved)
      free(resolved)
    }
    var st = stat()
    let mode: mode_t? = stat(target, &st) == 0 ? st.st_mode & 0o7777 : nil
    try Files.writeAtomically(Array(text.utf8), to: target, mode: mode)
  }
}
