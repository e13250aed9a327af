import NetcBasic
import NetcOps
import NetcReport
import NetcSema

/// What one source line of layers computes, for hover and inlay hints: the layers and block uses that
/// start on the line, taken together. A line inside a block's body runs once per use of the block; each
/// use is one `LineUse`. The figures are the checked network's and its `Summary`'s, those `netc params`
/// prints: parameters and mult-adds are the sums of the operations' own, the receptive field is the
/// summary's at the line's output.
public struct LineUse: Equatable, Sendable {
  public var input: Shape?
  public var output: Shape?
  public var params: Int
  public var trainableParams: Int
  /// Per batch item, as `netc params` counts them at batch 1.
  public var multAdds: Int
  public var receptiveField: ReceptiveField?
  /// The rows the line prints in `netc params` (module layers and block uses), in order.
  public var rows: [String]
  /// The use of the enclosing block this is part of; nil on the network's own lines.
  public var blockUse: SourceRange?
}

public struct LayerLines: Sendable {
  /// By 0-based line: each use of the line, in execution order.
  public private(set) var uses: [Int: [LineUse]] = [:]

  public init() {}

  public init(_ summary: Summary, file: SourceFile) {
    let net = summary.network
    func line(_ range: SourceRange) -> Int { file.lineAndColumn(of: range.start).line - 1 }
    // A scope's own items and totals; branches are part of their combinator, not items of their own.
    func isItem(_ s: Int) -> Bool {
      switch net.scopes[s].kind {
      case .block, .combinator, .side: return true
      case .network, .branch: return false
      }
    }
    var subtreeParams = [Int](repeating: 0, count: net.scopes.count)
    var subtreeTrainable = subtreeParams, subtreeMultAdds = subtreeParams
    var lastOp = [Int](repeating: -1, count: net.scopes.count)
    for (i, op) in net.ops.enumerated() {
      var s: Int? = op.scope
      while let c = s {
        subtreeParams[c] += op.paramCount
        subtreeTrainable[c] += op.trainableParamCount
        subtreeMultAdds[c] += op.multAdds
        lastOp[c] = max(lastOp[c], i)
        s = net.scopes[c].parent
      }
    }
    /// The innermost use of a block around `scope` (itself included), or nil for the network.
    func instance(from scope: Int?) -> Int? {
      var s = scope
      while let c = s {
        if case .block = net.scopes[c].kind { return c }
        s = net.scopes[c].parent
      }
      return nil
    }
    /// Whether a scope between `scope` and the enclosing block use starts on `l`: the item is then part of
    /// that one and no item of its own.
    func nestedOnLine(_ l: Int, from scope: Int?) -> Bool {
      var s = scope
      while let c = s {
        if case .block = net.scopes[c].kind { return isItem(c) && line(net.scopes[c].range) == l }
        if isItem(c), line(net.scopes[c].range) == l { return true }
        s = net.scopes[c].parent
      }
      return false
    }

    struct Item {
      var start: (Int, Int)
      var end: (Int, Int)
      var input: Int?
      var output: Int?
      var params: Int, trainable: Int, multAdds: Int
      var row: String?
    }
    struct Key: Hashable {
      var line: Int
      var instance: Int
    }
    var items: [Key: [Item]] = [:]
    var order: [Key] = []
    func add(_ key: Key, _ item: Item) {
      if items[key] == nil { order.append(key) }
      items[key, default: []].append(item)
    }
    for (i, op) in net.ops.enumerated() {
      let l = line(op.range)
      guard !nestedOnLine(l, from: op.scope) else { continue }
      add(Key(line: l, instance: instance(from: op.scope) ?? -1),
          Item(start: (i, 1), end: (i, 1), input: op.inputs.first, output: op.output, params: op.paramCount,
               trainable: op.trainableParamCount, multAdds: op.multAdds, row: op.isModule ? op.moduleName : nil))
    }
    for (s, scope) in net.scopes.enumerated() where isItem(s) {
      let l = line(scope.range)
      guard !nestedOnLine(l, from: scope.parent) else { continue }
      var row: String?
      if case .block(_, let moduleName) = scope.kind { row = moduleName }
      add(Key(line: l, instance: instance(from: scope.parent) ?? -1),
          Item(start: (scope.firstOp, 0), end: (max(lastOp[s], scope.firstOp - 1), 2), input: scope.input,
               output: scope.output, params: subtreeParams[s], trainable: subtreeTrainable[s],
               multAdds: subtreeMultAdds[s], row: row))
    }
    func shape(_ v: Int?) -> Shape? { v.flatMap { net.values.indices.contains($0) ? net.values[$0] : nil } }
    for key in order {
      let list = items[key]!.sorted { $0.start < $1.start }
      let last = list.max { $0.end < $1.end }!
      let field = last.output.flatMap { summary.receptiveFields.indices.contains($0) ? summary.receptiveFields[$0] : nil }
      let use = LineUse(
        input: shape(list[0].input), output: shape(last.output), params: list.reduce(0) { $0 + $1.params },
        trainableParams: list.reduce(0) { $0 + $1.trainable }, multAdds: list.reduce(0) { $0 + $1.multAdds },
        receptiveField: field, rows: list.compactMap(\.row),
        blockUse: key.instance >= 0 ? net.scopes[key.instance].range : nil)
      uses[key.line, default: []].append(use)
    }
  }
}

/// `Bottleneck x7` for seven rows of one name in a row.
func runLengths(_ names: [String]) -> [String] {
  var out: [(String, Int)] = []
  for n in names {
    if let last = out.last, last.0 == n { out[out.count - 1].1 += 1 } else { out.append((n, 1)) }
  }
  return out.map { $0.1 > 1 ? "\($0.0) x\($0.1)" : $0.0 }
}
