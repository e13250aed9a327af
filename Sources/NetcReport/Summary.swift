// NetcReport: printers of a checked network (torchsummary, torchinfo, JSON, Markdown). They only read
// the CheckedNetwork; nothing here changes it.
import NetcBasic
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
}

public struct Summary: Sendable {
  public let network: CheckedNetwork
  public let batch: Int
  public let dtype: DType
  public let rows: [SummaryRow]

  public init(_ network: CheckedNetwork, batch: Int = 1, dtype: DType = .f32) {
    self.network = network
    self.batch = batch
    self.dtype = dtype
    var rows: [SummaryRow] = []
    for event in network.events {
      switch event {
      case .op(let i):
        let op = network.ops[i]
        guard op.isModule else { continue }
        rows.append(SummaryRow(index: rows.count + 1, type: op.moduleName, output: network.values[op.output],
                               params: op.paramCount, trainableParams: op.trainableParamCount, multAdds: op.multAdds,
                               isBlock: false, range: op.range, op: i, scope: nil))
      case .close(let s):
        let scope = network.scopes[s]
        guard case .block(_, let moduleName) = scope.kind, let out = scope.output else { continue }
        rows.append(SummaryRow(index: rows.count + 1, type: moduleName, output: network.values[out], params: 0,
                               trainableParams: 0, multAdds: 0, isBlock: true, range: scope.range, op: nil, scope: s))
      }
    }
    self.rows = rows
  }

  public var totalParams: Int { network.totalParams }
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
      paramBytes: Double(totalParams) * b)
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
