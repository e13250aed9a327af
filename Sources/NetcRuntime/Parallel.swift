// Work split over cores by threads that stay up between calls. A network is a chain of a hundred or more
// sub-millisecond kernels; waking a parked thread for each costs about as much as the kernel itself, so the
// workers spin for a short while after each job before they sleep. Like Kernels.swift, this file is copied
// into the Swift that `netc emit` writes: only the standard library, Synchronization and Dispatch.
import Dispatch
import Synchronization
#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Threads the kernels split work over: NETC_THREADS if set (1 to 64), else the processors online, at
/// most 64.
public let netcWorkers: Int = {
  #if canImport(Glibc) || canImport(Darwin)
    if let v = getenv("NETC_THREADS"), let n = Int(String(cString: v)), (1...64).contains(n) { return n }
  #endif
  #if canImport(Glibc)
    return max(1, min(64, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
  #elseif canImport(Darwin)
    return max(1, min(64, Int(sysconf(_SC_NPROCESSORS_ONLN))))
  #else
    return 2
  #endif
}()

/// Runs body(0..<count) over the cores. Small jobs run inline: a thread hop costs more than they do. Many
/// small iterations (a pool's channels) are claimed in runs, about eight per worker: claiming each one
/// would move the claim's cache line between the cores hundreds of times.
@inline(__always)
public func netcParallel(_ count: Int, work: Int, _ body: (Int) -> Void) {
  if count <= 1 || work < 1 << 15 || netcWorkers == 1 {
    netcSerially(count, body)
  } else if count <= 8 * netcWorkers {
    NetcThreadPool.shared.run(count) { i, _ in body(i) }
  } else {
    let runs = 8 * netcWorkers
    NetcThreadPool.shared.run(runs) { r, _ in
      for i in (count * r / runs)..<(count * (r + 1) / runs) { body(i) }
    }
  }
}

/// Runs body(part, slot) for part in 0..<parts over the cores, each part claimed by whichever thread is
/// free; `slot` (0..<netcWorkers) names the thread, so that a part can use that thread's scratch. Parts
/// are claimed in order. The kernels split their work into several parts per thread rather than one: on
/// a shared machine one core is often slower than the other for a while (another tenant's load), and
/// equal halves would leave the faster one waiting for the slower one at the end of every kernel.
@inline(__always)
public func netcParallelParts(_ parts: Int, _ body: (Int, Int) -> Void) {
  if parts <= 1 || netcWorkers == 1 {
    netcSerially(parts) { body($0, 0) }
  } else {
    NetcThreadPool.shared.run(parts, body)
  }
}

/// body(0..<count) on the calling thread. Not inlined, so that `body` is compiled on its own as it is for
/// the pool: inlined into a kernel's serial path, the tile loops of netcConvFromPhases spilled their
/// accumulators to the stack on every multiply-add (a 5x5 convolution 64 -> 192 over 27x27, by that path
/// on one thread: 20 ms instead of 4.4).
@inline(never)
func netcSerially(_ count: Int, _ body: (Int) -> Void) {
  for i in 0..<count { body(i) }
}

/// How many parts to split work of `units` independent units into: about `perThread` per thread, at
/// most `units`, and none that would do less than `minimum` work (in multiply-adds) each.
@inline(__always)
public func netcParts(_ units: Int, work: Int, perThread: Int, minimum: Int = 1 << 16) -> Int {
  max(1, min(units, perThread * netcWorkers, work / minimum))
}

/// netcWorkers - 1 threads and the caller share a job's iterations. One job at a time: a caller that finds
/// the pool busy (another thread's network, or a kernel inside a job) runs its iterations itself.
///
/// The caller never waits for a worker that has not started: iterations are claimed one by one from a
/// word holding the job's number, its iteration count and the next index, so a worker that wakes late claims nothing of a job
/// the caller has finished, and the caller only waits for the workers that are inside an iteration. On a
/// busy machine the caller simply does more of the work.
public final class NetcThreadPool: @unchecked Sendable {
  public static let shared = NetcThreadPool(threads: netcWorkers - 1)

  /// Two milliseconds of spinning after a job before a worker sleeps: long enough to span the gap between
  /// two kernels, short enough not to steal a core from whatever runs after the network.
  static let spinNanoseconds: UInt64 = 2_000_000

  private let threads: Int
  private let busy = Atomic<Bool>(false)
  private let generation = Atomic<Int>(0)   // the current job's number, bumped to publish a job
  private let claim = Atomic<Int>(0)        // job number << 44 | iterations << 22 | next iteration
  private let active = Atomic<Int>(0)       // workers that may hold a claim
  private let sleepers = Atomic<Int>(0)
  private let wake = DispatchSemaphore(value: 0)
  // Written by the caller before the job is published; read by a worker only while it holds a claim.
  private var job: ((Int, Int) -> Void)?

  init(threads: Int) {
    self.threads = threads
    for t in 0..<threads {
      DispatchQueue(label: "netc.worker.\(t)", qos: .userInitiated).async { [unowned self] in self.workerLoop(slot: t + 1) }
    }
  }

  /// Wakes the sleeping workers so that they are spinning when the first job comes: a network run after
  /// a pause (a request, a benchmark's round) would otherwise start its first and often largest
  /// convolution with the caller alone while a worker's wake-up is on its way, and a job split in two
  /// halves then runs both on the caller.
  public func wakeUp() {
    guard threads > 0, sleepers.load(ordering: .sequentiallyConsistent) > 0 else { return }
    for _ in 0..<sleepers.exchange(0, ordering: .sequentiallyConsistent) { wake.signal() }
  }

  /// Runs body(i, slot) for i in 0..<n: slot 0 on the caller, t + 1 on worker t.
  func run(_ n: Int, _ body: (Int, Int) -> Void) {
    guard threads > 0, n < 1 << 22,
      busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    else {
      for i in 0..<n { body(i, 0) }
      return
    }
    withoutActuallyEscaping(body) { body in
      job = body
      let number = (generation.load(ordering: .relaxed) + 1) & 0x7_ffff
      claim.store(number << 44 | n << 22, ordering: .sequentiallyConsistent)
      generation.store(number, ordering: .sequentiallyConsistent)
      wakeUp()
      while let i = take(number) { body(i, 0) }
      var spins = 0
      while active.load(ordering: .sequentiallyConsistent) > 0 {
        spins += 1
        if spins & 1023 == 0 { netcYield() }
      }
      job = nil
    }
    busy.store(false, ordering: .releasing)
  }

  /// Claims the next iteration of job `number`, or nil when it has none left or is over.
  @inline(__always) private func take(_ number: Int) -> Int? {
    var word = claim.load(ordering: .sequentiallyConsistent)
    while word >> 44 == number && word & 0x3f_ffff < (word >> 22) & 0x3f_ffff {
      let (exchanged, original) = claim.compareExchange(
        expected: word, desired: word + 1, ordering: .sequentiallyConsistent)
      if exchanged { return word & 0x3f_ffff }
      word = original
    }
    return nil
  }

  private func workerLoop(slot: Int) {
    var seen = 0
    while true {
      var spins = 0
      var spinStart: UInt64 = 0
      while generation.load(ordering: .acquiring) == seen {
        spins += 1
        if spins & 255 != 0 { continue }
        let now = DispatchTime.now().uptimeNanoseconds
        if spinStart == 0 { spinStart = now }
        if now - spinStart < Self.spinNanoseconds { continue }
        // Announce the sleep, then look once more: a job published in between is either seen here or
        // finds this worker counted in `sleepers` and signals it.
        sleepers.add(1, ordering: .sequentiallyConsistent)
        if generation.load(ordering: .sequentiallyConsistent) == seen { wake.wait() }
        spinStart = 0
      }
      seen = generation.load(ordering: .acquiring)
      active.add(1, ordering: .sequentiallyConsistent)
      work(seen, slot: slot)
      active.subtract(1, ordering: .sequentiallyConsistent)
    }
  }

  /// A function of its own so that the worker's reference to the caller's closure is gone when it
  /// returns, before `active` lets the caller finish.
  @inline(never) private func work(_ number: Int, slot: Int) {
    guard let first = take(number), let body = job else { return }
    body(first, slot)
    while let i = take(number) { body(i, slot) }
  }
}

@inline(__always) func netcYield() {
  #if canImport(Glibc) || canImport(Darwin)
    sched_yield()
  #endif
}

@_silgen_name("llvm.prefetch.p0")
func netcLLVMPrefetch(_ address: UnsafeRawPointer, _ write: Int32, _ locality: Int32, _ cache: Int32)

/// Asks the cache for the line holding `p`, so that a kernel's epilogue, which reads a residual and writes
/// an output across 8 to 32 rows a map apart, does not wait on those misses one by one after its
/// multiply-adds: the hardware prefetcher follows so many strided streams poorly (a 1x1 convolution 256 ->
/// 1024 over 14x14 spent a quarter of its time on its residual's loads). The standard library has no
/// prefetch, so this calls LLVM's intrinsic, which every target lowers (to nothing where there is no such
/// instruction). Its arguments must be constants, hence one function for reading and one for writing.
@inline(__always)
func netcPrefetch(_ p: UnsafeRawPointer) {
  netcLLVMPrefetch(p, 0, 3, 1)
}

/// netcPrefetch for a line about to be written.
@inline(__always)
func netcPrefetchForWriting(_ p: UnsafeRawPointer) {
  netcLLVMPrefetch(p, 1, 3, 1)
}

/// A zeroed buffer of `n` floats for weights, activations or scratch, 64-byte aligned; release it with
/// netcRelease. From 2 MiB up it is aligned to 2 MiB and, on Linux, marked for transparent huge pages: a
/// network's large buffers (AlexNet's fully connected weights: 234 MB) are streamed from memory, and on 4 KiB
/// pages the hardware prefetcher stops at every page boundary and every page costs a TLB walk (streaming
/// 151 MB measured 29 -> 34 GB/s here).
public func netcAllocateFloats(_ n: Int) -> UnsafeMutablePointer<Float> {
  let bytes = max(1, n) * 4
  let huge = bytes >= 2 << 20
  var raw: UnsafeMutableRawPointer?
  #if canImport(Glibc) || canImport(Darwin)
    if posix_memalign(&raw, huge ? 2 << 20 : 64, bytes) != 0 { raw = nil }
  #else
    raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
  #endif
  guard let raw else { fatalError("netc: out of memory allocating \(bytes) bytes") }
  #if canImport(Glibc)
    if huge { _ = madvise(raw, bytes, 14) }  // MADV_HUGEPAGE
  #endif
  let p = raw.bindMemory(to: Float.self, capacity: max(1, n))
  p.initialize(repeating: 0, count: max(1, n))
  return p
}

/// Releases a buffer of netcAllocateFloats.
public func netcRelease(_ p: UnsafeMutablePointer<Float>) {
  #if canImport(Glibc) || canImport(Darwin)
    free(p)
  #else
    p.deallocate()
  #endif
}
