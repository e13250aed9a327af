import NetcBasic
import NetcIR
import NetcOps
import NetcSema

/// `netc weights import`: a PyTorch state_dict, saved with `safetensors.torch.save_file(model.state_dict(),
/// path)`, renamed to netc's tensor names for a spec (StateDictPairing pairs the layers with the modules).
public struct StateDictImport {
  /// netc's layers with tensors, in execution order, and the operation each comes from.
  public var layers: [ImportLayer]
  public var ops: [Int]
  /// The file's float tensors, grouped into modules.
  public var modules: [StateDictModule]
  /// Integer tensors (batch norm's `num_batches_tracked`, ...), which inference does not use: in name order.
  public var ignored: [String]
  public var pairing: StateDictPairing
  private var entries: [String: SafeTensors.Entry]

  /// Most dots in a key: torchvision's deepest keys have seven.
  public static let maxDepth = 64

  /// Pairs the network's layers with the file's modules, from the file's header alone.
  public init(_ net: CheckedNetwork, entries: [SafeTensors.Entry]) throws {
    let names = Lowering.canonicalNames(net)
    layers = []
    ops = []
    for (i, op) in net.ops.enumerated() {
      guard let name = names[i] else { continue }
      layers.append(ImportLayer(name: name, tensors: (op.params + op.buffers).map { TensorSlot($0.name, $0.shape) }))
      ops.append(i)
    }
    var floats: [(key: String, shape: [Int])] = []
    var ignored: [String] = []
    self.entries = [:]
    for e in entries {
      if e.isInteger || e.name.hasSuffix(".num_batches_tracked") {
        ignored.append(e.name)
        continue
      }
      guard e.type != nil || e.dtype == "F64" else {
        throw TensorFileError("tensor '\(e.name)' has dtype \(e.dtype); netc reads F32, F16, BF16 and F64")
      }
      guard e.name.utf8.lazy.filter({ $0 == UInt8(ascii: ".") }).count <= Self.maxDepth else {
        throw TensorFileError("tensor '\(e.name)' is nested more than \(Self.maxDepth) modules deep")
      }
      floats.append((e.name, e.shape))
      self.entries[e.name] = e
    }
    self.ignored = ignored.sorted()
    modules = StateDictModule.group(floats)
    pairing = StateDictPairing.pair(layers, modules)
  }

  /// netc's tensors in netc's order, each with the key it comes from.
  public var tensorKeys: [(name: String, key: String, shape: [Int])] {
    var out: [(name: String, key: String, shape: [Int])] = []
    for (l, layer) in layers.enumerated() {
      guard let m = pairing.modules[l] else { continue }
      for t in layer.tensors { out.append(("\(layer.name).\(t.suffix)", modules[m].key(t.suffix), t.shape)) }
    }
    return out
  }

  /// The dtype the file stores a key in.
  public func dtype(_ key: String) -> String { entries[key]?.dtype ?? "" }

  /// netc's tensors with their values, read through `read` (given ranges inside the file) and converted
  /// to f32; only for a pairing without errors.
  public func tensors(read: (Range<Int>) throws -> [UInt8]) throws -> [(name: String, shape: [Int], data: [Float])] {
    try tensorKeys.map { t in
      let e = entries[t.key]!
      let bytes = try read(e.range)
      guard bytes.count == e.range.count else {
        throw TensorFileError("tensor '\(t.key)': the file ended early (truncated while reading?)")
      }
      guard let type = e.type else {
        // F64, which netc's weight files do not hold: rounded to the nearest f32.
        let data = bytes.withUnsafeBytes { raw in
          (0..<(bytes.count / 8)).map { Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self)))) }
        }
        return (t.name, t.shape, data)
      }
      return (t.name, t.shape, FloatBits.decode(bytes[...], type))
    }
  }

  /// The pairing's problems as diagnostics in the spec, in netc's layer order: each at the layer it
  /// concerns (a module no layer takes: at the layer of the module nearest to it), with the uses of the
  /// blocks the layer is in.
  public func diagnostics(_ net: CheckedNetwork, file: String) -> [Diagnostic] {
    var located: [(order: Int, diagnostic: Diagnostic)] = []
    let start = SourceRange(0, 0)
    func at(_ l: Int, _ severity: Severity, _ id: String, _ message: String, notes: [Note] = []) {
      let op = net.ops[ops[l]]
      located.append((l, Diagnostic(severity, id, message, at: op.range, notes: notes + blockUses(net, op.scope))))
    }
    func module(_ m: Int) -> String { "'\(modules[m].path)'" }
    for problem in pairing.problems {
      switch problem {
      case .differs(let l, let m):
        at(l, .error, "weights-differ",
           "'\(layers[l].name)' needs \(Self.describe(layers[l].tensors)); the state_dict's module in its place, "
             + "\(module(m)), has \(Self.describe(modules[m].tensors, like: layers[l].tensors))")
      case .missing(let l, let before, let after):
        let place: String
        switch (before, after) {
        case (let b?, let a?): place = "between \(module(b)) and \(module(a)), the modules of the layers around it"
        case (let b?, nil): place = "after \(module(b)), the module of the layer before it"
        case (nil, let a?): place = "before \(module(a)), the module of the layer after it"
        case (nil, nil): place = "for it"
        }
        at(l, .error, "weights-missing", "'\(layers[l].name)' needs \(Self.describe(layers[l].tensors)); the state_dict has no module \(place)")
      case .unused(let group, let neighbour):
        var message = "no layer takes the state_dict's \(module(group[0])) (\(Self.describe(modules[group[0]].tensors)))"
        if group.count > 1 {
          let path = group.dropFirst().reduce(modules[group[0]].segments) { Array($0.prefix(commonPrefix($0, modules[$1].segments))) }
          let names = group.prefix(3).map(module) + (group.count > 3 ? ["\(group.count - 3) more"] : [])
          message = "no layer takes any of the \(group.count) modules of the state_dict's '\(path.joined(separator: "."))' (\(Self.list(names)))"
        }
        if let l = neighbour, let taken = pairing.modules[l] {
          at(l, .error, "weights-unused", message + "; its nearest module by name, \(module(taken)), is this layer's, '\(layers[l].name)'")
        } else {
          located.append((Int.max, Diagnostic(.error, "weights-unused", message, at: net.ops.first?.range ?? start)))
        }
      case .interleaved(let l, let within, let before, let after):
        at(l, .warning, "weights-interleaved",
           "'\(layers[l].name)' takes \(module(pairing.modules[l]!)), between \(module(before)) and \(module(after)) of "
             + "'\(within)': no order of the state_dict's modules reads as the spec, so the layers were paired one by "
             + "one (see the pairing with '--map')")
      }
    }
    return located.enumerated().sorted { ($0.element.order, $0.offset) < ($1.element.order, $1.offset) }.map(\.element.diagnostic)
  }

  /// "in block 'B' used here" for each block use around a scope, innermost first.
  func blockUses(_ net: CheckedNetwork, _ scope: Int) -> [Note] {
    var notes: [Note] = []
    var s: Int? = scope
    while let i = s, i < net.scopes.count {
      if case .block(let name, _) = net.scopes[i].kind { notes.append(Note("in block '\(name)' used here", at: net.scopes[i].range)) }
      s = net.scopes[i].parent
    }
    return notes
  }

  /// "weight [64, 3, 7, 7] and bias [64]", "weight, bias, running_mean and running_var [64]": tensors of one
  /// shape in a row share it. In PyTorch's order, or in that of `like` (a layer's, for its module's).
  public static func describe(_ tensors: [TensorSlot], like order: [TensorSlot] = []) -> String {
    let suffixes = order.isEmpty ? ["weight", "bias", "running_mean", "running_var", "layer_scale"] : order.map(\.suffix)
    let rank = Dictionary(suffixes.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
    let sorted = tensors.enumerated().sorted { a, b in
      (rank[a.element.suffix] ?? suffixes.count, a.offset) < (rank[b.element.suffix] ?? suffixes.count, b.offset)
    }.map(\.element)
    var groups: [(names: [String], shape: [Int])] = []
    for t in sorted {
      if let last = groups.last, last.shape == t.shape {
        groups[groups.count - 1].names.append(t.suffix)
      } else {
        groups.append(([t.suffix], t.shape))
      }
    }
    return list(groups.map { "\(list($0.names)) \($0.shape)" })
  }

  /// "a", "a and b", "a, b and c".
  static func list(_ items: [String]) -> String {
    items.count <= 1 ? items.joined() : items.dropLast().joined(separator: ", ") + " and " + items.last!
  }
}
