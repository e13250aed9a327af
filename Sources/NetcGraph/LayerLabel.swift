import NetcOps
import NetcSema

/// How a layer is named in a diagram: as a spec would write it (`conv 3x3 64 s2 p1`, `maxpool 3x3 s2
/// ceil`, `fc 1000`), with the functional form in parentheses (`relu()`).
enum LayerLabel {
  static func title(_ op: CheckedOp) -> String {
    let (keyword, args) = words(op.op)
    if !op.isModule { return "\(keyword)(\(args.joined(separator: " ")))" }
    return ([keyword] + args).joined(separator: " ")
  }

  static func words(_ op: any Operation) -> (String, [String]) { op.spelling }

  static func style(_ op: any Operation) -> DiagramBox.Style {
    switch op.family {
    case .conv: return .conv
    case .pool: return .pool
    case .linear: return .linear
    case .norm: return .norm
    case .join: return .join
    case .pointwise: return .pointwise
    }
  }

  /// Layers drawn on one line: those that keep the shape and have nothing to say beyond their name.
  static func isCompact(_ op: any Operation) -> Bool { op.isCompact }
}
