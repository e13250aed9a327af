// Fuzz target: the input of `netc run` through the checks the command uses (RunInput): the first byte
// chooses '--input random' (a batch and a seed from the next bytes) or an .npy file (the rest), for the
// input 3x8x8 of Fuzz/seeds/tiny.net under a 1 MiB memory limit. Run by scripts/fuzz.sh.
import NetcDriver
import NetcOps
import NetcSema
import NetcTensors

let item = Shape([3, 8, 8])
/// Small: a fuzzed batch or shape is refused by the limit, and random inputs stay quick to make.
let memoryLimit = 1 << 20

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRunInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  guard let mode = bytes.first else { return 0 }
  if mode & 1 == 0 {
    guard bytes.count >= 5 else { return 0 }
    // A batch up to 65,535 (the CLI allows 65,536): the larger ones must be refused by the limit.
    let batch = Int(bytes[1]) | Int(bytes[2]) << 8
    let seed = Int(bytes[3]) | Int(bytes[4]) << 8
    guard let input = try? RunInput.random(item: item, batch: batch, seed: seed, memoryLimit: memoryLimit) else {
      precondition(batch * 192 * 4 > memoryLimit, "batch \(batch) refused within the limit")
      return 0
    }
    precondition(input.batch == batch && input.count == batch * 192, "random input of the wrong size")
    precondition(input.withValues { $0.allSatisfy(\.isFinite) }, "random input not finite")
    return 0
  }
  let file = Array(bytes.dropFirst())
  var beyond = false
  let read = { (range: Range<Int>) -> [UInt8] in
    // RunInput reads only ranges inside the file it was told of.
    if range.lowerBound < 0 || range.upperBound > file.count { beyond = true }
    return Array(file[max(0, min(range.lowerBound, file.count))..<max(0, min(range.upperBound, file.count))])
  }
  guard let input = try? RunInput.tensor(path: "x.npy", item: item, memoryLimit: memoryLimit, fileSize: file.count, read: read)
  else {
    precondition(!beyond, "a read outside the file")
    return 0
  }
  precondition(!beyond, "a read outside the file")
  precondition(input.batch >= 1 && input.count == input.batch * 192, "\(input.count) values for batch \(input.batch)")
  precondition(input.count * 4 <= memoryLimit, "an input beyond the memory limit was accepted")
  precondition(input.warnings.isEmpty == input.withValues { $0.allSatisfy(\.isFinite) }, "non-finite values without a warning")
  return 0
}
