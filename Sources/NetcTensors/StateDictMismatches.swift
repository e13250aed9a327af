// The pairing of layers with modules when no arrangement of the module tree fits: layer by layer, so that
// each mistake of the spec (or each module the model has that the spec lacks) is one problem at its place.

extension StateDictPairing {
  /// Most layers without a module of their tensors that are matched with a module of their kind: past
  /// them (a spec for another network), the rest are reported missing.
  static let mismatchLimit = 100

  /// Layer by layer, in netc's order, each layer takes, of the modules left with its tensors, the one whose
  /// path shares the longest prefix with the module the layer before took (ties: natural order). If every
  /// layer and module is paired, that is the pairing (the model's modules interleave: a warning says
  /// where). Otherwise the layers left and the modules left of one kind are paired, most alike first: such a
  /// layer differs from its module (a wrong size in the spec); a layer still left is missing from the file,
  /// a module still left has no layer.
  static func layerByLayer(_ layers: [ImportLayer], _ modules: [StateDictModule], _ layerSignatures: [Int],
                           _ moduleSignatures: [Int]) -> StateDictPairing {
    var pairs = nearestModules(modules, layerSignatures, moduleSignatures)
    var used = [Bool](repeating: false, count: modules.count)
    for m in pairs { if let m { used[m] = true } }
    if !pairs.contains(nil) && !used.contains(false) {
      let warning = interleaving(pairs.map { $0! }, modules)
      return StateDictPairing(method: .layers, modules: pairs, problems: warning.map { [$0] } ?? [])
    }
    // The layers left and the modules left of one kind, most alike first: the same suffixes with as many
    // dimensions before some suffixes in common, then the module nearest the one of the layer before.
    var kinds = Kinds()
    let layerKinds = layers.map { kinds.id($0.tensors) }, moduleKinds = modules.map { kinds.id($0.tensors) }
    var candidates: [(score: Int, prefix: Int, layer: Int, module: Int)] = []
    var context: [String] = []
    var considered = 0
    for l in layers.indices {
      if let m = pairs[l] {
        context = modules[m].segments
        continue
      }
      considered += 1
      guard considered <= mismatchLimit else { break }
      for m in modules.indices where !used[m] {
        let score = kinds.score(layerKinds[l], moduleKinds[m])
        if score > 0 { candidates.append((score, commonPrefix(context, modules[m].segments), l, m)) }
      }
    }
    candidates.sort { ($1.score, $1.prefix, $0.layer, $0.module) < ($0.score, $0.prefix, $1.layer, $1.module) }
    var problems: [Problem] = []
    for c in candidates where pairs[c.layer] == nil && !used[c.module] {
      pairs[c.layer] = c.module
      used[c.module] = true
      problems.append(.differs(layer: c.layer, module: c.module))
    }
    for l in layers.indices where pairs[l] == nil {
      let before = pairs[..<l].last { $0 != nil } ?? nil, after = pairs[(l + 1)...].first { $0 != nil } ?? nil
      problems.append(.missing(layer: l, before: before, after: after))
    }
    var layerOf: [Int: Int] = [:]
    for (l, m) in pairs.enumerated() { if let m { layerOf[m] = l } }
    let taken = layerOf.keys.sorted()
    for (count, group) in unusedGroups(modules, used).enumerated() {
      // Only for the modules whose errors can be shown: the search looks at every module paired.
      let near = count < mismatchLimit ? neighbour(of: modules[group[0]].segments, among: taken, modules) : nil
      problems.append(.unused(modules: group, neighbour: near.flatMap { layerOf[$0] }))
    }
    return StateDictPairing(method: .layers, modules: pairs, problems: problems)
  }

  /// Most layers times modules for which each layer looks at every module left with its tensors: 2,000
  /// of each. Past it (no real network comes near), a layer takes the first module left in natural order.
  static let searchLimit = 4_000_000

  /// For each layer, the module left with its tensors nearest to the previous layer's, or nil.
  static func nearestModules(_ modules: [StateDictModule], _ layerSignatures: [Int], _ moduleSignatures: [Int]) -> [Int?] {
    var bySignature: [Int: [Int]] = [:]   // in natural order
    for (i, s) in moduleSignatures.enumerated() { bySignature[s, default: []].append(i) }
    let search = layerSignatures.count * modules.count <= searchLimit
    var firstLeft: [Int: Int] = [:]      // without the search: the first of each signature's modules left
    var used = [Bool](repeating: false, count: modules.count)
    var pairs: [Int?] = []
    var previous: [String] = []
    for signature in layerSignatures {
      var best: (module: Int, prefix: Int)?
      let candidates = bySignature[signature] ?? []
      if search {
        for m in candidates where !used[m] {
          let p = commonPrefix(previous, modules[m].segments)
          if best == nil || p > best!.prefix { best = (m, p) }
        }
      } else if firstLeft[signature, default: 0] < candidates.count {
        best = (candidates[firstLeft[signature, default: 0]], 0)
        firstLeft[signature, default: 0] += 1
      }
      pairs.append(best?.module)
      if let best {
        used[best.module] = true
        previous = modules[best.module].segments
      }
    }
    return pairs
  }

  /// Of the modules in `taken` (in natural order), the one whose path shares the most with `path`; ties:
  /// the last before it in natural order, else the first after it.
  static func neighbour(of path: [String], among taken: [Int], _ modules: [StateDictModule]) -> Int? {
    var best: (module: Int, prefix: Int)?
    for t in taken {
      let p = commonPrefix(modules[t].segments, path)
      if best == nil || p > best!.prefix || (p == best!.prefix && NaturalOrder.compare(modules[t].segments, path) < 0) {
        best = (t, p)
      }
    }
    return best?.module
  }

  /// The modules no layer takes, in natural order, grouped: the modules inside the shortest path all of
  /// whose modules are unused are one group (a block the spec lacks is one mistake).
  static func unusedGroups(_ modules: [StateDictModule], _ used: [Bool]) -> [[Int]] {
    var total: [ArraySlice<String>: Int] = [:], unused: [ArraySlice<String>: Int] = [:]
    for (m, module) in modules.enumerated() {
      for depth in stride(from: 1, through: module.segments.count, by: 1) {
        total[module.segments[..<depth], default: 0] += 1
        if !used[m] { unused[module.segments[..<depth], default: 0] += 1 }
      }
    }
    var groups: [[Int]] = []
    var groupOf: [ArraySlice<String>: Int] = [:]
    for m in modules.indices where !used[m] {
      let segments = modules[m].segments
      // The model's own tensors (no dot), or a module with used modules inside it, are a group of their own.
      let depth = segments.indices.first { total[segments[...$0]] == unused[segments[...$0]] }.map { $0 + 1 }
      let group = segments[..<(depth ?? 0)]
      if let g = groupOf[group], depth != nil {
        groups[g].append(m)
      } else {
        groupOf[group] = groups.count
        groups.append([m])
      }
    }
    return groups
  }

  /// The first layer, in netc's order, that runs amid the modules of a module it is not part of (when no
  /// arrangement of the tree fits a complete pairing, there is one, unless the search ran out of steps).
  /// Of the modules it interrupts, the innermost is named.
  static func interleaving(_ pairs: [Int], _ modules: [StateDictModule]) -> Problem? {
    var positions: [[String]: [Int]] = [:]
    for (l, m) in pairs.enumerated() {
      let segments = modules[m].segments
      for depth in stride(from: 1, through: segments.count, by: 1) { positions[Array(segments[..<depth]), default: []].append(l) }
    }
    var first: (layer: Int, depth: Int, within: [String], before: Int)?
    for (prefix, ls) in positions {
      guard let gap = ls.indices.dropLast().first(where: { ls[$0 + 1] != ls[$0] + 1 }) else { continue }
      let l = ls[gap] + 1
      if first == nil || l < first!.layer || (l == first!.layer && prefix.count > first!.depth)
        || (l == first!.layer && prefix.count == first!.depth && NaturalOrder.compare(prefix, first!.within) < 0) {
        first = (l, prefix.count, prefix, ls[gap])
      }
    }
    guard let first else { return nil }
    let after = positions[first.within]!.first { $0 > first.layer }!
    return .interleaved(layer: first.layer, within: first.within.joined(separator: "."), before: pairs[first.before],
                        after: pairs[after])
  }
}

/// The kinds of tensor lists, numbered: a list's suffixes with how many dimensions each has (a convolution's
/// weight has four, a linear layer's two), whatever the sizes. Two lists of one kind score 2, of kinds with
/// some suffix in common 1, else 0.
struct Kinds {
  private var ids: [Set<String>: Int] = [:]
  private var sets: [Set<String>] = []

  mutating func id(_ tensors: [TensorSlot]) -> Int {
    let set = Set(tensors.map { "\($0.suffix)/\($0.shape.count)" })
    if let id = ids[set] { return id }
    ids[set] = sets.count
    sets.append(set)
    return sets.count - 1
  }

  func score(_ a: Int, _ b: Int) -> Int { a == b ? 2 : (sets[a].isDisjoint(with: sets[b]) ? 0 : 1) }
}
