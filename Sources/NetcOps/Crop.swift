import NetcBasic
import NetcKernels

// A centre crop: U-Net's "copy and crop", which brings a feature map of the contracting path to the size
// of the expanding path's map before the two are concatenated.

/// The centre `height` x `width` window of each channel: `x[:, :, top:top + height, left:left + width]`
/// with `top = (H - height) // 2` and `left = (W - width) // 2` (an odd difference leaves the extra row
/// or column at the bottom or right, as U-Net implementations cut it with `diff // 2`). PyTorch has no
/// module for it, only slicing, so it is written only as a function, `crop(56x56)`, and prints no row.
public struct CropOp: Operation, Equatable {
  public var height: Int
  public var width: Int
  public var top: Int
  public var left: Int
  public init(height: Int, width: Int, top: Int, left: Int) {
    self.height = height
    self.width = width
    self.top = top
    self.left = left
  }

  public func moduleName(input: Shape) -> String { "crop" }
  public var family: OperationFamily { .pool }
  public var spelling: (keyword: String, arguments: [String]) { ("crop", [Spelling.size((height, width))]) }
  /// A 1x1 window that starts `top` rows and `left` columns into the input: a negative padding.
  public func receptiveWindow(input: Shape, output: Shape) -> ReceptiveWindow {
    .window(kernel: (1, 1), stride: (1, 1), padding: (-top, -left), dilation: (1, 1))
  }
  public var planText: String { "crop \(height)x\(width) at \(top),\(left)" }
  public func planJSON(_ node: NodeTensors) -> [(String, JSONValue)] {
    [("size", Spelling.json((height, width))), ("offset", Spelling.json((top, left)))]
  }

  public func pytorch(_ x: PyTorchOperands) -> PyTorchCode {
    .expression("\(x.x)[:, :, \(top):\(top + height), \(left):\(left + width)]")
  }

  /// Slice on the two spatial axes.
  public func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String {
    let final = w.nodeName
    let starts = w.constant("netc.\(final).starts", int64: [top, left])
    let ends = w.constant("netc.\(final).ends", int64: [top + height, left + width])
    let axes = w.constant("netc.\(final).axes", int64: [2, 3])
    return w.step("Slice", [x.x, starts, ends, axes], suffix: "crop")
  }
}

/// `crop`.
enum CropLayers {
  static let specs: [LayerSpec] = [
    LayerSpec(keyword: "crop",
              signature: LayerSignature(positional: ["size"], required: 1, options: ["size": "size"], flags: [],
                                        usage: "crop(28x28)", functionOnly: true),
              check: crop),
  ]

  static func crop(_ a: any LayerArguments, _ input: LayerInput, _ at: SourceRange, _ diags: inout DiagnosticEngine) -> Resolved? {
    // The size is read even when the input is wrong: a mistake in it does not depend on the input.
    let spatial = LayerCheck.requireSpatial(a.keyword, input, at, &diags)
    guard let size = a.pair("size", &diags), spatial else { return nil }
    let x = input.shape
    let output = Shape([x.channels, size.0, size.1])
    guard size.0 <= x.height, size.1 <= x.width else {
      // The output's shape is the size written all the same: the layers after it are still checked.
      diags.error("crop-too-large", "'crop' to \(size.0)x\(size.1) needs an input at least that large, found \(x)",
                  at: a.range("size"),
                  notes: [Note("a crop keeps the centre of each channel; it cannot make a map larger")])
      return Resolved(op: CropOp(height: size.0, width: size.1, top: 0, left: 0), output: output)
    }
    return Resolved(op: CropOp(height: size.0, width: size.1, top: (x.height - size.0) / 2, left: (x.width - size.1) / 2),
                    output: output)
  }
}

// MARK: Kernel binding

extension CropOp {
  public func run(_ k: KernelRun) {
    let x = k.node.input.dims
    netcCrop(channels: x[0], inH: x[1], inW: x[2], outH: height, outW: width, top: top, left: left, batch: k.batch,
             input: k.x, inStride: k.xs, output: k.y, outStride: k.ys, act: k.act, slope: k.slope)
  }
  public func runText(_ k: KernelCallText) -> String {
    let x = k.node.input.dims
    return "netcCrop(channels: \(x[0]), inH: \(x[1]), inW: \(x[2]), outH: \(height), outW: \(width), top: \(top), left: \(left), batch: batch, \(k.x), \(k.y), \(k.epilogue))"
  }
}
