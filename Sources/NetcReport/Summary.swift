// NetcReport: printers of a checked network (torchsummary, torchinfo, JSON, Markdown). They only read
// the CheckedNetwork; nothing here changes it.
import NetcBasic
import NetcOps
import NetcSema

/// One row of a summary: a module op, or a block that closed (printed after its contents).
public struct SummaryRow: Sendable {
  public var index: Int              // 1-based, in call order
  public var type: String            // Conv2d, BatchNorm2d, BasicBlock
  public var output: Shape
  public var params: Int
  public var trainableParams: Int
  public var multAdds: Int           // per batch item
  public var isBlock: Bool
  public var range: SourceRange
  public var op: Int?                // index into ops, for module rows
  public var scope: Int?             // for block rows
  /// From the network input to this row's output; nil where it is not defined (see `ReceptiveField.of`).
  public var receptiveField: ReceptiveField?
  /// The shapes it is called on: a module's inputs, a block's input.
  public var inputs: [Shape] = []
  /// The row of the innermost block around it; nil at the top level.
  public var parent: Int? = nil
  /// 1 at the top level, one more per enclosing block: torchinfo's depth, which `--depth` limits.
  public var depth: Int = 1
}

public struct Summary: Sendable {
  public let network: CheckedNetwork
  public let batch: Int
  public let dtype: DType
  public let rows: [SummaryRow]
  /// Every value's receptive field, indexed by value id.
  public let receptiveFields: [ReceptiveField?]
  /// The activation arena netc's inference allocates, in elements per batch item (its buffer plan), when the
  /// caller lowered the network; nil otherwise.
  public let peakLiveElements: Int?

  public init(_ network: CheckedNetwork, batch: Int = 1, dtype: DType = .f32, peakLiveElements: Int? = nil) {
    self.network = network
    self.batch = batch
    self.dtype = dtype
    self.peakLiveElements = peakLiveElements
    let fields = ReceptiveField.of(network)
    self.receptiveFields = fields
    func field(_ value: Int) -> ReceptiveField? { fields.indices.contains(value) ? fields[value] : nil }
    var rows: [SummaryRow] = []
    for event in network.events {
      switch event {
      case .op(let i):
        let op = network.ops[i]
        guard op.isModule else { continue }
        rows.append(SummaryRow(index: rows.count + 1, type: op.moduleName, output: network.values[op.output],
                               params: op.paramCount, trainableParams: op.trainableParamCount, multAdds: op.multAdds,
                               isBlock: false, range: op.range, op: i, scope: nil, receptiveField: field(op.output)))
      case .close(let s):
        let scope = network.scopes[s]
        guard case .block(_, let moduleName) = scope.kind, let out = scope.output else { continue }
        rows.append(SummaryRow(index: rows.count + 1, type: moduleName, output: network.values[out], params: 0,
                               trainableParams: 0, multAdds: 0, isBlock: true, range: scope.range, op: nil, scope: s,
                               receptiveField: field(out)))
      }
    }
    self.rows = Summary.nest(rows, in: network)
  }

  /// Each row's inputs, parent and depth: the enclosing blocks' rows come after their contents, so they
  /// are found once every row is known.
  static func nest(_ rows: [SummaryRow], in net: CheckedNetwork) -> [SummaryRow] {
    var rowOfScope: [Int: Int] = [:]
    for r in rows { if let s = r.scope { rowOfScope[s] = r.index } }
    /// The block scopes around `scope`, innermost first (`scope` itself included when it is one).
    func enclosingBlocks(_ scope: Int?) -> [Int] {
      var chain: [Int] = []
      var cur = scope
      while let c = cur {
        if case .block = net.scopes[c].kind { chain.append(c) }
        cur = net.scopes[c].parent
      }
      return chain
    }
    return rows.map { row in
      var r = row
      let around: [Int]
      if let i = r.op {
        r.inputs = net.ops[i].inputs.map { net.values[$0] }
        around = enclosingBlocks(net.ops[i].scope)
      } else if let s = r.scope {
        r.inputs = net.scopes[s].input.map { [net.values[$0]] } ?? []
        around = enclosingBlocks(net.scopes[s].parent)
      } else {
        around = []
      }
      r.parent = around.first.flatMap { rowOfScope[$0] }
      r.depth = around.count + 1
      return r
    }
  }

  public var totalParams: Int { network.totalParams }
  /// torchsummary's totals, which differ from the network's: torchsummary adds up each row's module's
  /// `weight` and `bias` attributes and reads no other parameter, so a parameter of a block's own
  /// (ConvNeXt's `layer_scale`) is left out of its totals and of its "Params size".
  public var torchsummaryParams: (total: Int, trainable: Int) {
    var total = 0, trainable = 0
    for row in rows {
      guard let i = row.op else { continue }
      let counted = network.ops[i].params.filter { $0.name == "weight" || $0.name == "bias" }
      let n = counted.reduce(0) { $0 + $1.elementCount }
      total += n
      // torchsummary counts the row as trainable when its weight is.
      if counted.first(where: { $0.name == "weight" })?.trainable ?? true { trainable += n }
    }
    return (total, trainable)
  }
  public var trainableParams: Int { network.trainableParams }
  public var totalMultAdds: Int { network.totalMultAdds * batch }

  /// torchsummary's figures: input, twice the sum of the rows' outputs (forward and backward), parameters.
  public var memory: MemoryEstimate {
    let b = Double(dtype.byteSize)
    let rowElements = rows.reduce(0.0) { $0 + Double($1.output.elementCount) }
    return MemoryEstimate(
      dtype: dtype, batch: batch,
      inputBytes: Double(network.input.elementCount) * Double(batch) * b,
      forwardBackwardBytes: 2 * rowElements * Double(batch) * b,
      paramBytes: Double(totalParams) * b,
      peakLiveBytes: peakLiveElements.map { Double($0) * Double(batch) * b })
  }

  /// `[-1, 64, 112, 112]` as torchsummary prints it (batch -1 unless one was given).
  func torchShape(_ s: Shape, batch: Int) -> String {
    "[" + ([String(batch)] + s.dims.map(String.init)).joined(separator: ", ") + "]"
  }
}

func mb(_ bytes: Double) -> String { fixed(bytes / 1_048_576, 2) }

func leftPad(_ s: String, _ width: Int) -> String {
  s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
}

func rightPad(_ s: String, _ width: Int) -> String {
  s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
}

/// `212`, or `212x180` when the axes differ; `--` where the field is not defined.
public func axisPair(_ f: ReceptiveField?, _ figure: KeyPath<AxisField, Int>) -> String {
  guard let f else { return "--" }
  let h = f.height[keyPath: figure], w = f.width[keyPath: figure]
  return h == w ? grouped(h) : "\(grouped(h))x\(grouped(w))"
}

/// Says which memory figure is which, under a footer that prints both.
let peakLiveNote = """
  The forward/backward figure is torchsummary's: every layer's output kept, as training keeps them, counted twice.
  The peak live figure is what netc's inference allocates: each buffer reused as soon as its last reader is done.

  """
