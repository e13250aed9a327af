#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The temporary file being written, for the signal handler to remove: a C string, since the handler may
/// only call async-signal-safe functions.
nonisolated(unsafe) private var pendingTemporary: UnsafeMutablePointer<CChar>?

/// On SIGINT, SIGTERM or SIGHUP: remove the temporary file, then die of the signal as if unhandled.
private func removeTemporaryAndDie(_ sig: Int32) {
  if let p = pendingTemporary { unlink(p) }
  signal(sig, SIG_DFL)
  raise(sig)
}

/// File output that never leaves a partial file: bytes go to a temporary file beside the target, which
/// is renamed over it only once everything is written and flushed. An interrupt while writing removes the
/// temporary file too.
enum Files {
  struct WriteError: Error { var message: String }

  private static let installHandlers: Void = {
    var set = sigset_t()
    sigemptyset(&set)
    for s in [SIGINT, SIGTERM, SIGHUP] {
      _ = signal(s, removeTemporaryAndDie)
      sigaddset(&set, s)
    }
    // A parent may have started netc with these blocked; they must reach the handler.
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
  }()

  /// `mode`, if given, sets the new file's permissions (a rewritten file keeps its own).
  static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t? = nil) throws {
    try bytes.withUnsafeBytes { try writeAtomically($0, to: path, mode: mode) }
  }

  /// writeAtomically for bytes outside an array: a buffer too large to risk a trapping allocation for
  /// (`netc run -o`'s output).
  static func writeAtomically(_ buf: UnsafeRawBufferPointer, to path: String, mode: mode_t? = nil) throws {
    let tmp = "\(path).netc-tmp-\(getpid())"
    Self.installHandlers
    let cPath = strdup(tmp)
    pendingTemporary = cPath
    defer {
      pendingTemporary = nil
      free(cPath)
    }
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw WriteError(message: "cannot write '\(path)': \(String(cString: strerror(errno)))") }
    // For the test that interrupts a write: a pause with the temporary file open.
    if let v = getenv("NETC_TEST_WRITE_PAUSE_MS"), let ms = UInt32(String(cString: v)) { usleep(min(ms, 10_000) * 1000) }
    var offset = 0
    var failed: Int32 = 0
    while offset < buf.count, let base = buf.baseAddress {
      let n = write(fd, base + offset, buf.count - offset)
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { failed = errno; break }
      offset += n
    }
    if failed == 0, let mode, fchmod(fd, mode) != 0 { failed = errno }
    if failed == 0 && fsync(fd) != 0 { failed = errno }
    close(fd)
    if failed != 0 || rename(tmp, path) != 0 {
      let reason = String(cString: strerror(failed != 0 ? failed : errno))
      unlink(tmp)
      throw WriteError(message: "cannot write '\(path)': \(reason)")
    }
  }

  /// A file read by ranges, for weights: only the tensor being prepared is in memory.
  final class RangeReader {
    let size: Int
    private let fd: Int32
    private let path: String

    init(_ path: String, limit: Int) throws {
      self.path = path
      switch Pipeline.openRegularFile(path) {
      case .failure(let e): throw WriteError(message: "'\(path)' \(Files.describe(e))")
      case .success(let opened): (fd, size) = opened
      }
      guard size <= limit else {
        close(fd)
        throw WriteError(message: "'\(path)' is \(size) bytes, above the limit of \(limit)")
      }
    }

    deinit { close(fd) }

    /// The bytes of `range`, fewer if the file has shrunk since it was opened.
    func read(_ range: Range<Int>) throws -> [UInt8] {
      var bytes = [UInt8](repeating: 0, count: range.count)
      var done = 0
      try bytes.withUnsafeMutableBytes { buf in
        while done < range.count {
          let n = pread(fd, buf.baseAddress! + done, range.count - done, off_t(range.lowerBound + done))
          if n < 0 && errno == EINTR { continue }
          if n < 0 { throw WriteError(message: "'\(path)' cannot be read: \(String(cString: strerror(errno)))") }
          if n == 0 { break }
          done += n
        }
      }
      return done == range.count ? bytes : Array(bytes[0..<done])
    }
  }

  /// A whole file a user named, refused unless it is a regular file of at most `limit` bytes.
  static func read(_ path: String, limit: Int) throws -> [UInt8] {
    switch Pipeline.read(path: path, limit: limit) {
    case .success(let b): return b
    case .failure(let e): throw WriteError(message: "'\(path)' \(describe(e))")
    }
  }

  /// A read error of a file that is not a spec.
  static func describe(_ e: Pipeline.ReadError) -> String {
    e == .isDirectory ? "is a directory, not a regular file" : e.message
  }
}
