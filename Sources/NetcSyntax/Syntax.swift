import NetcBasic
import NetcOps

/// An expression: integers, block parameters, the sizes of a block's input (`in.c`) and `+ - * /`
/// (as in `conv 1x1 c*4`); in a condition also comparisons and `and`, `or`, `not` (`s == 1 and in.c == out`).
public indirect enum Expr: Sendable, Equatable {
  case int(Int?, SourceRange)            // nil: the literal does not fit in 64 bits
  case float(Double, SourceRange)
  case name(String, SourceRange)
  case input(InputSize, SourceRange)     // in.c, in.h, in.w
  case negate(Expr, SourceRange)
  case not(Expr, SourceRange)
  case binary(BinaryOp, Expr, Expr, SourceRange)

  public enum BinaryOp: String, Sendable {
    case add = "+", sub = "-", mul = "*", div = "/"
    case equal = "==", notEqual = "!=", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
    case and, or

    public var isComparison: Bool {
      switch self {
      case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual: return true
      default: return false
      }
    }
    public var isLogical: Bool { self == .and || self == .or }
    public var isArithmetic: Bool { !isComparison && !isLogical }
  }

  /// One size of the enclosing block's input: `in.c` its channels, `in.h` its height, `in.w` its width.
  public enum InputSize: String, Sendable, CaseIterable {
    case c, h, w
    public var meaning: String {
      switch self {
      case .c: return "channels"
      case .h: return "height"
      case .w: return "width"
      }
    }
  }

  public var range: SourceRange {
    switch self {
    case .int(_, let r), .float(_, let r), .name(_, let r), .input(_, let r), .negate(_, let r), .not(_, let r),
      .binary(_, _, _, let r):
      return r
    }
  }

  /// The bare word, if this expression is just a name (`ceil`, `bilinear`, or a block parameter).
  public var word: String? {
    if case .name(let n, _) = self { return n }
    return nil
  }

  /// Whether it reads the enclosing block's input (`in.c`), anywhere inside. An expression is at most 64
  /// levels deep (the parser's limit), so the recursion is bounded.
  public var readsInput: Bool {
    switch self {
    case .input: return true
    case .int, .float, .name: return false
    case .negate(let x, _), .not(let x, _): return x.readsInput
    case .binary(_, let a, let b, _): return a.readsInput || b.readsInput
    }
  }
}

/// What a block parameter is given, in a use or as its default: a number (`64`, `c*4`) or a layer
/// (`act=hardswish`, `act=relu()`, `norm=(bn eps=0.001)`), which the body uses as a layer line (`act`).
public enum Argument: Sendable, Equatable {
  case expr(Expr)
  case layer(LayerSyntax, SourceRange)

  public var range: SourceRange {
    switch self {
    case .expr(let e): return e.range
    case .layer(_, let r): return r
    }
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
    public var value: Argument
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
  /// `residual if s == 1 and in.c == out < body >`: the shortcut is added only when the condition holds;
  /// otherwise the element is its body alone.
  public var condition: Expr? = nil
  public var conditionKeywordRange: SourceRange? = nil
}

/// `if COND { ... } else { ... }` (or `else if COND { ... }`): the elements of the branch whose condition
/// holds, checked in place, as Python's `if` in a module's `__init__` builds one form or another.
public struct ConditionalSyntax: Sendable, Equatable {
  public var condition: Expr
  public var keywordRange: SourceRange
  public var then: [Element]
  /// nil without `else`; after `else if`, one element, the nested conditional.
  public var otherwise: [Element]?
  public var elseRange: SourceRange?
}

public indirect enum ElementKind: Sendable, Equatable {
  case layer(LayerSyntax)
  case call(CallSyntax)
  case group([Element])                // ( a, b ) — usually with a repetition
  case combinator(CombinatorSyntax)
  case conditional(ConditionalSyntax)  // if COND { ... } else { ... }
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
  /// A number or a layer (`act=relu`), which also makes the parameter a layer's.
  public var defaultValue: Argument?
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
