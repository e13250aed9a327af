#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The temporary files being written, for the signal handler to remove: C strings, since the handler may
/// only call async-signal-safe functions. Two at most: a model and its side file.
nonisolated(unsafe) private var pendingTemporaries: (UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<CChar>?) = (nil, nil)

/// On SIGINT, SIGTERM or SIGHUP: remove the temporary files, then die of the signal as if unhandled.
private func removeTemporaryAndDie(_ sig: Int32) {
  if let p = pendingTemporaries.0 { unlink(p) }
  if let p = pendingTemporaries.1 { unlink(p) }
  signal(sig, SIG_DFL)
  raise(sig)
}

private func setPendingTemporary(_ slot: Int, _ path: UnsafeMutablePointer<CChar>?) {
  if slot == 0 { pendingTemporaries.0 = path } else { pendingTemporaries.1 = path }
}

/// File output that never leaves a partial file: bytes go to a temporary file in the target's directory,
/// which becomes the target only once everything is written and flushed. On Linux the temporary file has
/// no name (O_TMPFILE) until a moment before its rename, so even SIGKILL leaves nothing behind; elsewhere,
/// or on a file system without unnamed files, it is a hidden `.NAME.netc-tmp-PID`, removed on SIGINT,
/// SIGTERM and SIGHUP, and by the next write to the same output if its writer is gone. The path `-`, or
/// any that names the file standard output is, is written through standard output as it is.
///
/// Two files that go together (an ONNX model and its side file) are written the same way, both in full
/// before either is renamed, the model last: a failure before the renames leaves both old files as they
/// were, and a model never appears before the data it names.
enum Files {
  struct WriteError: Error { var message: String }

  /// One file of a write: its path, and what writes its bytes, in as many pieces as it likes, through the
  /// function it is given.
  struct Output {
    var path: String
    var write: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
  }

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

  /// `mode`, if given, sets the file's permissions; otherwise a rewritten file keeps its own and a new one
  /// gets 0644 less the umask. `inputs` are the files the command read: the output may not be one of them.
  static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t? = nil, inputs: [String] = []) throws {
    try bytes.withUnsafeBytes { try writeAtomically($0, to: path, mode: mode, inputs: inputs) }
  }

  /// writeAtomically for bytes outside an array: a buffer too large to risk a trapping allocation for
  /// (`netc run -o`'s output).
  static func writeAtomically(_ buf: UnsafeRawBufferPointer, to path: String, mode: mode_t? = nil,
                              inputs: [String] = []) throws {
    if isStandardOutput(path) {
      if let failed = writeAll(STDOUT_FILENO, buf) {
        throw WriteError(message: "cannot write to standard output: \(String(cString: strerror(failed)))")
      }
      return
    }
    try writeAtomically([Output(path: path) { try $0(buf) }], mode: mode, inputs: inputs)
  }

  /// Writes one file, or two that go together, each through a temporary file; none is standard output.
  /// Every path is checked before a byte is written, and the files are renamed into place in order.
  static func writeAtomically(_ outputs: [Output], mode: mode_t? = nil, inputs: [String]) throws {
    precondition(outputs.count <= 2, "netc internal error: \(outputs.count) files in one atomic write")
    let paths = try outputs.map { try outputPath($0.path, inputs: inputs) }
    if paths.count == 2, sameFile(paths[0], paths[1]) {
      throw UsageError(message: "'\(outputs[0].path)' and '\(outputs[1].path)' are the same file; netc writes them both")
    }
    Self.installHandlers
    var temporaries: [(fd: Int32, named: UnsafeMutablePointer<CChar>, linked: Bool)] = []
    defer {
      for (slot, t) in temporaries.enumerated() {
        if t.fd >= 0 { close(t.fd) }
        if t.linked { unlink(t.named) }
        setPendingTemporary(slot, nil)
        free(t.named)
      }
    }
    func failure(_ path: String, _ code: Int32) -> WriteError {
      WriteError(message: "cannot write '\(path)': \(String(cString: strerror(code)))")
    }
    for (output, path) in zip(outputs, paths) {
      let (directory, name) = split(path)
      removeStaleTemporaries(directory: directory, name: name)
      let slot = temporaries.count
      let named = strdup("\(directory)/.\(name).netc-tmp-\(getpid())")!
      var fd = openUnnamed(in: directory)
      let unnamed = fd >= 0
      if !unnamed {
        setPendingTemporary(slot, named)
        fd = open(named, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
      }
      let openError = errno
      temporaries.append((fd, named, !unnamed && fd >= 0))
      guard fd >= 0 else { throw failure(path, openError) }
      // For the tests that interrupt a write: a pause with the temporary file open, said on stderr.
      if let v = getenv("NETC_TEST_WRITE_PAUSE_MS"), let ms = UInt32(String(cString: v)) {
        _ = "netc: writing\n".withCString { write(STDERR_FILENO, $0, strlen($0)) }
        usleep(min(ms, 10_000) * 1000)
      }
      try output.write { buf in
        if let failed = writeAll(fd, buf) { throw failure(path, failed) }
      }
      if let mode = mode ?? existingPermissions(path), fchmod(fd, mode) != 0 { throw failure(path, errno) }
      if fsync(fd) != 0 { throw failure(path, errno) }
    }
    // Every file is complete: the unnamed ones get their hidden names only now, for the renames. A file of
    // that name can only be left by a killed process that had this pid before.
    for (slot, path) in paths.enumerated() where !temporaries[slot].linked {
      let t = temporaries[slot]
      setPendingTemporary(slot, t.named)
      unlink(t.named)
      if linkat(AT_FDCWD, "/proc/self/fd/\(t.fd)", AT_FDCWD, t.named, AT_SYMLINK_FOLLOW) != 0 { throw failure(path, errno) }
      temporaries[slot].linked = true
    }
    for (slot, path) in paths.enumerated() {
      close(temporaries[slot].fd)
      temporaries[slot].fd = -1
      if rename(temporaries[slot].named, path) != 0 { throw failure(path, errno) }
      temporaries[slot].linked = false
    }
  }

  /// Whether two existing paths are one file.
  static func sameFile(_ a: String, _ b: String) -> Bool {
    var x = stat(), y = stat()
    return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino
  }

  /// Whether `path` is `-` or names the file standard output is (`/dev/stdout`, `/dev/fd/1`, or the file
  /// stdout is redirected to): renaming a temporary file over it would print nothing, or replace a pipe or
  /// terminal by a file, so it is written through standard output.
  static func isStandardOutput(_ path: String) -> Bool {
    if path == "-" { return true }
    var out = stat(), named = stat()
    return fstat(STDOUT_FILENO, &out) == 0 && stat(path, &named) == 0 && out.st_dev == named.st_dev
      && out.st_ino == named.st_ino
  }

  /// Writes all of `buf` to `fd`; the errno of a failure, or nil.
  static func writeAll(_ fd: Int32, _ buf: UnsafeRawBufferPointer) -> Int32? {
    var offset = 0
    while offset < buf.count, let base = buf.baseAddress {
      let n = write(fd, base + offset, buf.count - offset)
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { return n < 0 ? errno : EIO }
      offset += n
    }
    return nil
  }

  /// A file without a name in `directory`, open for writing; -1 where the system or the file system has
  /// none (then a named temporary file is used).
  static func openUnnamed(in directory: String) -> Int32 {
    // For the tests of the named fallback.
    if getenv("NETC_TEST_NAMED_TEMPORARY") != nil { return -1 }
    #if os(Linux) && (arch(x86_64) || arch(arm64))
      // O_TMPFILE is __O_TMPFILE | O_DIRECTORY, a macro Swift does not import; its value on these architectures.
      let tmpfile: Int32 = arch64TmpFile
      return open(directory, tmpfile | O_WRONLY, 0o644)
    #else
      return -1
    #endif
  }

  #if arch(x86_64)
    static let arch64TmpFile: Int32 = 0o20_000_000 | 0o200_000
  #else
    static let arch64TmpFile: Int32 = 0o20_000_000 | 0o40_000
  #endif

  /// The directory of `path` and its last component.
  static func split(_ path: String) -> (directory: String, name: String) {
    guard let slash = path.lastIndex(of: "/") else { return (".", path) }
    let directory = String(path[..<slash])
    return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
  }

  /// Removes the temporary files a killed writer of the same output left: `.NAME.netc-tmp-PID` (and
  /// `NAME.netc-tmp-PID`, the name older versions used) whose process is gone.
  static func removeStaleTemporaries(directory: String, name: String) {
    guard let dir = opendir(directory) else { return }
    defer { closedir(dir) }
    var stale: [String] = []
    while let entry = readdir(dir) {
      let file = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      for prefix in [".\(name).netc-tmp-", "\(name).netc-tmp-"] where file.hasPrefix(prefix) {
        guard let pid = Int32(file.dropFirst(prefix.count)), pid > 0, pid != getpid(),
          kill(pid, 0) != 0 && errno == ESRCH
        else { continue }
        stale.append(file)
      }
    }
    for file in stale { unlink("\(directory)/\(file)") }
  }

  /// Where an output goes: the path itself when it is new or a regular file, the file a symbolic link
  /// names (so that the link stays one). Anything else is refused before a byte is written: renaming over
  /// '/dev/null', a FIFO or a link to nothing would replace it with a regular file, and an output that is
  /// one of the command's inputs would destroy it.
  static func outputPath(_ path: String, inputs: [String]) throws -> String {
    var st = stat()
    guard stat(path, &st) == 0 else {
      // A link to nothing: renaming over it would replace the link itself (as root, '-o /dev/stdout' with
      // standard output closed replaced the system's link with a regular file).
      if let target = linkTarget(path) {
        throw UsageError(message: "'\(path)' is a symbolic link to '\(target)', which does not exist; netc writes its output to a regular file or a new path")
      }
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

  /// What the symbolic link `path` names, if `path` is one.
  static func linkTarget(_ path: String) -> String? {
    var link = stat()
    guard lstat(path, &link) == 0, (link.st_mode & S_IFMT) == S_IFLNK else { return nil }
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = readlink(path, &buffer, buffer.count - 1)
    return n < 0 ? "?" : String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// The permission bits of the regular file at `path`, if there is one: a rewritten output keeps them
  /// (a private file stays private), as a file written in place would.
  static func existingPermissions(_ path: String) -> mode_t? {
    var st = stat()
    guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
    return st.st_mode & 0o777
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
