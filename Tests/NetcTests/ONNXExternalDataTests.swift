import Foundation
import NetcBackends
import NetcDriver
import NetcIR
import NetcTensors
import Testing

/// ONNX's external data (TensorProto: external_data 13, StringStringEntryProto key 1 and value 2,
/// data_location 14 with EXTERNAL = 1): the weights in `OUT.data` beside the model, read back with the
/// test's own protobuf reader and compared byte for byte with the weight file. In ONNXTests' suite, whose
/// directory and reader they share.
extension ONNXTests {
  func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

  /// LeNet-5's f32 weights, `netc init --seed 7`.
  func lenetWeights() throws -> String {
    let w = path("lenet-f32.safetensors")
    #expect(Driver.run(["init", Paths.spec("lenet5").path, "--seed", "7", "-o", w]).status == 0)
    return w
  }

  /// With `--external-data`, every tensor of at least 1,024 bytes is in the side file at a 4096-aligned
  /// offset, its bytes the weight file's; smaller ones stay in the model. The rest of the model is what the
  /// model with its weights inside holds.
  @Test func sideFileHoldsTheWeights() throws {
    let spec = Paths.spec("lenet5").path
    let w = try lenetWeights()
    let model = path("lenet.onnx")
    let r = Driver.run(["emit", "--target", "onnx", spec, "--weights", w, "--external-data", "-o", model])
    #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
    let m = try DecodedONNX(try bytes(model))
    let side = try bytes(model + ".data")
    let file = try bytes(w)
    let entries = try SafeTensors.entries(file)
    #expect(m.initializers.map { $0.string(8) ?? "" } == entries.map(\.name))
    var end = 0
    var external = 0
    for (t, e) in zip(m.initializers, entries) {
      let weights = Array(file[e.range])
      guard weights.count >= 1024 else {
        #expect(t.int(14) == nil && t.all(13).isEmpty, "\(e.name) is small and stays in the model")
        #expect(t.all(9) == [.bytes(weights)], "\(e.name)")
        continue
      }
      external += 1
      #expect(t.int(14) == 1 && t.all(9).isEmpty, "\(e.name)")
      let keys = try t.messages(13).map { ($0.string(1) ?? "", $0.string(2) ?? "") }
      #expect(keys.map(\.0) == ["location", "offset", "length"], "\(e.name)")
      guard keys.count == 3, let offset = Int(keys[1].1), let length = Int(keys[2].1) else {
        Issue.record("\(e.name): external data \(keys)")
        continue
      }
      #expect(keys[0].1 == "lenet.onnx.data")
      #expect(offset % 4096 == 0 && offset >= end && offset - end < 4096, "\(e.name) at \(offset) after \(end)")
      #expect(length == weights.count, "\(e.name)")
      #expect(side[end..<offset].allSatisfy { $0 == 0 }, "the gap before \(e.name)")
      #expect(offset + length <= side.count && Array(side[offset..<(offset + length)]) == weights, "\(e.name)")
      end = offset + length
    }
    #expect(external == 3, "conv2, fc3 and fc4's weights; the rest are under 1,024 bytes")
    #expect(side.count == end)
    // Apart from where the weights are, the same model as with them inside.
    let inline = path("lenet-inline.onnx")
    #expect(Driver.run(["emit", "--target", "onnx", spec, "--weights", w, "-o", inline]).status == 0)
    func withoutInitializers(_ dump: String) -> [Substring] {
      dump.split(separator: "\n").filter { !$0.hasPrefix("  initializer ") }
    }
    #expect(withoutInitializers(try m.dump()) == withoutInitializers(try DecodedONNX(try bytes(inline)).dump()))
  }

  /// Without the option, the side file is used exactly when the model with its weights inside would reach
  /// the limit (protobuf's 2 GiB; here one byte above or at the model's own size), and the size measured
  /// for that decision is the size written.
  @Test func automaticExactlyAtTheLimit() throws {
    let c = Pipeline.compile(path: "lenet5.net", bytes: try bytes(Paths.spec("lenet5").path))
    let g = Lowering.lower(try #require(c.network))
    let weights = try WeightLoader.load(g, safetensors: try bytes(try lenetWeights()))
    func emit(sideFile: String? = "m.onnx.data", limit: Int = ONNXEmitter.maxModelBytes) throws -> BackendOutput {
      try ONNXEmitter.emit(g, weights: weights, file: c.file, producerVersion: "test", sideFile: sideFile, sizeLimit: limit)
    }
    let inline = try emit()
    #expect(inline.sideFile == nil && inline.inlineSize == nil)
    let size = inline.bytes.count
    let fits = try emit(limit: size + 1)
    #expect(fits.sideFile == nil && fits.bytes == inline.bytes)
    let over = try emit(limit: size)
    #expect(over.inlineSize == size)
    #expect(over.sideFile?.name == "m.onnx.data" && (over.sideFile?.size ?? 0) > 61_026 * 4 - 4096)
    #expect(over.bytes.count < size - 200_000)
    let requested = try ONNXEmitter.emit(g, weights: weights, file: c.file, producerVersion: "test",
                                         sideFile: "m.onnx.data", externalData: true)
    #expect(requested.bytes == over.bytes && requested.inlineSize == nil)
    #expect(throws: ONNXNeedsSideFile.self) { try emit(sideFile: nil, limit: size) }
  }

  /// The side file is checked as any output is before a byte is written: not an input, a directory or a
  /// device; standard output cannot carry one; the option is for ONNX only, and `netc emit --help` says it.
  @Test func refusals() throws {
    let spec = Paths.spec("lenet5").path
    let w = try lenetWeights()
    func emit(_ args: [String]) -> CommandResult { Driver.run(["emit", "--target", "onnx", spec] + args) }
    #expect(Driver.run(["emit", "--help"]).stdout.contains("--external-data         For onnx: put every weight tensor"))
    let toStdout = emit(["--external-data", "-o", "-"])
    #expect(toStdout.status == 2 && toStdout.stdout.isEmpty)
    #expect(toStdout.stderr.hasPrefix("netc emit: error: '--external-data' writes a second file beside the model, which standard output cannot carry"))
    let swift = Driver.run(["emit", "--target", "swift", spec, "--external-data", "-o", path("x.swift")])
    #expect(swift.status == 2 && swift.stderr.contains("'--external-data' applies to '--target onnx' only"))
    #expect(!FileManager.default.fileExists(atPath: path("x.swift")))

    let directory = path("dir.onnx")
    try FileManager.default.createDirectory(atPath: directory + ".data", withIntermediateDirectories: true)
    let isDirectory = emit(["--external-data", "-o", directory])
    #expect(isDirectory.status == 2 && isDirectory.stderr.contains("'\(directory).data' is a directory"), "\(isDirectory.stderr)")
    #expect(!FileManager.default.fileExists(atPath: directory))

    let model = path("w.onnx")
    try FileManager.default.copyItem(atPath: w, toPath: model + ".data")
    let isInput = emit(["--weights", model + ".data", "--external-data", "-o", model])
    #expect(isInput.status == 2 && isInput.stderr.contains("the output '\(model).data' is the input '\(model).data'"))
    #expect(!FileManager.default.fileExists(atPath: model))
    #expect(try bytes(model + ".data") == (try bytes(w)))
  }

  /// The built executable with the limit lowered for the test (NETC_TEST_ONNX_SIZE_LIMIT): the note on
  /// stderr when the side file is chosen automatically, and the usage error when the model goes to
  /// standard output.
  @Test func automaticThroughTheCommandLine() throws {
    let exe = Paths.root.appendingPathComponent(".build/debug/netc")
    guard FileManager.default.isExecutableFile(atPath: exe.path) else {
      Issue.record("no built netc at \(exe.path)")
      return
    }
    func run(_ out: String, limit: Bool = true) throws -> (Int32, Data, String) {
      let p = Process()
      p.executableURL = exe
      p.arguments = ["emit", "--target", "onnx", Paths.spec("lenet5").path, "-o", out]
      p.environment = limit ? ["NETC_TEST_ONNX_SIZE_LIMIT": "100000"] : [:]
      let stdout = Pipe(), stderr = Pipe()
      (p.standardOutput, p.standardError) = (stdout, stderr)
      try p.run()
      let o = stdout.fileHandleForReading.readDataToEndOfFile()
      let e = stderr.fileHandleForReading.readDataToEndOfFile()
      p.waitUntilExit()
      return (p.terminationStatus, o, String(decoding: e, as: UTF8.self))
    }
    // The size the note gives is the model's with its weights inside, as written without the limit (it
    // depends on the spec's path, which the nodes' source locations name).
    let inline = path("inline.onnx")
    #expect(try run(inline, limit: false).0 == 0)
    let size = try bytes(inline).count
    let digits = String(size)
    var grouped = ""
    for (i, digit) in digits.enumerated() {
      if i > 0 && (digits.count - i) % 3 == 0 { grouped += "," }
      grouped.append(digit)
    }
    let model = path("auto.onnx")
    let (status, _, note) = try run(model)
    #expect(status == 0)
    #expect(note == "netc: note: the ONNX model would be \(grouped) bytes with its weights inside, above the 99,999 bytes one protobuf message can hold: its weights are in '\(model).data' (ONNX external data), which must stay beside it\n")
    #expect(try DecodedONNX(try bytes(model)).initializers.filter { $0.int(14) == 1 }.count == 3)
    let (refused, printed, error) = try run("-")
    #expect(refused == 2 && printed.isEmpty)
    #expect(error.hasPrefix("netc emit: error: the ONNX model would be \(grouped) bytes with its weights inside, above the 99,999 bytes one protobuf message can hold; its weights must go to a file beside it, which standard output cannot carry"))
  }
}
