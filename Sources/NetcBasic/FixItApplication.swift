extension FixIt {
  /// The source with every fix-it applied, as an editor applies them all at once: each replaces its range
  /// of the original text. Nil if two of them change overlapping text (applying both would be ambiguous).
  public static func apply(_ fixIts: [FixIt], to bytes: [UInt8]) -> [UInt8]? {
    // Later ranges first, so earlier offsets stay valid; insertions at one point keep their order.
    let ordered = fixIts.enumerated().sorted {
      ($0.element.range.start, $0.element.range.end, $0.offset) > ($1.element.range.start, $1.element.range.end, $1.offset)
    }.map(\.element)
    var out = bytes
    var limit = bytes.count
    for fix in ordered {
      let r = fix.range
      guard r.start >= 0, r.start <= r.end, r.end <= limit else { return nil }
      out.replaceSubrange(r.start..<r.end, with: Array(fix.replacement.utf8))
      limit = r.start
    }
    return out
  }
}
