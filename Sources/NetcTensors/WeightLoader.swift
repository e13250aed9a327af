import NetcBasic
import NetcIR
import NetcSema

/// Loads a network's weights from safetensors bytes: every tensor the graph needs must be there with its
/// exact shape; anything else is an error naming the tensor, the expected and the found.
public enum WeightLoader {
  public static func load(_ graph: LoweredGraph, safetensors bytes: [UInt8]) throws -> [String: [Float]] {
    let entries = try SafeTensors.entries(bytes)
    var byName: [String: SafeTensors.Entry] = [:]
    for e in entries { byName[e.name] = e }
    var out: [String: [Float]] = [:]
    var missing: [String] = []
    for t in graph.tensors {
      guard let e = byName[t.name] else { missing.append(t.name); continue }
      guard e.shape == t.shape else {
        throw TensorFileError("tensor '\(t.name)': expected shape \(t.shape), found \(e.shape)")
      }
      out[t.name] = FloatBits.decode(bytes[e.range], e.type)
    }
    if !missing.isEmpty {
      let list = missing.prefix(3).map { "'\($0)'" }.joined(separator: ", ") + (missing.count > 3 ? " and \(missing.count - 3) more" : "")
      throw TensorFileError("the weight file lacks \(missing.count) tensor\(missing.count == 1 ? "" : "s") this network needs: \(list)")
    }
    let known = Set(graph.tensors.map(\.name))
    // PyTorch's batch norm also saves a step counter; it does not affect inference.
    let extra = entries.map(\.name).filter { !known.contains($0) && !$0.hasSuffix(".num_batches_tracked") }.sorted()
    if !extra.isEmpty {
      let list = extra.prefix(3).map { "'\($0)'" }.joined(separator: ", ") + (extra.count > 3 ? " and \(extra.count - 3) more" : "")
      throw TensorFileError("the weight file has \(extra.count) tensor\(extra.count == 1 ? "" : "s") this network does not: \(list) (is it for another network?)")
    }
    return out
  }
}
