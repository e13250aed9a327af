import NetcBasic
import NetcOps
import NetcSema

/// The lowering pipeline, in order. Each pass is a function from graph to graph, listed here once.
public enum Lowering {
  public static func lower(_ net: CheckedNetwork) -> LoweredGraph {
    var g = translate(net)
    g = Passes.foldBatchNorm(g)
    g = Passes.fuseResidualAdd(g)
    g = Passes.fuseActivation(g)
    g = Passes.fuseInputScale(g)
    g = Passes.concatInPlace(g)
    Verifier.verify(g)
    return g
  }

  /// Canonical tensor names: the k-th layer with parameters or buffers, in execution order, is named by
  /// its operation's prefix and k (`conv<k>`, `convt<k>`, `fc<k>`, `bn<k>`, `ln<k>`, `scale<k>`), and its
  /// tensors `<name>.weight`, `.bias`, `.running_mean`, `.running_var`, `.layer_scale`. PyTorch's
  /// state_dict lists a model's modules in the same order for every network in specs/ but the ConvNeXts,
  /// whose blocks list their layer scale first (Tests/parity/parity.py maps them by structure); `netc
  /// weights import` pairs any model's modules with these names by the module tree (StateDictPairing).
  public static func canonicalNames(_ net: CheckedNetwork) -> [Int: String] {
    var names: [Int: String] = [:]
    var k = 0
    for (i, op) in net.ops.enumerated() where !op.params.isEmpty || !op.buffers.isEmpty {
      k += 1
      names[i] = "\(op.op.parameterPrefix)\(k)"
    }
    return names
  }

  /// One node per operation, with its tensors' names; views (flatten, dropout, identity) alias their input.
  static func translate(_ net: CheckedNetwork) -> LoweredGraph {
    let names = canonicalNames(net)
    var g = LoweredGraph(name: net.name, input: 0, outputs: net.outputs, shapes: net.values, nodes: [], aliases: [:],
                         tensors: [], inPlaceConcats: [])
    for (i, op) in net.ops.enumerated() {
      if let name = names[i] {
        for t in op.params + op.buffers {
          g.tensors.append(WeightTensor(name: "\(name).\(t.name)", shape: t.shape, initialisation: t.initialisation))
        }
      }
      let role = op.op.role
      if role == .view {
        g.aliases[op.output] = op.inputs[0]
        continue
      }
      var activation: Activation? = nil
      if case .activation(let a) = role { activation = a }
      g.nodes.append(Node(op: op.op, inputs: op.inputs, output: op.output, weights: names[i], activation: activation,
                          source: op.range))
    }
    return g
  }
}

/// The rewrites. Each keeps the graph's meaning; `Verifier` checks the result.
enum Passes {
  /// How many times each storage value is read (graph outputs count as a read).
  static func readers(_ g: LoweredGraph) -> [Int: Int] {
    var count: [Int: Int] = [:]
    for n in g.nodes {
      for v in n.inputs + (n.residual.map { [$0] } ?? []) { count[g.storage(of: v), default: 0] += 1 }
    }
    for o in g.outputs { count[g.storage(of: o), default: 0] += 1 }
    return count
  }

  /// Value `v` is node `p`'s output in the same layout: no permutation between them. A node that takes
  /// over its reader's output (a folded batch norm, a fused residual or activation) computes in its own
  /// layout, so it never fuses across a permutation: the ONNX model, whose tensors are in their own order,
  /// would write a CxHxW result under a channels-last name.
  static func sameLayout(_ g: LoweredGraph, _ v: Int, asOutputOf p: Int) -> Bool {
    g.shapes[v].channelsLast == g.shapes[g.nodes[p].output].channelsLast
  }

  static func producers(_ g: LoweredGraph) -> [Int: Int] {
    var p: [Int: Int] = [:]
    for (i, n) in g.nodes.enumerated() { p[n.output] = i }
    return p
  }

  /// conv/linear followed by batch norm: the statistics become a scale and shift of the weights and bias,
  /// applied when the weights are loaded.
  static func foldBatchNorm(_ g: LoweredGraph) -> LoweredGraph {
    var g = g
    var removed = Set<Int>()
    let count = readers(g)
    let producer = producers(g)
    for (i, n) in g.nodes.enumerated() {
      guard case .batchNorm(let eps, let affine) = n.op.role, let name = n.weights,
        let p = producer[g.storage(of: n.inputs[0])], count[g.nodes[p].output] == 1, g.nodes[p].op.absorbsBatchNorm,
        sameLayout(g, n.inputs[0], asOutputOf: p),
        g.nodes[p].batchNorm == nil, g.nodes[p].activation == nil, g.nodes[p].residual == nil
      else { continue }
      g.nodes[p].batchNorm = BatchNormRef(name: name, channels: g.shapes[n.inputs[0]].dims[0], eps: eps, affine: affine)
      // The producer now writes the batch norm's output; its own output becomes a view of it.
      g.aliases[g.nodes[p].output] = n.output
      g.nodes[p].output = n.output
      removed.insert(i)
    }
    g.nodes = g.nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
    return g
  }

  /// add(conv(x), shortcut): the convolution adds the shortcut as it writes, and takes the add's place in
  /// the order (the shortcut may be computed after the convolution's inputs).
  static func fuseResidualAdd(_ g: LoweredGraph) -> LoweredGraph {
    var g = g
    var count = readers(g)
    var i = 0
    while i < g.nodes.count {
      let n = g.nodes[i]
      guard n.op.role == .add, n.inputs.count == 2, n.activation == nil else { i += 1; continue }
      let producer = producers(g)
      var fused = false
      for (k, v) in n.inputs.enumerated() {
        let other = n.inputs[1 - k]
        guard let p = producer[g.storage(of: v)], p < i, count[g.storage(of: v)] == 1,
          g.storage(of: other) != g.storage(of: v), g.nodes[p].op.acceptsResidual, sameLayout(g, v, asOutputOf: p),
          g.nodes[p].activation == nil, g.nodes[p].residual == nil
        else { continue }
        var conv = g.nodes[p]
        g.aliases[conv.output] = n.output
        conv.output = n.output
        conv.residual = other
        g.nodes[i] = conv
        g.nodes.remove(at: p)
        count = readers(g)
        fused = true
        break
      }
      if !fused { i += 1 }
    }
    return g
  }

  /// An activation right after a node becomes that node's epilogue.
  static func fuseActivation(_ g: LoweredGraph) -> LoweredGraph {
    var g = g
    var removed = Set<Int>()
    let count = readers(g)
    let producer = producers(g)
    for (i, n) in g.nodes.enumerated() {
      guard case .activation(let act) = n.op.role, let p = producer[g.storage(of: n.inputs[0])],
        !removed.contains(p), count[g.storage(of: n.inputs[0])] == 1, g.nodes[p].activation == nil,
        g.nodes[p].op.acceptsActivation, sameLayout(g, n.inputs[0], asOutputOf: p)
      else { continue }
      g.aliases[g.nodes[p].output] = n.output
      g.nodes[p].output = n.output
      g.nodes[p].activation = act
      removed.insert(i)
    }
    g.nodes = g.nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
    return g
  }

  /// mul(x, s) with s of shape Cx1x1 (squeeze-and-excitation's product), read only by a layer that
  /// accepts an input scale: that layer reads x and s and scales x as it reads it, so the product's pass
  /// over the map, and its buffer, are gone.
  static func fuseInputScale(_ g: LoweredGraph) -> LoweredGraph {
    var g = g
    var removed = Set<Int>()
    let count = readers(g)
    var reader: [Int: Int] = [:]
    for (i, n) in g.nodes.enumerated() {
      for v in n.inputs + (n.residual.map { [$0] } ?? []) { reader[g.storage(of: v)] = i }
    }
    for (i, n) in g.nodes.enumerated() {
      guard n.op.role == .multiply, n.inputs.count == 2, n.activation == nil, n.residual == nil,
        count[n.output] == 1, let r = reader[n.output], r > i, g.nodes[r].op.acceptsInputScale,
        g.nodes[r].inputs.map({ g.storage(of: $0) }) == [n.output]
      else { continue }
      let out = g.shapes[n.output]
      guard out.isSpatial else { continue }
      let scale = [n.inputs[0], n.inputs[1]].first { g.shapes[$0].isSpatial && g.shapes[$0].dims == [out.dims[0], 1, 1] }
      guard let s = scale, let x = n.inputs.first(where: { $0 != s }), g.shapes[x].isSpatial, g.shapes[x].dims == out.dims
      else { continue }
      g.nodes[r].inputs = [x, s]
      removed.insert(i)
    }
    g.nodes = g.nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
    return g
  }

  /// A concatenation whose inputs are each computed only for it: their producers write straight into
  /// their slice of its output, and the concatenation itself does nothing at run time.
  static func concatInPlace(_ g: LoweredGraph) -> LoweredGraph {
    var g = g
    let count = readers(g)
    let producer = producers(g)
    for n in g.nodes {
      guard n.op.role == .concat else { continue }
      let storages = n.inputs.map { g.storage(of: $0) }
      let ok = Set(storages).count == storages.count && storages.allSatisfy { s in
        guard let p = producer[s], count[s] == 1, !g.inPlaceConcats.contains(s) else { return false }
        return g.nodes[p].op.role != .concat
      }
      if ok { g.inPlaceConcats.insert(n.output) }
    }
    return g
  }
}

/// Checks the invariants every backend relies on; a failure is a bug in netc, not in the user's spec.
enum Verifier {
  static func verify(_ g: LoweredGraph) {
    var defined: Set<Int> = [g.input]
    for n in g.nodes {
      for v in n.inputs + (n.residual.map { [$0] } ?? []) where !defined.contains(g.storage(of: v)) {
        preconditionFailure("netc internal error: node reads value \(v) before it is computed")
      }
      if g.aliases[n.output] != nil { preconditionFailure("netc internal error: node writes a view \(n.output)") }
      defined.insert(n.output)
    }
    for o in g.outputs where !defined.contains(g.storage(of: o)) {
      preconditionFailure("netc internal error: output \(o) is never computed")
    }
  }
}
