// Fuzz target: the input of `netc run` through the checks the command uses (RunInput), under a 1 MiB memory
// limit. The first byte chooses:
// - bit 0 clear: '--input random', with a batch and a seed from the next four bytes and, when three more
//   follow, the network's input size from them (1 to 256 each of C, H and W; else Fuzz/seeds/tiny.net's
//   3x8x8);
// - bit 0 set: an .npy file (the rest) for the input 3x8x8; with bit 1 set too, the next two bytes are an
//   explicit '--batch', which the file's batch must equal.
// Run by scripts/fuzz.sh.
import NetcDriver
import NetcOps
import NetcSema
import NetcTensors

let tinyItem = Shape([3, 8, 8])
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
    let item = bytes.count >= 8 ? Shape(bytes[5...7].map { Int($0) + 1 }) : tinyItem
    let itemCount = item.dims.reduce(1, *)
    guard let input = try? RunInput.random(item: item, batch: batch, seed: seed, memoryLimit: memoryLimit) else {
      precondition(batch < 1 || batch * itemCount * 4 > memoryLimit, "batch \(batch) of \(item) refused within the limit")
      return 0
    }
    precondition(input.batch == batch && input.count == batch * itemCount, "random input of the wrong size")
    precondition(input.withValues { $0.allSatisfy(\.isFinite) }, "random input not finite")
    return 0
  }
  let given = mode & 2 != 0 && bytes.count >= 3 ? Int(bytes[1]) | Int(bytes[2]) << 8 : nil
  let file = Array(bytes.dropFirst(given == nil ? 1 : 3))
  var beyond = false
  let read = { (range: Range<Int>) -> [UInt8] in
    // RunInput reads only ranges inside the file it was told of.
    if range.lowerBound < 0 || range.upperBound > file.count { beyond = true }
    return Array(file[max(0, min(range.lowerBound, file.count))..<max(0, min(range.upperBound, file.count))])
  }
  guard let input = try? RunInput.tensor(path: "x.npy", item: tinyItem, given: given, memoryLimit: memoryLimit,
                                         fileSize: file.count, read: read)
  else {
    precondition(!beyond, "a read outside the file")
    return 0
  }
  precondition(!beyond, "a read outside the file")
  precondition(input.batch >= 1 && input.count == input.batch * 192, "\(input.count) values for batch \(input.batch)")
  precondition(given == nil || input.batch == given, "a file of batch \(input.batch) accepted for '--batch \(given!)'")
  precondition(input.count * 4 <= memoryLimit, "an input beyond the memory limit was accepted")
  precondition(input.warnings.isEmpty == input.withValues { $0.allSatisfy(\.isFinite) }, "non-finite values without a warning")
  return 0
}
