import NetcBasic
import NetcOps
import NetcSyntax

/// Completion from the text before the cursor on its line: after `@`, the tensor names the enclosing body
/// binds; inside a block use's parentheses, its parameters; after a layer's keyword, its options and
/// flags (from the operation registry); at the start of an element, the layers, combinators and blocks.
extension Analysis {
  func completions(at position: LSPPosition) -> [JSONValue] {
    guard position.line < lines.lineCount else { return [] }
    let offset = lines.offset(of: position)
    let prefix = Array(lines.bytes[lines.lineStarts[position.line]..<offset])
    if prefix.contains(UInt8(ascii: "#")) { return [] }
    func isWordByte(_ b: UInt8) -> Bool {
      (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == UInt8(ascii: "_")
    }
    var wordStart = prefix.count
    while wordStart > 0, isWordByte(prefix[wordStart - 1]) { wordStart -= 1 }
    let owner = symbols.owner(at: offset)
    if wordStart > 0, prefix[wordStart - 1] == UInt8(ascii: "@") {
      var seen: Set<String> = []
      return symbols.tensorDefinitions.filter { $0.owner == owner && seen.insert($0.name).inserted }.map {
        item($0.name, .variable, detail: "tensor bound by '=> \($0.name)'")
      }
    }
    let before = prefix[..<wordStart]
    let separators: Set<UInt8> = [UInt8(ascii: ","), UInt8(ascii: "("), UInt8(ascii: "<"), UInt8(ascii: "|"), UInt8(ascii: "{")]
    // After '->' (a checked shape) or '=>' (a name being bound), up to the next element, nothing completes.
    let arrow = before.indices.last { i in
      i > before.startIndex && before[i] == UInt8(ascii: ">")
        && (before[i - 1] == UInt8(ascii: "-") || before[i - 1] == UInt8(ascii: "="))
    }
    if let arrow, !before[arrow...].contains(where: separators.contains) { return [] }
    let separator = before.lastIndex { separators.contains($0) }
    let segment = before[(separator.map { $0 + 1 } ?? before.startIndex)...]
    let words = String(decoding: segment, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\t" })

    if let callee = enclosingCall(before), let params = symbols.blockParameters[callee] {
      return params.map { item($0 + "=", .property, detail: "parameter of block \(callee)") }
    }
    if let first = words.first.map(String.init) {
      guard let spec = OperationRegistry.byKeyword[first] else { return [] }
      let options = Set(spec.signature.options.values).sorted()
      return options.map { item($0 + "=", .property, detail: "option of \(first)") }
        + spec.signature.flags.sorted().map { item($0, .enumMember, detail: "flag of \(first)") }
    }
    var out = OperationRegistry.layers.map { spec in
      item(spec.keyword, .function, detail: spec.signature.usage)
    }
    out += Parser.combinatorKeywords.sorted().map { item($0, .keyword, detail: "\($0)< ... | ... >") }
    out += symbols.blockDefinitions.map { d in
      item(d.name, .class_, detail: "block \(d.name)(\((symbols.blockParameters[d.name] ?? []).joined(separator: ", ")))")
    }
    if owner != nil {
      out += (symbols.blockParameters[owner!] ?? []).map { item($0, .variable, detail: "parameter of block \(owner!)") }
    }
    out += ["if", "else"].map { item($0, .keyword, detail: nil) }
    if separator == nil, before.allSatisfy({ $0 == 0x20 || $0 == 0x09 }), before.isEmpty {
      out += ["network", "input", "block"].map { item($0, .keyword, detail: nil) }
    }
    return out
  }

  /// The block whose use's parentheses the text ends inside (`Bottleneck(64, s` -> Bottleneck).
  private func enclosingCall(_ text: ArraySlice<UInt8>) -> String? {
    var depth = 0
    var i = text.endIndex
    while i > text.startIndex {
      i -= 1
      switch text[i] {
      case UInt8(ascii: ")"): depth += 1
      case UInt8(ascii: "("):
        if depth > 0 { depth -= 1; continue }
        var start = i
        while start > text.startIndex, text[start - 1] != 0x20, text[start - 1] != 0x09,
              ![UInt8(ascii: ","), UInt8(ascii: "("), UInt8(ascii: "<"), UInt8(ascii: "|")].contains(text[start - 1]) {
          start -= 1
        }
        let name = String(decoding: text[start..<i], as: UTF8.self)
        return symbols.blockParameters[name] != nil ? name : nil
      default: continue
      }
    }
    return nil
  }

  private func item(_ label: String, _ kind: CompletionKind, detail: String?) -> JSONValue {
    var fields: [(String, JSONValue)] = [("label", .string(label)), ("kind", .int(kind.rawValue))]
    if let detail { fields.append(("detail", .string(detail))) }
    return .object(fields)
  }
}
