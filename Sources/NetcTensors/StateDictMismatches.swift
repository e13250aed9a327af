// The pairing of layers with modules when no arrangement of the module tree fits: layer by layer, then
// aligned, so that each mistake of the spec (or each module the model has that the spec lacks) is one
// problem at its place.

extension StateDictPairing {
  /// Most cells of the alignment (layers times modules): ResNet-152 takes 250,000. Past it, the mistakes
  /// are those of the layer-by-layer pairing.
  static let alignmentLimit = 16 << 20

  /// Layer by layer, in netc's order, a layer takes of the modules left with its tensors the one whose
  /// path shares the longest prefix with the module the layer before took (ties: natural order). If every
  /// layer and module is paired, that is the pairing (the model's modules interleave: a warning says
  /// where). Otherwise the modules, in the order this pairing gives them, are aligned with the layers.
  static func layerByLayer(_ layers: [ImportLayer], _ modules: [StateDictModule], _ layerSignatures: [Int],
                           _ moduleSignatures: [Int]) -> StateDictPairing {
    let (pairs, exact) = nearestModules(layers, modules, layerSignatures, moduleSignatures)
    let paired = Set(pairs.compactMap { $0 })
    if exact.allSatisfy({ $0 }) && paired.count == modules.count {
      let warning = interleaving(pairs.map { $0! }, modules)
      return StateDictPairing(method: .layers, modules: pairs, problems: warning.map { [$0] } ?? [])
    }
    // The modules in the order of their layers; a module no layer took comes after the one nearest to it.
    var layerOf: [Int: Int] = [:]
    for (l, m) in pairs.enumerated() { if let m { layerOf[m] = l } }
    let keys = modules.indices.map { m -> (Int, Int, Int) in
      if let l = layerOf[m] { return (l, 0, m) }
      return (neighbour(of: m, among: layerOf, modules).flatMap { layerOf[$0] } ?? -1, 1, m)
    }
    let sequence = modules.indices.sorted { keys[$0] < keys[$1] }
    guard layers.count * sequence.count <= alignmentLimit else {
      var problems: [Problem] = []
      for (l, m) in pairs.enumerated() {
        if let m, !exact[l] { problems.append(.differs(layer: l, module: m)) }
        if m == nil { problems.append(.missing(layer: l, before: nil, after: nil)) }
      }
      problems += modules.indices.filter { !paired.contains($0) }.map { .unused(module: $0, neighbour: nil, after: true) }
      return StateDictPairing(method: .layers, modules: pairs, problems: problems)
    }
    return align(layers, modules, sequence, layerSignatures, moduleSignatures)
  }

  /// The layer-by-layer pairing, and whether each layer's module has its tensors. A layer that none fits
  /// takes the nearest module left of its kind (the same suffixes with as many dimensions, or failing that
  /// some of them), so that one wrong size leaves the rest of the spec paired as it would be.
  static func nearestModules(_ layers: [ImportLayer], _ modules: [StateDictModule], _ layerSignatures: [Int],
                             _ moduleSignatures: [Int]) -> (pairs: [Int?], exact: [Bool]) {
    var bySignature: [Int: [Int]] = [:]   // in natural order
    for (i, s) in moduleSignatures.enumerated() { bySignature[s, default: []].append(i) }
    var used = [Bool](repeating: false, count: modules.count)
    var pairs: [Int?] = [], exact: [Bool] = []
    var previous: [String] = []
    var misses = 0
    func nearest(_ candidates: some Sequence<Int>, score: (Int) -> Int = { _ in 0 }) -> Int? {
      var best: (index: Int, prefix: Int, score: Int)?
      for i in candidates where !used[i] {
        let p = commonPrefix(previous, modules[i].segments), s = score(i)
        if best == nil || p > best!.prefix || (p == best!.prefix && s > best!.score) { best = (i, p, s) }
      }
      return best?.index
    }
    for (l, layer) in layers.enumerated() {
      var taken = nearest(bySignature[layerSignatures[l]] ?? [])
      exact.append(taken != nil)
      // Past a few misses, every further one would search every module: a spec for another network.
      if taken == nil, misses < 100 {
        misses += 1
        let score = { (m: Int) in kindScore(layer.tensors, modules[m].tensors) }
        taken = nearest(modules.indices.lazy.filter { score($0) > 0 }, score: score)
      }
      pairs.append(taken)
      if let taken {
        used[taken] = true
        previous = modules[taken].segments
      }
    }
    return (pairs, exact)
  }

  /// Of the modules with layers, the one whose path shares the most with module m's; ties: the last
  /// before it in natural order, else the first after it.
  static func neighbour(of m: Int, among layerOf: [Int: Int], _ modules: [StateDictModule]) -> Int? {
    var best: (module: Int, prefix: Int)?
    for t in layerOf.keys.sorted() {
      let p = commonPrefix(modules[t].segments, modules[m].segments)
      if best == nil || p > best!.prefix || (p == best!.prefix && t < m) { best = (t, p) }
    }
    return best?.module
  }

  /// The alignment of the layers with the modules in `sequence` that costs least: a layer and a module
  /// with the same tensors cost nothing, of one kind but other shapes 1 (the layer differs), a layer
  /// without a module 1 (missing), a module without a layer 1 (unused). An extra layer in the spec so
  /// costs 1, not a wrong size at every layer after it.
  static func align(_ layers: [ImportLayer], _ modules: [StateDictModule], _ sequence: [Int], _ layerSignatures: [Int],
                    _ moduleSignatures: [Int]) -> StateDictPairing {
    let n = layers.count, k = sequence.count
    enum Step: UInt8 { case pair, layer, module }
    var steps = [Step](repeating: .pair, count: (n + 1) * (k + 1))
    var previous = Array(0...k), current = [Int](repeating: 0, count: k + 1)
    for j in 0...k { steps[j] = .module }
    for i in stride(from: 1, through: n, by: 1) {
      current[0] = i
      steps[i * (k + 1)] = .layer
      for j in stride(from: 1, through: k, by: 1) {
        let m = sequence[j - 1]
        var best = (cost: previous[j] + 1, step: Step.layer)
        if current[j - 1] + 1 < best.cost { best = (current[j - 1] + 1, .module) }
        if moduleSignatures[m] == layerSignatures[i - 1] {
          if previous[j - 1] <= best.cost { best = (previous[j - 1], .pair) }
        } else if kindScore(layers[i - 1].tensors, modules[m].tensors) > 0, previous[j - 1] + 1 <= best.cost {
          best = (previous[j - 1] + 1, .pair)
        }
        current[j] = best.cost
        steps[i * (k + 1) + j] = best.step
      }
      swap(&previous, &current)
    }
    // Back from the end, then forward to report in order.
    var path: [(layer: Int?, module: Int?)] = []
    var i = n, j = k
    while i > 0 || j > 0 {
      switch steps[i * (k + 1) + j] {
      case .pair: path.append((i - 1, sequence[j - 1])); i -= 1; j -= 1
      case .layer: path.append((i - 1, nil)); i -= 1
      case .module: path.append((nil, sequence[j - 1])); j -= 1
      }
    }
    path.reverse()
    var pairs = [Int?](repeating: nil, count: n)
    for p in path { if let l = p.layer { pairs[l] = p.module } }
    var problems: [Problem] = []
    var lastLayer: Int?
    for (index, p) in path.enumerated() {
      switch (p.layer, p.module) {
      case (let l?, let m?):
        if moduleSignatures[m] != layerSignatures[l] { problems.append(.differs(layer: l, module: m)) }
      case (let l?, nil):
        let before = path[..<index].last { $0.layer != nil && $0.module != nil }?.module
        let after = path[(index + 1)...].first { $0.layer != nil && $0.module != nil }?.module
        problems.append(.missing(layer: l, before: before, after: after))
      case (nil, let m?):
        problems.append(.unused(module: m, neighbour: lastLayer ?? path[index...].first { $0.layer != nil }?.layer,
                                after: lastLayer != nil))
      case (nil, nil): break
      }
      if let l = p.layer { lastLayer = l }
    }
    return StateDictPairing(method: .layers, modules: pairs, problems: problems)
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
