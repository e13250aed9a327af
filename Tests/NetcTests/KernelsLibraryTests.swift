import Foundation
import NetcKernels
import Testing

/// NetcKernels' weight file and weight preparation, which the emitted Swift calls (and the interpreter,
/// for the preparation), tested as an app would use them.
@Suite struct KernelsLibraryTests {
  let dir: URL = {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("netc-kernels-tests-\(getpid())")
    try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
    return d
  }()

  /// A safetensors file of this header (padded to 8 bytes) and data section.
  func file(_ name: String, _ json: String, data: [UInt8]) throws -> String {
    var h = Array(json.utf8)
    while h.count % 8 != 0 { h.append(0x20) }
    let path = dir.appendingPathComponent(name).path
    try Data((0..<8).map { UInt8((h.count >> (8 * $0)) & 0xFF) } + h + data).write(to: URL(fileURLWithPath: path))
    return path
  }

  func bytes<T: FixedWidthInteger>(_ xs: [T]) -> [UInt8] {
    xs.flatMap { x in (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: x >> (8 * $0)) } }
  }

  /// The description of the error `body` throws, or "ok".
  func error(_ body: () throws -> Void) -> String {
    do {
      try body()
      return "ok"
    } catch {
      return "\(error)"
    }
  }

  @Test func weightFileDecodesEachDtype() throws {
    let f32: [Float] = [1.5, -2, 0.25, 3e-5, -7, 1e10]
    let f16: [Float16] = [0.5, -1.25]
    let data = bytes(f32.map(\.bitPattern)) + bytes(f16.map(\.bitPattern)) + bytes([UInt16(0x3FC0), 0xC080]) + bytes([Int64(7)]) + bytes([Int32(1)])
    let path = try file("dtypes.safetensors", """
      {"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},\
      "b":{"dtype":"F16","shape":[2],"data_offsets":[24,28]},"c":{"dtype":"BF16","shape":[2],"data_offsets":[28,32]},\
      "bn.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[32,40]},\
      "step":{"dtype":"I32","shape":[],"data_offsets":[40,44]}}
      """, data: data)
    let w = try NetcWeightFile(path: path, expected: [("a", [2, 3]), ("b", [2]), ("c", [2])])
    #expect(try w.tensor("a") == f32)
    #expect(try w.tensor("b") == [0.5, -1.25])
    #expect(try w.tensor("c") == [1.5, -4])
    // A state_dict's integer buffers are ignored, whatever their names.
    #expect(w.count("a") == 6 && w.count("bn.num_batches_tracked") == nil && w.count("step") == nil)
    var two: [Float] = [0, 0]
    #expect(error { try two.withUnsafeMutableBufferPointer { try w.read("a", into: $0) } } == "tensor 'a' holds 6 values, not 2")
    #expect(error { try two.withUnsafeMutableBufferPointer { try w.read("z", into: $0) } } == "'\(path)' has no tensor 'z'")
  }

  /// A FIFO given as the weights blocked open() forever; a directory or a device is refused by name too.
  @Test func weightFileIsARegularFile() throws {
    let fifo = dir.appendingPathComponent("weights.fifo").path
    unlink(fifo)
    #expect(mkfifo(fifo, 0o600) == 0)
    defer { unlink(fifo) }
    for path in [fifo, dir.path, "/dev/null"] {
      let start = ContinuousClock.now
      let found = guardingAgainstHangs([fifo]) { error { _ = try NetcWeightFile(path: path, expected: [("a", [2])]) } }
      #expect(ContinuousClock.now - start < .seconds(4), "\(path) waited for the watchdog")
      #expect(found == "cannot read weights '\(path)': not a regular file (a directory, a FIFO, a device)")
    }
  }

  @Test func weightFileRefusesWhatTheNetworkDoesNotExpect() throws {
    let a = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"
    let expected: [(name: String, shape: [Int])] = [("a", [2])]
    let cases: [(String, String, Int, String)] = [
      ("missing", "{}", 0, "lacks tensor 'a'"),
      ("dtype", "{\"a\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'a': expected dtype F32, F16 or BF16, found I32"),
      ("shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]}}", 8, "tensor 'a': expected shape [2], found"),
      ("size", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 8, "tensor 'a': its data offsets do not fit the file"),
      ("past-end", "{\(a)}", 4, "tensor 'a': its data offsets do not fit the file"),
      ("reversed", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "its data offsets do not fit the file"),
      ("huge", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[9223372036854775800,9223372036854775807]}}", 8,
       "its data offsets do not fit the file"),
      ("extra", "{\(a),\"b.weight\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12,
       "has tensor 'b.weight', which this network does not"),
      ("not-json", "{\"a\":", 8, "the safetensors header is not a JSON object"),
      ("array", "[1,2]", 8, "the safetensors header is not a JSON object"),
    ]
    for (name, json, count, message) in cases {
      let path = try file("\(name).safetensors", json, data: [UInt8](repeating: 0, count: count))
      let found = error { _ = try NetcWeightFile(path: path, expected: expected) }
      #expect(found.contains(message), "\(name): \(found)")
    }
    let short = dir.appendingPathComponent("short.safetensors").path
    try Data([1, 0, 0]).write(to: URL(fileURLWithPath: short))
    #expect(error { _ = try NetcWeightFile(path: short, expected: expected) }.contains("too short for a safetensors file"))
    let lying = dir.appendingPathComponent("lying.safetensors").path
    try Data([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x20]).write(to: URL(fileURLWithPath: lying))
    #expect(error { _ = try NetcWeightFile(path: lying, expected: expected) }
      .contains("the header claims 18446744073709551615 bytes, the file holds 1"))
    #expect(error { _ = try NetcWeightFile(path: "/nonexistent/w.safetensors", expected: expected) }
      == "cannot read weights '/nonexistent/w.safetensors'")
    // A file cut short after it was checked: the read says so.
    let cut = try file("cut.safetensors", "{\(a)}", data: bytes([Float(1), 2].map(\.bitPattern)))
    let w = try NetcWeightFile(path: cut, expected: expected)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: cut))
    try handle.truncate(atOffset: 20)
    try handle.close()
    #expect(error { _ = try w.tensor("a") } == "the weight file ended early (truncated?)")
  }

  /// Tensors in memory, counting the reads.
  final class Tensors: NetcTensorReader {
    var tensors: [String: [Float]]
    var reads: [String] = []
    init(_ tensors: [String: [Float]]) { self.tensors = tensors }
    func read(_ name: String, into out: UnsafeMutableBufferPointer<Float>) throws {
      reads.append(name)
      guard let t = tensors[name] else { throw NetcWeightError("no tensor '\(name)'") }
      guard t.count == out.count else { throw NetcWeightError("tensor '\(name)' holds \(t.count) values, not \(out.count)") }
      _ = out.update(fromContentsOf: t)
    }
  }

  func values(_ p: UnsafeMutablePointer<Float>?, _ count: Int) -> [Float] {
    guard let p else { return [] }
    return Array(UnsafeBufferPointer(start: p, count: count))
  }

  @Test func preparationFoldsBatchNormAndPacksConvolutions() throws {
    let g = NetcConvGeometry(inC: 2, inH: 5, inW: 5, outC: 3, outH: 3, outW: 3, kH: 3, kW: 3, sH: 1, sW: 1, padT: 0,
                             padL: 0, dH: 1, dW: 1, groups: 1)
    let weight = (0..<54).map { Float($0) / 10 - 2 }
    let reader = Tensors([
      "conv1.weight": weight, "bn2.running_mean": [0.5, -1, 2], "bn2.running_var": [4, 1, 0.25],
      "bn2.weight": [2, 1, 0.5], "bn2.bias": [1, 0, -1], "fc3.weight": [1, 2, 3, 4, 5, 6], "fc3.bias": [0.5, -0.5],
      "bn4.running_mean": [1, 2], "bn4.running_var": [1, 4],
    ])
    let p = NetcPreparedWeights()
    let conv = try p.appendConv(reader, name: "conv1", hasBias: false, batchNorm: NetcBatchNorm(name: "bn2", eps: 0, affine: true),
                                geometry: g, transposed: false)
    p.appendNone()
    let linear = try p.appendLinear(reader, name: "fc3", hasBias: true, batchNorm: nil, inFeatures: 3, outFeatures: 2)
    let bn = try p.appendBatchNorm(reader, NetcBatchNorm(name: "bn4", eps: 0, affine: false), channels: 2)
    #expect(p.layers.count == 4 && p.layers[1].weight == nil && p.layers[1].bias == nil)
    #expect(p.layers[0].weight == conv.weight && p.layers[3].bias == bn.bias)
    // scale = gamma / sqrt(var): 1, 1, 1; shift = beta - mean * scale: 0.5, 1, -3.
    let scale: [Float] = [1, 1, 1], shift: [Float] = [0.5, 1, -3]
    #expect(values(conv.bias, 3) == shift)
    var folded = weight
    var zeros: [Float] = [0, 0, 0]
    folded.withUnsafeMutableBufferPointer { w in
      netcFold(weight: w, bias: &zeros, scale: scale, shift: shift, transposed: false, inChannels: 2, outChannels: 3,
               groups: 1, kernel: 9)
    }
    #expect(values(conv.weight, netcConvWeightsCount(g)) == folded.withUnsafeBufferPointer { netcConvWeights($0.baseAddress!, g) })
    #expect(values(linear.weight, 6) == [1, 2, 3, 4, 5, 6] && values(linear.bias, 2) == [0.5, -0.5])
    #expect(values(bn.weight, 2) == [1, 0.5] && values(bn.bias, 2) == [-1, -1])
    // Each tensor is read once; an affine batch norm's weight and bias too, and a plain one has none.
    #expect(reader.reads == ["conv1.weight", "bn2.running_mean", "bn2.running_var", "bn2.weight", "bn2.bias",
                             "fc3.weight", "fc3.bias", "bn4.running_mean", "bn4.running_var"])
    withExtendedLifetime(p) {}  // it owns the buffers read above
  }

  @Test func aTransposedConvolutionKeepsItsWeightsAsStored() throws {
    let g = NetcConvGeometry(inC: 2, inH: 2, inW: 2, outC: 4, outH: 3, outW: 3, kH: 2, kW: 2, sH: 1, sW: 1, padT: 0,
                             padL: 0, dH: 1, dW: 1, groups: 2)
    let weight = (0..<16).map(Float.init)
    let reader = Tensors(["convt1.weight": weight, "convt1.bias": [1, 2, 3, 4]])
    let p = NetcPreparedWeights()
    let layer = try p.appendConv(reader, name: "convt1", hasBias: true, batchNorm: nil, geometry: g, transposed: true)
    // [inC][outC/groups][kH][kW] = 2 x 2 x 2 x 2.
    withExtendedLifetime(p) { #expect(values(layer.weight, 16) == weight && values(layer.bias, 4) == [1, 2, 3, 4]) }
  }

  /// A layer norm's weight and bias, and a layer scale's multiplier alone, are kept as stored, one value a
  /// channel; a tensor of another size is the reader's error.
  @Test func perChannelTensorsAreKeptAsStored() throws {
    let reader = Tensors(["ln1.weight": [2, 0.5, -1], "ln1.bias": [0.25, 0, 3], "blocks.0.layer_scale": [1e-6, 2e-6, 3e-6]])
    let p = NetcPreparedWeights()
    let norm = try p.appendPerChannel(reader, weight: "ln1.weight", bias: "ln1.bias", channels: 3)
    let scale = try p.appendPerChannel(reader, weight: "blocks.0.layer_scale", bias: nil, channels: 3)
    withExtendedLifetime(p) {
      #expect(values(norm.weight, 3) == [2, 0.5, -1] && values(norm.bias, 3) == [0.25, 0, 3])
      #expect(values(scale.weight, 3) == [1e-6, 2e-6, 3e-6] && scale.bias == nil)
      #expect(p.layers.count == 2 && p.layers[0].weight == norm.weight && p.layers[1].weight == scale.weight)
    }
    #expect(reader.reads == ["ln1.weight", "ln1.bias", "blocks.0.layer_scale"])
    #expect(error { try p.appendPerChannel(reader, weight: "ln1.weight", bias: nil, channels: 4) }
      == "tensor 'ln1.weight' holds 3 values, not 4")
  }

  /// Memory the system refuses, or a size past an Int's, is the caller's error before anything is read.
  @Test func aRefusedAllocationIsTheCallersError() throws {
    struct Refused: Error, Equatable {
      var floats: Int
      var what: String
    }
    let reader = Tensors([:])
    let p = NetcPreparedWeights(outOfMemory: { Refused(floats: $0, what: $1) })
    #expect(throws: Refused(floats: Int.max, what: "weight tensor 'fc1.weight'")) {
      try p.appendLinear(reader, name: "fc1", hasBias: true, batchNorm: nil, inFeatures: 1 << 40, outFeatures: 1 << 40)
    }
    #expect(throws: Refused(floats: 1 << 61, what: "weight tensor 'fc1.weight'")) {
      try p.appendLinear(reader, name: "fc1", hasBias: true, batchNorm: nil, inFeatures: 1 << 31, outFeatures: 1 << 30)
    }
    #expect(throws: Refused(floats: 1 << 61, what: "batch norm 'bn1'")) {
      try p.appendBatchNorm(reader, NetcBatchNorm(name: "bn1", eps: 1e-5, affine: true), channels: 1 << 61)
    }
    #expect(reader.reads.isEmpty && p.layers.isEmpty)
    let plain = NetcPreparedWeights()
    #expect(error { try plain.appendLinear(reader, name: "fc1", hasBias: false, batchNorm: nil, inFeatures: 1 << 40, outFeatures: 1 << 40) }
      == "cannot allocate more than 2^63 bytes for weight tensor 'fc1.weight'")
    // A tensor the reader lacks is the reader's error.
    #expect(error { try plain.appendLinear(reader, name: "fc1", hasBias: false, batchNorm: nil, inFeatures: 2, outFeatures: 2) }
      == "no tensor 'fc1.weight'")
  }
}
