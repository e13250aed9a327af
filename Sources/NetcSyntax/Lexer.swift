import NetcBasic
import NetcOps

/// Turns bytes into tokens in one pass (clox's scanner, on bytes). Comments run from `#` to the end of
/// the line. Newlines are tokens: they separate layers. Bytes outside ASCII are allowed only in comments,
/// and only as valid UTF-8.
public struct Lexer {
  public static func tokenize(_ file: SourceFile, diagnostics: inout DiagnosticEngine) -> [Token] {
    tokenize(file, diagnostics: &diagnostics, keepingComments: false).tokens
  }

  /// The tokens, and the comments beside them: each `#` comment as a `.comment` token whose range runs
  /// from `#` to the end of its line (without the line break). The parser never sees comments; tools
  /// that rewrite the source (`netc fmt`) need them.
  public static func tokenizeWithComments(_ file: SourceFile, diagnostics: inout DiagnosticEngine)
    -> (tokens: [Token], comments: [Token])
  {
    tokenize(file, diagnostics: &diagnostics, keepingComments: true)
  }

  private static func tokenize(_ file: SourceFile, diagnostics: inout DiagnosticEngine, keepingComments: Bool)
    -> (tokens: [Token], comments: [Token])
  {
    if file.bytes.starts(with: [0xFF, 0xFE]) || file.bytes.starts(with: [0xFE, 0xFF]) {
      diagnostics.error("utf16-file", "this file is UTF-16; netc reads UTF-8", at: SourceRange(0, 2),
                        notes: [Note("convert it, for example with 'iconv -f UTF-16 -t UTF-8'")])
      return ([Token(.eof, SourceRange.point(file.bytes.count))], [])
    }
    // A NUL byte means this is not a text file; one error says so instead of one per line.
    if let nul = file.bytes.firstIndex(of: 0) {
      diagnostics.error("binary-file", "this is not a text file (it contains a NUL byte)", at: SourceRange(nul, nul + 1),
                        notes: [Note("netc reads network descriptions written as text, such as specs/lenet/lenet5.net")])
      return ([Token(.eof, SourceRange.point(file.bytes.count))], [])
    }
    var lexer = Lexer(bytes: file.bytes, keepingComments: keepingComments)
    // A UTF-8 byte order mark is harmless; skip it.
    if file.bytes.starts(with: [0xEF, 0xBB, 0xBF]) { lexer.pos = 3 }
    let tokens = lexer.run(&diagnostics)
    return (tokens, lexer.comments)
  }

  private let bytes: [UInt8]
  private var pos = 0
  private var tokens: [Token] = []
  private let keepingComments: Bool
  private var comments: [Token] = []

  /// Inside a condition (`if s > 1 {`, `residual if s == 1 <`) '<' and '>' compare; everywhere else they
  /// are the brackets of a combinator. A condition runs from `if` to the end of its line, or to the first
  /// '{', ',' or '|' outside parentheses; after a combinator's `if` (`residual if COND <`), the first '<'
  /// outside parentheses opens the combinator, so a '<' comparison there is written in parentheses.
  private enum ConditionKind { case none, statement, combinator }
  private var condition = ConditionKind.none
  private var conditionParentheses = 0

  private init(bytes: [UInt8], keepingComments: Bool) {
    self.bytes = bytes
    self.keepingComments = keepingComments
  }

  private func peek(_ ahead: Int = 0) -> UInt8 {
    let i = pos + ahead
    return i < bytes.count ? bytes[i] : 0
  }

  private static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
  private static func isIdentStart(_ b: UInt8) -> Bool {
    (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 95
  }
  private static func isIdentContinue(_ b: UInt8) -> Bool { isIdentStart(b) || isDigit(b) }

  private mutating func add(_ kind: TokenKind, from start: Int) {
    tokens.append(Token(kind, SourceRange(start, pos)))
  }

  private mutating func run(_ diags: inout DiagnosticEngine) -> [Token] {
    while pos < bytes.count {
      let start = pos
      let b = bytes[pos]
      switch b {
      case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
        pos += 1
      case UInt8(ascii: "\n"):
        pos += 1
        condition = .none
        add(.newline, from: start)
      case UInt8(ascii: "#"):
        while pos < bytes.count, bytes[pos] != UInt8(ascii: "\n") {
          if bytes[pos] >= 0x80 {
            let n = Lexer.utf8SequenceLength(bytes, at: pos)
            if n == 0 {
              diags.error("invalid-utf8", "invalid UTF-8 byte 0x\(Lexer.hex(bytes[pos])) in comment",
                          at: SourceRange(pos, pos + 1))
              pos += 1
            } else {
              pos += n
            }
          } else {
            pos += 1
          }
        }
        if keepingComments {
          var end = pos
          if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
          comments.append(Token(.comment, SourceRange(start, end)))
        }
      case _ where Lexer.isDigit(b):
        lexNumber()
      case _ where Lexer.isIdentStart(b):
        while pos < bytes.count, Lexer.isIdentContinue(bytes[pos]) { pos += 1 }
        startConditionIfKeyword(start)
        add(.identifier, from: start)
      default:
        pos += 1
        switch b {
        case UInt8(ascii: "("):
          if condition != .none { conditionParentheses += 1 }
          add(.lParen, from: start)
        case UInt8(ascii: ")"):
          if condition != .none {
            if conditionParentheses == 0 { condition = .none } else { conditionParentheses -= 1 }
          }
          add(.rParen, from: start)
        case UInt8(ascii: "{"), UInt8(ascii: "}"):
          condition = .none
          add(b == UInt8(ascii: "{") ? .lBrace : .rBrace, from: start)
        case UInt8(ascii: "<"):
          if condition == .none || (condition == .combinator && conditionParentheses == 0 && peek() != UInt8(ascii: "=")) {
            condition = .none
            add(.lAngle, from: start)
          } else if peek() == UInt8(ascii: "=") {
            pos += 1
            add(.lessEqual, from: start)
          } else {
            add(.less, from: start)
          }
        case UInt8(ascii: ">"):
          if condition == .none {
            add(.rAngle, from: start)
          } else if peek() == UInt8(ascii: "=") {
            pos += 1
            add(.greaterEqual, from: start)
          } else {
            add(.greater, from: start)
          }
        case UInt8(ascii: "|"), UInt8(ascii: ","):
          if conditionParentheses == 0 { condition = .none }
          add(b == UInt8(ascii: "|") ? .pipe : .comma, from: start)
        case UInt8(ascii: "@"): add(.at, from: start)
        case UInt8(ascii: "*"): add(.star, from: start)
        case UInt8(ascii: "/"): add(.slash, from: start)
        case UInt8(ascii: "+"): add(.plus, from: start)
        case UInt8(ascii: ":"): add(.colon, from: start)
        case UInt8(ascii: ".") where followsPyTorchNamespace(start):
          add(.dot, from: start)
        case UInt8(ascii: "-"):
          if peek() == UInt8(ascii: ">") { pos += 1; add(.arrow, from: start) } else { add(.minus, from: start) }
        case UInt8(ascii: "="):
          if peek() == UInt8(ascii: ">") {
            pos += 1
            add(.fatArrow, from: start)
          } else if peek() == UInt8(ascii: "=") {
            pos += 1
            add(.equalEqual, from: start)
          } else {
            add(.equals, from: start)
          }
        case UInt8(ascii: "!") where peek() == UInt8(ascii: "="):
          pos += 1
          add(.notEqual, from: start)
        default:
          reportBadByte(b, at: start, &diags)
        }
      }
    }
    // The end of the file is reported just after the last token, where a reader looks for what is
    // missing, rather than on an empty last line.
    let end = tokens.last(where: { $0.kind != .newline })?.range.end ?? bytes.count
    tokens.append(Token(.eof, SourceRange.point(end)))
    return tokens
  }

  /// PyTorch's namespaces, so that `nn.Conv2d` or `F.relu` reaches the checker as one name it can
  /// translate; and `in`, whose `in.c`, `in.h`, `in.w` are the sizes of a block's input (`input.c`, a
  /// misspelling of it, is joined too, so that the parser can say so). Any other '.' outside a number
  /// stays an unexpected character.
  static let pytorchNamespaces: Set<String> = ["nn", "F", "torch", "functional"]
  static let dottedWords: Set<String> = pytorchNamespaces.union(["in", "input"])

  /// Whether the '.' at `dot` joins one of `dottedWords` written just before it to a name just after it.
  private func followsPyTorchNamespace(_ dot: Int) -> Bool {
    guard let last = tokens.last, last.kind == .identifier, last.range.end == dot, Lexer.isIdentStart(peek()) else {
      return false
    }
    return Lexer.dottedWords.contains(String(decoding: bytes[last.range.start..<last.range.end], as: UTF8.self))
  }

  /// After `if` (or Python's `elif`) a condition starts: a combinator's when the word before it is a
  /// combinator (`residual if`), a statement's otherwise.
  private mutating func startConditionIfKeyword(_ start: Int) {
    let word = bytes[start..<pos]
    guard word.elementsEqual("if".utf8) || word.elementsEqual("elif".utf8) else { return }
    var kind = ConditionKind.statement
    if let last = tokens.last, last.kind == .identifier, last.range.end - last.range.start <= 9 {
      let previous = String(decoding: bytes[last.range.start..<last.range.end], as: UTF8.self).lowercased()
      if Parser.combinatorKeywords.contains(previous) { kind = .combinator }
    }
    condition = kind
    conditionParentheses = 0
  }

  private mutating func reportBadByte(_ b: UInt8, at start: Int, _ diags: inout DiagnosticEngine) {
    if b >= 0x80 {
      let n = Lexer.utf8SequenceLength(bytes, at: start)
      if n == 0 {
        diags.error("invalid-utf8", "invalid UTF-8 byte 0x\(Lexer.hex(b))", at: SourceRange(start, start + 1))
      } else {
        pos = start + n
        let ch = String(decoding: bytes[start..<pos], as: UTF8.self)
        let value = ch.unicodeScalars.first.map { String($0.value, radix: 16, uppercase: true) } ?? "?"
        let code = "U+" + String(repeating: "0", count: max(0, 4 - value.count)) + value
        let name = ch.unicodeScalars.first?.properties.name.map { " (\($0.lowercased()))" } ?? ""
        diags.error("unexpected-character", "unexpected character \(code)\(name)", at: SourceRange(start, pos),
                    notes: [Note("names and keywords are ASCII; non-ASCII text may appear only in '#' comments")])
      }
    } else if b == UInt8(ascii: "!") || b == UInt8(ascii: "&") {
      let written = b == UInt8(ascii: "&") && peek() == UInt8(ascii: "&") ? "&&" : String(UnicodeScalar(b))
      if written == "&&" { pos += 1 }
      let word = b == UInt8(ascii: "!") ? "not" : "and"
      diags.error("unexpected-character", "unexpected character\(written.count > 1 ? "s" : "") '\(written)'; netc writes '\(word)'",
                  at: SourceRange(start, pos), notes: [Note("conditions are written as in Python: 'and', 'or', 'not', '==', '!='")],
                  fixIts: [FixIt(range: SourceRange(start, pos), replacement: word == "not" ? "not " : "and")])
    } else if b == UInt8(ascii: ";") {
      diags.error("unexpected-character", "unexpected character ';'", at: SourceRange(start, pos),
                  notes: [Note("layers are separated by a newline or ','")],
                  fixIts: [FixIt(range: SourceRange(start, pos), replacement: ",")])
    } else if b >= 32 && b < 127 {
      diags.error("unexpected-character", "unexpected character '\(String(UnicodeScalar(b)))'",
                  at: SourceRange(start, pos))
    } else {
      diags.error("unexpected-character", "unexpected control character 0x\(Lexer.hex(b))",
                  at: SourceRange(start, pos))
    }
    add(.invalid, from: start)
  }

  /// `64`, `0.5`, `1e-5`, and the `x` of `3x3`, which is a token of its own only between two numbers.
  /// Lexes a number, or a whole `AxBxC` shape as numbers joined by `.by` tokens (a loop, not
  /// recursion: a shape of twenty thousand parts must not exhaust the stack).
  private mutating func lexNumber() {
    while true {
      let start = pos
      while Lexer.isDigit(peek()) { pos += 1 }
      var isFloat = false
      if peek() == UInt8(ascii: "."), Lexer.isDigit(peek(1)) {
        isFloat = true
        pos += 1
        while Lexer.isDigit(peek()) { pos += 1 }
      }
      if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
        let signed = peek(1) == UInt8(ascii: "-") || peek(1) == UInt8(ascii: "+")
        if Lexer.isDigit(peek(signed ? 2 : 1)) {
          isFloat = true
          pos += signed ? 2 : 1
          while Lexer.isDigit(peek()) { pos += 1 }
        }
      }
      add(isFloat ? .float : .int, from: start)
      if !isFloat, peek() == UInt8(ascii: "x"), Lexer.isDigit(peek(1)) {
        let xStart = pos
        pos += 1
        add(.by, from: xStart)
        continue
      }
      if Lexer.isIdentContinue(peek()) {
        // `3a` or `64ch`: lex the tail as a name so the parser reports one clear error at it.
        let tailStart = pos
        while pos < bytes.count, Lexer.isIdentContinue(bytes[pos]) { pos += 1 }
        add(.identifier, from: tailStart)
      }
      return
    }
  }

  /// Length of the valid UTF-8 sequence starting at `i`, or 0 if the bytes there are not valid UTF-8.
  static func utf8SequenceLength(_ bytes: [UInt8], at i: Int) -> Int {
    let b0 = bytes[i]
    let n: Int
    let minScalar: UInt32
    var scalar: UInt32
    switch b0 {
    case 0xC2...0xDF: n = 2; minScalar = 0x80; scalar = UInt32(b0 & 0x1F)
    case 0xE0...0xEF: n = 3; minScalar = 0x800; scalar = UInt32(b0 & 0x0F)
    case 0xF0...0xF4: n = 4; minScalar = 0x10000; scalar = UInt32(b0 & 0x07)
    default: return 0
    }
    guard i + n <= bytes.count else { return 0 }
    for k in 1..<n {
      let b = bytes[i + k]
      guard b & 0xC0 == 0x80 else { return 0 }
      scalar = (scalar << 6) | UInt32(b & 0x3F)
    }
    if scalar < minScalar || scalar > 0x10FFFF || (scalar >= 0xD800 && scalar <= 0xDFFF) { return 0 }
    return n
  }

  static func hex(_ b: UInt8) -> String {
    let s = String(b, radix: 16, uppercase: true)
    return s.count == 1 ? "0" + s : s
  }
}
