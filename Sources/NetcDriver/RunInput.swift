import NetcBasic
import NetcRuntime
import NetcSema
import NetcTensors

/// The input `netc run` feeds the network: random values, or a .npy file checked against the network's
/// input shape. Both are checked against the memory limit before anything of their size is allocated.
/// The fuzz target for run's inputs (Fuzz/runinput) calls the same functions.
public enum RunInput {
  public struct Prepared {
    public var batch: Int
    public var values: [Float]
    /// Lines for stderr, each ending in a newline: a warning if some values are NaN or infinite.
    public var warnings: String
  }

  /// `arg` is 'random' (`batch` items from `seed`) or the path of a .npy file, whose first dimension is
  /// the batch if it has one more dimension than the network's input.
  static func load(_ arg: String, item: Shape, batch: Int, seed: Int, memoryLimit: Int) throws -> Prepared {
    if arg == "random" { return try random(item: item, batch: batch, seed: seed, memoryLimit: memoryLimit) }
    let file = try Files.RangeReader(arg, limit: maxTensorBytes)
    return try tensor(path: arg, item: item, memoryLimit: memoryLimit, fileSize: file.size, read: file.read)
  }

  public static func random(item: Shape, batch: Int, seed: Int, memoryLimit: Int) throws -> Prepared {
    let count = try checkedCount(item, batch: batch, memoryLimit: memoryLimit)
    var rng = SplitMix64(seed: UInt64(seed))
    return Prepared(batch: batch, values: (0..<count).map { _ in Float(rng.normal()) }, warnings: "")
  }

  /// A .npy file of `fileSize` bytes read through `read`; `path` names it in messages.
  public static func tensor(path: String, item: Shape, memoryLimit: Int, fileSize: Int,
                            read: (Range<Int>) throws -> [UInt8]) throws -> Prepared {
    let layout: NPY.Layout
    do { layout = try NPY.layout(fileSize: fileSize, read: read) } catch let e as TensorFileError {
      throw UserError(message: "'\(path)': \(e.message)")
    }
    let shape = layout.shape
    var batch = 1
    if shape.count == item.dims.count + 1 && Array(shape.dropFirst()) == item.dims {
      batch = shape[0]
    } else if shape != item.dims {
      throw UserError(message: "'\(path)' holds a tensor of shape \(shape); this network takes [N, \(item.dims.map(String.init).joined(separator: ", "))]")
    }
    guard batch >= 1 else { throw UserError(message: "'\(path)' holds an empty batch") }
    // The header's batch decides the size; refuse it before the data is read and decoded.
    _ = try checkedCount(item, batch: batch, memoryLimit: memoryLimit)
    let values: [Float]
    do { values = try NPY.read(fileSize: fileSize, read: read).data } catch let e as TensorFileError {
      throw UserError(message: "'\(path)': \(e.message)")
    }
    let warning = NonFinite(path, values).map { "netc: warning: '\(path)': \($0.summary)\n" } ?? ""
    return Prepared(batch: batch, values: values, warnings: warning)
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
