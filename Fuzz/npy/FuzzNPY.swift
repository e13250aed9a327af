// Fuzz target: any bytes as a `.npy` tensor; what loads must hold exactly as many elements as its shape
// says, and write back to a file that reads the same. Run by scripts/fuzz.sh.
import NetcTensors

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPY(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  guard let (shape, values) = try? NPY.read(bytes) else { return 0 }
  precondition(shape.reduce(1, *) == values.count, "shape \(shape) but \(values.count) elements")
  guard let (shape2, values2) = try? NPY.read(NPY.write(shape: shape, data: values)) else {
    preconditionFailure("a file NPY.write made does not read back")
  }
  precondition(shape2 == shape && values2.count == values.count, "the round trip changed the tensor")
  return 0
}
