/// ONNX's messages, as much of them as netc writes, and their encoding. Field numbers are onnx.proto's
/// (checked against the `onnx` Python package: `onnx.ModelProto.DESCRIPTOR.fields_by_name[...].number`);
/// the Swift test decodes an emitted model field by field, and the parity test loads every spec's model
/// with `onnx.checker.check_model(full_check=True)` and runs it with ONNX Runtime.
import NetcOps

enum ONNXField {
  enum Model { static let irVersion = 1, producerName = 2, producerVersion = 3, docString = 6, graph = 7, opsetImport = 8 }
  enum OperatorSetID { static let domain = 1, version = 2 }
  enum Graph { static let node = 1, name = 2, initializer = 5, docString = 10, input = 11, output = 12, valueInfo = 13 }
  enum Node { static let input = 1, output = 2, name = 3, opType = 4, attribute = 5, docString = 6 }
  enum Attribute { static let name = 1, f = 2, i = 3, s = 4, floats = 7, ints = 8, type = 20 }
  /// AttributeProto.AttributeType.
  enum AttributeType { static let float = 1, int = 2, string = 3, floats = 6, ints = 7 }
  enum Tensor { static let dims = 1, dataType = 2, name = 8, rawData = 9, externalData = 13, dataLocation = 14 }
  /// TensorProto.DataLocation.
  enum DataLocation { static let external = 1 }
  enum StringStringEntry { static let key = 1, value = 2 }
  /// TensorProto.DataType.
  enum DataType { static let float = 1, int64 = 7 }
  enum ValueInfo { static let name = 1, type = 2 }
  enum TypeProto { static let tensorType = 1 }
  enum TypeTensor { static let elemType = 1, shape = 2 }
  enum TensorShape { static let dim = 1 }
  enum Dimension { static let dimValue = 1, dimParam = 2 }
}

/// One attribute of a node.
extension ONNXAttribute {
  func write(_ w: inout ProtobufWriter) {
    typealias F = ONNXField.Attribute
    typealias T = ONNXField.AttributeType
    w.string(F.name, name)
    switch value {
    case .int(let v): w.int(F.type, T.int); w.int(F.i, v)
    case .float(let v): w.int(F.type, T.float); w.float(F.f, v)
    case .string(let v): w.int(F.type, T.string); w.string(F.s, v)
    case .ints(let v): w.int(F.type, T.ints); w.ints(F.ints, v)
    case .floats(let v): w.int(F.type, T.floats); for x in v { w.float(F.floats, x) }
    }
  }
}

/// One node: an operator of the default domain (ai.onnx), its inputs and outputs by tensor name. An
/// empty input name is an omitted optional input.
struct ONNXNode {
  var opType: String
  var name: String
  var inputs: [String]
  var outputs: [String]
  var attributes: [ONNXAttribute] = []
  /// The spec line the node comes from (Netron shows it as the node's description).
  var docString = ""

  func write(_ w: inout ProtobufWriter) {
    typealias F = ONNXField.Node
    for i in inputs { w.string(F.input, i) }
    for o in outputs { w.string(F.output, o) }
    w.string(F.name, name)
    w.string(F.opType, opType)
    for a in attributes { w.message(F.attribute) { a.write(&$0) } }
    if !docString.isEmpty { w.string(F.docString, docString) }
  }
}

/// A constant tensor (an initializer): float32 or int64, stored as raw little-endian bytes, in the model
/// or, for a float32 tensor, in a file beside it (ONNX's external data).
struct ONNXTensor {
  enum Data {
    case float([Float])
    case int64([Int])
  }
  var name: String
  var dims: [Int]
  var data: Data
  /// Where its bytes are when they are not in the model: the external data entries onnx writes.
  var external: ONNXSideFile.Place?

  func write(_ w: inout ProtobufWriter) {
    typealias F = ONNXField.Tensor
    w.ints(F.dims, dims)
    switch data {
    case .float(let xs):
      w.int(F.dataType, ONNXField.DataType.float)
      w.string(F.name, name)
      if let external {
        for (key, value) in [("location", external.location), ("offset", String(external.offset)),
                             ("length", String(external.length))] {
          w.message(F.externalData) { e in
            e.string(ONNXField.StringStringEntry.key, key)
            e.string(ONNXField.StringStringEntry.value, value)
          }
        }
        w.int(F.dataLocation, ONNXField.DataLocation.external)
      } else {
        w.floatData(F.rawData, xs)
      }
    case .int64(let xs):
      w.int(F.dataType, ONNXField.DataType.int64)
      w.string(F.name, name)
      var raw: [UInt8] = []
      raw.reserveCapacity(xs.count * 8)
      for x in xs {
        let u = UInt64(bitPattern: Int64(x))
        for k in 0..<8 { raw.append(UInt8(u >> (8 * UInt64(k)) & 0xFF)) }
      }
      w.data(F.rawData, raw)
    }
  }
}

/// A float32 tensor's name and shape; `nil` dimensions are the symbolic batch size.
struct ONNXValueInfo {
  var name: String
  var dims: [Int?]

  func write(_ w: inout ProtobufWriter, batchName: String) {
    w.string(ONNXField.ValueInfo.name, name)
    w.message(ONNXField.ValueInfo.type) { t in
      t.message(ONNXField.TypeProto.tensorType) { tt in
        tt.int(ONNXField.TypeTensor.elemType, ONNXField.DataType.float)
        tt.message(ONNXField.TypeTensor.shape) { s in
          for d in dims {
            s.message(ONNXField.TensorShape.dim) { dim in
              if let d { dim.int(ONNXField.Dimension.dimValue, d) } else { dim.string(ONNXField.Dimension.dimParam, batchName) }
            }
          }
        }
      }
    }
  }
}

/// A whole model: one graph, operators of the default domain at one opset version.
struct ONNXModel {
  var irVersion: Int
  var opset: Int
  var producerName: String
  var producerVersion: String
  var docString: String
  var graphName: String
  var nodes: [ONNXNode]
  var initializers: [ONNXTensor]
  var inputs: [ONNXValueInfo]
  var outputs: [ONNXValueInfo]
  var valueInfo: [ONNXValueInfo]
  var batchName: String

  func serialized() -> [UInt8] { write(ProtobufWriter()).bytes }

  /// The size `serialized()` would have, counted without making it.
  func serializedSize() -> Int { write(ProtobufWriter(measuring: true)).count }

  private func write(_ writer: ProtobufWriter) -> ProtobufWriter {
    typealias M = ONNXField.Model
    var w = writer
    w.int(M.irVersion, irVersion)
    w.string(M.producerName, producerName)
    w.string(M.producerVersion, producerVersion)
    w.string(M.docString, docString)
    w.message(M.graph) { writeGraph(&$0) }
    w.message(M.opsetImport) { o in
      o.string(ONNXField.OperatorSetID.domain, "")
      o.int(ONNXField.OperatorSetID.version, opset)
    }
    return w
  }

  private func writeGraph(_ w: inout ProtobufWriter) {
    typealias G = ONNXField.Graph
    for n in nodes { w.message(G.node) { n.write(&$0) } }
    w.string(G.name, graphName)
    for t in initializers { w.message(G.initializer) { t.write(&$0) } }
    for v in inputs { w.message(G.input) { v.write(&$0, batchName: batchName) } }
    for v in outputs { w.message(G.output) { v.write(&$0, batchName: batchName) } }
    for v in valueInfo { w.message(G.valueInfo) { v.write(&$0, batchName: batchName) } }
  }
}
