// NetcGraph: diagrams of a checked network in the style of the papers' figures. `Diagram.build` turns
// the CheckedNetwork into a tree of boxes, branches, residuals and block frames (collapsing blocks below a
// depth and folding repeated blocks); `SVGRenderer` lays the tree out and writes SVG, `DotPrinter` and
// `MermaidPrinter` write it as Graphviz and Mermaid text. Nothing here changes the network.
import NetcBasic
import NetcOps
import NetcSema

/// One box: a layer, a collapsed block, a join, the input or an output.
public struct DiagramBox: Equatable, Sendable {
  public enum Style: String, Sendable, CaseIterable {
    case terminal, conv, pool, linear, norm, pointwise, join, block, jump
    /// The element where checking failed, in a diagram drawn up to the first error.
    case failure
  }
  public var title: String         // "conv 7x7 64 s2 p3", "Bottleneck(128)", "concat"
  public var shape: String         // the output shape, "64x112x112"
  public var style: Style
  /// A layer that keeps its input's shape and has little to say (relu, bn, dropout): drawn on one line.
  public var compact: Bool
  /// More than 1: a folded run of identical blocks, drawn once with "xN".
  public var repeats: Int = 1
  /// The value it produces; for a jump, the earlier value the flow continues from.
  public var value: Int
}

/// A named block drawn open: a frame with its title around its body.
public struct DiagramFrame: Equatable, Sendable {
  public var title: String         // "Bottleneck(128)", or a combinator's keyword for a folded run of them
  public var repeats: Int
  /// For a folded run that ends at another shape than its first block does: the last block's output.
  public var finalShape: String?
  public var body: [DiagramItem]
  public var output: Int
}

/// One element of a sequence, top to bottom.
public indirect enum DiagramItem: Equatable, Sendable {
  case box(DiagramBox)
  case frame(DiagramFrame)
  /// Branches from one input, side by side, joined by concatenation, `add` or `mul`.
  case parallel(branches: [[DiagramItem]], join: DiagramBox)
  /// The body, drawn on the main line, and its shortcut (nil: the identity) around it, joined by addition.
  case residual(body: [DiagramItem], shortcut: [DiagramItem]?, join: DiagramBox)
  /// An extra output (`side<...>`): the flow passes through unchanged.
  case side(branch: [DiagramItem], output: DiagramBox)
  /// The flow continues from an earlier tensor (`@name`), not from the item before.
  case jump(DiagramBox)
}

/// A whole network as a diagram.
public struct Diagram: Equatable, Sendable {
  public var name: String
  /// "25,557,032 parameters, 4.09 G mult-adds"
  public var summary: String
  public var input: DiagramBox
  public var body: [DiagramItem]
  public var output: DiagramBox
  /// For a network with errors: the first, `line:column: error: message`; the output box is the element
  /// that failed.
  public var failure: String? = nil

  /// Every level of blocks shown open.
  public static let allLevels = Int.max

  /// The diagram of `net`. Named blocks nested deeper than `depth` (a block used at the top level is at
  /// depth 1) are drawn as one box. Consecutive blocks (or combinators) fold into one drawn with "xN" when
  /// they come from one element repeated `x N` or are identical, layer for layer, each feeding the next.
  public static func build(_ net: CheckedNetwork, depth: Int = allLevels) -> Diagram {
    var b = DiagramBuilder(net, maxDepth: max(0, depth))
    let body = b.sequence(0, from: 0, to: net.outputs[0], in: DiagramBuilder.Context(blockDepth: 0, blockInput: 0))
    let outputTitle = net.outputs.count > 1 ? "output 1" : "output"
    return Diagram(
      name: net.name,
      summary: "\(grouped(net.totalParams)) parameters, \(compactCount(net.totalMultAdds)) mult-adds",
      input: DiagramBox(title: "input", shape: net.input.description, style: .terminal, compact: false, value: 0),
      body: body,
      output: DiagramBox(title: outputTitle, shape: net.output.description, style: .terminal, compact: false,
                         value: net.outputs[0]))
  }
}

/// "4.09 G", "422.36 K", "812".
func compactCount(_ n: Int) -> String {
  let x = Double(n)
  if x >= 1e9 { return fixed(x / 1e9, 2) + " G" }
  if x >= 1e6 { return fixed(x / 1e6, 2) + " M" }
  if x >= 1e3 { return fixed(x / 1e3, 2) + " K" }
  return String(n)
}

/// Walks the scope tree of a checked network. Scopes know their parent and where they opened among the
/// ops (`firstOp`), so each scope's children (its own ops and the scopes directly inside it) can be put
/// back in execution order.
struct DiagramBuilder {
  enum Child { case op(Int), scope(Int) }

  /// Where a sequence stands: how many blocks enclose it, and the input of the innermost (`@input`).
  struct Context {
    var blockDepth: Int
    var blockInput: Int?
  }

  /// One item of a sequence before folding, with what folding needs to know.
  struct Entry {
    var item: DiagramItem
    var scope: Int?                // the block or combinator it draws
    var input: Int?
    var output: Int?
  }

  let net: CheckedNetwork
  let maxDepth: Int
  var children: [[Child]]
  var producer: [Int: Int] = [:]  // value -> the op that produced it
  var signatures: [Int: String] = [:]

  init(_ net: CheckedNetwork, maxDepth: Int) {
    self.net = net
    self.maxDepth = maxDepth
    var keyed = [[(key: (Int, Int, Int), child: Child)]](repeating: [], count: net.scopes.count)
    // A scope opened when `firstOp` ops had run stands before op `firstOp`; scopes opened at the same
    // point keep their opening order.
    for (j, s) in net.scopes.enumerated() {
      guard let p = s.parent else { continue }
      keyed[p].append(((s.firstOp, 0, j), .scope(j)))
    }
    for (i, op) in net.ops.enumerated() where op.scope < keyed.count {
      keyed[op.scope].append(((i, 1, 0), .op(i)))
      producer[op.output] = i
    }
    children = keyed.map { list in list.sorted { $0.key < $1.key }.map(\.child) }
  }

  // MARK: Sequences

  /// The items of a scope's body (the network, a block or a branch), starting from `input`. `output` is
  /// the value the body must end at: a body that ends by naming an earlier tensor ends with a jump.
  mutating func sequence(_ scope: Int, from input: Int?, to output: Int?, in context: Context) -> [DiagramItem] {
    var entries: [Entry] = []
    var current = input
    for child in children[scope] {
      switch child {
      case .op(let i):
        let op = net.ops[i]
        if let from = op.inputs.first, from != current { entries.append(jump(from, context)) }
        entries.append(Entry(item: .box(box(i)), scope: nil, input: op.inputs.first, output: op.output))
        current = op.output
      case .scope(let j):
        let s = net.scopes[j]
        if let from = s.input, from != current { entries.append(jump(from, context)) }
        guard let item = scopeItem(j, in: context) else { continue }
        entries.append(Entry(item: item, scope: j, input: s.input, output: s.output))
        current = s.output
      }
    }
    if let output, output != current { entries.append(jump(output, context)) }
    return fold(entries)
  }

  mutating func scopeItem(_ j: Int, in context: Context) -> DiagramItem? {
    let s = net.scopes[j]
    switch s.kind {
    case .block:
      guard let out = s.output else { return nil }
      if context.blockDepth + 1 > maxDepth {
        return .box(DiagramBox(title: blockTitle(j), shape: shape(out), style: .block, compact: false, value: out))
      }
      let body = sequence(j, from: s.input, to: out, in: Context(blockDepth: context.blockDepth + 1, blockInput: s.input))
      return .frame(DiagramFrame(title: blockTitle(j), repeats: 1, finalShape: nil, body: body, output: out))
    case .combinator(let keyword):
      return combinator(j, keyword, in: context)
    case .network, .branch, .side:
      return nil
    }
  }

  mutating func combinator(_ j: Int, _ keyword: String, in context: Context) -> DiagramItem? {
    var branches: [[DiagramItem]] = []
    var branchOutputs: [Int] = []
    var joinOp: Int?
    for child in children[j] {
      switch child {
      case .scope(let b):
        let s = net.scopes[b]
        guard case .branch = s.kind, let out = s.output else { continue }
        branches.append(sequence(b, from: s.input, to: out, in: context))
        branchOutputs.append(out)
      case .op(let i):
        joinOp = i
      }
    }
    guard !branches.isEmpty else { return nil }
    if keyword == "side" {
      let out = branchOutputs[0]
      let title = net.outputs.firstIndex(of: out).map { "output \($0 + 1)" } ?? "side output"
      return .side(branch: branches[0],
                   output: DiagramBox(title: title, shape: shape(out), style: .terminal, compact: false, value: out))
    }
    guard let joinOp else { return nil }
    let op = net.ops[joinOp]
    let title = op.op.spelling.keyword
    let join = DiagramBox(title: title, shape: shape(op.output), style: .join, compact: true, value: op.output)
    if keyword == "residual" {
      return .residual(body: branches[0], shortcut: branches.count > 1 ? branches[1] : nil, join: join)
    }
    return .parallel(branches: branches, join: join)
  }

  /// The flow continues from `value`, named as the source names it (`@stem`, `@input`) where it can be.
  func jump(_ value: Int, _ context: Context) -> Entry {
    let title: String
    if let name = net.tensorNames[value] {
      title = "@" + name
    } else if value == 0 || value == context.blockInput {
      title = "@input"
    } else if let i = producer[value] {
      title = "from " + LayerLabel.title(net.ops[i])
    } else {
      title = "from an earlier tensor"
    }
    return Entry(item: .jump(DiagramBox(title: title, shape: shape(value), style: .jump, compact: true, value: value)),
                 scope: nil, input: nil, output: value)
  }

  // MARK: Folding

  /// Folds runs of consecutive blocks or combinators that repeat one element (`x N`) or are identical.
  mutating func fold(_ entries: [Entry]) -> [DiagramItem] {
    var out: [DiagramItem] = []
    var k = 0
    while k < entries.count {
      var n = 1
      while k + n < entries.count, folds(entries[k + n - 1], entries[k + n]) { n += 1 }
      out.append(n == 1 ? entries[k].item : repeated(entries[k], n, last: entries[k + n - 1]))
      k += n
    }
    return out
  }

  mutating func folds(_ a: Entry, _ b: Entry) -> Bool {
    guard let sa = a.scope, let sb = b.scope, let out = a.output, b.input == out else { return false }
    if case .side = a.item { return false }
    if net.scopes[sa].range == net.scopes[sb].range { return true }
    return signature(sa) == signature(sb)
  }

  func repeated(_ first: Entry, _ n: Int, last: Entry) -> DiagramItem {
    let finalOutput = last.output ?? first.output ?? 0
    let finalShape = first.output.map(shape) == shape(finalOutput) ? nil : shape(finalOutput)
    switch first.item {
    case .box(var b):
      b.repeats = n
      b.shape = shape(finalOutput)
      b.value = finalOutput
      return .box(b)
    case .frame(var f):
      f.repeats = n
      f.finalShape = finalShape
      f.output = finalOutput
      return .frame(f)
    default:
      var title = "repeated"
      if let s = first.scope, case .combinator(let keyword) = net.scopes[s].kind { title = keyword }
      return .frame(DiagramFrame(title: title, repeats: n, finalShape: finalShape, body: [first.item], output: finalOutput))
    }
  }

  /// The structure of a scope, layer for layer with every attribute and shape: equal signatures draw alike.
  mutating func signature(_ scope: Int) -> String {
    if let s = signatures[scope] { return s }
    var text: String
    switch net.scopes[scope].kind {
    case .block(let name, _): text = "block \(blockTitle(scope, name: name))"
    case .combinator(let k): text = k
    case .branch(let i): text = "branch \(i)"
    case .network: text = "network"
    case .side: text = "side"
    }
    text += "{"
    for child in children[scope] {
      switch child {
      case .op(let i):
        let op = net.ops[i]
        text += "\(op.op.attributes) \(op.isModule) \(op.inputs.map { shape($0) }) \(shape(op.output));"
      case .scope(let j):
        text += signature(j) + ";"
      }
    }
    text += "}"
    signatures[scope] = text
    return text
  }

  // MARK: Labels

  func shape(_ value: Int) -> String {
    value < net.values.count ? net.values[value].description : "?"
  }

  /// `Bottleneck(128)`, `DownBlock(128, s=2)`, `Aux()`: the use as written, with its arguments' values.
  func blockTitle(_ scope: Int, name: String? = nil) -> String {
    let s = net.scopes[scope]
    var blockName = name ?? "block"
    if case .block(let n, _) = s.kind { blockName = n }
    let args = s.arguments.map(\.spelled)
    return "\(blockName)(\(args.joined(separator: ", ")))"
  }

  func box(_ i: Int) -> DiagramBox {
    let op = net.ops[i]
    return DiagramBox(title: LayerLabel.title(op), shape: shape(op.output), style: LayerLabel.style(op.op),
                      compact: LayerLabel.isCompact(op.op), value: op.output)
  }
}
