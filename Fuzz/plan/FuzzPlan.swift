// Fuzz target: any bytes as a plan file (`netc emit --target plan`): JSON parsing, the embedded spec, and
// the check that it lowers to exactly the plan in the file. Run by scripts/fuzz.sh.
import NetcDriver

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPlan(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  _ = try? Pipeline.loadPlan(bytes, batch: 1)
  return 0
}
