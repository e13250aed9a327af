import NetcBasic
import NetcOps
import NetcSema

/// A torchinfo-style table: nested by block, with depth-idx labels, parameters and multiply-adds, then each
/// row's receptive field, effective stride and effective padding (torchscan's definitions; `HxW` when the
/// axes differ). A block shows `--` for its counts when its contents are listed, and its totals when `depth`
/// hides them; the memory footer adds the buffer plan's peak when the summary carries one.
public enum TorchInfoPrinter {
  final class Node {
    var label: String
    var output: Shape?
    var field: ReceptiveField?
    var params = 0
    var trainableParams = 0
    var multAdds = 0
    var children: [Node] = []
    /// What it is called on (a module's first input, a block's input).
    var input: Shape?
    /// Its module's `kernel_size`, as Python prints it; nil for a module without one.
    var kernel: String?
    init(_ label: String) { self.label = label }
    var totalParams: Int { params + children.reduce(0) { $0 + $1.totalParams } }
    var totalTrainableParams: Int { trainableParams + children.reduce(0) { $0 + $1.totalTrainableParams } }
    var totalMultAdds: Int { multAdds + children.reduce(0) { $0 + $1.totalMultAdds } }
  }

  static func tree(_ s: Summary) -> Node {
    let net = s.network
    let root = Node(net.name)
    root.output = net.output
    root.input = net.input
    root.field = field(s, net.outputs[0])
    var nodes: [Int: Node] = [:]
    func node(forScope scope: Int) -> Node {
      var chain: [Int] = []
      var cur: Int? = scope
      while let c = cur {
        if case .block = net.scopes[c].kind { chain.append(c) }
        cur = net.scopes[c].parent
      }
      var parent = root
      for c in chain.reversed() {
        if let n = nodes[c] { parent = n; continue }
        guard case .block(_, let moduleName) = net.scopes[c].kind else { continue }
        let n = Node(moduleName)
        n.output = net.scopes[c].output.map { net.values[$0] }
        n.input = net.scopes[c].input.map { net.values[$0] }
        n.field = net.scopes[c].output.flatMap { field(s, $0) }
        parent.children.append(n)
        nodes[c] = n
        parent = n
      }
      return parent
    }
    for event in net.events {
      switch event {
      case .op(let i):
        let op = net.ops[i]
        guard op.isModule else {
          // A parameter of the enclosing block (a layer scale) is the block's own, as torchinfo lists it.
          let owner = node(forScope: op.scope)
          owner.params += op.paramCount
          owner.trainableParams += op.trainableParamCount
          owner.multAdds += op.multAdds
          continue
        }
        let leaf = Node(op.moduleName)
        leaf.output = net.values[op.output]
        leaf.field = field(s, op.output)
        leaf.params = op.paramCount
        leaf.trainableParams = op.trainableParamCount
        leaf.input = op.inputs.first.map { net.values[$0] }
        leaf.kernel = op.op.moduleWindow?.kernelText
        leaf.multAdds = op.multAdds
        node(forScope: op.scope).children.append(leaf)
      case .close(let sc):
        _ = node(forScope: sc)
      }
    }
    return root
  }

  static func field(_ s: Summary, _ value: Int) -> ReceptiveField? {
    s.receptiveFields.indices.contains(value) ? s.receptiveFields[value] : nil
  }

  /// Every row, a block's included, shows the receptive field of its output: unlike the counts, it is not
  /// a total that would repeat its contents.
  public static func render(_ s: Summary, depth maxDepth: Int = 3) -> String {
    let root = tree(s)
    let header = ["Layer (type:depth-idx)", "Output Shape", "Param #", "Mult-Adds", "Receptive Field", "Eff. Stride",
                  "Eff. Padding"]
    let rule = String(repeating: "=", count: columnWidths.reduce(0, +) + header[header.count - 1].count)
    var out = rule + "\n"
    out += row(header) + "\n"
    out += rule + "\n"
    out += row([root.label, shape(root.output, s.batch), "--", "--"] + fieldColumns(root.field)) + "\n"
    var counters = [Int](repeating: 0, count: maxDepth + 2)
    func walk(_ n: Node, _ depth: Int) {
      counters[depth] += 1
      let prefix = depth == 1 ? "├─" : String(repeating: "│    ", count: depth - 1) + "└─"
      let expanded = !n.children.isEmpty && depth < maxDepth
      let params = expanded ? "--" : (n.totalParams == 0 ? "--" : grouped(n.totalParams))
      let macs = expanded ? "--" : (n.totalMultAdds == 0 ? "--" : grouped(n.totalMultAdds * s.batch))
      out += row(["\(prefix)\(n.label): \(depth)-\(counters[depth])", shape(n.output, s.batch), params, macs]
                 + fieldColumns(n.field)) + "\n"
      if expanded { for c in n.children { walk(c, depth + 1) } }
    }
    for c in root.children { walk(c, 1) }
    let m = s.memory
    let macs = Double(s.totalMultAdds)
    let (unit, scale) = macs >= 1e9 ? ("G", 1e9) : macs >= 1e6 ? ("M", 1e6) : macs >= 1e3 ? ("K", 1e3) : ("", 1)
    out += rule + "\n"
    out += "Total params: \(grouped(s.totalParams))\n"
    out += "Trainable params: \(grouped(s.trainableParams))\n"
    out += "Non-trainable params: \(grouped(s.totalParams - s.trainableParams))\n"
    out += "Total mult-adds (\(unit.isEmpty ? "units" : unit)): \(fixed(macs / scale, 2))\n"
    out += rule + "\n"
    out += "Input size (MB): \(mb(m.inputBytes))\n"
    out += "Forward/backward pass size (MB): \(mb(m.forwardBackwardBytes))\n"
    if let peak = m.peakLiveBytes { out += "Peak live activations (MB): \(mb(peak))\n" }
    out += "Params size (MB): \(mb(m.paramBytes))\n"
    out += "Estimated Total Size (MB): \(mb(m.totalBytes))\n"
    if m.peakLiveBytes != nil { out += peakLiveNote }
    out += rule + "\n"
    return out
  }

  static func shape(_ s: Shape?, _ batch: Int) -> String {
    guard let s else { return "--" }
    return "[" + ([String(batch)] + s.dims.map(String.init)).joined(separator: ", ") + "]"
  }

  static let columnWidths = [41, 26, 26, 22, 17, 13]

  static func row(_ cells: [String]) -> String {
    var line = ""
    // A cell wider than its column still keeps one space before the next.
    for (i, cell) in cells.enumerated() {
      line += i < columnWidths.count ? rightPad(cell, max(columnWidths[i], cell.count + 1)) : cell
    }
    var bytes = Array(line.utf8)
    while bytes.last == UInt8(ascii: " ") { bytes.removeLast() }
    return String(decoding: bytes, as: UTF8.self)
  }

  static func fieldColumns(_ f: ReceptiveField?) -> [String] {
    [axisPair(f, \.size), axisPair(f, \.stride), axisPair(f, \.padding)]
  }
}
