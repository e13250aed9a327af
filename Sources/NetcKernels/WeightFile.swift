// The safetensors reader of the Swift that `netc emit --target swift` writes: the file is checked against
// the tensors the network expects from its header alone, then each tensor is read and decoded to f32 when
// its layer is prepared (Preparation.swift), so the file is never in memory whole beside the prepared
// weights. A weight file comes from anywhere and this target is built with -Ounchecked, which removes
// Swift's bounds and overflow checks: every size and offset here is checked explicitly.
import Foundation
#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Why a network's weights could not be read or prepared: which file or tensor, what was expected and
/// what was found.
public struct NetcWeightError: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// A safetensors file holding exactly the tensors a network expects: each by name with its shape, stored
/// as F32, F16 or BF16. Another tensor in the file is an error, except the integer buffers a PyTorch
/// state_dict holds (batch norm's `num_batches_tracked`), which do not affect inference.
public final class NetcWeightFile: NetcTensorReader {
  public let path: String
  private let handle: FileHandle
  private var entries: [String: Entry] = [:]

  /// Where a tensor's values are: `count` values of `size` bytes from byte `offset` of the file.
  struct Entry {
    var offset: Int
    var count: Int
    var dtype: String
    var size: Int { dtype == "F32" ? 4 : 2 }
  }

  /// Opens `path` and checks its header against `expected` (every tensor's name and shape); reads no
  /// tensor yet.
  public init(path: String, expected: [(name: String, shape: [Int])]) throws {
    self.path = path
    self.handle = try Self.openRegularFile(path)
    let fileSize = Int(clamping: try handle.seekToEnd())
    guard fileSize >= 8 else { throw NetcWeightError("'\(path)' is too short for a safetensors file") }
    let length = try Self.read(handle, at: 0, count: 8)
    var n: UInt64 = 0
    for k in 0..<8 { n |= UInt64(length[length.startIndex + k]) << UInt64(8 * k) }
    guard n <= UInt64(fileSize - 8) else {
      throw NetcWeightError("'\(path)': the header claims \(n) bytes, the file holds \(fileSize - 8)")
    }
    let headerBytes = try Self.read(handle, at: 8, count: Int(n))
    guard let header = (try? JSONSerialization.jsonObject(with: headerBytes)) as? [String: Any] else {
      throw NetcWeightError("'\(path)': the safetensors header is not a JSON object")
    }
    let dataStart = 8 + Int(n)
    for (name, shape) in expected {
      guard let entry = header[name] as? [String: Any] else { throw NetcWeightError("'\(path)' lacks tensor '\(name)'") }
      guard let dtype = entry["dtype"] as? String, ["F32", "F16", "BF16"].contains(dtype) else {
        throw NetcWeightError("tensor '\(name)': expected dtype F32, F16 or BF16, found \(entry["dtype"] ?? "none")")
      }
      guard let found = entry["shape"] as? [Int], found == shape else {
        throw NetcWeightError("tensor '\(name)': expected shape \(shape), found \(entry["shape"] ?? "none")")
      }
      let size = dtype == "F32" ? 4 : 2
      let count = netcProduct(shape)
      guard netcProduct([count, size]) != Int.max else {
        throw NetcWeightError("tensor '\(name)' of shape \(shape) holds more values than an Int counts")
      }
      guard let offsets = entry["data_offsets"] as? [Int], offsets.count == 2, offsets[0] >= 0, offsets[1] >= offsets[0],
        offsets[1] - offsets[0] == count * size, offsets[1] <= fileSize - dataStart
      else { throw NetcWeightError("tensor '\(name)': its data offsets do not fit the file") }
      entries[name] = Entry(offset: dataStart + offsets[0], count: count, dtype: dtype)
    }
    let known = Set(expected.map(\.name))
    let integers: Set<String> = ["BOOL", "U8", "I8", "I16", "U16", "I32", "U32", "I64", "U64"]
    for name in header.keys.sorted() where name != "__metadata__" && !known.contains(name) {
      let dtype = (header[name] as? [String: Any])?["dtype"] as? String ?? ""
      guard !name.hasSuffix(".num_batches_tracked") && !integers.contains(dtype) else { continue }
      throw NetcWeightError("'\(path)' has tensor '\(name)', which this network does not")
    }
  }

  deinit { try? handle.close() }

  /// `path` opened for reading if it is a regular file. Opened without blocking: open() of a FIFO waits
  /// for a writer, forever if none comes; the flag is cleared once fstat has shown a regular file.
  private static func openRegularFile(_ path: String) throws -> FileHandle {
    #if canImport(Glibc) || canImport(Darwin)
      let fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
      guard fd >= 0 else { throw NetcWeightError("cannot read weights '\(path)'") }
      var st = stat()
      guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
        close(fd)
        throw NetcWeightError("cannot read weights '\(path)': not a regular file (a directory, a FIFO, a device)")
      }
      _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
      return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    #else
      guard let handle = FileHandle(forReadingAtPath: path) else { throw NetcWeightError("cannot read weights '\(path)'") }
      return handle
    #endif
  }

  /// The number of values of tensor `name`, or nil if the network expects no such tensor.
  public func count(_ name: String) -> Int? { entries[name]?.count }

  /// Tensor `name`, decoded to f32, in an array of its own (the preparation reads into its buffers
  /// instead).
  public func tensor(_ name: String) throws -> [Float] {
    guard let e = entries[name] else { throw NetcWeightError("'\(path)' has no tensor '\(name)'") }
    var values = [Float](repeating: 0, count: e.count)
    try values.withUnsafeMutableBufferPointer { try read(name, into: $0) }
    return values
  }

  /// Decodes tensor `name` into `out`, which holds exactly its values, a few MiB of the file at a time.
  public func read(_ name: String, into out: UnsafeMutableBufferPointer<Float>) throws {
    guard let e = entries[name] else { throw NetcWeightError("'\(path)' has no tensor '\(name)'") }
    guard e.count == out.count else { throw NetcWeightError("tensor '\(name)' holds \(e.count) values, not \(out.count)") }
    guard let base = out.baseAddress else { return }  // no values
    let chunk = (4 << 20) / e.size
    var done = 0
    while done < e.count {
      let n = min(chunk, e.count - done)
      let data = try Self.read(handle, at: e.offset + done * e.size, count: n * e.size)
      Self.decode(data, e.dtype, count: n, into: base + done)
      done += n
    }
  }

  /// `count` values of `dtype` from `data` as f32.
  static func decode(_ data: Data, _ dtype: String, count n: Int, into o: UnsafeMutablePointer<Float>) {
    data.withUnsafeBytes { raw in
      switch dtype {
      case "F32":
        for k in 0..<n { o[k] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self))) }
      case "F16":
        for k in 0..<n {
          o[k] = Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self))))
        }
      default:
        for k in 0..<n {
          o[k] = Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self))) << 16)
        }
      }
    }
  }

  private static func read(_ handle: FileHandle, at offset: Int, count: Int) throws -> Data {
    try handle.seek(toOffset: UInt64(offset))
    let data = try handle.read(upToCount: count) ?? Data()
    guard data.count == count else { throw NetcWeightError("the weight file ended early (truncated?)") }
    return data
  }
}
