import NetcBasic
import NetcOps
import NetcSema

/// `netc plan`: the lowered graph, one node per line, with where each value lives in the arena.
public enum PlanPrinter {
  public static func render(_ g: LoweredGraph, _ plan: BufferPlan, file: SourceFile) -> String {
    var out = "\(g.name): input %\(g.input) \(g.shapes[g.input]), outputs "
    out += g.outputs.map { "%\(g.storage(of: $0)) \(g.shapes[$0])" }.joined(separator: ", ") + "\n\n"
    var rows: [[String]] = [["value", "operation", "inputs", "shape", "arena (per item)", "weights", "line"]]
    let p0 = plan.placement(of: g.input, in: g)
    rows.append(["%\(g.input)", "input", "", "\(g.shapes[g.input])", place(p0, g.shapes[g.input]), "", ""])
    for n in g.nodes {
      let p = plan.placement(of: n.output, in: g)
      var inputs = n.inputs.map { "%\(g.storage(of: $0))" }
      // A fused input scale: the layer reads its input times it.
      if n.op.acceptsInputScale && inputs.count == 2 { inputs[1] = "*" + inputs[1] }
      if let r = n.residual { inputs.append("+%\(g.storage(of: r))") }
      let line = file.lineAndColumn(of: n.source.start).line
      rows.append(["%\(n.output)", describe(n), inputs.joined(separator: " "), "\(g.shapes[n.output])",
                   g.inPlaceConcats.contains(n.output) ? place(p, g.shapes[n.output]) + " (in place)" : place(p, g.shapes[n.output]),
                   weights(n), "\(line)"])
    }
    // A column is as wide as its widest cell of up to 48 characters; a longer one (a concatenation of
    // thousands of branches) overflows its row rather than pad every other row to its width.
    let counts = rows.map { $0.map(\.count) }
    let widths = (0..<rows[0].count).map { c in counts.map { min($0[c], 48) }.max() ?? 0 }
    for (r, row) in rows.enumerated() {
      let cells = row.enumerated().map { $0.element + String(repeating: " ", count: max(0, widths[$0.offset] - counts[r][$0.offset])) }
      // Trailing padding trimmed on the bytes: through String's reversed views it took most of the time.
      let line = cells.joined(separator: "  ")
      let end = line.utf8.lastIndex { $0 != UInt8(ascii: " ") }.map { line.utf8.index(after: $0) } ?? line.startIndex
      out += line[..<end]
      out += "\n"
    }
    let mib = { (n: Int) in fixed(Double(n) * 4 / 1_048_576, 2) }
    out += "\n\(g.nodes.count) nodes; peak activation memory \(mib(plan.arenaSize)) MiB per batch item (f32), "
    out += "\(mib(plan.unsharedSize)) MiB if no buffer were reused\n"
    return out
  }

  static func place(_ p: Placement, _ s: Shape) -> String {
    let start = p.base + p.itemOffset
    return "[\(start), \(start + s.elementCount))"
  }

  static func weights(_ n: Node) -> String {
    ([n.weights, n.batchNorm?.name].compactMap { $0 }).joined(separator: "+")
  }

  public static func describe(_ n: Node) -> String {
    var s = n.op.planText
    if n.batchNorm != nil { s += " +bn" }
    if n.residual != nil { s += " +add" }
    if let a = n.activation { s += (s.isEmpty ? "" : " +") + a.name }
    return s
  }
}
