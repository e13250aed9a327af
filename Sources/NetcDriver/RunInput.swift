import NetcBasic
import NetcKernels
import NetcOps
import NetcRuntime
import NetcSema
import NetcTensors

/// The input `netc run` feeds the network: random values, or a .npy file checked against the network's
/// input shape and an explicit `--batch`. Both are checked against the memory limit before anything of
/// their size is allocated, drawn or read. The fuzz target for run's inputs (Fuzz/runinput) calls the same
/// functions.
public enum RunInput {
  public final class Prepared {
    public let batch: Int
    /// Lines for stderr, each ending in a newline: a warning if some values are NaN or infinite.
    public let warnings: String
    /// A file's values, decoded; or random ones, drawn into a buffer whose allocation may fail as an error.
    private let decoded: [Float]?
    private let drawn: FloatBuffer?

    init(batch: Int, decoded: [Float]? = nil, drawn: FloatBuffer? = nil, warnings: String = "") {
      self.batch = batch
      self.decoded = decoded
      self.drawn = drawn
      self.warnings = warnings
    }

    public var count: Int { decoded?.count ?? drawn?.count ?? 0 }

    /// The `batch` items, contiguous.
    public func withValues<T>(_ body: (UnsafeBufferPointer<Float>) throws -> T) rethrows -> T {
      if let decoded { return try decoded.withUnsafeBufferPointer(body) }
      if let drawn { return try body(UnsafeBufferPointer(drawn.buffer)) }
      return try body(UnsafeBufferPointer(start: nil, count: 0))
    }
  }

  /// `arg` is 'random' (`batch` items from `seed`) or the path of a .npy file. `checkMemory` is called
  /// with a file's batch, from its header, before its data is read.
  static func load(_ arg: String, item: Shape, batch: Int, batchGiven: Bool, seed: Int, memoryLimit: Int,
                   checkMemory: (Int) throws -> Void) throws -> Prepared {
    if arg == "random" { return try random(item: item, batch: batch, seed: seed, memoryLimit: memoryLimit) }
    let file = try Files.RangeReader(arg, limit: maxTensorBytes)
    return try tensor(path: arg, item: item, given: batchGiven ? batch : nil, memoryLimit: memoryLimit,
                      fileSize: file.size, read: file.read, checkMemory: checkMemory)
  }

  public static func random(item: Shape, batch: Int, seed: Int, memoryLimit: Int) throws -> Prepared {
    let count = try checkedCount(item, batch: batch, memoryLimit: memoryLimit)
    let buffer = try FloatBuffer(count: count, for: "the input")
    var rng = SplitMix64(seed: UInt64(seed))
    rng.fillNormal(buffer.buffer)
    return Prepared(batch: batch, drawn: buffer)
  }

  /// A .npy file of `fileSize` bytes read through `read`; `path` names it in messages. `given` is an
  /// explicit `--batch`, which the file's batch must equal.
  public static func tensor(path: String, item: Shape, given: Int? = nil, memoryLimit: Int, fileSize: Int,
                            read: (Range<Int>) throws -> [UInt8],
                            checkMemory: (Int) throws -> Void = { _ in }) throws -> Prepared {
    let layout: NPY.Layout
    do { layout = try NPY.layout(fileSize: fileSize, read: read) } catch let e as TensorFileError {
      throw UserError(message: "'\(path)': \(e.message)")
    }
    let batch = try batchOf(layout.shape, in: path, item: item.dims, given: given)
    // The header's batch decides the size; refuse it before the data is read and decoded.
    _ = try checkedCount(item, batch: batch, memoryLimit: memoryLimit)
    try checkMemory(batch)
    let values: [Float]
    do { values = try NPY.read(fileSize: fileSize, read: read).data } catch let e as TensorFileError {
      throw UserError(message: "'\(path)': \(e.message)")
    }
    let warning = NonFinite(path, values).map { "netc: warning: '\(path)': \($0.summary)\n" } ?? ""
    return Prepared(batch: batch, decoded: values, warnings: warning)
  }

  /// The batch an input tensor of `shape` holds for a network whose items have shape `item`: [N] + item
  /// holds N items, `item` alone one. A '--batch' given explicitly must agree with it.
  static func batchOf(_ shape: [Int], in path: String, item: [Int], given: Int?) throws -> Int {
    let n: Int
    if shape == item {
      n = 1
    } else if shape.count == item.count + 1 && Array(shape.dropFirst()) == item {
      n = shape[0]
    } else {
      let dims = item.map(String.init).joined(separator: ", ")
      throw UserError(message: "'\(path)' holds a tensor of shape \(shape); this network takes [N, \(dims)] (or [\(dims)] for one item)")
    }
    guard n >= 1 else { throw UserError(message: "'\(path)' holds an empty batch") }
    if let given, given != n {
      let holds = shape == item ? "one item of shape \(shape)" : "a batch of \(n)"
      throw UserError(message: "'\(path)' holds \(holds) but '--batch \(given)' asks for \(given); leave out '--batch' or give a tensor of shape \([given] + item)")
    }
    return n
  }

  /// The values of `batch` items, if they fit in `memoryLimit` bytes as floats.
  static func checkedCount(_ item: Shape, batch: Int, memoryLimit: Int) throws -> Int {
    var count = batch
    var overflow = false
    for d in item.dims {
      let (m, o) = count.multipliedReportingOverflow(by: d)
      overflow = overflow || o
      count = m
    }
    let (bytes, o) = count.multipliedReportingOverflow(by: MemoryLayout<Float>.size)
    guard !overflow, !o, bytes <= memoryLimit else {
      let needed = overflow || o ? "more than 2^63" : grouped(bytes)
      throw UserError(message: "an input of \(grouped(batch)) item\(batch == 1 ? "" : "s") of shape \(item) needs \(needed) bytes, above the limit of \(memoryLimit)")
    }
    return count
  }
}
