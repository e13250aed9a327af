import NetcBasic

/// What a layer accepts: positional argument names in order, option spellings, and flags.
public struct LayerSignature: Sendable {
  public var positional: [String]
  public var required: Int
  /// Spelling as written -> canonical option name (`s` and `stride` both mean `stride`).
  public var options: [String: String]
  public var flags: Set<String>
  /// An example of correct use, for notes.
  public var usage: String
  /// The output has the input's shape whatever the arguments (`bn`, `dropout`, activations): after a
  /// mistake in the arguments, the checker goes on from the input's shape.
  public var preservesShape = false
  /// PyTorch has no module for it, only a function or method (`x.chunk(2, dim=1)`): it is written only in
  /// the functional form, `chunk(2 1)`, which prints no row.
  public var functionOnly = false

  /// Its tensors are parameters of the enclosing module (the block, or the network), which that module's
  /// forward uses itself (`self.layer_scale * x`): it is no module, so it is written only in the
  /// functional form, prints no row, and its parameters count in the block's.
  public var parameterOfEnclosingModule = false

  public init(positional: [String], required: Int, options: [String: String], flags: Set<String>, usage: String,
              preservesShape: Bool = false, functionOnly: Bool = false, parameterOfEnclosingModule: Bool = false) {
    self.positional = positional
    self.required = required
    self.options = options
    self.flags = flags
    self.usage = usage
    self.preservesShape = preservesShape
    self.functionOnly = functionOnly
    self.parameterOfEnclosingModule = parameterOfEnclosingModule
  }
}

/// A layer's arguments, bound to the signature's names and evaluated by the checker; reading one that is
/// wrong reports it.
public protocol LayerArguments {
  var keyword: String { get }
  func has(_ name: String) -> Bool
  func flag(_ name: String) -> Bool
  /// Where argument `name` is written (the layer's keyword if it is not).
  func range(_ name: String) -> SourceRange
  /// The bare word given for `name` (`pad=same`), if it is one.
  func word(_ name: String) -> String?
  func integer(_ name: String, default def: Int?, min lower: Int, _ diags: inout DiagnosticEngine) -> Int?
  /// An integer or an `HxW` pair.
  func integerPair(_ name: String, default def: (Int, Int)?, min lower: Int, _ diags: inout DiagnosticEngine) -> (Int, Int)?
  func number(_ name: String, default def: Double, _ diags: inout DiagnosticEngine) -> Double?
}

extension LayerArguments {
  public func int(_ name: String, default def: Int? = nil, min lower: Int = 1, _ diags: inout DiagnosticEngine) -> Int? {
    integer(name, default: def, min: lower, &diags)
  }
  public func pair(_ name: String, default def: (Int, Int)? = nil, min lower: Int = 1,
                   _ diags: inout DiagnosticEngine) -> (Int, Int)? {
    integerPair(name, default: def, min: lower, &diags)
  }
  public func double(_ name: String, default def: Double, _ diags: inout DiagnosticEngine) -> Double? {
    number(name, default: def, &diags)
  }
}

/// The input a layer sees, with what the checker knows of its history (for notes).
public struct LayerInput {
  public var shape: Shape
  /// The spatial shape this flat tensor was flattened from, if it was.
  public var flattenedFrom: Shape?
  /// Where the flattening happened.
  public var flattenedAt: SourceRange?
  public init(shape: Shape, flattenedFrom: Shape? = nil, flattenedAt: SourceRange? = nil) {
    self.shape = shape
    self.flattenedFrom = flattenedFrom
    self.flattenedAt = flattenedAt
  }
}

/// What checking one layer produces.
public struct Resolved {
  public var op: any Operation
  public var output: Shape
  public var params: [ParamTensor] = []
  public var buffers: [ParamTensor] = []
  public init(op: any Operation, output: Shape, params: [ParamTensor] = [], buffers: [ParamTensor] = []) {
    self.op = op
    self.output = output
    self.params = params
    self.buffers = buffers
  }
}

/// One built-in layer: its keyword, signature and checking rule.
public struct LayerSpec: Sendable {
  public var keyword: String
  public var signature: LayerSignature
  /// Reports every mistake and returns nil when the output is unknown. After an error that leaves the output
  /// known (a `groups` that does not divide), it returns the output anyway, so that the checker goes on
  /// from it (the network is not built: the error stands).
  public var check: @Sendable (any LayerArguments, LayerInput, SourceRange, inout DiagnosticEngine) -> Resolved?

  public init(keyword: String, signature: LayerSignature,
              check: @escaping @Sendable (any LayerArguments, LayerInput, SourceRange, inout DiagnosticEngine) -> Resolved?) {
    self.keyword = keyword
    self.signature = signature
    self.check = check
  }
}

/// Shared checks used by several layer families.
public enum LayerCheck {
  public static func requireSpatial(_ keyword: String, _ input: LayerInput, _ at: SourceRange,
                                    _ diags: inout DiagnosticEngine) -> Bool {
    if input.shape.isSpatial { return true }
    if input.shape.channelsLast {
      channelsLastError(keyword, input, at, &diags, needs: "a CxHxW input")
      return false
    }
    var notes: [Note] = []
    if let r = input.flattenedAt { notes.append(Note("the input was flattened here", at: r)) }
    diags.error("needs-spatial-input",
                "'\(keyword)' needs a CxHxW input, found the flat shape \(input.shape)", at: at, notes: notes)
    return false
  }

  /// Refuses a channels-last input for a layer that reads its input as `CxHxW` or flat (`bn`, `softmax`,
  /// `flatten`): in PyTorch it would take the height for the channels, or the pixels in another order.
  public static func refuseChannelsLast(_ keyword: String, _ input: LayerInput, _ at: SourceRange,
                                        _ diags: inout DiagnosticEngine) -> Bool {
    guard input.shape.channelsLast else { return true }
    channelsLastError(keyword, input, at, &diags, needs: "a CxHxW or flat input")
    return false
  }

  static func channelsLastError(_ keyword: String, _ input: LayerInput, _ at: SourceRange, _ diags: inout DiagnosticEngine,
                                needs: String) {
    diags.error("needs-spatial-input", "'\(keyword)' needs \(needs), found the channels-last shape \(input.shape)",
                at: at, notes: [Note("permute it back first: 'permute 0 3 1 2'")],
                fixIts: [FixIt(range: SourceRange.point(at.start), replacement: "permute 0 3 1 2, ")])
  }

  public static func tensor(_ name: String, _ shape: [Int], trainable: Bool = true, _ initialisation: ParamInit)
    -> ParamTensor
  {
    ParamTensor(name: name, shape: shape, trainable: trainable, initialisation: initialisation)
  }
}
