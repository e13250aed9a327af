import NetcBasic
import NetcSyntax

/// `maxpool`, `avgpool`, `adaptive_avgpool`, `adaptive_maxpool`, `global_avgpool`, `global_maxpool`.
enum PoolLayers {
  static let poolOptions: [String: String] = [
    "s": "stride", "stride": "stride", "p": "pad", "pad": "pad", "padding": "pad",
    "d": "dilation", "dilation": "dilation",
  ]

  static let specs: [LayerSpec] = [
    LayerSpec(keyword: "maxpool",
              signature: LayerSignature(positional: ["kernel"], required: 1, options: poolOptions, flags: ["ceil"],
                                        usage: "maxpool 3x3 s2 p1 ceil"),
              check: { pool($0, $1, $2, .max, &$3) }),
    LayerSpec(keyword: "avgpool",
              signature: LayerSignature(positional: ["kernel"], required: 1,
                                        options: poolOptions.filter { $0.value != "dilation" },
                                        flags: ["ceil", "exclude_pad"], usage: "avgpool 2x2 s2"),
              check: { pool($0, $1, $2, .avg, &$3) }),
    adaptive("adaptive_avgpool", .avg), adaptive("adaptive_maxpool", .max),
    global("global_avgpool", .avg), global("global_maxpool", .max),
  ]

  static func adaptive(_ keyword: String, _ kind: PoolKind) -> LayerSpec {
    LayerSpec(keyword: keyword,
              signature: LayerSignature(positional: ["size"], required: 1, options: [:], flags: [],
                                        usage: "\(keyword) 6x6"),
              check: { a, input, at, diags in
                let spatial = LayerCheck.requireSpatial(a.keyword, input, at, &diags)
                guard let size = a.pair("size", &diags), spatial else { return nil }
                let x = input.shape
                return Resolved(op: .adaptivePool(kind, outH: size.0, outW: size.1),
                                output: Shape([x.channels, size.0, size.1]))
              })
  }

  static func global(_ keyword: String, _ kind: PoolKind) -> LayerSpec {
    LayerSpec(keyword: keyword,
              signature: LayerSignature(positional: [], required: 0, options: [:], flags: [], usage: keyword),
              check: { a, input, at, diags in
                guard LayerCheck.requireSpatial(a.keyword, input, at, &diags) else { return nil }
                return Resolved(op: .adaptivePool(kind, outH: 1, outW: 1), output: Shape([input.shape.channels, 1, 1]))
              })
  }

  static func pool(_ a: LayerArgs, _ input: LayerInput, _ at: SourceRange, _ kind: PoolKind,
                   _ diags: inout DiagnosticEngine) -> Resolved? {
    // The input is checked first and the arguments still read: a mistake in them does not depend on it.
    let spatial = LayerCheck.requireSpatial(a.keyword, input, at, &diags)
    let x = input.shape
    guard let kernel = a.pair("kernel", &diags), let stride = a.pair("stride", default: kernel, &diags),
      let pad = a.pair("pad", default: (0, 0), min: 0, &diags),
      let dilation = a.pair("dilation", default: (1, 1), &diags), spatial
    else { return nil }
    // PyTorch: padding at most half the kernel, dilated or not (max_pool2d checks kW / 2 >= padW).
    if pad.0 > kernel.0 / 2 || pad.1 > kernel.1 / 2 {
      diags.error("pool-padding", "padding \(pad.0 == pad.1 ? "\(pad.0)" : "\(pad.0)x\(pad.1)") is more than half the \(kernel.0)x\(kernel.1) kernel",
                  at: a.range("pad"), notes: [Note("PyTorch requires pad <= kernel/2 for pooling")])
      return nil
    }
    let ceil = a.flag("ceil")
    var outH = 0, outW = 0
    do {
      outH = try SpatialRule.outputSize(input: x.height, kernel: kernel.0, stride: stride.0, padBefore: pad.0,
                                        padAfter: pad.0, dilation: dilation.0, ceil: ceil)
      outW = try SpatialRule.outputSize(input: x.width, kernel: kernel.1, stride: stride.1, padBefore: pad.1,
                                        padAfter: pad.1, dilation: dilation.1, ceil: ceil)
    } catch {
      diags.error("size-overflow", "the output size of '\(a.keyword)' overflows", at: at)
      return nil
    }
    if outH <= 0 || outW <= 0 {
      diags.error("kernel-too-large",
                  "the \(kernel.0)x\(kernel.1) window does not fit in the \(x.height + 2 * pad.0)x\(x.width + 2 * pad.1) padded input",
                  at: at, notes: [Note("the input is \(x)")])
      return nil
    }
    if !ceil {
      ConvLayers.warnDropped(a, x, kernel, stride, pad, pad, dilation, at, &diags)
    }
    let attrs = PoolAttrs(kind: kind, kernel: kernel, stride: stride, pad: pad, dilation: dilation, ceilMode: ceil,
                          countIncludePad: !a.flag("exclude_pad"))
    return Resolved(op: .pool(attrs), output: Shape([x.channels, outH, outW]))
  }
}
