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

  /// `mode`, if given, sets the new file's permissions (a rewritten file keeps its own). `inputs` are the
  /// files the command read: the output may not be one of them.
  static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t? = nil, inputs: [String] = []) throws {
    try bytes.withUnsafeBytes { try writeAtomically($0, to: path, mode: mode, inputs: inputs) }
  }

  /// writeAtomically for bytes outside an array: a buffer too large to risk a trapping allocation for
  /// (`netc run -o`'s output).
  static func writeAtomically(_ buf: UnsafeRawBufferPointer, to path: String, mode: mode_t? = nil,
                              inputs: [String] = []) throws {
    let path = try outputPath(path, inputs: inputs)
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

  /// Where an output goes: the path itself when it is new or a regular file, the file a symbolic link
  /// names (so that the link stays one). Anything else is refused before a byte is written: renaming over
  /// '/dev/null' or a FIFO would replace it with a regular file, and an output that is one of the
  /// command's inputs would destroy it.
  static func outputPath(_ path: String, inputs: [String]) throws -> String {
    var st = stat()
    guard stat(path, &st) == 0 else {
      // A new file (or a dangling link, which rename replaces): nothing there to protect.
      return path
    }
    guard (st.st_mode & S_IFMT) == S_IFREG else {
      let kind: String
      switch st.st_mode & S_IFMT {
      case S_IFDIR: kind = "a directory"
      case S_IFIFO: kind = "a FIFO"
      case S_IFCHR, S_IFBLK: kind = "a device"
      case S_IFSOCK: kind = "a socket"
      default: kind = "not a regular file"
      }
      throw UsageError(message: "'\(path)' is \(kind); netc writes its output to a regular file or a new path")
    }
    for input in inputs {
      var other = stat()
      if stat(input, &other) == 0, other.st_dev == st.st_dev, other.st_ino == st.st_ino {
        throw UsageError(message: "the output '\(path)' is the input '\(input)'; write the output elsewhere")
      }
    }
    var link = stat()
    if lstat(path, &link) == 0, (link.st_mode & S_IFMT) == S_IFLNK, let resolved = realpath(path, nil) {
      defer { free(resolved) }
      return String(cString: resolved)
    }
    return path
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
