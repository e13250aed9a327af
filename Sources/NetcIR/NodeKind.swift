import NetcBasic
import NetcOps

/// The kernels' view of a node, for the interpreter and the Swift emitter until each operation binds its
/// own kernel.
public enum NodeKind: Sendable {
  case conv(ConvAttrs, weights: String, bias: Bool, batchNorm: BatchNormRef?)
  case linear(inFeatures: Int, outFeatures: Int, weights: String, bias: Bool, batchNorm: BatchNormRef?)
  case batchNorm(BatchNormRef)
  case pool(PoolAttrs)
  case adaptivePool(PoolKind, outH: Int, outW: Int)
  case lrn(size: Int, alpha: Double, beta: Double, k: Double)
  case upsample(mode: UpsampleMode, alignCorners: Bool, scaleH: Double, scaleW: Double)
  case softmax
  case activation
  case add
  case mul
  case concat
}

extension Node {
  public var kind: NodeKind {
    switch op {
    case let a as ConvOp: return .conv(a, weights: weights ?? "", bias: a.bias, batchNorm: batchNorm)
    case let l as LinearOp:
      return .linear(inFeatures: l.inFeatures, outFeatures: l.outFeatures, weights: weights ?? "", bias: l.bias, batchNorm: batchNorm)
    case let b as BatchNormOp:
      return .batchNorm(BatchNormRef(name: weights ?? "", channels: b.channels, eps: b.eps, affine: b.affine))
    case let p as PoolOp: return .pool(p)
    case let p as AdaptivePoolOp: return .adaptivePool(p.kind, outH: p.outH, outW: p.outW)
    case let l as LRNOp: return .lrn(size: l.size, alpha: l.alpha, beta: l.beta, k: l.k)
    case let u as UpsampleOp:
      return .upsample(mode: u.mode, alignCorners: u.alignCorners, scaleH: u.sourceScale.h, scaleW: u.sourceScale.w)
    case is SoftmaxOp: return .softmax
    case is ActivationOp: return .activation
    case let e as ElementwiseOp: return e.kind == .add ? .add : .mul
    case is ConcatOp: return .concat
    default: preconditionFailure("netc internal error: no kernel for \(op)")
    }
  }
}
