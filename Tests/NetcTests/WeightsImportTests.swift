import Foundation
import NetcDriver
import NetcRuntime
import NetcTensors
import Testing

/// `netc weights import`: a PyTorch state_dict (safetensors keeps no order) paired with a spec's layers by
/// the module tree's structure, and the diagnostics when they do not fit.
@Suite struct WeightsImportTests {
  // MARK: The pairing, on torchvision's layouts

  /// torchvision models specs/ does not hold, whose children run in orders their names do not give
  /// (DenseNet's features: conv0, norm0, denseblock1, transition1...; Inception-v3's branches and its
  /// auxiliary classifier amid the trunk; RegNet's projection before its body; EfficientNet's
  /// `features.1.0.block.0.0`): Inputs/state_dicts/make_orders.py wrote each one's keys and shapes and the
  /// order a spec runs its modules in. From the keys alone, shuffled, the pairing gives that order back.
  @Test func torchvisionLayoutsPairInExecutionOrder() throws {
    let folder = Paths.inputs.appendingPathComponent("state_dicts")
    let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
    #expect(files.count == 9)
    var generator = SplitMix64(seed: 7)
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
    // `dropping` names modules or single tensors.
    return tensors.filter { !dropping.contains($0.name) && !dropping.contains(String($0.name[..<($0.name.lastIndex(of: ".") ?? $0.name.endIndex)])) } + extra
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
    var generator = SplitMix64(seed: 3)
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

/// netc's own deterministic generator (`netc init`'s), for shuffles.
extension SplitMix64: RandomNumberGenerator {}

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
        case "F8_E4M3": bytes.append(0)
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

extension WeightsImportTests {
  // MARK: Mistakes, each one error at its layer

  static func zeros(_ name: String, _ shape: [Int]) -> Tensor {
    Tensor(name: name, dtype: "F32", shape: shape, values: Array(repeating: 0, count: shape.reduce(1, *)))
  }

  /// A wrong size in the spec, a layer or a tensor the file lacks, a module or block the spec lacks, a bias
  /// the spec leaves out, and two independent mistakes at once: each is one error at the spec's layer, naming what the layer
  /// needs and the state_dict's module in its place or around it. Exit status 1, and nothing written.
  @Test func mistakesAreLocatedErrors() throws {
    let unitUse = ["net.net:8:1: note: in block 'Unit' used here\nUnit(4) -> 4x12x12\n^~~~~~~\n",
                   "net.net:9:1: note: in block 'Unit' used here\nUnit(8)\n^~~~~~~\n"]
    let conv = "  conv 3x3 c p1 nobias, bn, relu\n  ^~~~~~~~~~~~~~~~~~~~\n", bn = "  conv 3x3 c p1 nobias, bn, relu\n                        ^~\n"
    let cases: [(String, [Tensor], String)] = [
      ("a wrong size", Self.stateDict(shapes: ["features.1.conv.weight": [8, 4, 5, 5]]),
       "net.net:5:3: error: 'conv3' needs weight [8, 4, 3, 3]; the state_dict's module in its place, 'features.1.conv', has weight [8, 4, 5, 5]\n"
         + conv + unitUse[1] + "1 error generated.\n"),
      ("a layer the model lacks", Self.stateDict(dropping: ["features.1.bn"]),
       "net.net:5:25: error: 'bn4' needs weight, bias, running_mean and running_var [8]; the state_dict has no module between 'features.1.conv' and 'classifier', the modules of the layers around it\n"
         + bn + unitUse[1] + "1 error generated.\n"),
      ("a tensor the model lacks", Self.stateDict(dropping: ["features.1.bn.running_var"]),
       "net.net:5:25: error: 'bn4' needs weight, bias, running_mean and running_var [8]; the state_dict's module in its place, 'features.1.bn', has weight, bias and running_mean [8]\n"
         + bn + unitUse[1] + "1 error generated.\n"),
      ("a module the spec lacks", Self.stateDict(extra: [Self.zeros("aux.weight", [3, 3])]),
       "net.net:12:1: error: no layer takes the state_dict's 'aux' (weight [3, 3]); its nearest module by name, 'classifier', is this layer's, 'fc5'\nfc 10\n^~~~~\n1 error generated.\n"),
      ("a block the spec lacks", Self.stateDict(extra: [Self.zeros("features.2.conv.weight", [8, 8, 3, 3]), Self.zeros("features.2.bn.weight", [8])]),
       "net.net:5:3: error: no layer takes any of the 2 modules of the state_dict's 'features.2' ('features.2.bn' and 'features.2.conv'); its nearest module by name, 'features.1.conv', is this layer's, 'conv3'\n"
         + conv + unitUse[1] + "1 error generated.\n"),
      ("a bias the spec leaves out", Self.stateDict(extra: [Self.zeros("features.0.conv.bias", [4])]),
       "net.net:5:3: error: 'conv1' needs weight [4, 1, 3, 3]; the state_dict's module in its place, 'features.0.conv', has weight [4, 1, 3, 3] and bias [4]\n"
         + conv + unitUse[0] + "1 error generated.\n"),
      ("two mistakes", Self.stateDict(dropping: ["features.0.bn"], shapes: ["classifier.weight": [10, 300]]),
       "net.net:5:25: error: 'bn2' needs weight, bias, running_mean and running_var [4]; the state_dict has no module between 'features.0.conv' and 'features.1.conv', the modules of the layers around it\n"
         + bn + unitUse[0]
         + "net.net:12:1: error: 'fc5' needs weight [10, 288] and bias [10]; the state_dict's module in its place, 'classifier', has weight [10, 300] and bias [10]\nfc 10\n^~~~~\n2 errors generated.\n"),
    ]
    for (what, tensors, expected) in cases {
      try withFiles(tensors) { spec, stateDict, dir in
        let r = Driver.run(["weights", "import", stateDict, "--spec", spec, "-o", "w.safetensors"])
        #expect(r.status == 1, "\(what)")
        #expect(r.stderr == expected, "\(what):\n\(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("w.safetensors").path), "\(what)")
      }
    }
  }

  /// With `--diagnostics-format json`, the same errors as JSON objects, located.
  @Test func mistakesAsJSON() throws {
    try withFiles(Self.stateDict(shapes: ["features.1.conv.weight": [8, 4, 5, 5]])) { spec, stateDict, _ in
      let r = Driver.run(["weights", "import", stateDict, "--spec", spec, "--map", "--diagnostics-format", "json"])
      #expect(r.status == 1)
      let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stderr.utf8)) as? [String: Any])
      #expect(object["line"] as? Int == 5 && object["column"] as? Int == 3 && object["id"] as? String == "weights-differ")
    }
  }

  // MARK: Usage, formats and dtypes

  @Test func usageErrorsExitTwo() throws {
    try withFiles(Self.stateDict()) { spec, stateDict, _ in
      let cases: [([String], String)] = [
        (["weights"], "netc weights: error: name a subcommand: 'netc weights import' or 'netc weights init'\n"),
        (["weights", "imprt"], "unknown subcommand 'imprt'; did you mean 'import'?"),
        (["weights", "--spec", spec], "unknown option '--spec'; name a subcommand first"),
        (["weights", "import", "--spec", spec, "-o", "w.safetensors"], "give the state_dict to import (a .safetensors file)"),
        (["weights", "import", stateDict, stateDict, "--spec", spec, "-o", "w.safetensors"], "'weights import' takes one state_dict, found 2"),
        (["weights", "import", stateDict, "-o", "w.safetensors"], "give the network with '--spec NET.net'"),
        (["weights", "import", stateDict, "--spec", spec], "give the output file with '-o W.safetensors' (or print the pairing alone with '--map')"),
        (["weights", "import", stateDict, "--spec", spec, "--map", "-o", "-"], "the pairing goes to standard output"),
        (["weights", "import", stateDict, "--spec", spec, "--dtype", "f64", "-o", "w.safetensors"], "'--dtype' must be one of f32, f16, bf16"),
        (["weights", "import", stateDict, "--spec", spec, "-o", stateDict], "the output 'sd.safetensors' is the input 'sd.safetensors'"),
        (["weights", "import", stateDict, "--spec", spec, "-o", spec], "the output 'net.net' is the input 'net.net'"),
      ]
      for (args, message) in cases {
        let r = Driver.run(args)
        #expect(r.status == 2, "\(args): \(r.stderr)")
        #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
      }
      #expect(Driver.run(["weights", "import", stateDict, "--spec", spec]).stderr.hasSuffix("See 'netc help weights import'.\n"))
    }
  }

  @Test func help() {
    for args in [["weights", "--help"], ["help", "weights"], ["weights", "import", "--help"], ["help", "weights", "import"],
                 ["weights", "init", "--help"], ["help", "weights", "init"]] {
      let r = Driver.run(args)
      #expect(r.status == 0 && r.stdout.contains("USAGE: netc"), "\(args)")
    }
    #expect(Driver.run(["help", "weights", "import"]).stdout.contains("USAGE: netc weights import"))
    #expect(Driver.run(["--help"]).stdout.contains("weights "))
  }

  /// `--map` prints the pairing as a table, `--format json` as JSON; without `-o` nothing is written.
  @Test func pairingReports() throws {
    try withFiles(Self.stateDict()) { spec, stateDict, _ in
      let table = Driver.run(["weights", "import", stateDict, "--spec", spec, "--map"])
      #expect(table.status == 0 && table.stderr.isEmpty)
      let lines = table.stdout.split(separator: "\n")
      #expect(lines.count == 13)
      #expect(lines[0] == "netc tensor       shape         PyTorch key")
      #expect(lines[1] == "conv1.weight      [4, 1, 3, 3]  features.0.conv.weight")
      #expect(lines[5] == "bn2.running_var   [4]           features.0.bn.running_var")
      #expect(lines[12] == "fc5.bias          [10]          classifier.bias")
      let json = Driver.run(["weights", "import", stateDict, "--spec", spec, "--format", "json"])
      let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
      #expect(object["pairing"] as? String == "structure" && object["spec"] as? String == "net.net")
      let tensors = try #require(object["tensors"] as? [[String: Any]])
      #expect(tensors.count == 12)
      #expect(tensors[11]["name"] as? String == "fc5.bias" && tensors[11]["key"] as? String == "classifier.bias")
      #expect(tensors[11]["shape"] as? [Int] == [10] && tensors[11]["dtype"] as? String == "F32")
      #expect(object["ignored"] as? [String] == ["features.0.bn.num_batches_tracked", "features.1.bn.num_batches_tracked"])
    }
  }

  /// F16, BF16 and F64 state_dicts are read; the output is f32 unless `--dtype` says otherwise. Values that
  /// every dtype holds exactly (multiples of 0.25 below 16) come through unchanged.
  @Test func dtypes() throws {
    let small = Self.stateDict().map { t in Tensor(name: t.name, dtype: t.dtype, shape: t.shape, values: t.values.map { $0.truncatingRemainder(dividingBy: 16) }) }
    var outputs: [String: [UInt8]] = [:]
    for dtype in ["F32", "F16", "BF16", "F64"] {
      let tensors = small.map { $0.dtype == "F32" ? Tensor(name: $0.name, dtype: dtype, shape: $0.shape, values: $0.values) : $0 }
      try withFiles(tensors) { spec, stateDict, dir in
        let r = Driver.run(["weights", "import", stateDict, "--spec", spec, "-o", "w.safetensors"])
        #expect(r.status == 0, "\(dtype): \(r.stderr)")
        outputs[dtype] = Array(try Data(contentsOf: dir.appendingPathComponent("w.safetensors")))
        let half = Driver.run(["weights", "import", stateDict, "--spec", spec, "-o", "h.safetensors", "--dtype", "bf16"])
        #expect(half.stderr.hasSuffix("(3,262 values, bf16) to h.safetensors\n"))
        let entries = try SafeTensors.entries(Array(Data(contentsOf: dir.appendingPathComponent("h.safetensors"))))
        #expect(entries.allSatisfy { $0.dtype == "BF16" })
      }
    }
    #expect(Set(outputs.values).count == 1)
    let f8 = Self.stateDict().map { $0.name == "classifier.bias" ? Tensor(name: $0.name, dtype: "F8_E4M3", shape: [10], values: Array(repeating: 0, count: 10)) : $0 }
    try withFiles(f8) { spec, stateDict, _ in
      let r = Driver.run(["weights", "import", stateDict, "--spec", spec, "--map"])
      #expect(r.status == 1)
      #expect(r.stderr.contains("tensor 'classifier.bias' has dtype F8_E4M3; netc reads F32, F16, BF16 and F64"), "\(r.stderr)")
    }
  }

  /// A file with netc's names (`netc init`'s, or the state_dict of `netc emit --target pytorch`'s module)
  /// is taken as it is: the import writes the same file.
  @Test func netcNamesAreKept() throws {
    try withFiles([]) { spec, _, dir in
      #expect(Driver.run(["init", spec, "--seed", "5", "-o", "a.safetensors"]).status == 0)
      let r = Driver.run(["weights", "import", "a.safetensors", "--spec", spec, "-o", "b.safetensors", "--verbose"])
      #expect(r.status == 0)
      #expect(r.stderr.contains("its tensors have netc's names already (5 layers)"), "\(r.stderr)")
      let a = try Data(contentsOf: dir.appendingPathComponent("a.safetensors")), b = try Data(contentsOf: dir.appendingPathComponent("b.safetensors"))
      #expect(a == b)
    }
    // `netc weights init` is `netc init`.
    try withFiles([]) { spec, _, dir in
      #expect(Driver.run(["weights", "init", spec, "--seed", "5", "-o", "a.safetensors"]).status == 0)
      #expect(Driver.run(["init", spec, "--seed", "5", "-o", "b.safetensors"]).status == 0)
      let a = try Data(contentsOf: dir.appendingPathComponent("a.safetensors")), b = try Data(contentsOf: dir.appendingPathComponent("b.safetensors"))
      #expect(a == b)
    }
  }

  /// A model whose modules interleave (its convolutions in one list, its batch norms in another, called
  /// in turn) has no arrangement of its tree: paired layer by layer, with a warning at the first layer out
  /// of its module's run.
  @Test func interleavedModulesPairLayerByLayerWithAWarning() throws {
    var tensors = [Self.zeros("convs.0.weight", [4, 1, 3, 3]), Self.zeros("convs.1.weight", [8, 4, 3, 3])]
    for (i, c) in [4, 8].enumerated() {
      tensors += ["weight", "bias", "running_mean", "running_var"].map { Self.zeros("bns.\(i).\($0)", [c]) }
    }
    tensors += [Self.zeros("classifier.weight", [10, 288]), Self.zeros("classifier.bias", [10])]
    try withFiles(tensors) { spec, stateDict, _ in
      let r = Driver.run(["weights", "import", stateDict, "--spec", spec, "--map"])
      #expect(r.status == 0)
      #expect(r.stderr.hasPrefix("net.net:5:25: warning: 'bn2' takes 'bns.0', between 'convs.0' and 'convs.1' of 'convs': no order of the state_dict's modules reads as the spec, so the layers were paired one by one (see the pairing with '--map')\n"), "\(r.stderr)")
      #expect(r.stdout.contains("bn4.running_var   [8]           bns.1.running_var\n"), "\(r.stdout)")
    }
  }

  // MARK: Big and hostile inputs

  /// Thousands of alike modules pair in moments, by the tree or, with a module too many, one by one (then
  /// each layer takes the first module left of its shapes, without searching them all).
  @Test func manyAlikeModules() {
    let n = 3000
    let slot = [TensorSlot("weight", [4, 4, 1, 1])]
    let layers = (0..<n).map { ImportLayer(name: "conv\($0 + 1)", tensors: slot) }
    let keys = (0..<n).map { (key: "blocks.\($0 / 10).\($0 % 10).weight", shape: [4, 4, 1, 1]) }
    var t0 = Date()
    let modules = StateDictModule.group(keys)
    let pairing = StateDictPairing.pair(layers, modules)
    #expect(pairing.method == .structure && pairing.problems.isEmpty)
    #expect(pairing.modules.map { modules[$0!].path } == keys.map { String($0.key.dropLast(".weight".count)) })
    #expect(Date().timeIntervalSince(t0) < 10, "took \(Date().timeIntervalSince(t0)) s")
    t0 = Date()
    let more = StateDictModule.group(keys + [(key: "blocks.999.0.weight", shape: [4, 4, 1, 1])])
    let extra = StateDictPairing.pair(layers, more)
    #expect(extra.method == .layers && extra.problems.count == 1)
    #expect(Date().timeIntervalSince(t0) < 10, "took \(Date().timeIntervalSince(t0)) s")
  }

  /// A key nested absurdly deep, or a dtype netc does not read, is an error naming the key.
  @Test func hostileKeys() throws {
    let deep = String(repeating: "a.", count: 100) + "weight"
    try withFiles(Self.stateDict() + [Self.zeros(deep, [1])]) { spec, stateDict, _ in
      let r = Driver.run(["weights", "import", stateDict, "--spec", spec, "--map"])
      #expect(r.status == 1 && r.stderr.contains("is nested more than 64 modules deep"), "\(r.stderr)")
    }
  }
}
