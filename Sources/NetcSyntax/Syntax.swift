import NetcBasic
import NetcOps

/// An integer-valued expression: literals, block parameters and `+ - * /` (as in `conv 1x1 c*4`).
public indirect enum Expr: Sendable, Equatable {
  case int(Int?, SourceRange)            // nil: the literal does not fit in 64 bits
  case float(Double, SourceRange)
  case name(String, SourceRange)
  case negate(Expr, SourceRange)
  case binary(BinaryOp, Expr, Expr, SourceRange)

  public enum BinaryOp: String, Sendable { case add = "+", sub = "-", mul = "*", div = "/" }

  public var range: SourceRange {
    switch self {
    case .int(_, let r), .float(_, let r), .name(_, let r), .negate(_, let r), .binary(_, _, _, let r): return r
    }
  }

  /// The bare word, if this expression is just a name (`ceil`, `bilinear`, or a block parameter).
  public var word: String? {
    if case .name(let n, _) = self { return n }
    return nil
  }
}

/// One argument of a layer: positional (`64`, `3x3`, `c*4`) or keyed (`stride=2`, `pad=same`). The
/// compact forms `s2`, `p1`, `p1x2`, `d2`, `g32` arrive here already split into key and value.
public struct LayerArg: Sendable, Equatable {
  public enum Value: Sendable, Equatable {
    case expr(Expr)
    case dims([Expr], SourceRange)     // 3x3, 1x2
  }
  public var key: String?
  public var keyRange: SourceRange?
  public var value: Value
  public var range: SourceRange

  public init(key: String?, keyRange: SourceRange?, value: Value, range: SourceRange) {
    self.key = key
    self.keyRange = keyRange
    self.value = value
    self.range = range
  }

  public var valueRange: SourceRange {
    switch value {
    case .expr(let e): return e.range
    case .dims(_, let r): return r
    }
  }
}

/// A built-in layer: `conv 3x3 64 s2 p1`. Written with parentheses (`relu()`, `flatten()`), it is the
/// functional form (PyTorch's `F.relu`, `torch.flatten`): it computes the same but is not a module.
public struct LayerSyntax: Sendable, Equatable {
  public var keyword: String
  public var keywordRange: SourceRange
  public var functional: Bool
  public var args: [LayerArg]

  public init(keyword: String, keywordRange: SourceRange, functional: Bool, args: [LayerArg]) {
    self.keyword = keyword
    self.keywordRange = keywordRange
    self.functional = functional
    self.args = args
  }
}

/// A use of a named block: `Bottleneck(128, s=2)`.
public struct CallSyntax: Sendable, Equatable {
  public struct Arg: Sendable, Equatable {
    public var label: String?
    public var labelRange: SourceRange?
    public var value: Expr
  }
  public var name: String
  public var nameRange: SourceRange
  public var args: [Arg]
}

/// `inception< a | b >`, `residual< body | shortcut >`, `add<...>`, `mul<...>`, `concat<...>`, `side<...>`.
public struct CombinatorSyntax: Sendable, Equatable {
  public var keyword: String
  public var keywordRange: SourceRange
  public var branches: [[Element]]
  /// Where each `|` stands, to point at an empty branch.
  public var branchRanges: [SourceRange]
}

public indirect enum ElementKind: Sendable, Equatable {
  case layer(LayerSyntax)
  case call(CallSyntax)
  case group([Element])                // ( a, b ) — usually with a repetition
  case combinator(CombinatorSyntax)
  case reference(String)               // @name
  case bad                             // unparseable; the parser has reported it
}

/// What may follow an element: a checked shape (`-> 64x56x56`) or a name for its output (`=> c1`).
public enum Suffix: Sendable, Equatable {
  case expectShape([Expr], SourceRange)
  case bind(String, SourceRange)
}

public struct Element: Sendable, Equatable {
  public var kind: ElementKind
  public var range: SourceRange
  public var repeatCount: Expr?
  public var suffixes: [Suffix]

  public init(kind: ElementKind, range: SourceRange, repeatCount: Expr? = nil, suffixes: [Suffix] = []) {
    self.kind = kind
    self.range = range
    self.repeatCount = repeatCount
    self.suffixes = suffixes
  }
}

public struct ParamDecl: Sendable, Equatable {
  public var name: String
  public var range: SourceRange
  public var defaultValue: Expr?
}

/// `block Name(params) [as Module] { body }`
public struct BlockDecl: Sendable, Equatable {
  public var name: String
  public var nameRange: SourceRange
  public var params: [ParamDecl]
  /// The module name it prints as (`as BasicBlock`); defaults to `name`.
  public var moduleName: String?
  public var body: [Element]
  public var range: SourceRange
}

public struct InputDecl: Sendable, Equatable {
  public var dims: [Expr]
  public var range: SourceRange
}

/// A whole `.net` file.
public struct NetworkSyntax: Sendable, Equatable {
  public var name: String?
  public var nameRange: SourceRange?
  public var input: InputDecl?
  public var blocks: [BlockDecl]
  public var body: [Element]
  public var endOfFile: SourceRange
}
