import NetcBasic
import NetcOps
import NetcSema

/// `netc params --format json`: totals, memory, and one object per row.
public enum JSONPrinter {
  public static func value(_ s: Summary, file: SourceFile) -> JSONValue {
    let m = s.memory
    let net = s.network
    func shape(_ x: Shape) -> JSONValue { .array(([s.batch] + x.dims).map { .int($0) }) }
    func axes(_ f: ReceptiveField?, _ figure: KeyPath<AxisField, Int>) -> JSONValue {
      guard let f else { return .null }
      return .array([.int(f.height[keyPath: figure]), .int(f.width[keyPath: figure])])
    }
    func pair(_ p: (h: Int, w: Int)?) -> JSONValue { p.map(Spelling.json) ?? .null }
    let layers: [JSONValue] = s.rows.map { r in
      let (line, col) = file.lineAndColumn(of: r.range.start)
      let window = r.op.flatMap { net.ops[$0].op.moduleWindow }
      // 'same' padding that puts one more row or column at the bottom or right is no pair: PyTorch says "same".
      let padding: JSONValue = window.map { w in w.padding.map(Spelling.json) ?? .string("same") } ?? .null
      return .object([
        ("index", .int(r.index)), ("name", .string("\(r.type)-\(r.index)")), ("type", .string(r.type)),
        ("kind", .string(r.isBlock ? "block" : "layer")), ("output_shape", shape(r.output)),
        ("params", .int(r.params)), ("trainable_params", .int(r.trainableParams)),
        ("mult_adds", .int(r.multAdds * s.batch)),
        ("receptive_field", axes(r.receptiveField, \.size)), ("effective_stride", axes(r.receptiveField, \.stride)),
        ("effective_padding", axes(r.receptiveField, \.padding)),
        ("line", .int(line)), ("column", .int(col)),
        ("parent", r.parent.map { .int($0) } ?? .null), ("depth", .int(r.depth)),
        ("input_shapes", .array(r.inputs.map(shape))),
        ("kernel_size", pair(window?.kernel)), ("stride", pair(window?.stride)), ("padding", padding),
        ("dilation", pair(window?.dilation)), ("groups", window?.groups.map { .int($0) } ?? .null),
      ])
    }
    return .object([
      ("network", .string(net.name)), ("file", .string(file.path)), ("batch", .int(s.batch)),
      ("dtype", .string(s.dtype.rawValue)), ("input_shape", shape(net.input)),
      ("output_shapes", .array(net.outputs.map { shape(net.values[$0]) })),
      ("total_params", .int(s.totalParams)), ("trainable_params", .int(s.trainableParams)),
      ("non_trainable_params", .int(s.totalParams - s.trainableParams)), ("buffers", .int(net.totalBuffers)),
      ("total_mult_adds", .int(s.totalMultAdds)),
      ("memory", .object([
        ("bytes_per_element", .int(s.dtype.byteSize)),
        ("input_bytes", .double(m.inputBytes)), ("forward_backward_bytes", .double(m.forwardBackwardBytes)),
        ("params_bytes", .double(m.paramBytes)), ("total_bytes", .double(m.totalBytes)),
        ("input_mb", .double(round2(m.inputBytes))), ("forward_backward_mb", .double(round2(m.forwardBackwardBytes))),
        ("params_mb", .double(round2(m.paramBytes))), ("total_mb", .double(round2(m.totalBytes))),
        ("peak_live_bytes", m.peakLiveBytes.map { .double($0) } ?? .null),
        ("peak_live_mb", m.peakLiveBytes.map { .double(round2($0)) } ?? .null),
      ])),
      ("layers", .array(layers)),
    ])
  }

  static func round2(_ bytes: Double) -> Double { (bytes / 1_048_576 * 100).rounded() / 100 }
}

/// `netc params --format markdown`: a table for a README or a lecture note.
public enum MarkdownPrinter {
  public static func render(_ s: Summary) -> String {
    var out = "| # | Layer | Output shape | Params | Mult-adds |\n|---:|---|---|---:|---:|\n"
    for r in s.rows {
      let shape = ([String(s.batch)] + r.output.dims.map(String.init)).joined(separator: " × ")
      let name = r.isBlock ? "**\(r.type)**" : r.type
      out += "| \(r.index) | \(name) | \(shape) | \(grouped(r.params)) | \(grouped(r.multAdds * s.batch)) |\n"
    }
    let m = s.memory
    out += "\n"
    out += "| Total | |\n|---|---:|\n"
    out += "| Parameters | \(grouped(s.totalParams)) |\n"
    out += "| Trainable | \(grouped(s.trainableParams)) |\n"
    out += "| Mult-adds | \(grouped(s.totalMultAdds)) |\n"
    out += "| Input (MB, \(s.dtype.rawValue)) | \(mb(m.inputBytes)) |\n"
    out += "| Forward/backward (MB, \(s.dtype.rawValue)) | \(mb(m.forwardBackwardBytes)) |\n"
    if let peak = m.peakLiveBytes { out += "| Peak live activations (MB, \(s.dtype.rawValue)) | \(mb(peak)) |\n" }
    out += "| Parameters (MB, \(s.dtype.rawValue)) | \(mb(m.paramBytes)) |\n"
    out += "| Estimated total (MB, \(s.dtype.rawValue)) | \(mb(m.totalBytes)) |\n"
    if m.peakLiveBytes != nil { out += "\n" + peakLiveNote }
    return out
  }
}
