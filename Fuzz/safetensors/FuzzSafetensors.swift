// Fuzz target: any bytes as a safetensors weight file, parsed and loaded for a small network with a
// convolution, batch norm and a linear layer (Fuzz/seeds/tiny.net). Run by scripts/fuzz.sh.
import NetcDriver
import NetcIR
import NetcTensors

/// Fuzz/seeds/tiny.net: scripts/fuzz.sh makes the seed weight files from the same spec.
let graph: LoweredGraph = {
  let path = String(#filePath.dropLast("safetensors/FuzzSafetensors.swift".count)) + "seeds/tiny.net"
  guard case .success(let bytes) = Pipeline.read(path: path), let net = Pipeline.compile(path: path, bytes: bytes).network else {
    fatalError("cannot load the fuzz target's network from \(path)")
  }
  return Lowering.lower(net)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  if let entries = try? SafeTensors.entries(bytes) {
    for e in entries { precondition(e.range.lowerBound >= 0 && e.range.upperBound <= bytes.count, "entry outside the file") }
  }
  if let weights = try? WeightLoader.load(graph, safetensors: bytes) {
    for t in graph.tensors {
      precondition(weights[t.name]?.count == t.shape.reduce(1, *), "tensor '\(t.name)' loaded with the wrong size")
    }
  }
  return 0
}
