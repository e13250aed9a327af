// The driver parity.py and bench/bench.py compile beside an emitted network: runs it on an .npy input,
// writes its output as .npy, and each side output k = 1, 2, ... beside it (OUTPUT with '.npy' replaced by
// '.k.npy'). With --serve (benchmarks), it then prints 'ready' and runs once more for each line read from
// standard input, printing that run's time in milliseconds.
//   net WEIGHTS.safetensors INPUT.npy OUTPUT.npy [--serve]
import Foundation

func readNPY(_ path: String) -> (shape: [Int], data: [Float]) {
  let bytes = [UInt8](FileManager.default.contents(atPath: path)!)
  let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
  let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
  precondition(header.contains("'<f4'") && header.contains("'fortran_order': False"), "parity inputs are C-order float32")
  let inner = header[header.range(of: "(")!.upperBound..<header.range(of: ")")!.lowerBound]
  let shape = inner.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
  let start = 10 + headerLength
  let count = shape.reduce(1, *)
  let data = bytes[start...].withUnsafeBytes { raw in (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
  return (shape, data)
}

func writeNPY(_ path: String, _ shape: [Int], _ data: [Float]) {
  var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(shape.map(String.init).joined(separator: ", ")),), }"
  while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
  header += "\n"
  var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
  out += Array(header.utf8)
  data.withUnsafeBytes { out += $0 }
  _ = FileManager.default.createFile(atPath: path, contents: Data(out))
}

let args = CommandLine.arguments
let (shape, input) = readNPY(args[2])
do {
  let net = try NetcNetwork(weightsPath: args[1], batch: shape[0])
  let outputs = net(input)
  writeNPY(args[3], [shape[0]] + NetcNetwork.outputShapes[0], outputs[0])
  for k in outputs.indices.dropFirst() {
    writeNPY(String(args[3].dropLast(".npy".count)) + ".\(k).npy", [shape[0]] + NetcNetwork.outputShapes[k], outputs[k])
  }
  if args.count > 4 && args[4] == "--serve" {
    print("ready")
    fflush(stdout)
    while readLine() != nil {
      let t0 = DispatchTime.now().uptimeNanoseconds
      _ = net(input)
      let t1 = DispatchTime.now().uptimeNanoseconds
      print(Double(t1 - t0) / 1e6)
      fflush(stdout)
    }
  }
} catch {
  FileHandle.standardError.write(Data("error: \(error)\n".utf8))
  exit(1)
}
