import NetcBasic
import NetcOps
import NetcIR
import NetcKernels
import NetcSema

/// Loads a network's weights from safetensors: every tensor the graph needs must be there with its exact
/// shape; anything else is an error naming the tensor, the expected and the found.
public enum WeightLoader {
  public static func load(_ graph: LoweredGraph, safetensors bytes: [UInt8]) throws -> [String: [Float]] {
    try loadReportingIgnored(graph, safetensors: bytes).weights
  }

  /// `load`, with the names of the file's tensors that were ignored (integer buffers).
  public static func loadReportingIgnored(_ graph: LoweredGraph, safetensors bytes: [UInt8]) throws
    -> (weights: [String: [Float]], ignored: [String])
  {
    let source = try open(graph, fileSize: bytes.count) { range in Array(bytes[range]) }
    var out: [String: [Float]] = [:]
    for t in graph.tensors { out[t.name] = try source.tensor(t.name) }
    return (out, source.ignored)
  }

  /// The tensors of `weights` that hold NaN or infinite values, in the graph's order.
  public static func nonFinite(_ weights: [String: [Float]], of graph: LoweredGraph) -> [NonFinite] {
    graph.tensors.compactMap { t in weights[t.name].flatMap { NonFinite(t.name, $0) } }
  }

  /// Checks a safetensors file against the graph from its header alone and returns a source that reads
  /// each tensor when asked: the whole file is never in memory at once.
  public static func open(_ graph: LoweredGraph, fileSize: Int, read: @escaping (Range<Int>) throws -> [UInt8])
    throws -> WeightSource
  {
    let entries = try SafeTensors.entries(fileSize: fileSize, read: read)
    var byName: [String: SafeTensors.Entry] = [:]
    for e in entries { byName[e.name] = e }
    var missing: [String] = []
    for t in graph.tensors {
      guard let e = byName[t.name] else { missing.append(t.name); continue }
      guard e.shape == t.shape else {
        throw TensorFileError("tensor '\(t.name)': expected shape \(t.shape), found \(e.shape)")
      }
      guard e.type != nil else {
        throw TensorFileError("tensor '\(t.name)' has dtype \(e.dtype); netc reads F32, F16 and BF16")
      }
    }
    let known = Set(graph.tensors.map(\.name))
    // A state_dict as PyTorch saves it also holds integer buffers, such as batch norm's step counter
    // `num_batches_tracked`: they do not affect inference and are ignored (the caller may say so).
    let unknown = entries.filter { !known.contains($0.name) }
    let ignored = unknown.filter { $0.isInteger || $0.name.hasSuffix(".num_batches_tracked") }.map(\.name).sorted()
    let extra = unknown.filter { !($0.isInteger || $0.name.hasSuffix(".num_batches_tracked")) }.map(\.name).sorted()
    func list(_ names: [String]) -> String {
      names.prefix(3).map { "'\($0)'" }.joined(separator: ", ") + (names.count > 3 ? " and \(names.count - 3) more" : "")
    }
    if !missing.isEmpty {
      var message = "the weight file lacks \(missing.count) tensor\(missing.count == 1 ? "" : "s") this network needs: \(list(missing))"
      if !extra.isEmpty {
        // Both at once is often a renamed tensor: say which of the file's names is the likely one.
        let renamed = missing.prefix(3).compactMap { m in Suggest.closest(to: m, in: extra).map { "'\($0)' for '\(m)'" } }
        message += "; it has \(extra.count) this network does not: \(list(extra))"
        if !renamed.isEmpty { message += " (renamed? \(renamed.joined(separator: ", ")))" }
      }
      throw TensorFileError(message)
    }
    if !extra.isEmpty {
      throw TensorFileError("the weight file has \(extra.count) tensor\(extra.count == 1 ? "" : "s") this network does not: \(list(extra)) (is it for another network?)")
    }
    return WeightSource(byName, read, ignored: ignored)
  }

  /// The note `--verbose` prints about the tensors a weight file holds that inference does not read.
  public static func ignoredNote(_ ignored: [String], file path: String) -> String {
    guard !ignored.isEmpty else { return "" }
    let names = ignored.prefix(3).map { "'\($0)'" }.joined(separator: ", ") + (ignored.count > 3 ? " and \(ignored.count - 3) more" : "")
    return "netc: note: '\(path)': ignored \(ignored.count) integer tensor\(ignored.count == 1 ? "" : "s") that inference does not use: \(names)\n"
  }
}

/// Weights by name, as the interpreter asks for them while NetcKernels' preparation (NetcPreparedWeights)
/// prepares each layer: `read(_:into:)` (NetcTensorReader) writes a tensor into a buffer that holds
/// exactly its values, with no intermediate array.
public protocol WeightProvider: NetcTensorReader {
  func tensor(_ name: String) throws -> [Float]
}

/// Weights already in memory.
public struct WeightDictionary: WeightProvider {
  public var tensors: [String: [Float]]
  public init(_ tensors: [String: [Float]]) { self.tensors = tensors }

  public func tensor(_ name: String) throws -> [Float] {
    guard let t = tensors[name] else { throw TensorFileError("no weight tensor '\(name)'") }
    return t
  }

  public func read(_ name: String, into out: UnsafeMutableBufferPointer<Float>) throws {
    let t = try tensor(name)
    guard t.count == out.count else { throw TensorFileError("tensor '\(name)' holds \(t.count) values, not \(out.count)") }
    _ = out.update(fromContentsOf: t)
  }
}

/// The tensors of a checked safetensors file, read and decoded to f32 one at a time.
public final class WeightSource: WeightProvider {
  private let entries: [String: SafeTensors.Entry]
  private let readBytes: (Range<Int>) throws -> [UInt8]
  /// The tensors read so far that hold NaN or infinite values, in the order they were read. The format
  /// allows such values; the run says so rather than printing NaN outputs without a word.
  public private(set) var nonFinite: [NonFinite] = []
  private var counted: Set<String> = []
  /// The file's tensors that the network does not read and that are ignored: integer buffers such as
  /// `num_batches_tracked`, in name order.
  public let ignored: [String]

  init(_ entries: [String: SafeTensors.Entry], _ read: @escaping (Range<Int>) throws -> [UInt8], ignored: [String]) {
    self.entries = entries
    self.readBytes = read
    self.ignored = ignored
  }

  /// The number of values of tensor `name`, or nil if the file has no such tensor.
  public func count(_ name: String) -> Int? { entries[name].map { $0.range.count / $0.elementSize } }

  public func tensor(_ name: String) throws -> [Float] {
    guard let n = count(name) else { throw TensorFileError("the weight file has no tensor '\(name)'") }
    var out = [Float](repeating: 0, count: n)
    try out.withUnsafeMutableBufferPointer { try read(name, into: $0) }
    return out
  }

  /// Decodes tensor `name` into `out` (which holds exactly its values), a few MiB of the file at a time.
  public func read(_ name: String, into out: UnsafeMutableBufferPointer<Float>) throws {
    guard let e = entries[name], let type = e.type else { throw TensorFileError("the weight file has no float tensor '\(name)'") }
    guard out.count * type.size == e.range.count else {
      throw TensorFileError("tensor '\(name)' holds \(e.range.count / type.size) values, not \(out.count)")
    }
    let chunk = (4 << 20) / type.size * type.size
    var offset = e.range.lowerBound
    while offset < e.range.upperBound {
      let end = min(offset + chunk, e.range.upperBound)
      let bytes = try readBytes(offset..<end)
      guard bytes.count == end - offset else {
        throw TensorFileError("tensor '\(name)': the file ended early (truncated while reading?)")
      }
      FloatBits.decode(bytes[...], type, into: out.baseAddress! + (offset - e.range.lowerBound) / type.size)
      offset = end
    }
    if counted.insert(name).inserted, let n = NonFinite(name, UnsafeBufferPointer(out)) { nonFinite.append(n) }
  }
}

/// How many values of a tensor are NaN or infinite.
public struct NonFinite: Sendable, Equatable {
  public var name: String
  public var nan: Int
  public var infinite: Int
  public var count: Int

  /// Nil if every value is finite.
  public init?(_ name: String, _ values: UnsafeBufferPointer<Float>) {
    var nan = 0
    var infinite = 0
    for v in values where !v.isFinite {
      if v.isNaN { nan += 1 } else { infinite += 1 }
    }
    guard nan + infinite > 0 else { return nil }
    self.name = name
    self.nan = nan
    self.infinite = infinite
    count = values.count
  }

  public init?(_ name: String, _ values: [Float]) {
    guard let n = values.withUnsafeBufferPointer({ NonFinite(name, $0) }) else { return nil }
    self = n
  }

  /// "3 of 1,024 values are not finite (2 NaN, 1 infinite)"
  public var summary: String {
    let parts = [nan > 0 ? "\(grouped(nan)) NaN" : nil, infinite > 0 ? "\(grouped(infinite)) infinite" : nil].compactMap { $0 }
    return "\(grouped(nan + infinite)) of \(grouped(count)) values \(nan + infinite == 1 ? "is" : "are") not finite (\(parts.joined(separator: ", ")))"
  }

  /// Warning lines for stderr about the tensors of weight file `path`, at most `limit` of them.
  public static func warnings(_ tensors: [NonFinite], file path: String, limit: Int = 5) -> String {
    var out = ""
    for t in tensors.prefix(limit) { out += "netc: warning: '\(path)': tensor '\(t.name)': \(t.summary)\n" }
    if tensors.count > limit {
      out += "netc: warning: '\(path)': \(tensors.count - limit) more tensors hold values that are not finite\n"
    }
    return out
  }
}