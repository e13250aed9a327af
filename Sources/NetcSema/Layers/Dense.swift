import NetcBasic
import NetcSyntax

/// `fc`/`linear`, `flatten`, `dropout`.
enum DenseLayers {
  static let specs: [LayerSpec] = [linear("fc"), linear("linear"),
    LayerSpec(keyword: "flatten",
              signature: LayerSignature(positional: [], required: 0, options: [:], flags: [], usage: "flatten"),
              check: { _, input, at, diags in
                guard let n = try? cproduct(input.shape.dims) else {
                  diags.error("size-overflow", "the flattened size overflows", at: at)
                  return nil
                }
                return Resolved(op: .flatten, output: Shape([n]))
              }),
    LayerSpec(keyword: "dropout",
              signature: LayerSignature(positional: ["p"], required: 0, options: ["p": "p"], flags: [],
                                        usage: "dropout 0.5", preservesShape: true),
              check: { a, input, _, diags in
                guard let p = a.double("p", default: 0.5, &diags) else { return nil }
                guard p >= 0, p <= 1 else {
                  diags.error("out-of-range", "dropout probability must be between 0 and 1, found \(p)", at: a.range("p"))
                  return nil
                }
                return Resolved(op: .dropout(p: p), output: input.shape)
              }),
  ]

  static func linear(_ keyword: String) -> LayerSpec {
    LayerSpec(keyword: keyword,
              signature: LayerSignature(positional: ["size", "second size"], required: 1, options: [:],
                                        flags: ["nobias", "frozen"], usage: "\(keyword) 4096  (or '\(keyword) 9216 4096')"),
              check: { a, input, at, diags in
                let x = input.shape
                if x.isSpatial {
                  diags.error("needs-flat-input", "'\(a.keyword)' needs a flat input, found \(x)", at: at,
                              notes: [Note("insert 'flatten' (a Flatten module) or 'flatten()' (torch.flatten) before it")],
                              fixIts: [FixIt(range: SourceRange.point(at.start), replacement: "flatten, ")])
                }
                // The sizes are read whatever the input: a mistake in them does not depend on it.
                let first = a.int("size", &diags)
                let second = a.has("second size") ? a.int("second size", &diags) : first
                guard let first, let second else { return nil }
                // Its output is its size whatever the input: after the error the layers after it are checked.
                if x.isSpatial { return Resolved(op: .identity, output: Shape([second])) }
                var outF = first
                if a.has("second size") {
                  outF = second
                  if first != x.dims[0] {
                    var notes: [Note] = []
                    if let from = input.flattenedFrom, let r = input.flattenedAt {
                      notes.append(Note("the input is \(from) = \(grouped(x.dims[0])), flattened here", at: r))
                    }
                    notes.append(Note("write '\(a.keyword) \(x.dims[0]) \(second)', or just '\(a.keyword) \(second)' to take the size from the input"))
                    diags.error("fc-input-mismatch",
                                "'\(a.keyword)' expects \(grouped(first)) inputs but receives \(input.flattenedFrom.map { "\($0) = " } ?? "")\(grouped(x.dims[0]))",
                                at: a.range("size"), notes: notes)
                    // The output is the second size whatever the first: the layers after it can be checked.
                  }
                }
                let trainable = !a.flag("frozen")
                var params = [LayerCheck.tensor("weight", [outF, x.dims[0]], trainable: trainable)]
                if !a.flag("nobias") { params.append(LayerCheck.tensor("bias", [outF], trainable: trainable)) }
                return Resolved(op: .linear(inFeatures: x.dims[0], outFeatures: outF, bias: !a.flag("nobias")),
                                output: Shape([outF]), params: params)
              })
  }
}
