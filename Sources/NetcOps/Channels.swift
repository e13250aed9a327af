import NetcBasic
import NetcKernels

// Layers that move whole channels without computing on them: ShuffleNet's channel shuffle, and one of the
// equal chunks a tensor's channels split into (`x1, x2 = x.chunk(2, dim=1)`).

/// Channel shuffle (ShuffleNet): the channels, seen as `groups` rows of `channels / groups`, are read
/// column by column. Output channel `j * groups + i` is input channel `i * (channels / groups) + j`, as
/// torchvision's `channel_shuffle` (view as [N, groups, C / groups, H, W], transpose 1 and 2, flatten
/// back) and `nn.ChannelShuffle` compute it.
public struct ChannelShuffleOp: Operation, Equatable {
  public var groups: Int
  public init(groups: Int) { self.groups = groups }

  public func moduleName(input: Shape) -> String { "ChannelShuffle" }
  public var spelling: (keyword: String, arguments: [String]) { ("shuffle", [String(groups)]) }
  /// It keeps the shape; its one argument is in its name: `shuffle 2`.
  public var isCompact: Bool { true }
  public var planText: String { "shuffle \(groups)" }
  public var planName: String { "channel_shuffle" }
  public func planJSON(_ node: NodeTensors) -> [(String, JSONValue)] { [("groups", .int(groups))] }

  /// torchvision's three steps (its first `view` is a `reshape` here, which also takes a strided input).
  public func pytorch(_ x: PyTorchOperands) -> PyTorchCode {
    let d = x.output.dims
    return .expression(
      "\(x.x).reshape(-1, \(groups), \(d[0] / groups), \(d[1]), \(d[2])).transpose(1, 2).reshape(-1, \(d[0]), \(d[1]), \(d[2]))")
  }

  /// Reshape to [N, groups, C / groups, H, W], Transpose (0, 2, 1, 3, 4), Reshape back to [N, C, H, W]
  /// (0 in a shape keeps the symbolic batch).
  public func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String {
    let d = x.outputDims
    let rows = [groups, d[0] / groups, d[1], d[2]]
    let final = w.nodeName
    let split = w.intermediate("Reshape", [x.x, w.constant("netc.\(final).groups_shape", int64: [0] + rows)], [],
                               dims: rows, suffix: "shuffle_split")
    let transposed = w.intermediate("Transpose", [split], [.ints("perm", [0, 2, 1, 3, 4])],
                                    dims: [rows[1], rows[0], rows[2], rows[3]], suffix: "shuffle_transpose")
    return w.step("Reshape", [transposed, w.constant("netc.\(final).shape", int64: [0] + d)], suffix: "shuffle")
  }
}

/// Chunk `index` of `chunks` equal chunks of the channels (or features, on a flat input): `x.chunk(chunks,
/// dim=1)[index]`. PyTorch has no module for it, so it is written only as a function, `chunk(2 1)`, and
/// prints no row.
public struct ChannelChunkOp: Operation, Equatable {
  public var chunks: Int
  public var index: Int
  public init(chunks: Int, index: Int) {
    self.chunks = chunks
    self.index = index
  }

  public func moduleName(input: Shape) -> String { "chunk" }
  public var spelling: (keyword: String, arguments: [String]) { ("chunk", [String(chunks), String(index)]) }
  public var planText: String { "chunk \(chunks) \(index)" }
  public func planJSON(_ node: NodeTensors) -> [(String, JSONValue)] { [("chunks", .int(chunks)), ("index", .int(index))] }
  public func pytorch(_ x: PyTorchOperands) -> PyTorchCode { .expression("\(x.x).chunk(\(chunks), dim=1)[\(index)]") }

  /// Slice on axis 1: one output, where Split would make every chunk.
  public func onnx(_ w: any ONNXWriting, _ x: ONNXOperands) throws -> String {
    let size = x.outputDims[0]
    let final = w.nodeName
    let starts = w.constant("netc.\(final).starts", int64: [index * size])
    let ends = w.constant("netc.\(final).ends", int64: [(index + 1) * size])
    let axes = w.constant("netc.\(final).axes", int64: [1])
    return w.step("Slice", [x.x, starts, ends, axes], suffix: "chunk")
  }
}

/// `shuffle` and `chunk`.
enum ChannelLayers {
  static let specs: [LayerSpec] = [
    LayerSpec(keyword: "shuffle",
              signature: LayerSignature(positional: ["groups"], required: 1, options: ["groups": "groups"], flags: [],
                                        usage: "shuffle 2", preservesShape: true),
              check: shuffle),
    LayerSpec(keyword: "chunk",
              signature: LayerSignature(positional: ["chunks", "index"], required: 2,
                                        options: ["chunks": "chunks", "index": "index"], flags: [],
                                        usage: "chunk(2 1)", functionOnly: true),
              check: chunk),
  ]

  static func shuffle(_ a: any LayerArguments, _ input: LayerInput, _ at: SourceRange, _ diags: inout DiagnosticEngine) -> Resolved? {
    guard LayerCheck.requireSpatial(a.keyword, input, at, &diags), let groups = a.int("groups", &diags) else { return nil }
    let c = input.shape.channels
    if c % groups != 0 {
      // The output keeps the input's shape all the same: the layers after it are still checked.
      diags.error("groups-mismatch", "input channels (\(c)) must divide by the shuffle's groups (\(groups))",
                  at: a.range("groups"),
                  notes: [Note("channel shuffle views the \(c) channels as \(groups) groups of equal size")])
    }
    return Resolved(op: ChannelShuffleOp(groups: groups), output: input.shape)
  }

  static func chunk(_ a: any LayerArguments, _ input: LayerInput, _ at: SourceRange, _ diags: inout DiagnosticEngine) -> Resolved? {
    guard let chunks = a.int("chunks", &diags), let index = a.int("index", min: 0, &diags) else { return nil }
    let x = input.shape
    if index >= chunks {
      diags.error("out-of-range", "chunk \(index) does not exist: \(chunks) chunks are numbered 0 to \(chunks - 1)",
                  at: a.range("index"))
    }
    let what = x.isSpatial ? "channels" : "features"
    guard x.dims[0] % chunks == 0 else {
      diags.error("chunk-mismatch", "the input's \(x.dims[0]) \(what) do not split into \(chunks) equal chunks",
                  at: a.range("chunks"),
                  notes: [Note("the input is \(x); 'chunk' takes one of equal chunks, so its \(what) must divide by \(chunks)")])
      return nil
    }
    // After a wrong index the output's shape is known all the same: the layers after it are still checked.
    return Resolved(op: ChannelChunkOp(chunks: chunks, index: index),
                    output: Shape([x.dims[0] / chunks] + x.dims.dropFirst()))
  }
}

// MARK: Kernel binding

extension ChannelShuffleOp {
  public func run(_ k: KernelRun) {
    let x = k.node.input
    netcChannelShuffle(channels: x.dims[0], groups: groups, pixels: x.elementCount / x.dims[0], batch: k.batch,
                       input: k.x, inStride: k.xs, output: k.y, outStride: k.ys, act: k.act, slope: k.slope)
  }
  public func runText(_ k: KernelCallText) -> String {
    let x = k.node.input
    return "netcChannelShuffle(channels: \(x.dims[0]), groups: \(groups), pixels: \(x.elementCount / x.dims[0]), batch: batch, \(k.x), \(k.y), \(k.epilogue))"
  }
}

extension ChannelChunkOp {
  /// Channels first..<first + count of the input: each chunk is a contiguous run of every batch item.
  func slice(_ node: KernelNode) -> (first: Int, count: Int, pixels: Int) {
    let x = node.input
    let count = x.dims[0] / chunks
    return (index * count, count, x.elementCount / x.dims[0])
  }
  public func run(_ k: KernelRun) {
    let s = slice(k.node)
    netcChannelSlice(first: s.first, channels: s.count, pixels: s.pixels, batch: k.batch, input: k.x, inStride: k.xs,
                     output: k.y, outStride: k.ys, act: k.act, slope: k.slope)
  }
  public func runText(_ k: KernelCallText) -> String {
    let s = slice(k.node)
    return "netcChannelSlice(first: \(s.first), channels: \(s.count), pixels: \(s.pixels), batch: batch, \(k.x), \(k.y), \(k.epilogue))"
  }
}
