import NetcBasic

public enum PoolKind: String, Sendable { case max, avg }

public enum Activation: Equatable, Sendable {
  case relu, relu6, sigmoid, tanh, silu, gelu
  case leakyRelu(slope: Double)
}

public enum UpsampleMode: String, Sendable { case nearest, bilinear }

public struct ConvAttrs: Equatable, Sendable {
  public var inChannels: Int
  public var outChannels: Int
  public var kernel: (h: Int, w: Int)
  public var stride: (h: Int, w: Int)
  /// Padding on each side; `same` can make bottom/right one larger than top/left, as PyTorch does.
  public var padTop: Int, padLeft: Int, padBottom: Int, padRight: Int
  public var dilation: (h: Int, w: Int)
  public var groups: Int
  public var bias: Bool
  public var transposed: Bool
  public var outputPadding: (h: Int, w: Int)

  public static func == (a: ConvAttrs, b: ConvAttrs) -> Bool {
    a.inChannels == b.inChannels && a.outChannels == b.outChannels && a.kernel == b.kernel
      && a.stride == b.stride && a.padTop == b.padTop && a.padLeft == b.padLeft
      && a.padBottom == b.padBottom && a.padRight == b.padRight && a.dilation == b.dilation
      && a.groups == b.groups && a.bias == b.bias && a.transposed == b.transposed
      && a.outputPadding == b.outputPadding
  }
}

public struct PoolAttrs: Equatable, Sendable {
  public var kind: PoolKind
  public var kernel: (h: Int, w: Int)
  public var stride: (h: Int, w: Int)
  public var pad: (h: Int, w: Int)
  public var dilation: (h: Int, w: Int)
  public var ceilMode: Bool
  public var countIncludePad: Bool

  public static func == (a: PoolAttrs, b: PoolAttrs) -> Bool {
    a.kind == b.kind && a.kernel == b.kernel && a.stride == b.stride && a.pad == b.pad
      && a.dilation == b.dilation && a.ceilMode == b.ceilMode && a.countIncludePad == b.countIncludePad
  }
}

/// One primitive operation of the checked network, with every attribute resolved.
public enum Op: Equatable, Sendable {
  case conv(ConvAttrs)
  case pool(PoolAttrs)
  case adaptivePool(PoolKind, outH: Int, outW: Int)
  case linear(inFeatures: Int, outFeatures: Int, bias: Bool)
  case flatten
  case dropout(p: Double)
  case batchNorm(channels: Int, eps: Double, momentum: Double, affine: Bool)
  case lrn(size: Int, alpha: Double, beta: Double, k: Double)
  /// `sizeGiven`: the output size was written (PyTorch's `size=`), else the scale (`scale_factor=`); they
  /// place source pixels differently for fractional scales.
  case upsample(scaleH: Double, scaleW: Double, mode: UpsampleMode, alignCorners: Bool, sizeGiven: Bool)
  case identity
  case activation(Activation)
  case softmax
  case concat
  case add
  case mul

  /// The PyTorch module this op prints as.
  public func moduleName(inputIsFlat: Bool) -> String {
    switch self {
    case .conv(let a): return a.transposed ? "ConvTranspose2d" : "Conv2d"
    case .pool(let a): return a.kind == .max ? "MaxPool2d" : "AvgPool2d"
    case .adaptivePool(let k, _, _): return k == .max ? "AdaptiveMaxPool2d" : "AdaptiveAvgPool2d"
    case .linear: return "Linear"
    case .flatten: return "Flatten"
    case .dropout: return "Dropout"
    case .batchNorm: return inputIsFlat ? "BatchNorm1d" : "BatchNorm2d"
    case .lrn: return "LocalResponseNorm"
    case .upsample: return "Upsample"
    case .identity: return "Identity"
    case .activation(let a):
      switch a {
      case .relu: return "ReLU"
      case .relu6: return "ReLU6"
      case .sigmoid: return "Sigmoid"
      case .tanh: return "Tanh"
      case .silu: return "SiLU"
      case .gelu: return "GELU"
      case .leakyRelu: return "LeakyReLU"
      }
    case .softmax: return "Softmax"
    case .concat: return "cat"
    case .add: return "add"
    case .mul: return "mul"
    }
  }
}
