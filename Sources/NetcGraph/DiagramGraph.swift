/// The diagram as nodes, edges and nested clusters, for the formats a layout engine draws (Graphviz,
/// Mermaid). Branches and shortcuts become plain edges; a flow that continues from an earlier tensor
/// becomes an edge from the node that produced it.
struct DiagramGraph {
  enum Member { case node(Int), cluster(Int) }

  struct Node {
    var id: String
    var box: DiagramBox
    /// The title with its "xN", then the output shape.
    var lines: [String] {
      [box.title + (box.repeats > 1 ? " \u{D7}\(box.repeats)" : ""), box.shape]
    }
  }

  struct Cluster {
    var id: String
    var title: String
    var members: [Member] = []
  }

  struct Edge {
    var from: Int
    var to: Int
  }

  var nodes: [Node] = []
  var clusters: [Cluster] = []
  var edges: [Edge] = []
  var top: [Member] = []
  private var valueNode: [Int: Int] = [:]

  init(_ d: Diagram) {
    var members: [Member] = []
    let input = add(d.input, to: &members)
    let tails = sequence(d.body, from: [input], into: &members)
    let output = add(d.output, to: &members)
    connect(tails, output)
    top = members
  }

  /// Styles in first-use order, each with its nodes: for printers that declare a class once.
  var styles: [(DiagramBox.Style, [Int])] {
    var order: [DiagramBox.Style] = []
    var byStyle: [DiagramBox.Style: [Int]] = [:]
    for (i, n) in nodes.enumerated() {
      if byStyle[n.box.style] == nil { order.append(n.box.style) }
      byStyle[n.box.style, default: []].append(i)
    }
    return order.map { ($0, byStyle[$0]!) }
  }

  private mutating func add(_ box: DiagramBox, to members: inout [Member]) -> Int {
    nodes.append(Node(id: "n\(nodes.count)", box: box))
    members.append(.node(nodes.count - 1))
    if box.style != .jump { valueNode[box.value] = nodes.count - 1 }
    return nodes.count - 1
  }

  private mutating func connect(_ from: [Int], _ to: Int) {
    for f in from { edges.append(Edge(from: f, to: to)) }
  }

  /// Adds `items` after the nodes `from`; returns the nodes the next item follows.
  private mutating func sequence(_ items: [DiagramItem], from: [Int], into members: inout [Member]) -> [Int] {
    var tails = from
    for item in items { tails = self.item(item, from: tails, into: &members) }
    return tails
  }

  private mutating func item(_ item: DiagramItem, from: [Int], into members: inout [Member]) -> [Int] {
    switch item {
    case .box(let b):
      let n = add(b, to: &members)
      connect(from, n)
      return [n]
    case .jump(let b):
      if let n = valueNode[b.value] { return [n] }
      return [add(b, to: &members)]
    case .frame(let f):
      var title = f.title
      if f.repeats > 1 { title += " \u{D7}\(f.repeats)" }
      if let s = f.finalShape { title += " \u{2192} " + s }
      clusters.append(Cluster(id: "c\(clusters.count)", title: title))
      let c = clusters.count - 1
      var inner: [Member] = []
      let tails = sequence(f.body, from: from, into: &inner)
      clusters[c].members = inner
      members.append(.cluster(c))
      if tails.count == 1 { valueNode[f.output] = tails[0] }
      return tails
    case .parallel(let branches, let join):
      let ends = branches.flatMap { sequence($0, from: from, into: &members) }
      let n = add(join, to: &members)
      connect(ends, n)
      return [n]
    case .residual(let body, let shortcut, let join):
      var ends = sequence(body, from: from, into: &members)
      ends += shortcut.map { sequence($0, from: from, into: &members) } ?? from
      let n = add(join, to: &members)
      connect(ends, n)
      return [n]
    case .side(let branch, let output):
      let ends = sequence(branch, from: from, into: &members)
      let n = add(output, to: &members)
      connect(ends, n)
      return from
    }
  }
}

/// Fill and stroke of each style, shared by every format.
enum Palette {
  static func colors(_ s: DiagramBox.Style) -> (fill: String, stroke: String) {
    switch s {
    case .terminal: return ("#e6e6e6", "#666666")
    case .conv: return ("#dbe8fb", "#4a78c2")
    case .pool: return ("#fbe0dc", "#c2594a")
    case .linear: return ("#e9e0f7", "#7a55b8")
    case .norm: return ("#fdf3d0", "#b8962e")
    case .pointwise: return ("#f4f4f4", "#9a9a9a")
    case .join: return ("#dcf2dc", "#4a9a4a")
    case .block: return ("#ffffff", "#333333")
    case .jump: return ("#ffffff", "#888888")
    case .failure: return ("#fdecea", "#d93025")
    }
  }
}
