import NetcBasic
import NetcFormat
import NetcOps
import NetcReport
import NetcSema
import NetcSyntax

/// The answers to the editor's questions about one analysed document, as LSP's JSON.
extension Analysis {
  // MARK: Diagnostics

  /// The diagnostics `netc check` prints, with netc's ranges converted to UTF-16 positions: notes that
  /// point somewhere become related information, the others join the message as its text does.
  func lspDiagnostics(uri: String) -> [JSONValue] {
    var out = compilation.diagnostics.diagnostics.map { lspDiagnostic($0, uri: uri) }
    let suppressed = compilation.diagnostics.suppressedErrors
    if suppressed > 0 {
      out.append(.object([
        ("range", lines.lspRange(.point(0)).json), ("severity", .int(3)), ("source", .string("netc")),
        ("message", .string("\(suppressed) more errors not shown")),
      ]))
    }
    return out
  }

  func lspDiagnostic(_ d: Diagnostic, uri: String) -> JSONValue {
    let severity: Int
    switch d.severity {
    case .error: severity = 1
    case .warning: severity = 2
    case .note: severity = 3
    }
    var message = d.message
    for note in d.notes where note.range == nil { message += "\nnote: " + note.message }
    var fields: [(String, JSONValue)] = [
      ("range", lines.lspRange(d.range).json), ("severity", .int(severity)), ("code", .string(d.id)),
      ("source", .string("netc")), ("message", .string(message)),
    ]
    let related: [JSONValue] = d.notes.compactMap { note in
      note.range.map { .object([("location", location(uri, lines.lspRange($0))), ("message", .string(note.message))]) }
    }
    if !related.isEmpty { fields.append(("relatedInformation", .array(related))) }
    return .object(fields)
  }

  /// A quick fix for each diagnostic with fix-its that touches `range`: the fix-its as one edit.
  func codeActions(uri: String, range: LSPRange) -> [JSONValue] {
    let lo = lines.offset(of: range.start), hi = lines.offset(of: range.end)
    return compilation.diagnostics.diagnostics.compactMap { d -> JSONValue? in
      guard !d.fixIts.isEmpty, d.range.start <= hi, lo <= d.range.end else { return nil }
      let edits: [JSONValue] = d.fixIts.map { textEdit(lines.lspRange($0.range), $0.replacement) }
      return .object([
        ("title", .string(fixTitle(d.fixIts))), ("kind", .string("quickfix")),
        ("diagnostics", .array([lspDiagnostic(d, uri: uri)])), ("isPreferred", .bool(d.fixIts.count == 1)),
        ("edit", .object([("changes", .object([(uri, .array(edits))]))])),
      ])
    }
  }

  func fixTitle(_ fixes: [FixIt]) -> String {
    func clip(_ s: String) -> String { s.count > 60 ? s.prefix(57) + "..." : s }
    guard fixes.count == 1, let fix = fixes.first else { return "Apply netc's \(fixes.count) fixes" }
    let old = file.text(fix.range)
    if old.isEmpty { return "Insert '\(clip(fix.replacement))'" }
    if fix.replacement.isEmpty { return "Remove '\(clip(old))'" }
    return "Replace '\(clip(old))' with '\(clip(fix.replacement))'"
  }

  // MARK: Hover and inlay hints

  /// The figures of the layer line under `position`: input and output shape, parameters, mult-adds and
  /// receptive field, one table row per distinct use of a block's line. On a block's name, its
  /// signature comes first.
  func hover(at position: LSPPosition) -> JSONValue {
    guard position.line < lines.lineCount else { return .null }
    let name = symbols.occurrence(at: lines.offset(of: position)).flatMap { $0.isBlock ? $0.occurrence : nil }
    var sections: [String] = []
    if let name, let params = symbols.blockParameters[name.name] {
      let uses = symbols.blockUses.filter { $0.name == name.name }.count
      sections.append("```\nblock \(name.name)(\(params.joined(separator: ", ")))\n```\nused \(uses) time\(uses == 1 ? "" : "s") in the file")
    }
    if let uses = layerLines.uses[position.line], !uses.isEmpty { sections.append(figuresTable(uses)) }
    guard !sections.isEmpty else { return .null }
    let range = name.map(\.range) ?? lines.codeRange(ofLine: position.line)
    return .object([
      ("contents", .object([("kind", .string("markdown")), ("value", .string(sections.joined(separator: "\n\n")))])),
      ("range", lines.lspRange(range).json),
    ])
  }

  private func figuresTable(_ uses: [LineUse]) -> String {
    var distinct: [(use: LineUse, count: Int)] = []
    for use in uses {
      var key = use
      key.blockUse = nil
      if let i = distinct.firstIndex(where: { $0.use == key }) { distinct[i].count += 1 } else { distinct.append((key, 1)) }
    }
    let rows = runLengths(uses[0].rows)
    var text = rows.isEmpty ? "" : "**\(rows.joined(separator: ", "))**"
    if uses.count > 1 { text += (text.isEmpty ? "" : " ") + "(in \(uses.count) uses of its block)" }
    if !text.isEmpty { text += "\n\n" }
    let counted = distinct.contains { $0.count > 1 }
    text += "| input | output | params | mult-adds | receptive field | eff. stride | eff. padding |" + (counted ? " uses |" : "") + "\n"
    text += "|---|---|---:|---:|---:|---:|---:|" + (counted ? "---:|" : "") + "\n"
    for (use, count) in distinct {
      let cells = [
        use.input?.described ?? "?", use.output?.described ?? "?", grouped(use.params), grouped(use.multAdds),
        axisPair(use.receptiveField, \.size), axisPair(use.receptiveField, \.stride),
        axisPair(use.receptiveField, \.padding),
      ] + (counted ? [String(count)] : [])
      text += "| " + cells.joined(separator: " | ") + " |\n"
    }
    let frozen = distinct.map { $0.use.params - $0.use.trainableParams }.max() ?? 0
    if frozen > 0 { text += "\n\(grouped(frozen)) of the parameters are frozen (non-trainable)\n" }
    return text
  }

  /// Each layer line's output shape at the end of its code, for the lines in `range`. A line that carries
  /// a checked `-> CxHxW` gets none: netc already holds the annotation to the real shape (an error says
  /// when it differs). A line inside a block shows the shape of each use, when the uses differ.
  func inlayHints(in range: LSPRange) -> [JSONValue] {
    let first = max(0, range.start.line), last = min(lines.lineCount - 1, range.end.line)
    guard first <= last else { return [] }
    var hints: [JSONValue] = []
    for line in first...last where !symbols.annotatedLines.contains(line) {
      guard let uses = layerLines.uses[line] else { continue }
      var shapes: [String] = []
      for use in uses {
        guard let s = use.output?.described, !shapes.contains(s) else { continue }
        shapes.append(s)
      }
      guard !shapes.isEmpty else { continue }
      let shown = shapes.count > 4 ? shapes.prefix(4) + ["..."] : shapes[...]
      let end = lines.codeRange(ofLine: line).end
      hints.append(.object([
        ("position", lines.position(of: end).json), ("label", .string("-> " + shown.joined(separator: " | "))),
        ("kind", .int(1)), ("paddingLeft", .bool(true)),
      ]))
    }
    return hints
  }

  // MARK: Names

  func definition(uri: String, at position: LSPPosition) -> JSONValue {
    guard let (o, isBlock) = symbols.occurrence(at: lines.offset(of: position)) else { return .null }
    let target = isBlock
      ? symbols.blockDefinitions.first { $0.name == o.name }
      : symbols.tensorDefinitions.first { $0.name == o.name && $0.owner == o.owner }
    return target.map { location(uri, lines.lspRange($0.range)) } ?? .null
  }

  func references(uri: String, at position: LSPPosition, includeDeclaration: Bool) -> JSONValue {
    guard let (o, isBlock) = symbols.occurrence(at: lines.offset(of: position)) else { return .null }
    let definitions = isBlock ? symbols.blockDefinitions : symbols.tensorDefinitions
    let uses = isBlock ? symbols.blockUses : symbols.tensorUses
    func same(_ x: SymbolIndex.Occurrence) -> Bool { x.name == o.name && (isBlock || x.owner == o.owner) }
    let found = (includeDeclaration ? definitions.filter(same) : []) + uses.filter(same)
    return .array(found.sorted { $0.range.start < $1.range.start }.map { location(uri, lines.lspRange($0.range)) })
  }

  func documentSymbols() -> JSONValue {
    guard let tree = compilation.syntax else { return .array([]) }
    func symbol(_ name: String, _ detail: String?, _ kind: SymbolKind, _ range: SourceRange, _ selection: SourceRange,
                _ children: [JSONValue] = []) -> JSONValue {
      var fields: [(String, JSONValue)] = [("name", .string(name.isEmpty ? "?" : name))]
      if let detail { fields.append(("detail", .string(detail))) }
      fields += [("kind", .int(kind.rawValue)), ("range", lines.lspRange(range).json),
                 ("selectionRange", lines.lspRange(selection).json)]
      if !children.isEmpty { fields.append(("children", .array(children))) }
      return .object(fields)
    }
    func tensors(of owner: String?) -> [JSONValue] {
      symbols.tensorDefinitions.filter { $0.owner == owner }.map {
        symbol($0.name, "=> \($0.name)", .variable, $0.range, $0.range)
      }
    }
    let net = compilation.network
    let whole = SourceRange(0, file.bytes.count)
    var out = [symbol(tree.name ?? "network", net.map { "\($0.input.described) -> \($0.output.described)" }, .module,
                      whole, tree.nameRange ?? .point(0), tensors(of: nil))]
    for block in tree.blocks {
      let params = block.params.map { p in p.defaultValue.map { p.name + "=" + file.text($0.range) } ?? p.name }
      out.append(symbol(block.name, "(" + params.joined(separator: ", ") + ")", .class_, block.range, block.nameRange,
                        tensors(of: block.name)))
    }
    return .array(out)
  }

  // MARK: Formatting

  /// `netc fmt`'s text as one edit over the whole document; nil when the file has syntax errors (which
  /// `fmt` refuses to format), no edit when it is formatted already.
  func formattingEdits() -> [JSONValue]? {
    var diagnostics = DiagnosticEngine(file: file)
    guard let text = SourceFormatter.format(file, diagnostics: &diagnostics) else { return nil }
    if Array(text.utf8) == file.bytes { return [] }
    return [textEdit(lines.lspRange(SourceRange(0, file.bytes.count)), text)]
  }
}
