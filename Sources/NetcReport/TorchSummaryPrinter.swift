import NetcBasic
import NetcOps
import NetcSema

/// Prints exactly what `torchsummary.summary(model, (C, H, W))` prints for the same PyTorch model, its
/// totals included (`Summary.torchsummaryParams`: they leave out parameters that are not a module's
/// `weight` or `bias`).
public enum TorchSummaryPrinter {
  /// With `batchGiven == false` the batch column reads -1, as torchsummary's default does.
  public static func render(_ s: Summary, batchGiven: Bool) -> String {
    let rule = String(repeating: "-", count: 64)
    let double = String(repeating: "=", count: 64)
    var out = rule + "\n"
    out += line("Layer (type)", "Output Shape", "Param #") + "\n"
    out += double + "\n"
    let shownBatch = batchGiven ? s.batch : -1
    for row in s.rows {
      out += line("\(row.type)-\(row.index)", s.torchShape(row.output, batch: shownBatch), grouped(row.params)) + "\n"
    }
    var m = s.memory
    let params = s.torchsummaryParams
    m.paramBytes = Double(params.total) * Double(s.dtype.byteSize)
    out += double + "\n"
    out += "Total params: \(grouped(params.total))\n"
    out += "Trainable params: \(grouped(params.trainable))\n"
    out += "Non-trainable params: \(grouped(params.total - params.trainable))\n"
    out += rule + "\n"
    out += "Input size (MB): \(mb(m.inputBytes))\n"
    out += "Forward/backward pass size (MB): \(mb(m.forwardBackwardBytes))\n"
    out += "Params size (MB): \(mb(m.paramBytes))\n"
    out += "Estimated Total Size (MB): \(mb(m.totalBytes))\n"
    out += rule + "\n"
    return out
  }

  /// torchsummary's `"{:>20}  {:>25} {:>15}"`.
  static func line(_ a: String, _ b: String, _ c: String) -> String {
    leftPad(a, 20) + "  " + leftPad(b, 25) + " " + leftPad(c, 15)
  }
}
