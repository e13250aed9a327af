#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// File output that never leaves a partial file: bytes go to a temporary file beside the target, which
/// is renamed over it only once everything is written and flushed.
enum Files {
  struct WriteError: Error { var message: String }

  static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    let tmp = "\(path).netc-tmp-\(getpid())"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw WriteError(message: "cannot write '\(path)': \(String(cString: strerror(errno)))") }
    var offset = 0
    var failed: Int32 = 0
    bytes.withUnsafeBytes { buf in
      while offset < buf.count {
        let n = write(fd, buf.baseAddress! + offset, buf.count - offset)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { failed = errno; return }
        offset += n
      }
    }
    if failed == 0 && fsync(fd) != 0 { failed = errno }
    close(fd)
    if failed != 0 || rename(tmp, path) != 0 {
      let reason = String(cString: strerror(failed != 0 ? failed : errno))
      unlink(tmp)
      throw WriteError(message: "cannot write '\(path)': \(reason)")
    }
  }

  static func read(_ path: String, limit: Int) throws -> [UInt8] {
    switch Pipeline.read(path: path, limit: limit) {
    case .success(let b): return b
    case .failure(let e): throw WriteError(message: "'\(path)' \(e.message)")
    }
  }
}
