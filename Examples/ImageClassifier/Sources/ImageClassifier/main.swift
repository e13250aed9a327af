// Classifies an image with TinyResNet (TinyResNet.net beside this file, compiled by the NetcPlugin build
// plugin): reads a PGM, PPM or BMP file, resizes it bilinearly to the network's input, normalises it,
// and prints the five most likely classes with their probabilities.
import Foundation
import NetcKernels

let usage = """
  OVERVIEW: Classify an image with TinyResNet, a network compiled from TinyResNet.net.

  USAGE: ImageClassifier --weights <file> <image> [<options>]

  ARGUMENTS:
    <image>                 A PGM or PPM file (P5, P6, P2 or P3, 8 or 16 bits) or an uncompressed BMP
                            (24 or 32 bits a pixel).

  OPTIONS:
    --weights <file>        The network's weights (safetensors, F32, F16 or BF16, netc's tensor names;
                            'netc weights init' or 'netc weights import' writes them).
    --labels <file>         The class names, one a line (default: CIFAR-10's ten classes).
    --mean <m,m,m>          Each channel's mean, subtracted from pixels in [0, 1] (default: CIFAR-10's,
                            \(cifar10Mean.map { "\($0)" }.joined(separator: ","))).
    --std <s,s,s>           Each channel's standard deviation, dividing them (default: CIFAR-10's,
                            \(cifar10Std.map { "\($0)" }.joined(separator: ","))).
    --format <format>       text (default) or json.
    --dump-input <file>     Also write the network's input, the preprocessed image, as an .npy file
                            (float32, 1xCxHxW), for 'netc run --input'.
    -h, --help              Show help information.

  The image is resized to the network's input size with bilinear interpolation, as PyTorch's
  interpolate(mode="bilinear", align_corners=False, antialias=False) does; a grey image is repeated
  into three channels. Exit status: 0 success, 1 a bad file, 2 a usage error.

  """

let cifar10Labels = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

struct Options {
  var image: String?
  var weights: String?
  var labels: String?
  var mean = cifar10Mean
  var std = cifar10Std
  var json = false
  var dumpInput: String?
}

struct UsageError: Error {
  var message: String
}

func parseFloats(_ text: String, option: String) throws -> [Float] {
  let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Float($0.trimmingCharacters(in: .whitespaces)) }
  guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0!.isFinite }) else {
    throw UsageError(message: "\(option) takes finite numbers separated by commas, found '\(text)'")
  }
  return values.map { $0! }
}

func parseOptions(_ arguments: [String]) throws -> Options {
  var options = Options()
  var rest = arguments[...]
  func value(_ option: String) throws -> String {
    guard let value = rest.popFirst() else { throw UsageError(message: "\(option) needs a value") }
    return value
  }
  while let argument = rest.popFirst() {
    switch argument {
    case "-h", "--help":
      print(usage, terminator: "")
      exit(0)
    case "--weights": options.weights = try value(argument)
    case "--labels": options.labels = try value(argument)
    case "--mean": options.mean = try parseFloats(try value(argument), option: argument)
    case "--std": options.std = try parseFloats(try value(argument), option: argument)
    case "--dump-input": options.dumpInput = try value(argument)
    case "--format":
      switch try value(argument) {
      case "text": options.json = false
      case "json": options.json = true
      case let other: throw UsageError(message: "--format is text or json, found '\(other)'")
      }
    case let option where option.hasPrefix("-") && option != "-":
      throw UsageError(message: "unknown option '\(option)'")
    default:
      guard options.image == nil else { throw UsageError(message: "one image at a time, found '\(options.image!)' and '\(argument)'") }
      options.image = argument
    }
  }
  guard options.image != nil else { throw UsageError(message: "give the image to classify") }
  guard options.weights != nil else { throw UsageError(message: "give the weights with '--weights FILE'") }
  guard !options.std.contains(0) else { throw UsageError(message: "--std cannot hold 0") }
  return options
}

/// The preprocessed image as a little-endian float32 .npy file of shape (1, C, H, W).
func writeNpy(_ values: [Float], shape: [Int], to path: String) throws {
  var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(shape.map(String.init).joined(separator: ", ")),), }"
  while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
  header += "\n"
  var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 255), UInt8(header.utf8.count >> 8)])
  data.append(contentsOf: Array(header.utf8))
  values.withUnsafeBufferPointer { data.append(Data(buffer: $0)) }
  do {
    try data.write(to: URL(fileURLWithPath: path), options: .atomic)
  } catch {
    throw FileError("cannot write '\(path)': \(error.localizedDescription)")
  }
}

func readLabels(_ path: String?, count: Int) throws -> [String] {
  guard let path else {
    return count == cifar10Labels.count ? cifar10Labels : (0..<count).map { "class \($0)" }
  }
  guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
    throw FileError("cannot read the labels file '\(path)' as UTF-8 text")
  }
  let labels = text.split(whereSeparator: \.isNewline).map(String.init)
  guard labels.count == count else {
    throw FileError("'\(path)' has \(labels.count) labels; the network has \(count) classes")
  }
  return labels
}

/// The five largest probabilities, largest first; of equal ones, the lower class first.
func topFive(_ probabilities: [Float]) -> [(index: Int, probability: Float)] {
  let ranked = probabilities.enumerated().sorted { $0.element > $1.element || ($0.element == $1.element && $0.offset < $1.offset) }
  return ranked.prefix(5).map { ($0.offset, $0.element) }
}

func jsonString(_ text: String) -> String {
  var result = "\""
  for scalar in text.unicodeScalars {
    switch scalar {
    case "\"": result += "\\\""
    case "\\": result += "\\\\"
    case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
    default: result.unicodeScalars.append(scalar)
    }
  }
  return result + "\""
}

func jsonNumber(_ value: Float) -> String { value.isFinite ? "\(value)" : "null" }

func classify(_ options: Options) throws {
  let shape = TinyResNet.inputShape
  let (channels, height, width) = (shape[0], shape[1], shape[2])
  guard options.mean.count == channels, options.std.count == channels else {
    throw UsageError(message: "the network takes \(channels) channels: --mean and --std need \(channels) values each")
  }
  let labels = try readLabels(options.labels, count: TinyResNet.outputShapes[0].reduce(1, *))
  let image = try readImage(path: options.image!)
  let resized = resizeBilinear(try matchChannels(image, to: channels), height: height, width: width)
  let input = normalize(resized, mean: options.mean, std: options.std)
  if let path = options.dumpInput { try writeNpy(input, shape: [1] + shape, to: path) }
  // Its errors name the weights file.
  let net = try TinyResNet(weightsPath: options.weights!, batch: 1)
  // The network ends in a softmax: its outputs are the probabilities.
  let best = topFive(net(input)[0])
  if options.json {
    let rows = best.map { "{\"class\": \($0.index), \"label\": \(jsonString(labels[$0.index])), \"probability\": \(jsonNumber($0.probability))}" }
    print("{\"image\": \(jsonString(options.image!)), \"width\": \(image.width), \"height\": \(image.height), \"top5\": [\(rows.joined(separator: ", "))]}")
  } else {
    print("\(options.image!): \(image.width)x\(image.height), resized to \(width)x\(height)")
    for (rank, entry) in best.enumerated() {
      print("\(rank + 1). \(labels[entry.index].padding(toLength: max(12, labels[entry.index].count), withPad: " ", startingAt: 0)) \(String(format: "%.6f", entry.probability))")
    }
  }
}

func fail(_ message: String, status: Int32) -> Never {
  FileHandle.standardError.write(Data("ImageClassifier: error: \(message)\n".utf8))
  exit(status)
}

do {
  try classify(try parseOptions(Array(CommandLine.arguments.dropFirst())))
} catch let error as UsageError {
  fail("\(error.message)\nSee 'ImageClassifier --help'.", status: 2)
} catch {
  fail("\(error)", status: 1)
}
