// Fuzz target: hostile safetensors headers with lying data, loaded for Fuzz/seeds/tiny.net as `netc run`
// loads them (WeightLoader.open, then every tensor read). The input is a 2-byte header length, the header
// and the data: the fuzzer mutates the JSON and the bytes without having to keep the 8-byte length right.
// Run by scripts/fuzz.sh.
import NetcDriver
import NetcIR
import NetcTensors

/// Fuzz/seeds/tiny.net: scripts/fuzz.sh makes the seed weight files from the same spec.
let graph: LoweredGraph = {
  let path = String(#filePath.dropLast("weights/FuzzWeights.swift".count)) + "seeds/tiny.net"
  guard case .success(let bytes) = Pipeline.read(path: path), let net = Pipeline.compile(path: path, bytes: bytes).network else {
    fatalError("cannot load the fuzz target's network from \(path)")
  }
  return Lowering.lower(net)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWeights(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  guard bytes.count >= 2 else { return 0 }
  let headerLength = min(Int(bytes[0]) | Int(bytes[1]) << 8, bytes.count - 2)
  let file = (0..<8).map { UInt8((headerLength >> (8 * $0)) & 0xFF) } + bytes.dropFirst(2)
  var beyond = false
  let read = { (range: Range<Int>) -> [UInt8] in
    if range.lowerBound < 0 || range.upperBound > file.count { beyond = true }
    return Array(file[max(0, min(range.lowerBound, file.count))..<max(0, min(range.upperBound, file.count))])
  }
  if let entries = try? SafeTensors.entries(fileSize: file.count, read: read) {
    // Accepted entries tile the data section: in order, each starts where the one before ends.
    var end = 8 + headerLength
    for e in entries.sorted(by: { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }) {
      precondition(e.range.lowerBound == end, "entries overlap or leave a gap")
      precondition(e.range.count == e.shape.reduce(1, *) * e.elementSize, "an entry's bytes do not match its shape")
      end = e.range.upperBound
    }
    precondition(end == file.count, "bytes after the last entry")
    precondition(Set(entries.map(\.name)).count == entries.count, "a name twice")
  }
  guard let source = try? WeightLoader.open(graph, fileSize: file.count, read: read) else {
    precondition(!beyond, "a read outside the file")
    return 0
  }
  for t in graph.tensors {
    guard let values = try? source.tensor(t.name) else { preconditionFailure("tensor '\(t.name)' checked but not readable") }
    precondition(values.count == t.shape.reduce(1, *), "tensor '\(t.name)' read with the wrong size")
    let bad = values.filter { !$0.isFinite }.count
    let reported = source.nonFinite.first { $0.name == t.name }
    precondition((reported?.nan ?? 0) + (reported?.infinite ?? 0) == bad, "tensor '\(t.name)': \(bad) non-finite values, reported \(String(describing: reported))")
  }
  precondition(!beyond, "a read outside the file")
  _ = NonFinite.warnings(source.nonFinite, file: "w.safetensors")
  return 0
}
