/// "did you mean" suggestions: the closest candidate by edit distance, if it is close enough.
///
/// One-letter words are abbreviations, and one edit turns any of them into another: 'd' (dilation) is one
/// edit from 'p' (padding), 'g' (groups) and 'dw' (depthwise), and means none of them. So a one-letter word
/// or candidate is suggested only when the two are the same letter in another case, or when the candidate
/// is the first letter of a longer word ('ch' for a parameter 'c').
public enum Suggest {
  public static func closest(to word: String, in candidates: some Sequence<String>) -> String? {
    let w = Array(word.lowercased().utf8)
    guard w.count <= 64 else { return nil }
    var best: (String, Int)?
    for c in candidates {
      let lowered = Array(c.lowercased().utf8)
      if w.count == 1 || lowered.count == 1 {
        let abbreviates = lowered.count == 1 && w.count > 1 && w.first == lowered.first
        guard w == lowered || abbreviates else { continue }
      }
      let d = distance(w, lowered)
      if best == nil || d < best!.1 || (d == best!.1 && c < best!.0) { best = (c, d) }
    }
    guard let (name, d) = best else { return nil }
    let limit = max(1, min(3, (w.count + 2) / 3))
    return d <= limit ? name : nil
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
