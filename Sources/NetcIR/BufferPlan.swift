import NetcOps
import NetcSema

/// Where a value lives: item `b`, element `i` is at `arena[base * batch + b * itemStride + itemOffset + i]`.
/// Every size scales with the batch by the same factor, so one plan per batch item serves every batch.
public struct Placement: Equatable, Sendable {
  public var base: Int
  public var itemOffset: Int
  public var itemStride: Int
}

/// A static memory plan: every value's place in one arena, reused as soon as a value is dead.
public struct BufferPlan: Sendable {
  /// Arena elements per batch item.
  public var arenaSize: Int
  public var placements: [Int: Placement]
  /// What the activations would take with no reuse, per batch item.
  public var unsharedSize: Int

  /// 16 floats: 64-byte aligned buffers for SIMD loads.
  static let alignment = 16

  public init(_ g: LoweredGraph) {
    // The storages that need memory, each with the node index that defines it and the last that reads it.
    var defs: [Int: Int] = [g.input: -1]
    var lastUse: [Int: Int] = [:]
    for (i, n) in g.nodes.enumerated() {
      defs[n.output] = i
      for v in n.inputs + (n.residual.map { [$0] } ?? []) { lastUse[g.storage(of: v)] = i }
    }
    for o in g.outputs { lastUse[g.storage(of: o)] = g.nodes.count }
    // An in-place concatenation's inputs are slices of its output: one buffer, live from the first
    // slice written to the last read of the whole.
    var sliceOf: [Int: (concat: Int, offset: Int)] = [:]
    for n in g.nodes where g.inPlaceConcats.contains(n.output) {
      let out = g.shapes[n.output]
      let perChannel = out.dims.dropFirst().reduce(1, *)
      var offset = 0
      for v in n.inputs {
        let s = g.storage(of: v)
        sliceOf[s] = (n.output, offset)
        defs[n.output] = min(defs[n.output]!, defs[s]!)
        offset += g.shapes[s].dims[0] * perChannel
      }
    }
    func itemSize(_ v: Int) -> Int { g.shapes[v].elementCount }
    func rounded(_ n: Int) -> Int { (n + BufferPlan.alignment - 1) / BufferPlan.alignment * BufferPlan.alignment }

    // A node that adds a residual read last there writes its output over it: the kernels read each
    // element's residual before they write that element, and the output's lines are then already in cache
    // instead of being fetched for writing (ResNet-50's 56x56 expansion, caches flushed: 1.02 -> 0.72 ms).
    // `over[v]` is the buffer v writes over, followed to its first owner.
    var over: [Int: Int] = [:]
    for (i, n) in g.nodes.enumerated() {
      guard n.op.acceptsResidual, let res = n.residual else { continue }
      let r = g.storage(of: res), out = n.output
      guard lastUse[r] == i, r != g.input, sliceOf[r] == nil, sliceOf[out] == nil,
        !g.inPlaceConcats.contains(r), !g.inPlaceConcats.contains(out), itemSize(r) == itemSize(out),
        !n.inputs.contains(where: { g.storage(of: $0) == r })
      else { continue }
      let owner = over[r] ?? r
      over[out] = owner
      lastUse[owner] = lastUse[out] ?? i
    }

    let owners = defs.keys.filter { sliceOf[$0] == nil && over[$0] == nil }.sorted { (defs[$0]!, $0) < (defs[$1]!, $1) }
    var live = LiveBlocks()
    // The live blocks by the node after which they are free; `freedBefore`: every block whose last reader
    // comes before it is free. A block read last before its own start is freed at the next placement.
    var freedAt: [Int: [Int]] = [:]
    var freedNext: [Int] = []
    var freedBefore = -1
    var bases: [Int: Int] = [:]
    var arena = 0
    var unshared = 0
    for v in owners {
      let start = defs[v]!
      let until = lastUse[v] ?? start
      // A buffer is free once its last reader has run; a node never writes over its own inputs.
      for offset in freedNext { live.remove(at: offset) }
      freedNext = []
      // Owners come in order of their start, so each node is passed once over the whole plan.
      while freedBefore < start {
        for offset in freedAt.removeValue(forKey: freedBefore) ?? [] { live.remove(at: offset) }
        freedBefore += 1
      }
      let size = rounded(itemSize(v))
      unshared += size
      let candidate = live.firstFit(size)
      bases[v] = candidate
      live.insert(offset: candidate, size: size)
      if until < start { freedNext.append(candidate) } else { freedAt[until, default: []].append(candidate) }
      arena = max(arena, candidate + size)
    }
    var placements: [Int: Placement] = [:]
    for v in defs.keys {
      if let (concat, offset) = sliceOf[v] {
        placements[v] = Placement(base: bases[concat]!, itemOffset: offset, itemStride: rounded(itemSize(concat)))
      } else if let owner = over[v] {
        placements[v] = Placement(base: bases[owner]!, itemOffset: 0, itemStride: rounded(itemSize(owner)))
      } else {
        placements[v] = Placement(base: bases[v]!, itemOffset: 0, itemStride: rounded(itemSize(v)))
      }
    }
    self.arenaSize = arena
    self.placements = placements
    self.unsharedSize = over.keys.reduce(unshared) { $0 + rounded(itemSize($1)) }
  }

  public func placement(of v: Int, in g: LoweredGraph) -> Placement { placements[g.storage(of: v)]! }
}

/// The live blocks of the arena in order of offset, for first-fit placement: the lowest offset at which a
/// block fits between the live ones (or after the last). A network can hold tens of thousands of values
/// live at once (an `add` of many branches): one sorted array made every placement and every release cost
/// as much as the live set, so planning such a network took minutes. The blocks are kept in runs of at
/// most `2 * runLength`, each knowing its widest gap, so a placement skips the runs it cannot fit in.
struct LiveBlocks {
  struct Run {
    var blocks: [(offset: Int, size: Int)]
    /// The widest gap between two blocks of the run.
    var widestGap = 0

    init(_ blocks: [(offset: Int, size: Int)]) {
      self.blocks = blocks
      measure()
    }

    var end: Int { blocks[blocks.count - 1].offset + blocks[blocks.count - 1].size }

    mutating func measure() {
      widestGap = 0
      for i in blocks.indices.dropFirst() {
        widestGap = max(widestGap, blocks[i].offset - (blocks[i - 1].offset + blocks[i - 1].size))
      }
    }
  }

  static let runLength = 256
  var runs: [Run] = []

  /// The lowest offset where `size` fits: the first gap as wide, counting the one before the first block.
  func firstFit(_ size: Int) -> Int {
    var end = 0
    for run in runs {
      if run.blocks[0].offset - end >= size { return end }
      if run.widestGap >= size {
        for (a, b) in zip(run.blocks, run.blocks.dropFirst()) where b.offset - (a.offset + a.size) >= size {
          return a.offset + a.size
        }
      }
      end = run.end
    }
    return end
  }

  /// The run that holds, or would hold, a block at `offset`: the first whose last block is not below it.
  private func run(for offset: Int) -> Int {
    var lo = 0, hi = runs.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if runs[mid].blocks[runs[mid].blocks.count - 1].offset < offset { lo = mid + 1 } else { hi = mid }
    }
    return lo
  }

  private static func index(of offset: Int, in blocks: [(offset: Int, size: Int)]) -> Int {
    var lo = 0, hi = blocks.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if blocks[mid].offset < offset { lo = mid + 1 } else { hi = mid }
    }
    return lo
  }

  mutating func insert(offset: Int, size: Int) {
    guard !runs.isEmpty else {
      runs = [Run([(offset, size)])]
      return
    }
    let r = min(run(for: offset), runs.count - 1)
    runs[r].blocks.insert((offset, size), at: Self.index(of: offset, in: runs[r].blocks))
    if runs[r].blocks.count > 2 * Self.runLength {
      let upper = Run(Array(runs[r].blocks[Self.runLength...]))
      runs[r].blocks.removeSubrange(Self.runLength...)
      runs.insert(upper, at: r + 1)
    }
    runs[r].measure()
  }

  mutating func remove(at offset: Int) {
    let r = run(for: offset)
    let i = Self.index(of: offset, in: runs[r].blocks)
    precondition(runs[r].blocks[i].offset == offset, "no live block at \(offset)")
    runs[r].blocks.remove(at: i)
    if runs[r].blocks.isEmpty { runs.remove(at: r) } else { runs[r].measure() }
  }
}
