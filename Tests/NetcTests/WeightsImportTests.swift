import Foundation
import NetcDriver
import NetcTensors
import Testing

/// `netc weights import`: a PyTorch state_dict (safetensors keeps no order) paired with a spec's layers by
/// the module tree's structure, and the diagnostics when they do not fit.
@Suite struct WeightsImportTests {
  // MARK: The pairing, on torchvision's layouts

  /// torchvision models specs/ does not hold, whose children run in orders their names do not give
  /// (DenseNet's features: conv0, norm0, denseblock1, transition1...; Inception-v3's branches and its
  /// auxiliary classifier amid the trunk; RegNet's body before its projection; EfficientNet's
  /// `features.1.0.block.0.0`): Inputs/state_dicts/make_orders.py wrote each one's keys and shapes and the
  /// order a spec runs its modules in. From the keys alone, shuffled, the pairing gives that order back.
  @Test func torchvisionLayoutsPairInExecutionOrder() throws {
    let folder = Paths.inputs.appendingPathComponent("state_dicts")
    let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
    #expect(files.count == 9)
    var generator = SplitMix(seed: 7)
    for file in files {
      let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent(file))) as? [String: Any])
      let order = try #require(json["order"] as? [String])
      let tensors = try #require(json["tensors"] as? [[Any]]).map { ($0[0] as! String, ($0[1] as! [Int])) }
      var byModule: [String: [TensorSlot]] = [:]
      for (key, shape) in tensors {
        let dot = key.lastIndex(of: ".")!
        byModule[String(key[..<dot]), default: []].append(TensorSlot(String(key[key.index(after: dot)...]), shape))
      }
      let layers = order.enumerated().map { ImportLayer(name: "layer\($0.offset)", tensors: byModule[$0.element]!) }
      let modules = StateDictModule.group(tensors.shuffled(using: &generator).map { (key: $0.0, shape: $0.1) })
      let pairing = StateDictPairing.pair(layers, modules)
      #expect(pairing.method == .structure, "\(file)")
      #expect(pairing.problems.isEmpty, "\(file): \(pairing.problems.prefix(3))")
      let paired = pairing.modules.map { $0.map { modules[$0].path } ?? "-" }
      let wrong = zip(paired, order).enumerated().first { $0.element.0 != $0.element.1 }
      #expect(wrong == nil, "\(file): layer \(wrong?.offset ?? 0) took '\(wrong?.element.0 ?? "")' instead of '\(wrong?.element.1 ?? "")'")
    }
  }

  /// Numbers compare as numbers, within names and between dots.
  @Test func naturalOrder() {
    let sorted = ["layer10", "layer2", "features.10", "features.9", "features.9.0", "a01", "a1", "denselayer16", "denselayer2",
                  "block1-10", "block1-9", "branch3x3_1", "branch3x3dbl_1", "branch_pool", "Mixed_5b"]
      .map { $0.split(separator: ".", omittingEmptySubsequences: false).map(String.init) }
      .sorted { NaturalOrder.compare($0, $1) < 0 }.map { $0.joined(separator: ".") }
    #expect(sorted == ["Mixed_5b", "a1", "a01", "block1-9", "block1-10", "branch3x3_1", "branch3x3dbl_1", "branch_pool",
                       "denselayer2", "denselayer16", "features.9", "features.9.0", "features.10", "layer2", "layer10"])
  }

  /// Of two orders the shapes allow, the earliest by name: a Bottleneck's `conv3`, `bn3` before its
  /// `downsample`, whose convolution and batch norm have the same shapes.
  @Test func tiesGoByNaturalOrder() {
    let conv = [TensorSlot("weight", [8, 4, 1, 1])], bn = ["weight", "bias", "running_mean", "running_var"].map { TensorSlot($0, [8]) }
    let layers = [conv, bn, conv, bn].enumerated().map { ImportLayer(name: "l\($0.offset)", tensors: $0.element) }
    let keys = ["b.conv3", "b.bn3", "b.downsample.0", "b.downsample.1"].flatMap { m in
      (m.hasSuffix("conv3") || m.hasSuffix("0") ? conv : bn).map { (key: "\(m).\($0.suffix)", shape: $0.shape) }
    }
    let modules = StateDictModule.group(keys)
    let pairing = StateDictPairing.pair(layers, modules)
    #expect(pairing.modules.map { modules[$0!].path } == ["b.conv3", "b.bn3", "b.downsample.0", "b.downsample.1"])
  }

  // MARK: The command

  static let spec = """
    network Small
    input 1x12x12

    block Unit(c) {
      conv 3x3 c p1 nobias, bn, relu
    }

    Unit(4) -> 4x12x12
    Unit(8)
    maxpool 2x2
    flatten
    fc 10

    """

  /// A state_dict of the PyTorch model the spec describes, as `safetensors.torch.save_file` writes it:
  /// `features.0.conv`, `features.0.bn` (with its I64 `num_batches_tracked`), `features.1...`, `classifier`.
  static func stateDict(dropping: Set<String> = [], extra: [Tensor] = [], shapes: [String: [Int]] = [:],
                        dtype: String = "F32") -> [Tensor] {
    var tensors: [Tensor] = []
    var value: Double = 0
    func add(_ name: String, _ shape: [Int], _ dtype: String = dtype) {
      let shape = shapes[name] ?? shape
      let count = shape.reduce(1, *)
      tensors.append(Tensor(name: name, dtype: dtype, shape: shape, values: (0..<count).map { _ in value += 0.25; return value }))
    }
    for (i, (cin, cout)) in [(1, 4), (4, 8)].enumerated() {
      add("features.\(i).conv.weight", [cout, cin, 3, 3])
      for s in ["weight", "bias", "running_mean", "running_var"] { add("features.\(i).bn.\(s)", [cout]) }
      add("features.\(i).bn.num_batches_tracked", [], "I64")
    }
    add("classifier.weight", [10, 288])
    add("classifier.bias", [10])
    return tensors.filter { !dropping.contains(String($0.name[..<($0.name.lastIndex(of: ".") ?? $0.name.endIndex)])) } + extra
  }

  @Test func importsByStructureIgnoringIntegerBuffersAndFileOrder() throws {
    try withFiles(Self.stateDict()) { spec, stateDict, dir in
      let out = dir.appendingPathComponent("w.safetensors").path
      let r = Driver.run(["weights", "import", stateDict, "--spec", spec, "-o", out, "--verbose"])
      #expect(r.status == 0, "\(r.stderr)")
      #expect(r.stderr.contains("ignored 2 integer tensors that inference does not use: 'features.0.bn.num_batches_tracked', 'features.1.bn.num_batches_tracked'"))
      #expect(r.stderr.contains("paired 5 layers with its modules by their structure"))
      #expect(r.stderr.hasSuffix("wrote 12 tensors (3,262 values, f32) to \(out)\n"))
      let written = try SafeTensors.entries(Array(Data(contentsOf: URL(fileURLWithPath: out))))
      #expect(written.map(\.name) == ["conv1.weight", "bn2.weight", "bn2.bias", "bn2.running_mean", "bn2.running_var", "conv3.weight",
                                      "bn4.weight", "bn4.bias", "bn4.running_mean", "bn4.running_var", "fc5.weight", "fc5.bias"])
    }
  }

  /// The file's tensors come shuffled, and the values are netc's after import, tensor for tensor.
  @Test func valuesFollowTheirKeys() throws {
    var generator = SplitMix(seed: 3)
    let tensors = Self.stateDict()
    try withFiles(tensors.shuffled(using: &generator)) { spec, stateDict, dir in
      let out = dir.appendingPathComponent("w.safetensors").path
      #expect(Driver.run(["weights", "import", stateDict, "--spec", spec, "-o", out]).status == 0)
      let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: out)))
      let written = try SafeTensors.entries(bytes)
      let keys = ["conv1.weight": "features.0.conv.weight", "bn4.running_var": "features.1.bn.running_var", "fc5.bias": "classifier.bias"]
      for (name, key) in keys {
        let e = try #require(written.first { $0.name == name })
        let values = (0..<(e.range.count / 4)).map { k in
          Float(bitPattern: UInt32(bytes[e.range.lowerBound + 4 * k]) | UInt32(bytes[e.range.lowerBound + 4 * k + 1]) << 8
                  | UInt32(bytes[e.range.lowerBound + 4 * k + 2]) << 16 | UInt32(bytes[e.range.lowerBound + 4 * k + 3]) << 24)
        }
        #expect(values == tensors.first { $0.name == key }!.values.map { Float($0) }, "\(name)")
      }
    }
  }
}

/// A tensor of a test's state_dict.
struct Tensor {
  var name: String
  var dtype: String
  var shape: [Int]
  var values: [Double]
}

/// A small deterministic generator for shuffles.
struct SplitMix: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

extension WeightsImportTests {
  /// safetensors bytes for `tensors`, in the order given (as the format allows), each dtype encoded.
  static func safetensors(_ tensors: [Tensor]) -> [UInt8] {
    var entries: [String] = []
    var data: [UInt8] = []
    for t in tensors {
      var bytes: [UInt8] = []
      for v in t.values {
        switch t.dtype {
        case "F64": withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 }
        case "F16": withUnsafeBytes(of: Float16(Float(v)).bitPattern.littleEndian) { bytes += $0 }
        case "BF16": withUnsafeBytes(of: FloatBits.f32ToBF16(Float(v)).littleEndian) { bytes += $0 }
        case "I64": withUnsafeBytes(of: Int64(v).littleEndian) { bytes += $0 }
        default: withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { bytes += $0 }
        }
      }
      if t.dtype == "I64" && t.values.isEmpty { bytes = [UInt8](repeating: 0, count: 8) }
      entries.append("\"\(t.name)\":{\"dtype\":\"\(t.dtype)\",\"shape\":\(t.shape),\"data_offsets\":[\(data.count),\(data.count + bytes.count)]}")
      data += bytes
    }
    let header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
    return (0..<8).map { UInt8((header.count >> (8 * $0)) & 0xFF) } + header + data
  }

  /// Runs `body` in a fresh directory holding `net.net` (the spec) and `sd.safetensors`, both named
  /// relatively (the diagnostics show them so).
  func withFiles(_ tensors: [Tensor], spec: String = WeightsImportTests.spec,
                 _ body: (_ spec: String, _ stateDict: String, _ dir: URL) throws -> Void) throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("netc-import-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    try spec.write(to: dir.appendingPathComponent("net.net"), atomically: true, encoding: .utf8)
    try Data(Self.safetensors(tensors)).write(to: dir.appendingPathComponent("sd.safetensors"))
    try inDirectory(dir.path) { try body("net.net", "sd.safetensors", dir) }
  }
}
