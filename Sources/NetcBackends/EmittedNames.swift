/// The network's name as the emitted code's type name. A netc network name is any identifier, and some
/// are keywords of the language a backend writes (`network class`, `network def`): Swift takes such a name
/// in backquotes, Python, which has no quoting, with an underscore after it, as PEP 8 advises.
public enum EmittedNames {
  public static func swiftType(_ name: String) -> String { swiftKeywords.contains(name) ? "`\(name)`" : name }

  public static func pythonClass(_ name: String) -> String { pythonKeywords.contains(name) ? name + "_" : name }

  /// Whether `name` can name the emitted type, given with `netc emit --name`: a netc identifier (an ASCII
  /// letter or underscore, then letters, digits and underscores), since the file names the class in its
  /// comments and the other backends use it too.
  public static func isValid(_ name: String) -> Bool {
    guard let first = name.utf8.first, name.utf8.count <= 256 else { return false }
    func letter(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 }
    return letter(first) && name.utf8.allSatisfy { letter($0) || ($0 >= 48 && $0 <= 57) }
  }

  /// Swift's keywords that cannot name a type without backquotes.
  static let swiftKeywords: Set<String> = [
    "Any", "Self", "Type", "Protocol", "as", "associatedtype", "break", "case", "catch", "class", "continue",
    "default", "defer", "deinit", "do", "else", "enum", "extension", "fallthrough", "false", "fileprivate",
    "for", "func", "guard", "if", "import", "in", "init", "inout", "internal", "is", "let", "nil", "open",
    "operator", "private", "precedencegroup", "protocol", "public", "repeat", "rethrows", "return", "self",
    "static", "struct", "subscript", "super", "switch", "throw", "throws", "true", "try", "typealias", "var",
    "where", "while", "_",
  ]

  /// Python's keywords (`keyword.kwlist` of Python 3.11).
  static let pythonKeywords: Set<String> = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
    "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
  ]
}
