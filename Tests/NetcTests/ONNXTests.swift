import Foundation
import NetcBackends
import NetcDriver
import NetcTensors
import Testing

/// A protobuf reader written apart from netc's writer, from the wire format's definition: a key is a
/// varint (field << 3 | wire type); type 0 a varint, 1 eight bytes, 2 a varint length and that many bytes,
/// 5 four bytes.
struct ProtoMessage {
  enum Value: Equatable {
    case varint(UInt64), fixed64(UInt64), bytes([UInt8]), fixed32(UInt32)
  }
  var fields: [(number: Int, value: Value)] = []

  struct Malformed: Error, CustomStringConvertible { var description: String }

  init(_ bytes: [UInt8]) throws {
    var i = 0
    func varint() throws -> UInt64 {
      var v: UInt64 = 0, shift: UInt64 = 0
      while true {
        guard i < bytes.count, shift < 64 else { throw Malformed(description: "truncated varint at \(i)") }
        let b = bytes[i]
        i += 1
        v |= UInt64(b & 0x7F) << shift
        if b < 0x80 { return v }
        shift += 7
      }
    }
    func take(_ n: Int) throws -> [UInt8] {
      guard n >= 0, i + n <= bytes.count else { throw Malformed(description: "\(n) bytes past the end at \(i)") }
      defer { i += n }
      return Array(bytes[i..<(i + n)])
    }
    func little(_ b: [UInt8]) -> UInt64 { b.reversed().reduce(0) { $0 << 8 | UInt64($1) } }
    while i < bytes.count {
      let key = try varint()
      let number = Int(key >> 3)
      switch key & 7 {
      case 0: fields.append((number, .varint(try varint())))
      case 1: fields.append((number, .fixed64(little(try take(8)))))
      case 2: fields.append((number, .bytes(try take(Int(try varint())))))
      case 5: fields.append((number, .fixed32(UInt32(little(try take(4))))))
      default: throw Malformed(description: "wire type \(key & 7) at \(i)")
      }
    }
  }

  func all(_ n: Int) -> [Value] { fields.filter { $0.number == n }.map(\.value) }
  func ints(_ n: Int) -> [Int] {
    all(n).compactMap { if case .varint(let v) = $0 { return Int(Int64(bitPattern: v)) }; return nil }
  }
  func int(_ n: Int) -> Int? { ints(n).last }
  func strings(_ n: Int) -> [String] {
    all(n).compactMap { if case .bytes(let b) = $0 { return String(decoding: b, as: UTF8.self) }; return nil }
  }
  func string(_ n: Int) -> String? { strings(n).last }
  func messages(_ n: Int) throws -> [ProtoMessage] {
    try all(n).compactMap { if case .bytes(let b) = $0 { return try ProtoMessage(b) }; return nil }
  }
  func message(_ n: Int) throws -> ProtoMessage? { try messages(n).last }
  func floats(_ n: Int) -> [Float] {
    all(n).compactMap { if case .fixed32(let v) = $0 { return Float(bitPattern: v) }; return nil }
  }
}

/// An ONNX model read with `ProtoMessage`, using onnx.proto's field numbers as the test's own constants
/// (ModelProto: ir_version 1, graph 7, opset_import 8; GraphProto: node 1, name 2, initializer 5, input 11,
/// output 12, value_info 13; NodeProto: input 1, output 2, name 3, op_type 4, attribute 5; AttributeProto:
/// name 1, f 2, i 3, s 4, ints 8, type 20; TensorProto: dims 1, data_type 2, name 8, raw_data 9;
/// ValueInfoProto: name 1, type 2; TypeProto.tensor_type 1; Tensor: elem_type 1, shape 2; dim 1;
/// Dimension: dim_value 1, dim_param 2).
struct DecodedONNX {
  var model: ProtoMessage
  var graph: ProtoMessage

  init(_ bytes: [UInt8]) throws {
    model = try ProtoMessage(bytes)
    graph = try #require(try model.message(7))
  }

  var nodes: [ProtoMessage] { (try? graph.messages(1)) ?? [] }
  var initializers: [ProtoMessage] { (try? graph.messages(5)) ?? [] }

  static func shape(_ valueInfo: ProtoMessage) throws -> String {
    let tensor = try #require(try valueInfo.message(2)?.message(1))
    let dims = try #require(try tensor.message(2)).messages(1).map { d in d.string(2) ?? d.int(1).map(String.init) ?? "?" }
    return "\(valueInfo.string(1) ?? "?"): \(tensor.int(1) == 1 ? "float" : "type \(tensor.int(1) ?? -1)")[\(dims.joined(separator: ", "))]"
  }

  static func attribute(_ a: ProtoMessage) -> String {
    let name = a.string(1) ?? "?"
    switch a.int(20) {
    case 1: return "\(name)=\(a.floats(2).last ?? .nan)"
    case 2: return "\(name)=\(a.int(3) ?? 0)"
    case 3: return "\(name)='\(a.string(4) ?? "")'"
    case 7: return "\(name)=\(a.ints(8))"
    default: return "\(name)=<type \(a.int(20) ?? -1)>"
    }
  }

  /// The model as text, one line per field that matters; tensor data as byte counts.
  func dump() throws -> String {
    var s = "ir_version \(model.int(1) ?? -1), producer \(model.string(2) ?? "") \(model.string(3) ?? "")\n"
    for o in try model.messages(8) { s += "opset '\(o.string(1) ?? "")' \(o.int(2) ?? -1)\n" }
    s += "graph \(graph.string(2) ?? "")\n"
    for v in try graph.messages(11) { s += "  input \(try Self.shape(v))\n" }
    for v in try graph.messages(12) { s += "  output \(try Self.shape(v))\n" }
    for t in initializers {
      var raw = 0
      if case .bytes(let b)? = t.all(9).last { raw = b.count }
      s += "  initializer \(t.string(8) ?? "?") type \(t.int(2) ?? -1) dims \(t.ints(1)) \(raw) bytes\n"
    }
    for n in nodes {
      let attrs = try n.messages(5).map(Self.attribute).joined(separator: " ")
      s += "  \(n.strings(2).joined(separator: ", ")) = \(n.string(4) ?? "?")(\(n.strings(1).joined(separator: ", "))) \(n.string(3) ?? "")"
      s += attrs.isEmpty ? "\n" : " [\(attrs)]\n"
    }
    for v in try graph.messages(13) { s += "  value_info \(try Self.shape(v))\n" }
    return s
  }
}

@Suite(.serialized) struct ONNXTests {
  let dir: URL = {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("netc-onnx-tests-\(getpid())")
    try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
    return d
  }()

  func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

  func write(_ name: String, _ source: String) -> String {
    let p = path(name)
    _ = FileManager.default.createFile(atPath: p, contents: Data(source.utf8))
    return p
  }

  func emit(_ args: [String]) throws -> DecodedONNX {
    let out = path("model.onnx")
    let r = Driver.run(["emit", "--target", "onnx"] + args + ["-o", out])
    #expect(r.status == 0, "\(r.stderr)")
    return try DecodedONNX(Array(try Data(contentsOf: URL(fileURLWithPath: out))))
  }

  @Test func wireFormat() throws {
    var w = ProtobufWriter()
    w.int(1, 300)
    w.int(2, -1)
    w.string(3, "ab")
    w.float(4, 1)
    w.message(5) { $0.int(1, 1) }
    #expect(w.bytes == [0x08, 0xAC, 0x02,
                        0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01,
                        0x1A, 0x02, 0x61, 0x62,
                        0x25, 0x00, 0x00, 0x80, 0x3F,
                        0x2A, 0x02, 0x08, 0x01])
  }

  /// LeNet-5: the model's structure, and weights that are the weight file's, under its names.
  @Test func lenetCarriesNetcsNamesAndWeights() throws {
    let spec = Paths.spec("lenet5").path
    let w = path("lenet.safetensors")
    #expect(Driver.run(["init", spec, "--seed", "7", "--dtype", "f16", "-o", w]).status == 0)
    let m = try emit([spec, "--weights", w])
    #expect(m.model.int(1) == 8)
    let opset = try #require(try m.model.message(8))
    #expect(opset.string(1) == "" && opset.int(2) == 18)
    #expect(try m.graph.messages(11).map(DecodedONNX.shape) == ["input: float[N, 1, 32, 32]"])
    #expect(try m.graph.messages(12).map(DecodedONNX.shape) == ["output: float[N, 2]"])
    #expect(m.nodes.map { $0.string(4) ?? "" } == ["Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Flatten", "Gemm",
                                                    "Relu", "Gemm", "Relu", "Gemm", "Softmax"])
    let file = try Array(Data(contentsOf: URL(fileURLWithPath: w)))
    let entries = try SafeTensors.entries(file)
    #expect(m.initializers.map { $0.string(8) ?? "" } == entries.map(\.name))
    for (t, e) in zip(m.initializers, entries) {
      #expect(t.ints(1) == e.shape && t.int(2) == 1)
      guard case .bytes(let raw)? = t.all(9).last else { Issue.record("no raw_data in \(e.name)"); continue }
      let floats = stride(from: 0, to: raw.count, by: 4).map {
        Float(bitPattern: UInt32(raw[$0]) | UInt32(raw[$0 + 1]) << 8 | UInt32(raw[$0 + 2]) << 16 | UInt32(raw[$0 + 3]) << 24)
      }
      let halves = stride(from: e.range.lowerBound, to: e.range.upperBound, by: 2).map {
        FloatBits.f16ToF32(UInt16(file[$0]) | UInt16(file[$0 + 1]) << 8)
      }
      #expect(floats == halves, "\(e.name)")
    }
  }

  /// Without --weights the model holds `netc init`'s weights (seed 0).
  @Test func defaultWeightsAreNetcInits() throws {
    let spec = Paths.spec("lenet5").path
    let w = path("seed0.safetensors")
    #expect(Driver.run(["init", spec, "-o", w]).status == 0)
    let a = try emit([spec])
    let given = try emit([spec, "--weights", w])
    #expect(a.initializers.map { $0.all(9) } == given.initializers.map { $0.all(9) })
  }

  /// A node's doc string holds its place and at most 120 bytes of its element's text, not its whole line:
  /// 20,000 layers on one line made a 2.4 GB model, the size growing with the square of the line.
  @Test func docStringsStayShort() throws {
    let spec = path("chain.net")
    try ("input 3x8x8\n" + Array(repeating: "relu", count: 5000).joined(separator: ", ") + "\n")
      .write(toFile: spec, atomically: true, encoding: .utf8)
    let out = path("chain.onnx")
    let r = Driver.run(["emit", "--target", "onnx", spec, "-o", out])
    #expect(r.status == 0, "\(r.stderr)")
    let size = try FileManager.default.attributesOfItem(atPath: out)[.size] as? Int ?? 0
    #expect(size > 5000 * 20 && size < 5000 * 300, "\(size) bytes for 5,000 nodes")
    let model = try Data(contentsOf: URL(fileURLWithPath: out))
    #expect(model.range(of: Data("chain.net:2:7: relu".utf8)) != nil)
  }

  /// Every kind of node, decoded and compared with a snapshot, so any change to the bytes shows.
  @Test func everyOperationGolden() throws {
    let spec = write("ops.net", """
      network Ops
      input 4x12x12
      conv 3x3 8 s2 p1 g2, bn, relu => a          # folded batch norm, back as BatchNormalization
      conv 4x4 8 pad=same d2 nobias, bn noaffine, relu6
      residual< conv 3x3 8 p1 nobias, bn, silu | identity >, gelu
      side< global_avgpool, flatten >
      convt 4x4 8 s2 p1 out_pad=1, leaky_relu 0.1
      maxpool 3x3 s2 p1 ceil, avgpool 2x2 s1 exclude_pad
      lrn 3, lrn 2
      upsample 2, upsample 1.7 bilinear, upsample size=9x9 bilinear align_corners
      adaptive_maxpool 3x3
      mul< identity | global_maxpool, sigmoid >
      add< identity | @a, adaptive_avgpool 3x3, tanh >
      concat< identity | identity >, softmax
      shuffle 8, chunk(2 1), relu                 # 5-D intermediate tensors; a Slice
      flatten, bn, fc 5
      """)
    try assertSnapshot(try emit([spec]).dump(), "ops.onnx.golden")
  }

  @Test func unsupportedPoolingIsADiagnostic() throws {
    let spec = write("adaptive.net", "input 3x19x17\nconv 3x3 8\nadaptive_avgpool 6x5\n")
    let out = path("never.onnx")
    let r = Driver.run(["emit", "--target", "onnx", spec, "-o", out])
    #expect(r.status == 1)
    #expect(r.stderr.contains("adaptive.net:3:1: error: cannot export adaptive pooling from 17x15 to 6x5 to ONNX: its windows differ in size"))
    #expect(r.stderr.contains("from 17 to 6 the windows are 3 or 4 wide"))
    #expect(!FileManager.default.fileExists(atPath: out))
    let wrongTarget = Driver.run(["emit", "--target", "swift", spec, "--weights", "w.safetensors", "-o", out])
    #expect(wrongTarget.status == 2)
  }
}
