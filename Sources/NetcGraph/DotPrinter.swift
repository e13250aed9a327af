/// A diagram as Graphviz DOT (`dot -Tsvg`): one node per box, a cluster per open block, edges for the
/// flow, branches and shortcuts.
public enum DotPrinter {
  public static func render(_ d: Diagram) -> String {
    let g = DiagramGraph(d)
    let font = "fontname=\"DejaVu Sans\""
    var out = "// \(d.name): \(d.summary). Drawn by netc graph.\n"
    if let failure = d.failure { out += "// \(failure)\n" }
    out += "digraph \(quote(d.name)) {\n"
    out += "  graph [rankdir=TB, \(font), fontsize=12, labelloc=t, nodesep=0.3, ranksep=0.3,"
    out += " label=\(quote(d.name + "\n" + d.summary))];\n"
    out += "  node [shape=box, style=\"rounded,filled\", \(font), fontsize=10, penwidth=1];\n"
    out += "  edge [color=\"#555555\", arrowsize=0.6];\n"
    func members(_ list: [DiagramGraph.Member], _ indent: String) {
      for m in list {
        switch m {
        case .node(let i):
          out += indent + node(g.nodes[i]) + "\n"
        case .cluster(let c):
          let cluster = g.clusters[c]
          out += "\(indent)subgraph cluster_\(c) {\n"
          out += "\(indent)  label=\(quote(cluster.title)); labeljust=l; style=\"rounded,dashed\"; color=\"#8a8a8a\"; \(font); fontsize=10;\n"
          members(cluster.members, indent + "  ")
          out += "\(indent)}\n"
        }
      }
    }
    members(g.top, "  ")
    for e in g.edges { out += "  \(g.nodes[e.from].id) -> \(g.nodes[e.to].id);\n" }
    out += "}\n"
    return out
  }

  static func node(_ n: DiagramGraph.Node) -> String {
    let (fill, stroke) = Palette.colors(n.box.style)
    var attrs = "label=\(quote(n.lines.joined(separator: "\n"))), fillcolor=\"\(fill)\", color=\"\(stroke)\""
    switch n.box.style {
    case .block: attrs += n.box.repeats > 1 ? ", shape=box3d, style=\"filled,bold\"" : ", style=\"filled,bold\""
    case .terminal: attrs += ", shape=oval"
    case .jump: attrs += ", style=\"rounded,dashed\""
    case .failure: attrs += ", penwidth=2, fontcolor=\"\(stroke)\""
    default: break
    }
    return "\(n.id) [\(attrs)];"
  }

  /// A DOT string: quotes and backslashes escaped, a newline as `\n` (a centred line break).
  static func quote(_ s: String) -> String {
    var out = "\""
    for ch in s.unicodeScalars {
      switch ch {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r", "\t": out += " "
      default: out.unicodeScalars.append(ch)
      }
    }
    return out + "\""
  }
}
