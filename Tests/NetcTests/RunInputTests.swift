import Foundation
import NetcBasic
import NetcDriver
import NetcIR
import NetcKernels
import NetcRuntime
import NetcTensors
import Testing

/// `netc run` and the interpreter refuse inputs, batches and networks they cannot run with one error and
/// exit status 1, before allocating or drawing anything: never a crash, a trap or an over-read.
@Suite(.serialized) struct RunInputTests {
  let dir: URL = {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("netc-run-input-tests-\(getpid())")
    try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
    return d
  }()
  let lenet = Paths.spec("lenet5").path

  func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

  func write(_ name: String, _ source: String) -> String {
    let p = path(name)
    #expect(FileManager.default.createFile(atPath: p, contents: Data(source.utf8)))
    return p
  }

  func npy(_ name: String, shape: [Int], seed: Float = 0) throws -> String {
    let count = shape.reduce(1, *)
    let values = (0..<count).map { Float($0 % 7) * 0.25 - seed }
    try Data(NPY.write(shape: shape, data: values)).write(to: URL(fileURLWithPath: path(name)))
    return path(name)
  }

  func lenetWeights() -> String {
    let w = path("lenet.safetensors")
    if !FileManager.default.fileExists(atPath: w) { _ = Driver.run(["init", lenet, "-o", w]) }
    return w
  }

  /// A tensor without a batch dimension is one item; an explicit '--batch' must agree with the file. Once
  /// `--batch 2` on a [1, 32, 32] tensor computed item 1 from memory after the input, and `--batch 64`
  /// crashed in the input copy.
  @Test func inputBatchMustAgreeWithTheFile() throws {
    let w = lenetWeights()
    let item = try npy("item.npy", shape: [1, 32, 32])
    let one = try npy("one.npy", shape: [1, 1, 32, 32])
    let three = try npy("three.npy", shape: [3, 1, 32, 32])
    let refused: [([String], String)] = [
      ([item, "--batch", "2"], "'\(item)' holds one item of shape [1, 32, 32] but '--batch 2' asks for 2; leave out '--batch' or give a tensor of shape [2, 1, 32, 32]"),
      ([item, "--batch", "64"], "but '--batch 64' asks for 64"),
      ([one, "--batch", "64"], "'\(one)' holds a batch of 1 but '--batch 64' asks for 64"),
      ([three, "--batch", "2"], "'\(three)' holds a batch of 3 but '--batch 2' asks for 2"),
      ([three, "--batch", "2", "--serve"], "holds a batch of 3 but '--batch 2' asks for 2"),
      ([three, "--batch", "2", "--profile"], "holds a batch of 3 but '--batch 2' asks for 2"),
      ([try npy("flat.npy", shape: [2, 32, 32])], "holds a tensor of shape [2, 32, 32]; this network takes [N, 1, 32, 32] (or [1, 32, 32] for one item)"),
      ([try npy("empty.npy", shape: [0, 1, 32, 32])], "holds an empty batch"),
    ]
    for (args, message) in refused {
      let r = Driver.run(["run", lenet, "--weights", w, "--input"] + args)
      #expect(r.status == 1, "\(args)")
      #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
      #expect(r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)")
      #expect(r.stdout.isEmpty, "\(args)")
    }
    // The same values with and without the batch dimension give the same output.
    let y1 = path("y-item.npy"), y2 = path("y-one.npy")
    #expect(Driver.run(["run", lenet, "--weights", w, "--input", item, "-o", y1]).status == 0)
    #expect(Driver.run(["run", lenet, "--weights", w, "--input", one, "--batch", "1", "-o", y2]).status == 0)
    let a = try Data(contentsOf: URL(fileURLWithPath: y1)), b = try Data(contentsOf: URL(fileURLWithPath: y2))
    #expect(a == b)
    #expect(try NPY.read([UInt8](a)).shape == [1, 2])
    let batch = Driver.run(["run", lenet, "--weights", w, "--input", three, "--batch", "3", "--profile"])
    #expect(batch.status == 0, "\(batch.stderr)")
    #expect(batch.stdout.hasPrefix("output: 3x2 (the network's softmax probabilities)\ntop 2 classes:\nitem 0:\n"))
    #expect(batch.stderr.hasPrefix("time per node, median of 5 runs"))
  }

  /// The interpreter's public API checks the input's count: its kernels check nothing.
  @Test func interpreterRefusesAWrongSizedInput() throws {
    let g = Lowering.lower(try network("input 1x2x2\nconv 1x1 1\n"))
    let weights: [String: [Float]] = ["conv1.weight": [2], "conv1.bias": [1]]
    let interpreter = try Interpreter(graph: g, plan: BufferPlan(g), weights: weights, batch: 2)
    #expect(interpreter.inputCount == 8)
    for wrong in [[Float](), [Float](repeating: 1, count: 4), [Float](repeating: 1, count: 9)] {
      do {
        _ = try interpreter.run(wrong)
        Issue.record("an input of \(wrong.count) values was run")
      } catch let e as InterpreterError {
        #expect(e.kind == .wrongInput)
        #expect(e.message == "the input holds \(wrong.count) values; a batch of 2 of 1x2x2 takes 8")
      }
      #expect(throws: InterpreterError.self) { try wrong.withUnsafeBufferPointer { try interpreter.runInPlace($0) } }
      #expect(throws: InterpreterError.self) { try wrong.withUnsafeBufferPointer { _ = try interpreter.profile($0) } }
    }
    let y = try interpreter.run([1, 2, 3, 4, 0, 0, 0, -1])
    #expect(y == [[3, 5, 7, 9, 1, 1, 1, -1]])
    #expect(Array(interpreter.output(0, item: 1)) == [1, 1, 1, -1])
    #expect(throws: InterpreterError.self) {
      _ = try Interpreter(graph: g, plan: BufferPlan(g), weights: weights, batch: 0)
    }
  }

  /// Every limit is checked before the random input is drawn or anything allocated. Once the input of
  /// 3x100000x100000 was drawn first (a trap allocating 120 GB), and 1x30000x30000 spent minutes drawing
  /// what the limit then refused.
  @Test func limitsComeBeforeTheInput() throws {
    let cases: [(String, String)] = [
      ("input 3x100000x100000\nconv 1x1 1\n",
       "running this network at batch 1 needs 280,001,050,624 bytes (activations 160,001,050,624, input 120,000,000,000), above the limit of 16,384 MiB (17,179,869,184 bytes); raise '--memory-limit'"),
      ("input 1x30000x30000\nconv 1x1 4\n",
       "running this network at batch 1 needs 21,601,050,624 bytes (activations 18,001,050,624, input 3,600,000,000), above the limit of 16,384 MiB (17,179,869,184 bytes); raise '--memory-limit'"),
    ]
    for (i, (source, message)) in cases.enumerated() {
      let spec = write("limit\(i).net", source), w = path("limit\(i).safetensors")
      #expect(Driver.run(["init", spec, "-o", w]).status == 0)
      let t0 = Date()
      let r = Driver.run(["run", spec, "--weights", w, "--input", "random"])
      #expect(r.status == 1)
      #expect(r.stderr == "netc: error: \(message)\n")
      // Drawing the smaller input alone took over 20 s; the check takes milliseconds.
      #expect(Date().timeIntervalSince(t0) < 5)
      // With '--batch' given, before the input file is read (here there is none).
      let file = Driver.run(["run", spec, "--weights", w, "--input", path("absent.npy"), "--batch", "1"])
      #expect(file.stderr == "netc: error: \(message)\n")
    }
  }

  /// The input, and the output `-o` writes, count toward '--memory-limit' beside the activations.
  @Test func inputAndOutputCountTowardTheLimit() throws {
    let spec = write("budget.net", "input 3x512x512\nconv 3x3 8 p1\n"), w = path("budget.safetensors")
    #expect(Driver.run(["init", spec, "-o", w]).status == 0)
    let g = Lowering.lower(try network(try readText(URL(fileURLWithPath: spec))))
    let activations = try #require(Interpreter.activationBytes(graph: g, plan: BufferPlan(g), batch: 2))
    let input = 2 * 3 * 512 * 512 * 4, output = 2 * 8 * 512 * 512 * 4
    let fits = (activations + input) >> 20 + 1
    #expect((activations + input + output) >> 20 >= fits)
    let run = ["run", spec, "--weights", w, "--input", "random", "--batch", "2", "--memory-limit", "\(fits)"]
    #expect(Driver.run(run).status == 0)
    let tight = Driver.run(Array(run.dropLast()) + ["\(activations >> 20 + 1)"])
    #expect(tight.status == 1)
    #expect(tight.stderr.contains("(activations \(grouped(activations)), input \(grouped(input))), above the limit of"))
    #expect(tight.stderr.hasSuffix("; lower '--batch' or raise '--memory-limit'\n"))
    let out = path("budget-out.npy")
    let writing = Driver.run(run + ["-o", out])
    #expect(writing.status == 1)
    #expect(writing.stderr.contains("input \(grouped(input)), output \(grouped(output))), above the limit of \(grouped(fits)) MiB (\(grouped(fits << 20)) bytes)"))
    #expect(!FileManager.default.fileExists(atPath: out))
  }

  /// `-o` writes the .npy straight from the arena: the same bytes as NPY.write of the values.
  @Test func outputFileIsTheInterpretersOutput() throws {
    let spec = write("out.net", "input 2x3x3\nconv 1x1 3\nconv 3x3 2\n")
    let weights = WeightLoader.heInit(Lowering.lower(try network(try readText(URL(fileURLWithPath: spec)))), seed: 3)
    let w = path("out.safetensors"), x = try npy("out-x.npy", shape: [2, 2, 3, 3], seed: 0.5), y = path("out-y.npy")
    try Data(SafeTensors.write(weights)).write(to: URL(fileURLWithPath: w))
    #expect(Driver.run(["run", spec, "--weights", w, "--input", x, "-o", y]).status == 0)
    let g = Lowering.lower(try network(try readText(URL(fileURLWithPath: spec))))
    var byName: [String: [Float]] = [:]
    for t in weights { byName[t.name] = t.data }
    let interpreter = try Interpreter(graph: g, plan: BufferPlan(g), weights: byName, batch: 2)
    let input = try NPY.read([UInt8](Data(contentsOf: URL(fileURLWithPath: x)))).data
    let expected = NPY.write(shape: [2, 2, 1, 1], data: try interpreter.run(input)[0])
    #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: y))) == expected)
  }

  /// The top five of a classifier: after a softmax, largest first, the lower class first among equals;
  /// NaN outputs print without a crash.
  @Test func summaryRanksClasses() throws {
    let spec = write("cls.net", "input 7\nfc 7\n"), w = path("cls.safetensors")
    var identity = [Float](repeating: 0, count: 49)
    for i in 0..<7 { identity[i * 7 + i] = 1 }
    try Data(SafeTensors.write([("fc1.weight", [7, 7], identity), ("fc1.bias", [7], [Float](repeating: 0, count: 7))]))
      .write(to: URL(fileURLWithPath: w))
    let logits: [Float] = [1, 3, 3, 2, -1, 0, 5]
    let x = path("cls-x.npy")
    try Data(NPY.write(shape: [7], data: logits)).write(to: URL(fileURLWithPath: x))
    let r = Driver.run(["run", spec, "--weights", w, "--input", x])
    #expect(r.status == 0, "\(r.stderr)")
    let total = logits.reduce(0.0) { $0 + exp(Double($1 - 5)) }
    let expected = [6, 1, 2, 3, 0].map {
      "  class \($0): \(fixed(exp(Double(logits[$0] - 5)) / total, 4))  (score \(fixed(Double(logits[$0]), 4)))\n"
    }.joined()
    #expect(r.stdout == "output: 1x7 (raw scores: the network ends without a softmax)\n"
      + "top 5 classes, with probabilities from a softmax applied for display:\n" + expected)
    let nan = path("cls-nan.safetensors")
    try Data(SafeTensors.write([("fc1.weight", [7, 7], [Float](repeating: .nan, count: 49)), ("fc1.bias", [7], [Float](repeating: 0, count: 7))]))
      .write(to: URL(fileURLWithPath: nan))
    let n = Driver.run(["run", spec, "--weights", nan, "--input", x])
    #expect(n.status == 0)
    #expect(n.stdout.split(separator: "\n").count == 7)
  }

  /// A plan file runs through the same checks as its spec.
  @Test func planFilesCheckTheirInput() throws {
    let plan = path("lenet.plan")
    #expect(Driver.run(["emit", "--target", "plan", lenet, "-o", plan]).status == 0)
    let item = try npy("plan-item.npy", shape: [1, 32, 32])
    let r = Driver.run(["run", plan, "--weights", lenetWeights(), "--input", item, "--batch", "4"])
    #expect(r.status == 1)
    #expect(r.stderr.contains("holds one item of shape [1, 32, 32] but '--batch 4' asks for 4"))
  }

  @Test func runOptionsOutOfRange() {
    let w = lenetWeights()
    let cases: [([String], String)] = [
      (["--batch", "0"], "'--batch' must be an integer from 1 to 65,536, found '0'"),
      (["--batch", "65537"], "'--batch' must be an integer from 1 to 65,536, found '65537'"),
      (["--memory-limit", "0"], "'--memory-limit' must be an integer from 1 to 1,073,741,824, found '0'"),
      (["--memory-limit", "1073741825"], "found '1073741825'"),
      (["--seed", "-1"], "'--seed' must be an integer from 0"),
      (["--seed", "99999999999999999999"], "'--seed' must be an integer from 0"),
    ]
    for (args, message) in cases {
      let r = Driver.run(["run", lenet, "--weights", w, "--input", "random"] + args)
      #expect(r.status == 2, "\(args)")
      #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
    }
  }

  /// `netc init` and `netc emit --target onnx` make every weight in memory: a network whose weights no
  /// file or model could hold is refused before any is drawn (it once trapped allocating 40 GB). An ONNX
  /// model's weights may pass protobuf's 2 GiB (they go to its external data) but not the 4 GiB of the
  /// largest weight file.
  @Test func absurdWeightsAreRefusedBeforeDrawing() throws {
    let spec = write("fc-huge.net", "input 100000\nfc 100000\n")
    let w = path("fc-huge.safetensors"), onnx = path("fc-huge.onnx")
    let cases: [([String], String, String)] = [
      (["init", spec, "-o", w], w, "the weights of this network would take 40,000,400,000 bytes in f32, above the limit of 4,294,967,296 for a weight file"),
      (["init", spec, "--dtype", "f16", "-o", w], w, "would take 20,000,200,000 bytes in f16"),
      (["emit", "--target", "onnx", spec, "-o", onnx], onnx, "the weights of this network take 40,000,400,000 bytes in f32, above the limit of 4,294,967,296 for a model's weights"),
    ]
    for (args, out, message) in cases {
      let r = Driver.run(args)
      #expect(r.status == 1, "\(args)")
      #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
      #expect(r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)")
      #expect(!FileManager.default.fileExists(atPath: out))
    }
    // With weights given, the model is refused before they are read.
    let given = Driver.run(["emit", "--target", "onnx", spec, "--weights", "/nonexistent.safetensors", "-o", onnx])
    #expect(given.stderr.contains("above the limit of 4,294,967,296 for a model's weights"))
  }

  /// The built executable under an address-space limit: memory the system refuses is a user error naming
  /// what it was for, never the trap it once was (SIGILL, "netc: out of memory").
  @Test func refusedAllocationsAreErrors() throws {
    let exe = Paths.root.appendingPathComponent(".build/debug/netc")
    guard FileManager.default.isExecutableFile(atPath: exe.path) else {
      Issue.record("no built netc at \(exe.path)")
      return
    }
    func run(limitKB: Int, _ args: [String]) throws -> (status: Int32, stderr: String) {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: "/bin/sh")
      p.arguments = ["-c", "ulimit -v \(limitKB) && exec \"$0\" \"$@\"", exe.path] + args
      let err = Pipe()
      p.standardOutput = FileHandle.nullDevice
      p.standardError = err
      try p.run()
      let e = err.fileHandleForReading.readDataToEndOfFile()
      p.waitUntilExit()
      #expect(p.terminationReason == .exit, "\(args) died of signal \(p.terminationStatus)")
      return (p.terminationStatus, String(decoding: e, as: UTF8.self))
    }
    // 11.3 GiB of activations, under the 16 GiB default limit, in an 8 GB address space.
    let arena = write("arena.net", "input 3x2048x2048\nconv 3x3 720 p1\n"), aw = path("arena.safetensors")
    #expect(Driver.run(["init", arena, "-o", aw]).status == 0)
    let a = try run(limitKB: 8_000_000, ["run", arena, "--weights", aw, "--input", "random"])
    #expect(a.status == 1)
    #expect(a.stderr == "netc: error: cannot allocate 12,129,927,168 bytes for the activations at batch 1\n")
    let b = try run(limitKB: 8_000_000, ["run", arena, "--weights", aw, "--input", "random", "--batch", "2", "--memory-limit", "30000"])
    #expect(b.status == 1)
    #expect(b.stderr.hasPrefix("netc: error: cannot allocate "))
    #expect(b.stderr.hasSuffix(" at batch 2; lower '--batch'\n"))
    // A 1 GiB output and a 1 GiB arena, of which a 1.6 GB address space holds one: once a trap copying the
    // outputs out of the arena. The output's buffer is allocated first, so it is the arena that is refused,
    // before anything runs (the output was refused after the whole run).
    let up = write("up.net", "input 1x64x64\nupsample 256\n"), uw = path("up.safetensors"), uy = path("up.npy")
    #expect(Driver.run(["init", up, "-o", uw]).status == 0)
    let u = try run(limitKB: 1_600_000, ["run", up, "--weights", uw, "--input", "random", "-o", uy])
    #expect(u.status == 1)
    #expect(u.stderr == "netc: error: cannot allocate 1,073,758,208 bytes for the activations at batch 1\n")
    // Without '-o' the same run fits.
    #expect(try run(limitKB: 1_600_000, ["run", up, "--weights", uw, "--input", "random"]).status == 0)
    #expect(!FileManager.default.fileExists(atPath: uy))
    // A 1 GiB weight tensor (a sparse file of zeros) in a 600 MB address space.
    let fc = write("fc.net", "input 16384\nfc 16384\n"), fw = path("fc.safetensors")
    var bytes = Array(("{\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[16384,16384],\"data_offsets\":[0,1073741824]},"
      + "\"fc1.bias\":{\"dtype\":\"F32\",\"shape\":[16384],\"data_offsets\":[1073741824,1073807360]}}").utf8)
    while bytes.count % 8 != 0 { bytes.append(0x20) }
    let length = (0..<8).map { UInt8((bytes.count >> (8 * $0)) & 0xFF) }
    #expect(FileManager.default.createFile(atPath: fw, contents: Data(length + bytes)))
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: fw))
    try handle.truncate(atOffset: UInt64(8 + bytes.count + 1_073_807_360))
    try handle.close()
    let f = try run(limitKB: 600_000, ["run", fc, "--weights", fw, "--input", "random"])
    try? FileManager.default.removeItem(atPath: fw)
    #expect(f.status == 1)
    #expect(f.stderr == "netc: error: cannot allocate 1,073,741,824 bytes for weight tensor 'fc1.weight'\n")
  }
}
