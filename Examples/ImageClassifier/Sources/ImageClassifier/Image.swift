// Image files read without any library: binary and ASCII PGM and PPM (P5, P6, P2, P3; 8 or 16 bits a
// sample) and uncompressed BMP (24 or 32 bits a pixel, bottom-up or top-down).
import Foundation

/// An image as planar samples scaled to [0, 1]: `channels` planes (1 grey or 3 red, green, blue) of
/// height x width, row by row.
struct Image {
  var width: Int
  var height: Int
  var channels: Int
  var samples: [Float]
}

/// A file that cannot be read or written, or whose contents are wrong; the message names it.
struct FileError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// Larger images are refused before anything is allocated: a corrupt header cannot ask for gigabytes.
let maximumPixels = 1 << 28

func readImage(path: String) throws -> Image {
  guard let data = FileManager.default.contents(atPath: path) else {
    throw FileError("cannot read '\(path)'")
  }
  let bytes = [UInt8](data)
  do {
    if bytes.count >= 2, bytes[0] == UInt8(ascii: "P"), (UInt8(ascii: "2")...UInt8(ascii: "6")).contains(bytes[1]),
       bytes[1] != UInt8(ascii: "4") {
      return try decodeNetpbm(bytes)
    }
    if bytes.count >= 2, bytes[0] == UInt8(ascii: "B"), bytes[1] == UInt8(ascii: "M") {
      return try decodeBMP(bytes)
    }
    throw FileError("not a PGM, PPM or BMP file (it starts with neither P2, P3, P5, P6 nor BM)")
  } catch let error as FileError {
    throw FileError("'\(path)': \(error.description)")
  }
}

/// Width x height x channels, refused when it is not positive or is larger than `maximumPixels`.
@discardableResult
private func checkedSize(width: Int, height: Int, channels: Int) throws -> Int {
  guard width > 0, height > 0 else { throw FileError("the image is \(width)x\(height): it has no pixels") }
  guard width <= maximumPixels, height <= maximumPixels, width * height <= maximumPixels else {
    throw FileError("the image is \(width)x\(height): more than \(maximumPixels) pixels")
  }
  return width * height * channels
}

// MARK: - Netpbm

private func decodeNetpbm(_ bytes: [UInt8]) throws -> Image {
  let kind = bytes[1]
  let channels = kind == UInt8(ascii: "3") || kind == UInt8(ascii: "6") ? 3 : 1
  let binary = kind == UInt8(ascii: "5") || kind == UInt8(ascii: "6")
  var reader = NetpbmReader(bytes: bytes, position: 2)
  let width = try reader.number("width")
  let height = try reader.number("height")
  let maxval = try reader.number("maximum value")
  guard (1...65535).contains(maxval) else {
    throw FileError("the maximum value is \(maxval): it must be between 1 and 65535")
  }
  let count = try checkedSize(width: width, height: height, channels: channels)
  var interleaved: [Int]
  if binary {
    // Exactly one whitespace byte separates the header from the samples.
    guard reader.position < bytes.count, isWhitespace(bytes[reader.position]) else {
      throw FileError("the header does not end with a whitespace character")
    }
    let start = reader.position + 1
    let bytesPerSample = maxval < 256 ? 1 : 2
    guard bytes.count - start >= count * bytesPerSample else {
      throw FileError("the file ends after \(bytes.count - start) bytes of samples; a \(width)x\(height) image needs \(count * bytesPerSample)")
    }
    interleaved = (0..<count).map { i in
      bytesPerSample == 1 ? Int(bytes[start + i]) : Int(bytes[start + 2 * i]) << 8 | Int(bytes[start + 2 * i + 1])
    }
  } else {
    // Each sample takes a digit and a separator: a shorter file cannot hold them, whatever its header says.
    guard bytes.count - reader.position >= 2 * count - 1 else {
      throw FileError("the file is too short for the \(count) samples of a \(width)x\(height) image")
    }
    interleaved = []
    interleaved.reserveCapacity(count)
    for i in 0..<count { interleaved.append(try reader.number("sample \(i + 1)")) }
  }
  if let bad = interleaved.firstIndex(where: { $0 > maxval }) {
    throw FileError("sample \(bad + 1) is \(interleaved[bad]), above the maximum value \(maxval)")
  }
  let scale = Float(maxval)
  return planar(width: width, height: height, channels: channels) { Float(interleaved[$0]) / scale }
}

private func isWhitespace(_ byte: UInt8) -> Bool {
  byte == 0x20 || (0x09...0x0d).contains(byte)
}

/// Reads a Netpbm header's (or an ASCII image's) decimal numbers, skipping whitespace and comments.
private struct NetpbmReader {
  let bytes: [UInt8]
  var position: Int

  mutating func number(_ what: String) throws -> Int {
    while position < bytes.count {
      if isWhitespace(bytes[position]) {
        position += 1
      } else if bytes[position] == UInt8(ascii: "#") {
        while position < bytes.count, bytes[position] != 0x0a, bytes[position] != 0x0d { position += 1 }
      } else {
        break
      }
    }
    var value = 0
    var digits = 0
    while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
      // Nine digits bound every valid figure (sizes are capped far below); more is a corrupt file.
      guard digits < 9 else { throw FileError("the \(what) has too many digits") }
      value = value * 10 + Int(bytes[position] - UInt8(ascii: "0"))
      digits += 1
      position += 1
    }
    guard digits > 0 else {
      throw FileError(position < bytes.count ? "expected the \(what), a decimal number, at byte \(position)"
                                              : "the file ends before the \(what)")
    }
    return value
  }
}

// MARK: - BMP

private func decodeBMP(_ bytes: [UInt8]) throws -> Image {
  func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
  func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
  func i32(_ at: Int) -> Int { Int(Int32(bitPattern: UInt32(u32(at)))) }
  guard bytes.count >= 54 else { throw FileError("the file ends inside the BMP headers (\(bytes.count) bytes)") }
  let dataOffset = u32(10)
  let headerSize = u32(14)
  guard headerSize >= 40 else {
    throw FileError("the BMP header is \(headerSize) bytes: only BITMAPINFOHEADER (40) and its successors are read")
  }
  let width = i32(18)
  let signedHeight = i32(22)
  let bitsPerPixel = u16(28)
  let compression = u32(30)
  guard bitsPerPixel == 24 || bitsPerPixel == 32 else {
    throw FileError("the BMP has \(bitsPerPixel) bits a pixel: only 24 and 32 are read")
  }
  guard compression == 0 else {
    throw FileError("the BMP is compressed (method \(compression)): only uncompressed (BI_RGB) images are read")
  }
  // A negative height stores the rows top-down; the usual positive one, bottom-up.
  let height = abs(signedHeight)
  try checkedSize(width: width, height: height, channels: 3)
  let bytesPerPixel = bitsPerPixel / 8
  let rowBytes = (width * bytesPerPixel + 3) / 4 * 4
  guard dataOffset >= 54, dataOffset <= bytes.count, bytes.count - dataOffset >= rowBytes * (height - 1) + width * bytesPerPixel else {
    throw FileError("the file ends before the pixels of a \(width)x\(height) image (\(bytes.count) bytes, the pixels start at byte \(dataOffset))")
  }
  return planar(width: width, height: height, channels: 3) { index in
    let channel = index % 3
    let pixel = index / 3
    let (y, x) = (pixel / width, pixel % width)
    let row = signedHeight < 0 ? y : height - 1 - y
    // Stored blue, green, red (then a byte of alpha or padding at 32 bits).
    return Float(bytes[dataOffset + row * rowBytes + x * bytesPerPixel + 2 - channel]) / 255
  }
}

/// Planar samples from interleaved ones: `sample(i)` gives the i-th in pixel order, channels innermost.
private func planar(width: Int, height: Int, channels: Int, sample: (Int) -> Float) -> Image {
  let pixels = width * height
  var samples = [Float](repeating: 0, count: pixels * channels)
  for p in 0..<pixels {
    for c in 0..<channels { samples[c * pixels + p] = sample(p * channels + c) }
  }
  return Image(width: width, height: height, channels: channels, samples: samples)
}
