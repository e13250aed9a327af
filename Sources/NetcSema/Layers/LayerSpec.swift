import NetcBasic
import NetcSyntax

/// What checking one layer produces.
struct Resolved {
  var op: Op
  var output: Shape
  var params: [ParamTensor] = []
  var buffers: [ParamTensor] = []
}

/// The input a layer sees, with what the checker knows of its history (for notes).
struct LayerInput {
  var shape: Shape
  /// The spatial shape this flat tensor was flattened from, if it was.
  var flattenedFrom: Shape?
  /// Where the flattening happened.
  var flattenedAt: SourceRange?
}

/// One built-in layer: its signature and its checking rule. Each file in Layers/ defines the layers of one
/// family, with attribute parsing, shape resolution and parameter shapes side by side.
struct LayerSpec: Sendable {
  var keyword: String
  var signature: LayerSignature
  /// Reports every mistake and returns nil when the output is unknown. After an error that leaves the output
  /// known (a `groups` that does not divide), it returns the output anyway, so that the checker goes on
  /// from it (the network is not built: the error stands).
  var check: @Sendable (LayerArgs, LayerInput, SourceRange, inout DiagnosticEngine) -> Resolved?
}

enum LayerRegistry {
  /// Every layer, in the order of Grammar.md's table.
  static let ordered: [LayerSpec] =
    ConvLayers.specs + PoolLayers.specs + DenseLayers.specs + NormLayers.specs + PointwiseLayers.specs

  static let all: [String: LayerSpec] = {
    var table: [String: LayerSpec] = [:]
    for spec in ordered { table[spec.keyword] = spec }
    return table
  }()
}

/// Shared checks used by several layer families.
enum LayerCheck {
  static func requireSpatial(_ keyword: String, _ input: LayerInput, _ at: SourceRange,
                             _ diags: inout DiagnosticEngine) -> Bool {
    if input.shape.isSpatial { return true }
    var notes: [Note] = []
    if let r = input.flattenedAt { notes.append(Note("the input was flattened here", at: r)) }
    diags.error("needs-spatial-input",
                "'\(keyword)' needs a CxHxW input, found the flat shape \(input.shape)", at: at, notes: notes)
    return false
  }

  static func tensor(_ name: String, _ shape: [Int], trainable: Bool = true) -> ParamTensor {
    ParamTensor(name: name, shape: shape, trainable: trainable)
  }
}
