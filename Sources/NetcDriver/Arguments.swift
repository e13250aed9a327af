import NetcBasic
import NetcOps

/// A usage error: wrong flags or arguments. Exit status 2.
public struct UsageError: Error {
  public var message: String
  public var command: String?
}

/// Parsed command line of one command: options with values, flags, and positional arguments.
struct Arguments {
  var values: [String: String] = [:]
  var flags: Set<String> = []
  var positional: [String] = []

  /// `valued` options take a value (`--batch 2` or `--batch=2`); `flags` take none.
  init(_ args: [String], command: String, valued: Set<String>, flags allowedFlags: Set<String>) throws {
    var i = 0
    var onlyPositional = false
    while i < args.count {
      let a = args[i]
      i += 1
      if onlyPositional || !a.hasPrefix("-") || a == "-" {
        positional.append(a)
        continue
      }
      if a == "--" { onlyPositional = true; continue }
      var name = a
      var inlineValue: String?
      if let eq = a.firstIndex(of: "=") {
        name = String(a[..<eq])
        inlineValue = String(a[a.index(after: eq)...])
      }
      if name == "-h" { name = "--help" }
      if valued.contains(name) {
        // A second value would silently win (`--target swift --target onnx`, two '-o'): say so instead.
        if let first = values[name] {
          throw UsageError(message: "option '\(name)' is given twice ('\(first)' and '\(inlineValue ?? (i < args.count ? args[i] : ""))'); give it once",
                           command: command)
        }
        if let v = inlineValue {
          values[name] = v
        } else {
          guard i < args.count else { throw UsageError(message: "option '\(name)' needs a value", command: command) }
          values[name] = args[i]
          i += 1
        }
      } else if allowedFlags.contains(name) || name == "--help" {
        if inlineValue != nil { throw UsageError(message: "option '\(name)' takes no value", command: command) }
        if !flags.insert(name).inserted && name != "--help" {
          throw UsageError(message: "option '\(name)' is given twice; give it once", command: command)
        }
      } else {
        let hint = Suggest.closest(to: name, in: valued.union(allowedFlags).union(["--help"]))
          .map { "; did you mean '\($0)'?" } ?? ""
        throw UsageError(message: "unknown option '\(name)'\(hint)", command: command)
      }
    }
  }

  func int(_ name: String, default def: Int, range: ClosedRange<Int>, command: String) throws -> Int {
    guard let s = values[name] else { return def }
    guard let v = Int(s), range.contains(v) else {
      throw UsageError(message: "'\(name)' must be an integer from \(range.lowerBound) to \(grouped(range.upperBound)), found '\(s)'", command: command)
    }
    return v
  }

  func choice(_ name: String, _ options: [String], default def: String, command: String) throws -> String {
    guard let s = values[name] else { return def }
    guard options.contains(s) else {
      throw UsageError(message: "'\(name)' must be one of \(options.joined(separator: ", ")), found '\(s)'", command: command)
    }
    return s
  }
}

extension Arguments {
  /// The one file a command reads (check and fmt take several; the others exactly one).
  func singleFile(command: String) throws -> String {
    guard positional.count == 1 else {
      throw UsageError(message: positional.isEmpty ? "no input file" : "'\(command)' takes one file, found \(positional.count)",
                       command: command)
    }
    return positional[0]
  }
}
