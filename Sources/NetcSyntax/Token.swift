// NetcSyntax: source text -> tokens -> syntax tree. Every node carries the byte range it came from.
import NetcBasic
import NetcOps

public enum TokenKind: Equatable, Sendable {
  case int          // 64
  case float        // 0.5, 1e-5
  case identifier   // conv, relu, BasicBlock, s2, p1x2, x3
  case by           // the 'x' inside 3x3 (only directly between two numbers)
  case lParen, rParen, lBrace, rBrace, lAngle, rAngle
  case pipe, comma, equals, arrow, fatArrow, at, star, slash, plus, minus, colon
  case dot          // the '.' of a block's input (in.c) and of PyTorch's names (nn.Conv2d, F.relu)
  case equalEqual, notEqual  // == and != (comparisons, in conditions)
  case less, lessEqual, greater, greaterEqual  // < <= > >=, only inside a condition: elsewhere '<' and '>' are brackets
  case newline
  case comment      // `#` to the end of the line; only in the lexer's side list, never in the token array
  case eof
  case invalid      // a byte that starts no token; the lexer has reported it
}

public struct Token: Equatable, Sendable {
  public var kind: TokenKind
  public var range: SourceRange
  public init(_ kind: TokenKind, _ range: SourceRange) {
    self.kind = kind
    self.range = range
  }
}

extension TokenKind {
  /// How the token is named in "expected X, found Y" messages.
  public var spelling: String {
    switch self {
    case .int: return "integer"
    case .float: return "number"
    case .identifier: return "name"
    case .by: return "'x'"
    case .lParen: return "'('"
    case .rParen: return "')'"
    case .lBrace: return "'{'"
    case .rBrace: return "'}'"
    case .lAngle: return "'<'"
    case .rAngle: return "'>'"
    case .pipe: return "'|'"
    case .comma: return "','"
    case .equals: return "'='"
    case .arrow: return "'->'"
    case .fatArrow: return "'=>'"
    case .at: return "'@'"
    case .star: return "'*'"
    case .slash: return "'/'"
    case .plus: return "'+'"
    case .minus: return "'-'"
    case .colon: return "':'"
    case .dot: return "'.'"
    case .equalEqual: return "'=='"
    case .notEqual: return "'!='"
    case .less: return "'<'"
    case .lessEqual: return "'<='"
    case .greater: return "'>'"
    case .greaterEqual: return "'>='"
    case .newline: return "end of line"
    case .comment: return "comment"
    case .eof: return "end of file"
    case .invalid: return "invalid character"
    }
  }
}
