// NetcSema: syntax tree -> checked network. Resolves blocks, repetitions and named tensors into a flat
// list of operations in execution order, infers every shape with PyTorch's rules, counts parameters and
// multiply-adds, and reports every mismatch with the place it happens.
import NetcBasic

/// A tensor's shape without the batch dimension: `[C, H, W]` for feature maps, `[N]` for flat vectors.
public struct Shape: Hashable, Sendable, CustomStringConvertible {
  public var dims: [Int]
  public init(_ dims: [Int]) { self.dims = dims }

  public var isSpatial: Bool { dims.count == 3 }
  public var channels: Int { dims[0] }
  public var height: Int { dims[1] }
  public var width: Int { dims[2] }
  /// Elements per batch item; the checker guarantees this does not overflow.
  public var elementCount: Int { dims.reduce(1, *) }
  public var description: String { dims.map(String.init).joined(separator: "x") }
}
