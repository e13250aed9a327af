import NetcBasic
import NetcOps
import NetcSyntax

/// The value of an expression: a size or count, a rate (`0.1*i/17`), or a condition's truth.
enum Value {
  case int(Int), double(Double), bool(Bool)

  /// A number as a double; nil for a condition.
  var real: Double? {
    switch self {
    case .int(let i): return Double(i)
    case .double(let d): return d
    case .bool: return nil
    }
  }

  var isCondition: Bool {
    if case .bool = self { return true }
    return false
  }
}

/// The input of the block whose body an expression is in, for `in.c`, `in.h`, `in.w`.
enum BlockInput {
  /// Not in a block: the network's own body.
  case outside
  /// In a block whose input an earlier error left unknown: `in.c` has no value, and says nothing.
  case unknown
  /// `guess`: the shape is a guess made after an earlier error, so nothing derived from it is reported.
  case shape(Shape, guess: Bool)
}

/// A layer given to a block parameter (`act=hardswish`, `norm=(bn eps=0.001)`), with the names its
/// arguments read where it was written (the caller's parameters and input), as a closure keeps them.
struct LayerValue {
  var layer: LayerSyntax
  /// Where the layer is written: the use's argument, or the parameter's default.
  var range: SourceRange
  var env: Bindings
}

/// What the names of an expression stand for: the parameters of the enclosing block, numbers or layers,
/// and the block's input.
struct Bindings {
  var numbers: [String: Int] = [:]
  var layers: [String: LayerValue] = [:]
  var input: BlockInput = .outside

  subscript(_ name: String) -> Int? { numbers[name] }
  var isEmpty: Bool { numbers.isEmpty && layers.isEmpty }

  /// Whether `in.c` and the rest read a guess made after an error.
  var inputIsGuess: Bool {
    if case .shape(_, true) = input { return true }
    return false
  }
}

/// Evaluates expressions with checked arithmetic.
enum Evaluator {
  static func evaluate(_ e: Expr, env: Bindings, _ diags: inout DiagnosticEngine) -> Value? {
    switch e {
    case .int(let v, _):
      guard let v else { return nil }  // the parser reported the overflow
      return .int(v)
    case .float(let d, _): return .double(d)
    case .name(let n, let r):
      if let v = env.numbers[n] { return .int(v) }
      if let layer = env.layers[n] {
        diags.error("layer-as-number", "'\(n)' is a layer ('\(diags.file.text(layer.range))'), not a number", at: r,
                    notes: [Note("'\(n)' is given here", at: layer.range),
                            Note("a layer parameter is used as a layer line of its own, such as '\(n)' or '\(n)()'")])
        return nil
      }
      let hint = !diags.wouldShowError(at: r) ? "" : Suggest.closest(to: n, in: env.numbers.keys).map { "; did you mean '\($0)'?" } ?? ""
      var notes: [Note] = []
      if n == "in" {
        notes = [Note("the sizes of a block's input are 'in.c' (channels), 'in.h' and 'in.w'")]
      } else if env.isEmpty {
        notes = [Note("names in sizes are parameters of the enclosing block")]
      }
      diags.error("unknown-name", "unknown name '\(n)'\(hint)", at: r, notes: notes)
      return nil
    case .input(let size, let r):
      return inputSize(size, r, env.input, &diags)
    case .negate(let x, let r):
      guard let v = evaluate(x, env: env, &diags) else { return nil }
      switch v {
      case .int(let i):
        if i == Int.min {
          diags.error("integer-overflow", "arithmetic overflow", at: r)
          return nil
        }
        return .int(-i)
      case .double(let d): return .double(-d)
      case .bool:
        notNumber(x, "'-'", &diags)
        return nil
      }
    case .not(let x, let r):
      guard let v = evaluate(x, env: env, &diags) else { return nil }
      guard case .bool(let b) = v else {
        let text = diags.file.text(x.range)
        diags.error("condition-not-boolean", "'not' takes a condition; '\(text)' is a number", at: x.range,
                    notes: [Note("Python's 'not n' is 'n == 0' in netc")],
                    fixIts: [FixIt(range: r, replacement: "\(text) == 0")])
        return nil
      }
      return .bool(!b)
    case .binary(let op, let a, let b, let r):
      if op.isLogical { return logical(op, a, b, env, &diags) }
      guard let va = evaluate(a, env: env, &diags), let vb = evaluate(b, env: env, &diags) else { return nil }
      if op.isComparison { return compare(op, a, va, b, vb, &diags) }
      if va.isCondition || vb.isCondition {
        notNumber(va.isCondition ? a : b, "'\(op.rawValue)'", &diags)
        return nil
      }
      return arithmetic(op, va, vb, r, &diags)
    }
  }

  /// A condition where a number is needed: `-(a < b)`, `(a == b) * 2`.
  static func notNumber(_ e: Expr, _ what: String, _ diags: inout DiagnosticEngine) {
    diags.error("expected-number", "\(what) takes numbers; '\(diags.file.text(e.range))' is a condition", at: e.range)
  }

  /// `in.c`, `in.h`, `in.w` of the enclosing block's input.
  static func inputSize(_ size: Expr.InputSize, _ r: SourceRange, _ input: BlockInput, _ diags: inout DiagnosticEngine) -> Value? {
    switch input {
    case .outside:
      diags.error("input-outside-block", "'in.\(size.rawValue)' is the \(size.meaning) of a block's input, and this is not inside a block",
                  at: r, notes: [Note("the network's input is its 'input' line; 'in.c', 'in.h' and 'in.w' are for the bodies of blocks")])
      return nil
    case .unknown:
      return nil
    case .shape(let shape, _):
      if shape.isFlat {
        guard size == .c else {
          diags.error("flat-input-size", "the block's input is flat (\(shape) features): it has no \(size.meaning)", at: r,
                      notes: [Note("on a flat input 'in.c' is its number of features")])
          return nil
        }
        return .int(shape.dims[0])
      }
      switch size {
      case .c: return .int(shape.channels)
      case .h: return .int(shape.height)
      case .w: return .int(shape.width)
      }
    }
  }

  /// `and`, `or`, evaluated as Python does: the right side only when the left does not decide.
  static func logical(_ op: Expr.BinaryOp, _ a: Expr, _ b: Expr, _ env: Bindings, _ diags: inout DiagnosticEngine) -> Value? {
    guard let left = truth(a, op, env, &diags) else { return nil }
    if (op == .and && !left) || (op == .or && left) { return .bool(left) }
    guard let right = truth(b, op, env, &diags) else { return nil }
    return .bool(right)
  }

  private static func truth(_ e: Expr, _ op: Expr.BinaryOp, _ env: Bindings, _ diags: inout DiagnosticEngine) -> Bool? {
    guard let v = evaluate(e, env: env, &diags) else { return nil }
    guard case .bool(let b) = v else {
      let text = diags.file.text(e.range)
      diags.error("condition-not-boolean", "'\(op.rawValue)' joins conditions; '\(text)' is a number", at: e.range,
                  notes: [Note("Python's '\(text) \(op.rawValue) ...' is '\(text) != 0 \(op.rawValue) ...' in netc")],
                  fixIts: [FixIt(range: SourceRange.point(e.range.end), replacement: " != 0")])
      return nil
    }
    return b
  }

  static func compare(_ op: Expr.BinaryOp, _ a: Expr, _ va: Value, _ b: Expr, _ vb: Value, _ diags: inout DiagnosticEngine) -> Value? {
    if case .bool(let x) = va, case .bool(let y) = vb, op == .equal || op == .notEqual {
      return .bool((x == y) == (op == .equal))
    }
    guard let x = va.real, let y = vb.real else {
      notNumber(va.isCondition ? a : b, "'\(op.rawValue)'", &diags)
      return nil
    }
    // Two integers compare exactly; a rate compares in double precision, as in Python.
    if case .int(let i) = va, case .int(let j) = vb { return .bool(holds(op, i, j)) }
    return .bool(holds(op, x, y))
  }

  private static func holds<T: Comparable>(_ op: Expr.BinaryOp, _ x: T, _ y: T) -> Bool {
    switch op {
    case .equal: return x == y
    case .notEqual: return x != y
    case .less: return x < y
    case .lessEqual: return x <= y
    case .greater: return x > y
    case .greaterEqual: return x >= y
    default: return false
    }
  }

  static func arithmetic(_ op: Expr.BinaryOp, _ va: Value, _ vb: Value, _ r: SourceRange, _ diags: inout DiagnosticEngine) -> Value? {
    guard case .int(let x) = va, case .int(let y) = vb else {
      // A number with a fraction makes a rate, not a size (ConvNeXt's stochastic depth, `0.1*i/17`):
      // double precision, as Python computes it; a size must still come out an integer.
      guard let x = va.real, let y = vb.real else { return nil }
      let d: Double
      switch op {
      case .add: d = x + y
      case .sub: d = x - y
      case .mul: d = x * y
      case .div:
        if y == 0 {
          diags.error("division-by-zero", "division by zero", at: r)
          return nil
        }
        d = x / y
      default: return nil
      }
      guard d.isFinite else {
        diags.error("integer-overflow", "arithmetic overflow", at: r)
        return nil
      }
      return .double(d)
    }
    let result: (Int, Bool)
    switch op {
    case .add: result = x.addingReportingOverflow(y)
    case .sub: result = x.subtractingReportingOverflow(y)
    case .mul: result = x.multipliedReportingOverflow(by: y)
    case .div:
      if y == 0 {
        diags.error("division-by-zero", "division by zero", at: r)
        return nil
      }
      if x == Int.min, y == -1 {
        diags.error("integer-overflow", "arithmetic overflow in '\(x) / \(y)'", at: r)
        return nil
      }
      if x % y != 0 {
        diags.error("inexact-division", "\(x) / \(y) is not a whole number", at: r,
                    notes: [Note("sizes must be integers; netc does not round")])
        return nil
      }
      result = x.dividedReportingOverflow(by: y)
    default: return nil
    }
    if result.1 {
      diags.error("integer-overflow", "arithmetic overflow in '\(x) \(op.rawValue) \(y)'", at: r)
      return nil
    }
    return .int(result.0)
  }
}
