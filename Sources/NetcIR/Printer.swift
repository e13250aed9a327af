import NetcBasic
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
      out += String(cells.joined(separator: "  ").reversed().drop(while: { $0 == " " }).reversed()) + "\n"
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
    switch n.kind {
    case .conv(_, let w, _, let bn): return ([w] + (bn.map { [$0.name] } ?? [])).joined(separator: "+")
    case .linear(_, _, let w, _, let bn): return ([w] + (bn.map { [$0.name] } ?? [])).joined(separator: "+")
    case .batchNorm(let bn): return bn.name
    default: return ""
    }
  }

  public static func describe(_ n: Node) -> String {
    var s: String
    switch n.kind {
    case .conv(let a, _, _, let bn):
      s = (a.transposed ? "convt " : "conv ") + "\(a.kernel.h)x\(a.kernel.w)"
      if a.stride != (1, 1) { s += " s\(a.stride.h == a.stride.w ? "\(a.stride.h)" : "\(a.stride.h)x\(a.stride.w)")" }
      if a.padTop != 0 || a.padLeft != 0 || a.padBottom != 0 || a.padRight != 0 {
        s += a.padTop == a.padBottom && a.padLeft == a.padRight
          ? " p\(a.padTop == a.padLeft ? "\(a.padTop)" : "\(a.padTop)x\(a.padLeft)")"
          : " p\(a.padTop),\(a.padLeft),\(a.padBottom),\(a.padRight)"
      }
      if a.dilation != (1, 1) { s += " d\(a.dilation.h)" }
      if a.groups != 1 { s += " g\(a.groups)" }
      if bn != nil { s += " +bn" }
    case .linear(_, _, _, _, let bn): s = "fc" + (bn != nil ? " +bn" : "")
    case .batchNorm: s = "bn"
    case .pool(let a):
      s = "\(a.kind == .max ? "maxpool" : "avgpool") \(a.kernel.h)x\(a.kernel.w) s\(a.stride.h)"
      if a.pad != (0, 0) { s += " p\(a.pad.h)" }
      if a.ceilMode { s += " ceil" }
    case .adaptivePool(let k, let h, let w): s = "adaptive_\(k == .max ? "max" : "avg")pool \(h)x\(w)"
    case .lrn(let size, _, _, _): s = "lrn \(size)"
    case .upsample(let mode, _, _, _): s = "upsample \(mode.rawValue)"
    case .softmax: s = "softmax"
    case .activation: s = ""
    case .add: s = "add"
    case .mul: s = "mul"
    case .concat: s = "concat"
    }
    if n.residual != nil { s += " +add" }
    if let a = n.activation { s += (s.isEmpty ? "" : " +") + name(a) }
    return s
  }

  public static func name(_ a: Activation) -> String {
    switch a {
    case .relu: return "relu"
    case .relu6: return "relu6"
    case .sigmoid: return "sigmoid"
    case .tanh: return "tanh"
    case .silu: return "silu"
    case .gelu: return "gelu"
    case .leakyRelu(let s): return "leaky_relu(\(s))"
    }
  }
}
