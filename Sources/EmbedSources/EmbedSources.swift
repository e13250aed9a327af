// The tool of the EmbedKernels plugin: writes Swift files into one Swift file as string literals, one per
// file, each exactly the file's text.
//   EmbedSources OUTPUT.swift INPUT.swift ...
import Foundation

@main
enum EmbedSources {
  static func main() {
    let arguments = Array(CommandLine.arguments.dropFirst())
    guard let output = arguments.first else {
      FileHandle.standardError.write(Data("usage: EmbedSources OUTPUT.swift INPUT.swift ...\n".utf8))
      exit(2)
    }
    var out = """
      // Generated at build time by the EmbedKernels plugin from Sources/NetcKernels; not checked in.

      /// Each file of NetcKernels by name, as `netc emit --target swift --self-contained` writes them.
      public let netcKernelSources: [(file: String, text: String)] = [

      """
    do {
      for path in arguments.dropFirst() {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let name = URL(fileURLWithPath: path).lastPathComponent
        let d = rawDelimiter(text)
        // A multi-line literal drops the line break before its closing delimiter: the one added here.
        out += "  (\"\(name)\", \(d)\"\"\"\n\(text)\n\"\"\"\(d)),\n"
      }
      out += "]\n"
      try out.write(toFile: output, atomically: true, encoding: .utf8)
    } catch {
      FileHandle.standardError.write(Data("EmbedSources: \(error)\n".utf8))
      exit(1)
    }
  }

  /// The #s a raw string literal of `text` needs: one more than any run of them after a quote (which could
  /// end the literal) or a backslash (which could start an escape).
  static func rawDelimiter(_ text: String) -> String {
    var longest = 0, run = 0, counting = false
    for c in text.unicodeScalars {
      if c == "#" && counting {
        run += 1
        longest = max(longest, run)
      } else {
        counting = c == "\"" || c == "\\"
        run = 0
      }
    }
    return String(repeating: "#", count: longest + 1)
  }
}
