import NetcBasic
import NetcSyntax

/// `bn` (BatchNorm2d / BatchNorm1d) and `lrn` (LocalResponseNorm).
enum NormLayers {
  static let specs: [LayerSpec] = [
    LayerSpec(keyword: "bn",
              signature: LayerSignature(positional: [], required: 0, options: ["eps": "eps", "momentum": "momentum"],
                                        flags: ["noaffine", "frozen"], usage: "bn eps=0.001",
                                        preservesShape: true),
              check: { a, input, at, diags in
                guard let eps = a.double("eps", default: 1e-5, &diags),
                  let momentum = a.double("momentum", default: 0.1, &diags) else { return nil }
                guard eps > 0 else {
                  diags.error("out-of-range", "eps of 'bn' must be positive", at: a.range("eps"))
                  return nil
                }
                let c = input.shape.dims[0]
                let affine = !a.flag("noaffine")
                let trainable = !a.flag("frozen")
                let params = affine ? [LayerCheck.tensor("weight", [c], trainable: trainable),
                                       LayerCheck.tensor("bias", [c], trainable: trainable)] : []
                let buffers = [LayerCheck.tensor("running_mean", [c], trainable: false),
                               LayerCheck.tensor("running_var", [c], trainable: false)]
                return Resolved(op: .batchNorm(channels: c, eps: eps, momentum: momentum, affine: affine),
                                output: input.shape, params: params, buffers: buffers)
              }),
    LayerSpec(keyword: "lrn",
              signature: LayerSignature(positional: ["size"], required: 1,
                                        options: ["size": "size", "alpha": "alpha", "beta": "beta", "k": "k"], flags: [],
                                        usage: "lrn 5 alpha=0.0001 beta=0.75 k=1", preservesShape: true),
              check: { a, input, at, diags in
                guard LayerCheck.requireSpatial(a.keyword, input, at, &diags),
                  let size = a.int("size", &diags), let alpha = a.double("alpha", default: 1e-4, &diags),
                  let beta = a.double("beta", default: 0.75, &diags), let k = a.double("k", default: 1, &diags)
                else { return nil }
                return Resolved(op: .lrn(size: size, alpha: alpha, beta: beta, k: k), output: input.shape)
              }),
  ]
}
