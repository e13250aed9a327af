/// A diagram as a Mermaid flowchart (GitHub renders it inside a ```mermaid block): one node per box, a
/// subgraph per open block, edges for the flow, branches and shortcuts.
public enum MermaidPrinter {
  public static func render(_ d: Diagram) -> String {
    let g = DiagramGraph(d)
    var out = "%% \(d.name): \(d.summary). Drawn by netc graph.\n"
    if let failure = d.failure { out += "%% \(failure)\n" }
    out += "flowchart TB\n"
    func members(_ list: [DiagramGraph.Member], _ indent: String) {
      for m in list {
        switch m {
        case .node(let i):
          out += indent + node(g.nodes[i]) + "\n"
        case .cluster(let c):
          let cluster = g.clusters[c]
          out += "\(indent)subgraph \(cluster.id) [\"\(text(cluster.title))\"]\n"
          members(cluster.members, indent + "  ")
          out += "\(indent)end\n"
        }
      }
    }
    members(g.top, "  ")
    for e in g.edges { out += "  \(g.nodes[e.from].id) --> \(g.nodes[e.to].id)\n" }
    for (style, ids) in g.styles {
      let (fill, stroke) = Palette.colors(style)
      let extra = style == .block ? ",stroke-width:2px" : style == .jump ? ",stroke-dasharray:3 2"
        : style == .failure ? ",stroke-width:2px,color:\(stroke)" : ""
      out += "  classDef \(style.rawValue) fill:\(fill),stroke:\(stroke)\(extra)\n"
      out += "  class \(ids.map { g.nodes[$0].id }.joined(separator: ",")) \(style.rawValue)\n"
    }
    for c in g.clusters { out += "  style \(c.id) fill:#f7f7f7,stroke:#8a8a8a,stroke-dasharray:4 3\n" }
    return out
  }

  static func node(_ n: DiagramGraph.Node) -> String {
    let label = "\"" + n.lines.map(text).joined(separator: "<br/>") + "\""
    switch n.box.style {
    case .terminal: return "\(n.id)([\(label)])"
    case .block: return n.box.repeats > 1 ? "\(n.id)[[\(label)]]" : "\(n.id)[\(label)]"
    case .join: return "\(n.id)([\(label)])"
    default: return "\(n.id)[\(label)]"
    }
  }

  /// Text inside a quoted Mermaid label: quotes, angle brackets and '#' as Mermaid's entity codes.
  static func text(_ s: String) -> String {
    var out = ""
    for ch in s.unicodeScalars {
      switch ch {
      case "\"": out += "#quot;"
      case "<": out += "#lt;"
      case ">": out += "#gt;"
      case "#": out += "#35;"
      case "&": out += "#amp;"
      case "\n", "\r", "\t": out += " "
      default: out.unicodeScalars.append(ch)
      }
    }
    return out
  }
}
