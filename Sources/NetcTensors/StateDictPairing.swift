// Pairs netc's layers with a PyTorch state_dict's modules (`netc weights import`).
//
// A safetensors file keeps no order (its keys are stored sorted), so the pairing goes by structure. netc's
// layers come in execution order. A state_dict's keys form a tree of modules (`layer1` > `0` > `conv1`),
// and a module's layers run as one stretch of that order: `layer1.0`'s tensors are all used before
// `layer1.1`'s. Only the order of a module's children is unknown. So the pairing arranges each module's
// children (and its own tensors, such as ConvNeXt's `layer_scale`) so that, read depth first, the modules'
// tensors are the layers' tensors, name for name and shape for shape. Shapes decide almost everywhere;
// where several orders fit, the earliest one in the natural order of the children's names is taken
// (`layer1.1` before `layer1.2`, `conv3` and `bn3` before `downsample`): at each module the children are
// tried in that order, and a child is taken at a place only if the rest of the module can follow it.

/// The pairing of a network's layers with a state_dict's modules, and what does not fit.
public struct StateDictPairing: Sendable {
  public enum Method: String, Sendable {
    /// The file has netc's own names (a netc weight file, or the state_dict of `netc emit --target pytorch`'s module).
    case names
    /// By the module tree, as above.
    case structure
    /// Layer by layer: each layer takes the module of its tensors nearest to the one the layer before took.
    /// Used when no arrangement of the tree fits; it finds the mistakes, and pairs a model whose modules
    /// interleave (the result then carries an `interleaved` warning).
    case layers
  }

  public enum Problem: Equatable, Sendable {
    /// The layer's tensors differ from those of the module in its place.
    case differs(layer: Int, module: Int)
    /// No module fits the layer; `before` and `after` are the modules of the nearest layers on either side.
    case missing(layer: Int, before: Int?, after: Int?)
    /// No layer takes these modules: one, or all the modules inside one path (a block the spec lacks).
    /// `neighbour` is the layer of the module nearest to them by name.
    case unused(modules: [Int], neighbour: Int?)
    /// A warning: paired layer by layer, `layer` took a module from outside `within`, whose modules
    /// `before` and `after` run on either side of it.
    case interleaved(layer: Int, within: String, before: Int, after: Int)

    public var isError: Bool {
      if case .interleaved = self { return false }
      return true
    }
  }

  public var method: Method
  /// For each layer, the index of its module in `modules`, or nil.
  public var modules: [Int?]
  public var problems: [Problem]

  public var hasErrors: Bool { problems.contains { $0.isError } }

  /// Most steps the arrangement of the tree may take: real networks take thousands. Past it the pairing
  /// goes layer by layer.
  public static let stepLimit = 2_000_000

  public static func pair(_ layers: [ImportLayer], _ modules: [StateDictModule]) -> StateDictPairing {
    if let named = byNames(layers, modules) { return named }
    var signatures = Signatures()
    let layerSignatures = layers.map { signatures.id($0.tensors) }
    let moduleSignatures = modules.map { signatures.id($0.tensors) }
    var tree = ModuleTree(modules, signatures: moduleSignatures, layers: layerSignatures)
    if let arranged = tree.pairing() {
      return StateDictPairing(method: .structure, modules: arranged, problems: [])
    }
    return layerByLayer(layers, modules, layerSignatures, moduleSignatures)
  }

  /// The file already has netc's names: every layer's module is the one named as the layer.
  static func byNames(_ layers: [ImportLayer], _ modules: [StateDictModule]) -> StateDictPairing? {
    guard layers.count == modules.count else { return nil }
    var byPath: [String: Int] = [:]
    for (i, m) in modules.enumerated() { byPath[m.path] = i }
    var pairs: [Int?] = []
    for layer in layers {
      guard let i = byPath[layer.name], modules[i].tensors == layer.tensors.sorted(by: { $0.suffix < $1.suffix }) else { return nil }
      pairs.append(i)
    }
    return StateDictPairing(method: .names, modules: pairs, problems: [])
  }
}

/// The state_dict's modules as a tree, and the arrangement of its children that reads as netc's layers.
struct ModuleTree {
  struct Node {
    var name: String
    var children: [Int] = []
    /// The module that holds tensors at this path itself.
    var own: Int?
    /// Layers in its subtree.
    var size = 0
    /// Subtrees of one class are the same tree but for names: where one fits, any other does.
    var shapeClass = 0
  }

  var nodes: [Node] = [Node(name: "")]
  let moduleSignatures: [Int]
  let layers: [Int]
  private var fits: [Int: Bool] = [:]
  private var arrangements: [Int: [Int]] = [:]
  private var steps = 0

  init(_ modules: [StateDictModule], signatures: [Int], layers: [Int]) {
    moduleSignatures = signatures
    self.layers = layers
    var childByName: [[String: Int]] = [[:]]
    for (i, m) in modules.enumerated() {
      var n = 0
      for s in m.segments {
        if let c = childByName[n][s] {
          n = c
        } else {
          nodes.append(Node(name: s))
          childByName.append([:])
          childByName[n][s] = nodes.count - 1
          nodes[n].children.append(nodes.count - 1)
          n = nodes.count - 1
        }
      }
      nodes[n].own = i
    }
    // Every node is created after its parent: in reverse order, a node comes after all of its subtree.
    var classes: [[Int]: Int] = [:]
    for n in nodes.indices.reversed() {
      let names = nodes[n].children.map { nodes[$0].name }
      nodes[n].children = zip(nodes[n].children, names).sorted { NaturalOrder.compare($0.1, $1.1) < 0 }.map(\.0)
      nodes[n].size = (nodes[n].own == nil ? 0 : 1) + nodes[n].children.reduce(0) { $0 + nodes[$1].size }
      let key = [nodes[n].own.map { signatures[$0] } ?? -1] + nodes[n].children.map { nodes[$0].shapeClass }.sorted()
      if let c = classes[key] {
        nodes[n].shapeClass = c
      } else {
        nodes[n].shapeClass = classes.count
        classes[key] = classes.count
      }
    }
  }

  /// For each layer, its module; nil if no arrangement fits (or the search took too long).
  mutating func pairing() -> [Int?]? {
    guard nodes[0].size == layers.count, fit(0, at: 0) else { return nil }
    var pairs = [Int?](repeating: nil, count: layers.count)
    var stack = [(node: 0, at: 0)]
    while let (n, at) = stack.popLast() {
      var p = at
      var next: [(Int, Int)] = []
      for unit in arrangements[key(n, at)]! {
        if unit < 0 {
          pairs[p] = nodes[n].own
          p += 1
        } else {
          next.append((unit, p))
          p += nodes[unit].size
        }
      }
      stack += next
    }
    return pairs
  }

  private func key(_ node: Int, _ at: Int) -> Int { node * (layers.count + 1) + at }

  /// Whether node's subtree reads as the layers from `at` on; remembers the arrangement that does.
  private mutating func fit(_ node: Int, at: Int) -> Bool {
    if let known = fits[key(node, at)] { return known }
    let result = at + nodes[node].size <= layers.count && steps <= StateDictPairing.stepLimit && arrange(node, at: at)
    fits[key(node, at)] = result
    return result
  }

  /// Searches the orders of the node's units (-1 for its own tensors, then its children) depth first, each
  /// place trying the units in natural order and one unit of each shape class; a set of units left that
  /// failed once fails again (sets are remembered by a 128-bit hash of the units used, updated as they are).
  private mutating func arrange(_ node: Int, at start: Int) -> Bool {
    let units = (nodes[node].own == nil ? [] : [-1]) + nodes[node].children
    // Children named by position (an nn.Sequential's or nn.ModuleList's 0, 1, 2..., or single letters, as
    // RegNet's a, b, c) run in that order. Taking any other order could read as the spec where sibling
    // subtrees share shapes: RegNetX-400MF's `proj` then `f` also reads as `f` (a, c, b) then `proj`.
    let positional = nodes[node].own == nil && units.count > 1 && (
      units.allSatisfy { u in nodes[u].name.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }
        || units.allSatisfy { u in nodes[u].name.utf8.count == 1 && nodes[u].name.utf8.allSatisfy { $0 >= 97 && $0 <= 122 } })
    if units.isEmpty {
      arrangements[key(node, start)] = []
      return true
    }
    var used = [Bool](repeating: false, count: units.count)
    var hash = (UInt64(0), UInt64(0))
    var mixer = UnitHashes(seed: UInt64(node))
    let unitHashes = units.map { _ in (mixer.next(), mixer.next()) }
    var order: [Int] = []
    var failed: Set<[UInt64]> = []
    struct Place {
      var at: Int
      var next = 0
      var tried: Set<Int> = []
      var chosen: Int?
    }
    var places = [Place(at: start)]
    while var place = places.popLast() {
      if let c = place.chosen {
        // The units after it found no order: try the next one here.
        used[c] = false
        hash = (hash.0 ^ unitHashes[c].0, hash.1 ^ unitHashes[c].1)
        order.removeLast()
        place.chosen = nil
      } else if failed.contains([hash.0, hash.1]) {
        continue
      }
      var advanced = false
      while place.next < units.count {
        let i = place.next
        place.next += 1
        steps += 1
        guard !used[i], steps <= StateDictPairing.stepLimit, !positional || i == order.count else { continue }
        let unit = units[i]
        if unit < 0 {
          guard moduleSignatures[nodes[node].own!] == layers[place.at] else { continue }
        } else {
          guard place.tried.insert(nodes[unit].shapeClass).inserted, fit(unit, at: place.at) else { continue }
        }
        used[i] = true
        hash = (hash.0 ^ unitHashes[i].0, hash.1 ^ unitHashes[i].1)
        order.append(i)
        place.chosen = i
        let end = place.at + (unit < 0 ? 1 : nodes[unit].size)
        places.append(place)
        if order.count == units.count {
          arrangements[key(node, start)] = order.map { units[$0] }
          return true
        }
        places.append(Place(at: end))
        advanced = true
        break
      }
      if !advanced { failed.insert([hash.0, hash.1]) }
    }
    return false
  }
}

/// SplitMix64: fixed pseudo-random numbers for the hashes of sets of units.
struct UnitHashes {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
