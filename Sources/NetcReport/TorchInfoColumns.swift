import NetcBasic
import NetcOps
import NetcSema

/// A column of `netc params --columns`: torchinfo's `col_names` by their names, then netc's own figures
/// under the names `--format json` gives them.
public enum SummaryColumn: String, CaseIterable, Sendable {
  case inputSize = "input_size", outputSize = "output_size", numParams = "num_params"
  case paramsPercent = "params_percent", kernelSize = "kernel_size", multAdds = "mult_adds", trainable
  case receptiveField = "receptive_field", effectiveStride = "effective_stride", effectivePadding = "effective_padding"

  /// torchinfo's header titles (`HEADER_TITLES`), and those of netc's default torchinfo table.
  public var title: String {
    switch self {
    case .inputSize: return "Input Shape"
    case .outputSize: return "Output Shape"
    case .numParams: return "Param #"
    case .paramsPercent: return "Param %"
    case .kernelSize: return "Kernel Shape"
    case .multAdds: return "Mult-Adds"
    case .trainable: return "Trainable"
    case .receptiveField: return "Receptive Field"
    case .effectiveStride: return "Eff. Stride"
    case .effectivePadding: return "Eff. Padding"
    }
  }

  /// `input_size,output_size`, each name checked; a name that is none says which it may have meant.
  public static func parse(_ list: String) -> Result<[SummaryColumn], ColumnError> {
    var columns: [SummaryColumn] = []
    for name in list.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
      guard let column = SummaryColumn(rawValue: name) else {
        let hint = Suggest.closest(to: name, in: allCases.map(\.rawValue)).map { "; did you mean '\($0)'?" } ?? ""
        let known = allCases.map(\.rawValue).joined(separator: ", ")
        return .failure(ColumnError(message: name.isEmpty ? "'--columns' has an empty column name; the columns are \(known)"
                                      : "unknown column '\(name)'\(hint) (the columns are \(known))"))
      }
      if columns.contains(column) { return .failure(ColumnError(message: "column '\(name)' is given twice")) }
      columns.append(column)
    }
    return .success(columns)
  }

  public struct ColumnError: Error {
    public var message: String
  }
}

/// torchinfo 1.8.0's table for given `col_names`, byte for byte: `torchinfo.summary(model, input_size=...,
/// col_names=[...], depth=...)` on the PyTorch model a spec describes prints the same text (netc's own
/// columns are laid out as torchinfo lays out its own). Its figures follow torchinfo's rules, which are not
/// those of netc's default table: a block's parameters where it is shown open are those it holds itself
/// (a layer scale), its mult-adds at the depth limit only its layers', sizes in MB of 10^6 bytes, and the
/// forward/backward size counts only the outputs of layers with parameters.
public enum TorchInfoColumnsPrinter {
  typealias Node = TorchInfoPrinter.Node

  /// One row: the node, its depth (the network's own row is 0) and its index among the rows of that depth.
  struct Row {
    var node: Node
    var depth: Int
    var index: Int
    var title: String { depth == 0 ? node.label : "\(node.label): \(depth)-\(index)" }
  }

  /// Every row, the network's first, depth first; torchinfo numbers the rows of each depth in this order.
  static func rows(_ root: Node) -> [Row] {
    var rows: [Row] = []
    var counters: [Int: Int] = [:]
    func walk(_ n: Node, _ depth: Int) {
      if depth > 0 { counters[depth, default: 0] += 1 }
      rows.append(Row(node: n, depth: depth, index: counters[depth] ?? 0))
      for c in n.children { walk(c, depth + 1) }
    }
    walk(root, 0)
    return rows
  }

  public static func render(_ s: Summary, columns: [SummaryColumn], depth maxDepth: Int = 3) -> String {
    let root = TorchInfoPrinter.tree(s)
    let all = rows(root)
    // torchinfo widens the name column to the longest title of any row, shown or not, by fives.
    let longest = all.map { $0.title.count + $0.depth * 5 + 1 }.max() ?? 0
    let nameWidth = longest >= 40 ? (longest + 4) / 5 * 5 : 40
    let columnWidth = 25
    func line(_ name: String, _ cells: [String]) -> String {
      var text = name + String(repeating: " ", count: max(0, nameWidth - name.count)) + " "
      for cell in cells { text += cell + String(repeating: " ", count: max(0, columnWidth - cell.count)) + " " }
      while text.last == " " { text.removeLast() }
      return text + "\n"
    }
    let divider = String(repeating: "=", count: columns.count * columnWidth + nameWidth) + "\n"
    let totals = Totals(s, all)
    var out = divider + line("Layer (type:depth-idx)", columns.map(\.title)) + divider
    for row in all where row.depth <= maxDepth {
      let prefix = row.depth == 0 ? "" : row.depth == 1 ? "├─" : String(repeating: "│    ", count: row.depth - 1) + "└─"
      out += line(prefix + row.title, columns.map { cell($0, row, atLimit: row.depth == maxDepth, s, totals.params) })
    }
    let mega = 1e6
    out += divider
    out += "Total params: \(grouped(totals.params))\n"
    out += "Trainable params: \(grouped(totals.trainable))\n"
    out += "Non-trainable params: \(grouped(totals.params - totals.trainable))\n"
    out += "Total mult-adds \(multAddsFigure(s.totalMultAdds))\n"
    out += divider
    out += "Input size (MB): \(fixed(totals.inputBytes / mega, 2))\n"
    out += "Forward/backward pass size (MB): \(fixed(totals.forwardBackwardBytes / mega, 2))\n"
    out += "Params size (MB): \(fixed(totals.paramBytes / mega, 2))\n"
    out += "Estimated Total Size (MB): \(fixed((totals.inputBytes + totals.forwardBackwardBytes + totals.paramBytes) / mega, 2))\n"
    return out + divider
  }

  /// The same rows and cells as a Markdown table.
  public static func markdown(_ s: Summary, columns: [SummaryColumn], depth maxDepth: Int = 3) -> String {
    let all = rows(TorchInfoPrinter.tree(s))
    let totals = Totals(s, all)
    // torchinfo's padding (a percentage right-aligned in seven characters) means nothing in Markdown.
    func escaped(_ cell: String) -> String {
      cell.drop { $0 == " " }.map { $0 == "|" ? "\\|" : String($0) }.joined()
    }
    var out = "| Layer (type:depth-idx) | " + columns.map(\.title).joined(separator: " | ") + " |\n"
    out += "|---|" + columns.map { $0 == .inputSize || $0 == .outputSize || $0 == .kernelSize || $0 == .trainable ? "---|" : "---:|" }.joined() + "\n"
    for row in all where row.depth <= maxDepth {
      let indent = String(repeating: "&nbsp;&nbsp;", count: max(0, row.depth - 1))
      let cells = columns.map { escaped(cell($0, row, atLimit: row.depth == maxDepth, s, totals.params)) }
      out += "| \(indent)\(row.depth == 0 ? "**\(row.title)**" : row.title) | " + cells.joined(separator: " | ") + " |\n"
    }
    return out
  }

  /// torchinfo's `layer_info_to_row`: a layer shows its own figures; a block shown open only what it holds
  /// itself, and at the depth limit its whole contents' (its mult-adds: its layers').
  static func cell(_ column: SummaryColumn, _ row: Row, atLimit: Bool, _ s: Summary, _ totalParams: Int) -> String {
    let n = row.node
    let isLeaf = n.children.isEmpty
    let whole = atLimit || isLeaf
    switch column {
    case .inputSize: return TorchInfoPrinter.shape(n.input, s.batch)
    case .outputSize: return TorchInfoPrinter.shape(n.output, s.batch)
    case .kernelSize: return n.kernel ?? "--"
    case .numParams:
      guard n.totalParams > 0 else { return "--" }
      if whole { return n.totalTrainableParams > 0 ? grouped(n.totalParams) : "(\(grouped(n.totalParams)))" }
      return n.params > 0 ? grouped(n.params) : "--"
    case .paramsPercent:
      let shown = whole ? n.totalParams : n.params
      guard totalParams > 0, shown > 0 else { return "     --" }
      return leftPad(fixed(Double(shown) / Double(totalParams) * 100, 2) + "%", 7)
    case .multAdds:
      // torchinfo reckons a block's own mult-adds from every weight and bias inside it: zero, and "--",
      // only for a block without any.
      if isLeaf { return n.multAdds > 0 ? grouped(n.multAdds * s.batch) : "--" }
      guard atLimit, layerParams(n) > 0 else { return "--" }
      return grouped(layerMultAdds(n) * s.batch)
    case .trainable:
      let all = n.totalParams, trainable = n.totalTrainableParams
      return all == 0 ? "--" : trainable == 0 ? "False" : trainable == all ? "True" : "Partial"
    case .receptiveField: return axisPair(n.field, \.size)
    case .effectiveStride: return axisPair(n.field, \.stride)
    case .effectivePadding: return axisPair(n.field, \.padding)
    }
  }

  static func layerParams(_ n: Node) -> Int {
    n.children.isEmpty ? n.params : n.children.reduce(0) { $0 + layerParams($1) }
  }

  static func layerMultAdds(_ n: Node) -> Int {
    n.children.isEmpty ? n.multAdds : n.children.reduce(0) { $0 + layerMultAdds($1) }
  }

  /// torchinfo's footer figures.
  struct Totals {
    var params = 0, trainable = 0
    var inputBytes = 0.0, forwardBackwardBytes = 0.0, paramBytes = 0.0

    init(_ s: Summary, _ rows: [Row]) {
      let bytes = Double(s.dtype.byteSize)
      params = s.totalParams
      trainable = s.trainableParams
      // sys.getsizeof of the input's storage: its bytes and the 64 of the Python object.
      inputBytes = Double(s.network.input.elementCount * s.batch) * bytes + 64
      for row in rows where row.node.children.isEmpty && row.depth > 0 {
        paramBytes += Double(row.node.params) * bytes
        // Twice (for the gradients) the output of each layer that has parameters.
        if row.node.params > 0, let out = row.node.output {
          forwardBackwardBytes += 2 * Double(out.elementCount * s.batch) * bytes
        }
      }
    }
  }

  /// `(Units.MEGABYTES): 0.42`, as torchinfo 1.8.0 prints its total on Python 3.11 and later, where an
  /// f-string of its `Units` enum (a str mixin) gives the member's name rather than its value ("M").
  static func multAddsFigure(_ n: Int) -> String {
    let x = Double(n)
    let (unit, value) = x >= 1e12 ? ("TERABYTES", x / 1e12) : x >= 1e9 ? ("GIGABYTES", x / 1e9) : ("MEGABYTES", x / 1e6)
    let number = value == value.rounded() ? grouped(Int(value)) : groupedFixed(value)
    return "(Units.\(unit)): \(number)"
  }

  /// Python's `f"{x:,.2f}"`.
  static func groupedFixed(_ x: Double) -> String {
    let text = fixed(x, 2)
    guard let dot = text.firstIndex(of: ".") else { return text }
    let whole = Int(text[..<dot]) ?? 0
    return grouped(whole) + text[dot...]
  }
}
