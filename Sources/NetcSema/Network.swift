import NetcBasic
import NetcOps

/// One operation in execution order.
public struct CheckedOp: Sendable {
  public var op: any Operation
  public var inputs: [Int]         // value ids
  public var output: Int           // value id
  public var range: SourceRange    // the layer in the source
  public var scope: Int            // innermost enclosing scope
  /// A module prints a row in `netc params`; a functional call (`relu()`) or a combinator does not.
  public var isModule: Bool
  public var moduleName: String
  public var params: [ParamTensor]
  public var buffers: [ParamTensor]
  /// Multiply-adds for one batch item, by torchinfo's convention.
  public var multAdds: Int

  public var paramCount: Int { params.reduce(0) { $0 + $1.elementCount } }
  public var trainableParamCount: Int { params.filter(\.trainable).reduce(0) { $0 + $1.elementCount } }
  public var bufferCount: Int { buffers.reduce(0) { $0 + $1.elementCount } }
}

public enum ScopeKind: Equatable, Sendable {
  case network
  /// A use of a named block; prints a row (as a PyTorch module) when it closes.
  case block(name: String, moduleName: String)
  case combinator(String)
  case branch(Int)
  case side
}

/// An argument of a block use as written (`Bottleneck(128, s=2)`: `128`, then `s=2`), evaluated; or a
/// layer (`act=hardswish`), as written.
public struct BlockArgument: Equatable, Sendable {
  public enum Value: Equatable, Sendable {
    case number(Int)
    case layer(String)
  }
  public var label: String?        // nil for a positional argument
  public var value: Value
  public init(label: String?, value: Int) {
    self.label = label
    self.value = .number(value)
  }
  public init(label: String?, layer: String) {
    self.label = label
    self.value = .layer(layer)
  }

  /// `128`, `s=2`, `act=hardswish`.
  public var spelled: String {
    let value: String
    switch self.value {
    case .number(let n): value = String(n)
    case .layer(let text): value = text
    }
    return label.map { "\($0)=\(value)" } ?? value
  }
}

public struct Scope: Sendable {
  public var kind: ScopeKind
  public var parent: Int?          // nil for the network scope
  /// The element that opened it. Scopes opened again by a repetition (`x N` on the element or on a group
  /// around it) share this range.
  public var range: SourceRange
  public var depth: Int
  /// The value the scope produced; set when it closes (nil if checking failed inside it).
  public var output: Int?
  /// The value it started from (nil if an earlier error left it unknown).
  public var input: Int? = nil
  /// Where it opened among the ops: the index of the first op run inside it, or of the next op outside
  /// it if it runs none. It orders a scope among its parent's ops.
  public var firstOp: Int = 0
  /// For a block: the arguments of its use (defaults not written are not listed).
  public var arguments: [BlockArgument] = []
}

/// Rows in call order: an op ran, or a scope closed (a block's own row comes after its contents).
public enum Event: Equatable, Sendable {
  case op(Int)
  case close(Int)
}

/// The result of checking: the network as a list of operations on values with known shapes.
public struct CheckedNetwork: Sendable {
  public var name: String
  public var input: Shape
  public var values: [Shape]       // value 0 is the input
  public var ops: [CheckedOp]
  public var scopes: [Scope]
  public var events: [Event]
  /// The main output first, then side outputs in the order they were defined.
  public var outputs: [Int]
  /// The names `=> name` gave to values (the first one, if a value has several).
  public var tensorNames: [Int: String] = [:]

  public var output: Shape { values[outputs[0]] }
  public var totalParams: Int { ops.reduce(0) { $0 + $1.paramCount } }
  public var trainableParams: Int { ops.reduce(0) { $0 + $1.trainableParamCount } }
  public var totalBuffers: Int { ops.reduce(0) { $0 + $1.bufferCount } }
  public var totalMultAdds: Int { ops.reduce(0) { $0 + $1.multAdds } }
}

/// A network with errors, up to the first: what `netc graph` still draws.
public struct PartialNetwork: Sendable {
  /// The layers checked before the first error, inside the blocks and combinators that were complete by
  /// then (the others' layers stand in their enclosing sequence). Its output is the last layer's.
  public var network: CheckedNetwork
  /// The first error, in the order the network is checked.
  public var error: Diagnostic
  /// The element being checked when it was found (the innermost: a layer, a block use, a combinator); nil
  /// for a syntax error or one outside the network's layers.
  public var element: SourceRange?
}
