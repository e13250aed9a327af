// Work split over cores by threads that stay up between calls. A network is a chain of a hundred or more
// sub-millisecond kernels; waking a parked thread for each costs about as much as the kernel itself, so the
// workers spin for a short while after each job before they sleep. Like Kernels.swift, only the standard
// library, Synchronization and Dispatch.
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

/// Runs body(part, slot) for part in 0..<parts over the cores; `slot` (0..<netcWorkers) names the thread,
/// so that a part can use that thread's scratch. The kernels split their work into several parts per
/// thread rather than one: on a shared machine one core is often slower than the other for a while
/// (another tenant's load), and equal halves would leave the faster one waiting for the slower one at the
/// end of every kernel. Thread t takes the parts of its own share first (the t-th contiguous run of about
/// parts / netcWorkers), then the last parts left in other shares. The kernels number their parts in
/// the order of the output's pixels where they split by pixels, so a thread mostly reads what it wrote in
/// the kernel before rather than what the other core holds in its cache.
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
/// The caller never waits for a worker that has not started: each thread's share of a job is a word
/// holding the job's number, the share's end and its next index, claimed from the front by its own thread
/// and from the back by the others, so a worker that wakes late claims nothing of a job the caller has
/// finished, and the caller only waits for the workers that are inside an iteration. On a busy machine
/// the caller simply does more of the work.
///
/// Why shares: the two vCPUs of a cloud machine are sometimes on cores that share a cache and sometimes
/// far apart (a cache line's round trip between them then takes 340 ns instead of 60 here). Far apart,
/// two threads were only 1.27x faster than one on GoogLeNet instead of 1.72x: what one core reads of what
/// the other wrote comes from the other's cache. With each thread keeping to the same part of the picture
/// from kernel to kernel where the kernels allow it, interleaved medians over runs in both states went
/// 25.1 -> 24.0 ms (GoogLeNet) and 23.1 -> 22.5 ms (ResNet-18).
public final class NetcThreadPool: @unchecked Sendable {
  public static let shared = NetcThreadPool(threads: netcWorkers - 1)

  /// Two milliseconds of spinning after a job before a worker sleeps: long enough to span the gap between
  /// two kernels, short enough not to steal a core from whatever runs after the network.
  static let spinNanoseconds: UInt64 = 2_000_000

  private let threads: Int
  private let busy = Atomic<Bool>(false)
  private let generation = Atomic<Int>(0)   // the current job's number, bumped to publish a job
  // Per thread, its share of the job: job number << 44 | end << 22 | next iteration, each word on a cache
  // line of its own (stride NetcThreadPool.stride words).
  private let shares: UnsafeMutablePointer<Atomic<Int>>
  private static let stride = 16
  private let active = Atomic<Int>(0)       // workers that may hold a claim
  private let sleepers = Atomic<Int>(0)
  private let wake = DispatchSemaphore(value: 0)
  // Per worker, its pthread_t once it has started (0 before), for netcKeepOff.
  private let workerThreads: UnsafeMutablePointer<Atomic<UInt>>
  // Written by the caller before the job is published; read by a worker only while it holds a claim.
  private var job: ((Int, Int) -> Void)?

  init(threads: Int) {
    self.threads = threads
    let words = (threads + 1) * Self.stride
    shares = UnsafeMutableRawPointer.allocate(byteCount: words * MemoryLayout<Int>.stride, alignment: 64)
      .bindMemory(to: Atomic<Int>.self, capacity: words)
    for i in 0..<words { (shares + i).initialize(to: Atomic<Int>(0)) }
    workerThreads = UnsafeMutablePointer<Atomic<UInt>>.allocate(capacity: max(1, threads))
    for t in 0..<max(1, threads) { (workerThreads + t).initialize(to: Atomic<UInt>(0)) }
    for t in 0..<threads {
      DispatchQueue(label: "netc.worker.\(t)", qos: .userInitiated).async { [unowned self] in self.workerLoop(slot: t + 1) }
    }
  }

  /// Wakes the sleeping workers so that they are spinning when the first job comes: a network run after
  /// a pause (a request, a benchmark's round) would otherwise start its first and often largest
  /// convolution with the caller alone while a worker's wake-up is on its way, and a job split in two
  /// halves then runs both on the caller.
  ///
  /// The workers are first kept off the caller's processor. Woken by the caller after a pause, the worker
  /// was often put on the caller's own vCPU while the other sat idle (sched_getcpu in each part: the
  /// worker ran all 16 parts of a job on the caller's processor, the caller none), and the two took turns
  /// on one vCPU. A job of 16 parts of 0.1 ms took 1.7 to 6 ms after a pause of 0.1 s; kept off, 0.95 to
  /// 1.8 ms (at worst the other vCPU wakes too late to help), and GoogLeNet's first convolution, in
  /// interleaved runs with ONNX Runtime, went from 2.5 ms (ONNX Runtime's: 1.4) to the same as its.
  public func wakeUp() {
    guard threads > 0, sleepers.load(ordering: .sequentiallyConsistent) > 0 else { return }
    #if os(Linux)
      netcKeepOff(threads) { workerThreads[$0].load(ordering: .acquiring) }
    #endif
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
      let size = threads + 1
      for t in 0..<size {
        shares[t * Self.stride].store(number << 44 | (n * (t + 1) / size) << 22 | n * t / size,
                                      ordering: .sequentiallyConsistent)
      }
      generation.store(number, ordering: .sequentiallyConsistent)
      wakeUp()
      while let i = take(number, slot: 0) { body(i, 0) }
      var spins = 0
      while active.load(ordering: .sequentiallyConsistent) > 0 {
        netcPause()
        spins += 1
        if spins & 1023 == 0 { netcYield() }
      }
      job = nil
    }
    busy.store(false, ordering: .releasing)
  }

  /// Claims an iteration of job `number` for thread `slot`, or nil when the job has none left or is over:
  /// the next of the thread's own share, else the last of another thread's.
  @inline(__always) private func take(_ number: Int, slot: Int) -> Int? {
    if let i = claim(number, shares + slot * Self.stride, fromEnd: false) { return i }
    var victim = slot
    for _ in 0..<threads {
      victim = victim == threads ? 0 : victim + 1
      if let i = claim(number, shares + victim * Self.stride, fromEnd: true) { return i }
    }
    return nil
  }

  @inline(__always) private func claim(_ number: Int, _ share: UnsafeMutablePointer<Atomic<Int>>,
                                       fromEnd: Bool) -> Int? {
    var word = share.pointee.load(ordering: .sequentiallyConsistent)
    while word >> 44 == number {
      let next = word & 0x3f_ffff, end = (word >> 22) & 0x3f_ffff
      guard next < end else { return nil }
      let (exchanged, original) = share.pointee.compareExchange(
        expected: word, desired: fromEnd ? word - 1 << 22 : word + 1, ordering: .sequentiallyConsistent)
      if exchanged { return fromEnd ? end - 1 : next }
      word = original
    }
    return nil
  }

  private func workerLoop(slot: Int) {
    #if os(Linux)
      workerThreads[slot - 1].store(UInt(pthread_self()), ordering: .releasing)
    #endif
    var seen = 0
    while true {
      var spins = 0
      var spinStart: UInt64 = 0
      while generation.load(ordering: .acquiring) == seen {
        netcPause()
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
    guard let first = take(number, slot: slot), let body = job else { return }
    body(first, slot)
    while let i = take(number, slot: slot) { body(i, slot) }
  }
}

#if os(Linux)
  /// The C functions netcKeepOff needs, looked up at run time: the Glibc module leaves out GNU extensions.
  private struct NetcAffinity {
    typealias GetCPU = @convention(c) () -> Int32
    typealias ThreadMask = @convention(c) (pthread_t, Int, UnsafeMutableRawPointer) -> Int32
    let currentProcessor: GetCPU, setMask: ThreadMask
    /// The processors the process may run on (a cpu_set_t: 1024 bits), as it started.
    var allowed = [UInt64](repeating: 0, count: 16)

    static let shared: NetcAffinity? = {
      guard let cpu = dlsym(nil, "sched_getcpu"), let set = dlsym(nil, "pthread_setaffinity_np"),
        let get = dlsym(nil, "pthread_getaffinity_np")
      else { return nil }
      var a = NetcAffinity(currentProcessor: unsafeBitCast(cpu, to: GetCPU.self),
                           setMask: unsafeBitCast(set, to: ThreadMask.self))
      let getMask = unsafeBitCast(get, to: ThreadMask.self)
      let ok = a.allowed.withUnsafeMutableBytes { getMask(pthread_self(), 128, $0.baseAddress!) }
      return ok == 0 ? a : nil
    }()
  }

  /// Lets each of `count` threads (`thread(t)`; 0 for one not yet started) run anywhere the process may
  /// except the processor the calling thread is on now, if that leaves somewhere to run. The mask is built
  /// once, on the stack: this runs as a network run starts, which allocates nothing.
  func netcKeepOff(_ count: Int, _ thread: (Int) -> UInt) {
    guard let a = NetcAffinity.shared else { return }
    let cpu = Int(a.currentProcessor())
    guard cpu >= 0, cpu < 1024 else { return }
    withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 16) { mask in
      for i in 0..<16 { mask[i] = a.allowed[i] }
      mask[cpu / 64] &= ~(1 << UInt64(cpu % 64))
      guard mask.contains(where: { $0 != 0 }) else { return }
      for t in 0..<count {
        let id = thread(t)
        if id != 0 { _ = a.setMask(pthread_t(id), 128, UnsafeMutableRawPointer(mask.baseAddress!)) }
      }
    }
  }
#endif

@inline(__always) func netcYield() {
  #if canImport(Glibc) || canImport(Darwin)
    sched_yield()
  #endif
}

#if arch(x86_64)
  @_silgen_name("llvm.x86.sse2.pause")
  func netcLLVMPause()
#elseif arch(arm64)
  @_silgen_name("llvm.aarch64.hint")
  func netcLLVMHint(_ hint: Int32)
#endif

/// Tells the processor this thread is spinning (x86 `pause`, arm64 `yield`), as spin-waits should: the
/// core's other hardware thread gets its resources, and a hypervisor can see the spin.
@inline(__always) func netcPause() {
  #if arch(x86_64)
    netcLLVMPause()
  #elseif arch(arm64)
    netcLLVMHint(1)
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
/// 151 MB measured 29 -> 34 GB/s here). Traps when the memory cannot be had: for sizes fixed in the code;
/// a size that comes from a user's network or batch goes through netcTryAllocateFloats.
public func netcAllocateFloats(_ n: Int) -> UnsafeMutablePointer<Float> {
  guard let p = netcTryAllocateFloats(n) else { fatalError("netc: out of memory allocating \(n) floats") }
  return p
}

/// The activations of `batch` items of `perItem` floats each. An emitted network's arena is sized by the
/// batch its user asks for, so a batch below 1, a count that overflows or memory the system refuses is an
/// error its caller can handle, not a trap.
public func netcAllocateArena(_ perItem: Int, batch: Int) throws -> UnsafeMutablePointer<Float> {
  guard batch >= 1 else { throw NetcWeightError("the batch must be at least 1, found \(batch)") }
  let (count, overflow) = perItem.multipliedReportingOverflow(by: batch)
  guard !overflow, let arena = netcTryAllocateFloats(count) else {
    throw NetcWeightError("cannot allocate the activations of \(batch) items (\(perItem) floats each)")
  }
  return arena
}

/// netcAllocateFloats, or nil when the system refuses the memory or `n` floats do not fit an Int's bytes.
public func netcTryAllocateFloats(_ n: Int) -> UnsafeMutablePointer<Float>? {
  let (bytes, overflow) = max(1, n).multipliedReportingOverflow(by: 4)
  guard !overflow else { return nil }
  let huge = bytes >= 2 << 20
  var raw: UnsafeMutableRawPointer?
  #if canImport(Glibc) || canImport(Darwin)
    if posix_memalign(&raw, huge ? 2 << 20 : 64, bytes) != 0 { raw = nil }
  #else
    raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
  #endif
  guard let raw else { return nil }
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
