import NetcBasic
import NetcSyntax

/// Activations, `softmax`, `identity` and `upsample`: layers without parameters.
enum PointwiseLayers {
  static func simple(_ keyword: String, _ op: Op) -> LayerSpec {
    LayerSpec(keyword: keyword,
              signature: LayerSignature(positional: [], required: 0, options: [:], flags: [], usage: keyword,
                                        preservesShape: true),
              check: { _, input, _, _ in Resolved(op: op, output: input.shape) })
  }

  static let specs: [LayerSpec] = [
    simple("relu", .activation(.relu)), simple("relu6", .activation(.relu6)),
    simple("sigmoid", .activation(.sigmoid)), simple("tanh", .activation(.tanh)),
    simple("silu", .activation(.silu)), simple("gelu", .activation(.gelu)),
    simple("softmax", .softmax), simple("identity", .identity),
    LayerSpec(keyword: "leaky_relu",
              signature: LayerSignature(positional: ["slope"], required: 0, options: ["slope": "slope"], flags: [],
                                        usage: "leaky_relu 0.01", preservesShape: true),
              check: { a, input, _, diags in
                guard let slope = a.double("slope", default: 0.01, &diags) else { return nil }
                return Resolved(op: .activation(.leakyRelu(slope: slope)), output: input.shape)
              }),
    LayerSpec(keyword: "upsample",
              signature: LayerSignature(positional: ["scale"], required: 0, options: ["scale": "scale", "size": "size"],
                                        flags: ["nearest", "bilinear", "align_corners"], usage: "upsample 2 bilinear"),
              check: upsample),
  ]

  static func upsample(_ a: LayerArgs, _ input: LayerInput, _ at: SourceRange, _ diags: inout DiagnosticEngine) -> Resolved? {
    guard LayerCheck.requireSpatial(a.keyword, input, at, &diags) else { return nil }
    let x = input.shape
    if a.flag("nearest") && a.flag("bilinear") {
      diags.error("conflicting-options", "choose one of 'nearest' and 'bilinear'", at: at)
      return nil
    }
    let mode: UpsampleMode = a.flag("bilinear") ? .bilinear : .nearest
    if a.flag("align_corners") && mode != .bilinear {
      diags.error("conflicting-options", "'align_corners' applies to 'bilinear' only", at: at)
      return nil
    }
    var outH = 0, outW = 0
    var scaleH = 0.0, scaleW = 0.0
    if a.has("size") == a.has("scale") {
      diags.error("missing-argument", "'upsample' needs either a scale or 'size=HxW'", at: at,
                  notes: [Note("usage: upsample 2 bilinear, or upsample size=56x56")])
      return nil
    }
    if a.has("size") {
      guard let size = a.pair("size", &diags) else { return nil }
      (outH, outW) = size
      scaleH = Double(outH) / Double(x.height)
      scaleW = Double(outW) / Double(x.width)
    } else {
      guard let s = a.double("scale", default: 1, &diags) else { return nil }
      guard s > 0, s <= 1024 else {
        diags.error("out-of-range", "upsample scale must be positive and at most 1024, found \(s)", at: a.range("scale"))
        return nil
      }
      scaleH = s; scaleW = s
      outH = Int((Double(x.height) * s).rounded(.down))
      outW = Int((Double(x.width) * s).rounded(.down))
      if outH <= 0 || outW <= 0 {
        diags.error("kernel-too-large", "upsampling \(x) by \(s) leaves no output", at: at)
        return nil
      }
    }
    return Resolved(op: .upsample(scaleH: scaleH, scaleW: scaleW, mode: mode, alignCorners: a.flag("align_corners"),
                                  sizeGiven: a.has("size")),
                    output: Shape([x.channels, outH, outW]))
  }
}
