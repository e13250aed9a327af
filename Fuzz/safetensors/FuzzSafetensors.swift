// Fuzz target: any bytes as a safetensors weight file, parsed and loaded for a small network with a
// convolution, batch norm and a linear layer (Fuzz/seeds/tiny.net), and imported for it as a PyTorch
// state_dict (`netc weights import`). Run by scripts/fuzz.sh.
import NetcDriver
import NetcIR
import NetcSema
import NetcTensors

/// Fuzz/seeds/tiny.net: scripts/fuzz.sh makes the seed weight files from the same spec.
let network: CheckedNetwork = {
  let path = String(#filePath.dropLast("safetensors/FuzzSafetensors.swift".count)) + "seeds/tiny.net"
  guard case .success(let bytes) = Pipeline.read(path: path), let net = Pipeline.compile(path: path, bytes: bytes).network else {
    fatalError("cannot load the fuzz target's network from \(path)")
  }
  return net
}()
let graph = Lowering.lower(network)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  if let entries = try? SafeTensors.entries(bytes) {
    for e in entries { precondition(e.range.lowerBound >= 0 && e.range.upperBound <= bytes.count, "entry outside the file") }
    if let imported = try? StateDictImport(network, entries: entries) {
      _ = imported.diagnostics(network, file: "fuzz.safetensors")
      if !imported.pairing.hasErrors, let tensors = try? imported.tensors(read: { Array(bytes[$0]) }) {
        precondition(tensors.map(\.name) == graph.tensors.map(\.name), "imported tensors named otherwise than netc's")
        for (t, w) in zip(tensors, graph.tensors) { precondition(t.data.count == w.shape.reduce(1, *), "tensor '\(t.name)' imported with the wrong size") }
      }
    }
  }
  if let weights = try? WeightLoader.load(graph, safetensors: bytes) {
    for t in graph.tensors {
      precondition(weights[t.name]?.count == t.shape.reduce(1, *), "tensor '\(t.name)' loaded with the wrong size")
    }
  }
  return 0
}
