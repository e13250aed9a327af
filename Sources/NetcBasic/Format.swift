#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `x` with `digits` decimals, rounded exactly as C's printf (and Python's `%0.2f`) round it. netc does not
/// link Foundation: loading it and ICU would cost more than checking ResNet-152.
public func fixed(_ x: Double, _ digits: Int) -> String {
  var buffer = [CChar](repeating: 0, count: 64)
  let format = "%.\(max(0, min(digits, 17)))f"
  let n = withVaList([x]) { args in
    buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, 64, format, args) }
  }
  guard n > 0 else { return "nan" }
  if n >= 64 { return String(x) }
  return String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
