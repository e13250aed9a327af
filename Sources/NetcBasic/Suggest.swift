/// "did you mean" suggestions: the closest candidate by edit distance, if it is close enough.
///
/// One-letter words are abbreviations, and one edit turns any of them into another: 'd' (dilation) is one
/// edit from 'p' (padding), 'g' (groups) and 'dw' (depthwise), and means none of them. So a one-letter word
/// or candidate is suggested only when the two are the same letter in another case, or when the candidate
/// is the first letter of a longer word ('ch' for a parameter 'c').
public enum Suggest {
  /// Most candidates searched for one suggestion. An error is reported once per mistake, and a file can
  /// hold a mistake per line: searching every parameter of a block of 100,000 for each would take time
  /// quadratic in the file. Real networks have tens of names in scope.
  public static let maxCandidates = 1000

  public static func closest(to word: String, in candidates: some Sequence<String>) -> String? {
    var search = Search(word)
    search.consider(candidates)
    return search.result
  }

  /// The closest of two sets of candidates, neither copied into one: one may be every parameter of a
  /// big block.
  public static func closest(to word: String, in first: some Sequence<String>, _ second: some Sequence<String>) -> String? {
    var search = Search(word)
    search.consider(first)
    search.consider(second)
    return search.result
  }

  private struct Search {
    let w: [UInt8]
    let limit: Int
    var best: (name: String, distance: Int)?

    init(_ word: String) {
      w = Array(word.lowercased().utf8)
      limit = max(1, min(3, (w.count + 2) / 3))
    }

    /// A set of more than `maxCandidates` is not searched at all (rather than in part, which would make
    /// the suggestion depend on the set's order).
    mutating func consider(_ candidates: some Sequence<String>) {
      guard w.count <= 64, candidates.underestimatedCount <= Suggest.maxCandidates else { return }
      var found = best
      var examined = 0
      for c in candidates {
        examined += 1
        if examined > Suggest.maxCandidates { return }
        // The distance is at least the difference in length: most candidates are passed over without
        // building a table.
        guard abs(c.utf8.count - w.count) <= limit else { continue }
        let lowered = Array(c.lowercased().utf8)
        if w.count == 1 || lowered.count == 1 {
          let abbreviates = lowered.count == 1 && w.count > 1 && w.first == lowered.first
          guard w == lowered || abbreviates else { continue }
        }
        let d = Suggest.distance(w, lowered)
        if let b = found, d > b.distance || (d == b.distance && c >= b.name) { continue }
        found = (c, d)
      }
      best = found
    }

    var result: String? {
      guard let best, best.distance <= limit else { return nil }
      return best.name
    }
  }

  /// Edits (insertions, deletions, substitutions, swaps of neighbours) between two words, ignoring case.
  public static func editDistance(_ a: String, _ b: String) -> Int {
    distance(Array(a.lowercased().utf8), Array(b.lowercased().utf8))
  }

  static func distance(_ a: [UInt8], _ b: [UInt8]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev = Array(0...b.count)
    var cur = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
      cur[0] = i
      for j in 1...b.count {
        let cost = a[i - 1] == b[j - 1] ? 0 : 1
        cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
        // A swap of two neighbours counts as one edit.
        if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { cur[j] = min(cur[j], prev[j - 1]) }
      }
      swap(&prev, &cur)
    }
    return prev[b.count]
  }
}

/// Numbers as people read them: 1,234,567.
public func grouped(_ n: Int) -> String {
  let s = String(n.magnitude)
  var out = ""
  for (i, ch) in s.enumerated() {
    if i > 0 && (s.count - i) % 3 == 0 { out += "," }
    out.append(ch)
  }
  return n < 0 ? "-" + out : out
}
