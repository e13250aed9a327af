// The two sides of `netc weights import`: netc's layers with tensors, and a PyTorch state_dict's modules.

/// One tensor of a layer or module: the last part of its name (`weight`, `running_var`, `layer_scale`) and
/// its shape.
public struct TensorSlot: Hashable, Sendable {
  public var suffix: String
  public var shape: [Int]
  public init(_ suffix: String, _ shape: [Int]) {
    self.suffix = suffix
    self.shape = shape
  }
}

/// A layer of netc that has tensors (`conv3`, `bn4`), with its tensors in netc's order.
public struct ImportLayer: Sendable {
  public var name: String
  public var tensors: [TensorSlot]
  public init(name: String, tensors: [TensorSlot]) {
    self.name = name
    self.tensors = tensors
  }
}

/// A module of a state_dict that holds tensors itself: the prefix of its keys before the last dot
/// (`layer1.0.conv1`; empty for tensors with no dot) and its tensors, in the order of their suffixes.
public struct StateDictModule: Sendable {
  public var path: String
  public var segments: [String]
  public var tensors: [TensorSlot]

  /// The full key of one of its tensors.
  public func key(_ suffix: String) -> String { path.isEmpty ? suffix : "\(path).\(suffix)" }

  /// Groups a state_dict's keys into modules, in the natural order of their paths.
  public static func group(_ keys: [(key: String, shape: [Int])]) -> [StateDictModule] {
    var byPath: [String: Int] = [:]
    var modules: [StateDictModule] = []
    for (key, shape) in keys {
      let dot = key.lastIndex(of: ".")
      let path = dot.map { String(key[..<$0]) } ?? ""
      let suffix = dot.map { String(key[key.index(after: $0)...]) } ?? key
      if let i = byPath[path] {
        modules[i].tensors.append(TensorSlot(suffix, shape))
      } else {
        byPath[path] = modules.count
        let segments = path.isEmpty ? [] : path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        modules.append(StateDictModule(path: path, segments: segments, tensors: [TensorSlot(suffix, shape)]))
      }
    }
    for i in modules.indices { modules[i].tensors.sort { $0.suffix < $1.suffix } }
    return modules.sorted { NaturalOrder.compare($0.segments, $1.segments) < 0 }
  }
}

/// The order a person reads numbered names in: runs of digits compare as numbers (`layer2` before
/// `layer10`, `features.9` before `features.10`), everything else byte by byte; a dotted path compares
/// segment by segment, a path before the paths inside it.
public enum NaturalOrder {
  public static func compare(_ a: String, _ b: String) -> Int {
    let x = Array(a.utf8), y = Array(b.utf8)
    func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    var i = 0, j = 0
    while i < x.count && j < y.count {
      guard isDigit(x[i]) && isDigit(y[j]) else {
        if x[i] != y[j] { return x[i] < y[j] ? -1 : 1 }
        i += 1
        j += 1
        continue
      }
      var iEnd = i, jEnd = j
      while iEnd < x.count && isDigit(x[iEnd]) { iEnd += 1 }
      while jEnd < y.count && isDigit(y[jEnd]) { jEnd += 1 }
      var iValue = i, jValue = j
      while iValue < iEnd - 1 && x[iValue] == 0x30 { iValue += 1 }
      while jValue < jEnd - 1 && y[jValue] == 0x30 { jValue += 1 }
      // Without leading zeros, the longer run is the larger number; runs of one length compare as text.
      if iEnd - iValue != jEnd - jValue { return iEnd - iValue < jEnd - jValue ? -1 : 1 }
      for k in 0..<(iEnd - iValue) where x[iValue + k] != y[jValue + k] { return x[iValue + k] < y[jValue + k] ? -1 : 1 }
      // One number: fewer leading zeros first, so that distinct names never compare equal.
      if iEnd - i != jEnd - j { return iEnd - i < jEnd - j ? -1 : 1 }
      i = iEnd
      j = jEnd
    }
    return x.count - i == y.count - j ? 0 : (x.count - i < y.count - j ? -1 : 1)
  }

  public static func compare(_ a: [String], _ b: [String]) -> Int {
    for (s, t) in zip(a, b) {
      let c = compare(s, t)
      if c != 0 { return c }
    }
    return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
  }
}

/// How many leading segments two dotted paths share.
func commonPrefix(_ a: [String], _ b: [String]) -> Int {
  var n = 0
  while n < a.count && n < b.count && a[n] == b[n] { n += 1 }
  return n
}

/// Tensor lists, as sorted slots, numbered: two layers or modules fit each other when their numbers are equal.
struct Signatures {
  private var ids: [[TensorSlot]: Int] = [:]

  mutating func id(_ tensors: [TensorSlot]) -> Int {
    let sorted = tensors.sorted { $0.suffix < $1.suffix }
    if let id = ids[sorted] { return id }
    ids[sorted] = ids.count
    return ids.count - 1
  }
}
