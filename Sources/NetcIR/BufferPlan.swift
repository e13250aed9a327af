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
    var live: [(offset: Int, size: Int, until: Int)] = []
    var bases: [Int: Int] = [:]
    var arena = 0
    var unshared = 0
    for v in owners {
      let start = defs[v]!
      let until = lastUse[v] ?? start
      // A buffer is free once its last reader has run; a node never writes over its own inputs.
      live.removeAll { $0.until < start }
      let size = rounded(itemSize(v))
      unshared += size
      var candidate = 0
      for block in live.sorted(by: { $0.offset < $1.offset }) {
        if candidate + size <= block.offset { break }
        candidate = max(candidate, block.offset + block.size)
      }
      bases[v] = candidate
      live.append((candidate, size, until))
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
