// NetcOps: every operation of the language, each defined once, in the file of its family: its keyword
// and signature, shape rule, parameter tensors, cost, names in tables and diagrams, how lowering treats
// it, its kernel binding and how the PyTorch and ONNX emitters write it. Every stage reads operations
// from here (the `OperationRegistry`), through the `Operation` protocol, never by a switch of its own.
import NetcBasic

/// A tensor's shape without the batch dimension, in PyTorch's order: `[C, H, W]` for feature maps, `[N]`
/// for flat vectors, and `[H, W, C]` for a feature map permuted channels-last (`permute 0 2 3 1`, as
/// ConvNeXt's blocks do before their layer norm and linear layers).
///
/// Channels-last is part of the shape, so that a layer written for `CxHxW` never takes `HxWxC` for one:
/// only the layers that work on the channels at each pixel read it (layer norm, linear layers, activations,
/// layer scale, residual joins; see Grammar.md). netc's
/// kernels store it channels-first all the same, so the permutation costs nothing at run time.
public struct Shape: Hashable, Sendable, CustomStringConvertible {
  public var dims: [Int]
  /// `[H, W, C]` rather than `[C, H, W]`.
  public var channelsLast: Bool
  public init(_ dims: [Int], channelsLast: Bool = false) {
    self.dims = dims
    self.channelsLast = channelsLast && dims.count == 3
  }

  /// A `CxHxW` feature map.
  public var isSpatial: Bool { dims.count == 3 && !channelsLast }
  public var isFlat: Bool { dims.count == 1 }
  /// Channels, height and width of a feature map, in either order.
  public var channels: Int { channelsLast ? dims[2] : dims[0] }
  public var height: Int { channelsLast ? dims[0] : dims[1] }
  public var width: Int { channelsLast ? dims[1] : dims[2] }
  /// The channels and the pixels of one item as netc's kernels store it, channels-first: `C` and `H*W`
  /// of a feature map in either order, `N` and 1 of a flat vector.
  public var channelsAndPixels: (channels: Int, pixels: Int) {
    dims.count == 3 ? (channels, dims[0] * dims[1] * dims[2] / channels) : (dims[0], elementCount / max(1, dims[0]))
  }
  /// The same feature map channels-last (`true`) or channels-first.
  public func permuted(channelsLast last: Bool) -> Shape {
    guard dims.count == 3, last != channelsLast else { return self }
    return last ? Shape([dims[1], dims[2], dims[0]], channelsLast: true) : Shape([dims[2], dims[0], dims[1]])
  }
  /// The dimensions in the order netc's kernels store them: a channels-last map's as `[C, H, W]`.
  public var storageDims: [Int] { permuted(channelsLast: false).dims }
  /// Elements per batch item; the checker guarantees this does not overflow.
  public var elementCount: Int { dims.reduce(1, *) }
  /// `96x56x56`; a channels-last map in its own order, `56x56x96`, as PyTorch's tools print it.
  public var description: String { dims.map(String.init).joined(separator: "x") }
  /// For diagnostics: `56x56x96 (channels-last)`.
  public var described: String { channelsLast ? "\(description) (channels-last)" : description }
}

/// How a parameter tensor starts when netc makes weights (`netc init`): PyTorch's own defaults differ by
/// layer, netc uses He (Kaiming) normal for weights, as the VGG material prescribes.
public enum ParamInit: Equatable, Sendable {
  /// N(0, 2 / fanIn).
  case heNormal(fanIn: Int)
  case zeros
  case ones
  /// Every element the same value (a layer scale's 1e-6).
  case constant(Double)
}

/// A learnable tensor (or a buffer such as batch norm's running mean) with PyTorch's attribute name.
public struct ParamTensor: Equatable, Sendable {
  public var name: String          // "weight", "bias", "running_mean", "running_var"
  public var shape: [Int]
  public var trainable: Bool
  public var initialisation: ParamInit
  public var elementCount: Int { shape.reduce(1, *) }

  public init(name: String, shape: [Int], trainable: Bool, initialisation: ParamInit) {
    self.name = name
    self.shape = shape
    self.trainable = trainable
    self.initialisation = initialisation
  }
}
