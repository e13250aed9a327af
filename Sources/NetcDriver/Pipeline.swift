// NetcDriver: the pipeline and the commands, as a library; `netc/main.swift` only calls `Driver.main`.
#if canImport(Glibc)
  import Glibc
#endif
import NetcBasic
import NetcOps
import NetcSema

public enum Pipeline {
  /// Largest source file netc reads; a network description is a few kilobytes.
  public static let maxSourceBytes = Compilation.maxSourceBytes

  /// Parses and checks a spec (NetcSema's `Compilation.compile`, which the language server shares).
  public static func compile(path: String, bytes: [UInt8], batch: Int = 1) -> Compilation {
    Compilation.compile(path: path, bytes: bytes, batch: batch)
  }

  /// Reads a source file, refusing what is not a plausible `.net` file before any stage sees it.
  public static func read(path: String, limit: Int = maxSourceBytes) -> Result<[UInt8], ReadError> {
    let fd: Int32
    let size: Int
    switch openRegularFile(path) {
    case .failure(let e): return .failure(e)
    case .success(let opened): (fd, size) = opened
    }
    defer { close(fd) }
    if size > limit { return .failure(.tooLarge(size, limit)) }
    // Read to the end rather than trusting the size: /proc files report 0, and a file may grow.
    var bytes: [UInt8] = []
    bytes.reserveCapacity(max(0, min(size, limit)))
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        return .failure(errno == EISDIR ? .isDirectory : .unreadable)
      }
      if n == 0 { break }
      bytes.append(contentsOf: chunk[0..<n])
      if bytes.count > limit { return .failure(.tooLarge(bytes.count, limit)) }
    }
    return .success(bytes)
  }

  /// Opens a file a user named (a spec, weights, a tensor, a plan) for reading, if it is a regular file;
  /// returns the descriptor, which the caller closes, and the size. Opened with O_NONBLOCK: open() of a
  /// FIFO otherwise waits for a writer, forever if none comes. The flag is cleared once fstat has shown a
  /// regular file. netc reads no stream: there is no '-' for stdin, and a FIFO, a device or a socket is
  /// refused by name.
  static func openRegularFile(_ path: String) -> Result<(fd: Int32, size: Int), ReadError> {
    let fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
    guard fd >= 0 else {
      let error = errno
      if error == ENOENT || error == ENOTDIR { return .failure(.notFound) }
      // A socket cannot be opened at all (ENXIO); say what it is rather than "cannot be read".
      var st = stat()
      if stat(path, &st) == 0, let kind = specialKind(st.st_mode) { return .failure(.notRegular(kind)) }
      return .failure(.unreadable)
    }
    var st = stat()
    guard fstat(fd, &st) == 0 else {
      close(fd)
      return .failure(.unreadable)
    }
    if (st.st_mode & S_IFMT) != S_IFREG {
      close(fd)
      if (st.st_mode & S_IFMT) == S_IFDIR { return .failure(.isDirectory) }
      return .failure(.notRegular(specialKind(st.st_mode) ?? "special file"))
    }
    let flags = fcntl(fd, F_GETFL)
    if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
    return .success((fd, Int(st.st_size)))
  }

  /// What a file that is neither regular nor a directory is, in words.
  private static func specialKind(_ mode: mode_t) -> String? {
    switch mode & S_IFMT {
    case S_IFIFO: return "FIFO"
    case S_IFCHR: return "character device"
    case S_IFBLK: return "block device"
    case S_IFSOCK: return "socket"
    default: return nil
    }
  }

  public enum ReadError: Error, Equatable {
    case notFound, isDirectory, notRegular(String), unreadable, tooLarge(Int, Int)
    public var message: String {
      switch self {
      case .notFound: return "no such file"
      case .isDirectory: return "is a directory, not a .net file"
      case .notRegular(let kind): return "is a \(kind), not a regular file"
      case .unreadable: return "cannot be read"
      case .tooLarge(let n, let limit): return "is \(grouped(n)) bytes; netc reads such files up to \(grouped(limit)) bytes"
      }
    }
  }
}
