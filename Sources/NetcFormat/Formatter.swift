// NetcFormat: `netc fmt`. Source text -> tokens and comments -> syntax tree -> canonical text.
//
// The formatter prints the syntax tree, not the tokens: every layer, argument and expression is written
// from the tree, so the output means exactly what the input meant (and `SourceFormatter.format` checks
// that it does, by parsing its own output). What the tree does not hold comes from the source: where the
// author broke lines (layers joined by ',' on one line stay on one line; a bracket written over several
// lines stays open over several lines), the blank lines (at most one is kept), and the comments, which
// the lexer hands over in a side list. Grammar.md, "Canonical layout", describes the result.
import NetcBasic
import NetcSyntax

public enum SourceFormatter {
  /// The canonical text of `file`, or nil if it has syntax errors (reported in `diagnostics`; a file
  /// that parses but does not check, such as one with a shape mismatch, is formatted).
  public static func format(_ file: SourceFile, diagnostics: inout DiagnosticEngine) -> String? {
    let (tokens, comments) = Lexer.tokenizeWithComments(file, diagnostics: &diagnostics)
    let tree = Parser.parse(file, tokens: tokens, diagnostics: &diagnostics)
    if diagnostics.hasErrors || diagnostics.suppressedErrors > 0 { return nil }
    var printer = LayoutPrinter(file: file, tokens: tokens, comments: comments)
    let text = printer.print(tree)
    // A formatter must never change what a file means: its own output has to parse to the same tree.
    let output = SourceFile(path: file.path, bytes: Array(text.utf8))
    var scratch = DiagnosticEngine(file: output)
    let reparsed = Parser.parse(output, diagnostics: &scratch)
    guard !scratch.hasErrors, SyntaxComparison.withoutPositions(reparsed) == SyntaxComparison.withoutPositions(tree) else {
      diagnostics.error("fmt-internal-error",
                        "netc internal error: the formatted text would not mean the same network; the file is left as it is",
                        at: SourceRange.point(0))
      return nil
    }
    return text
  }
}

/// One line of output before alignment: indentation, text, an optional trailing `-> shape` part and an
/// optional trailing comment, which line up in columns with the lines around it.
struct OutputLine {
  var indent: Int
  /// The nesting depth it aligns at: its indentation, or that of the branch a `| ...` line starts.
  var depth: Int
  var content = ""
  var arrow: String?
  var comment: String?
  var isComment = false
  /// Source byte offset of the first thing printed on the line, and the source lines it came from.
  var firstOffset: Int
  var firstLine: Int
  var lastLine: Int
  /// Ends with a bracket whose contents follow on their own lines; no blank line may follow it.
  var opens = false
  /// Starts with a closing bracket; no blank line may precede it.
  var closes = false
}

struct LayoutPrinter {
  let file: SourceFile
  let tokens: [Token]
  /// Token index by the byte offset where the token starts.
  private var tokenAt: [Int: Int] = [:]
  /// The index of the closing bracket of each opening bracket.
  private var closerOf: [Int: Int] = [:]
  /// Comments alone on their line, in source order, and those after code.
  private var ownLineComments: [Token] = []
  private var trailingComments: [Token] = []
  private var nextComment = 0
  private var lines: [OutputLine] = []
  private var current: OutputLine?

  init(file: SourceFile, tokens: [Token], comments: [Token]) {
    self.file = file
    self.tokens = tokens
    var stack: [Int] = []
    for (i, t) in tokens.enumerated() {
      tokenAt[t.range.start] = tokenAt[t.range.start] ?? i
      switch t.kind {
      case .lParen, .lBrace, .lAngle: stack.append(i)
      case .rParen, .rBrace, .rAngle: if let open = stack.popLast() { closerOf[open] = i }
      default: break
      }
    }
    for c in comments {
      if LayoutPrinter.isAloneOnLine(c.range.start, file.bytes) { ownLineComments.append(c) } else { trailingComments.append(c) }
    }
  }

  private static func isAloneOnLine(_ offset: Int, _ bytes: [UInt8]) -> Bool {
    var i = offset - 1
    while i >= 0 {
      switch bytes[i] {
      case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): i -= 1
      case UInt8(ascii: "\n"): return true
      default: return i == 2 && bytes.starts(with: [0xEF, 0xBB, 0xBF])
      }
    }
    return true
  }

  private func line(_ offset: Int) -> Int { file.lineAndColumn(of: offset).line }

  private func commentText(_ c: Token) -> String {
    var text = file.text(c.range)
    while let last = text.last, last == " " || last == "\t" || last == "\r" { text.removeLast() }
    return text
  }

  // MARK: Building lines

  private mutating func finishLine() {
    if let l = current { lines.append(l) }
    current = nil
  }

  /// Starts a new line at `indent` for what starts at source `offset`; comments alone on their line
  /// before it come first, at `commentIndent`.
  private mutating func begin(_ indent: Int, at offset: Int, commentIndent: Int? = nil, depth: Int? = nil,
                               closes: Bool = false) {
    finishLine()
    flushComments(before: offset, indent: commentIndent ?? indent)
    let l = line(offset)
    current = OutputLine(indent: indent, depth: depth ?? indent, firstOffset: offset, firstLine: l, lastLine: l,
                         closes: closes)
  }

  private mutating func flushComments(before offset: Int, indent: Int) {
    while nextComment < ownLineComments.count, ownLineComments[nextComment].range.start < offset {
      let c = ownLineComments[nextComment]
      let l = line(c.range.start)
      lines.append(OutputLine(indent: indent, depth: indent, comment: commentText(c), isComment: true, firstOffset: c.range.start,
                              firstLine: l, lastLine: l))
      nextComment += 1
    }
  }

  /// Appends text that came from the source up to `end`.
  private mutating func add(_ text: String, through end: Int? = nil) {
    guard current != nil else { return }
    if let arrow = current!.arrow {
      current!.content += " " + arrow
      current!.arrow = nil
    }
    current!.content += text
    if let end { current!.lastLine = max(current!.lastLine, line(max(0, end - 1))) }
  }

  /// Appends a suffix: the first `-> shape` of a line's last element starts its aligned column.
  private mutating func addSuffix(_ text: String, isShape: Bool, through end: Int) {
    guard current != nil else { return }
    if current!.arrow != nil {
      current!.arrow! += " " + text
    } else if isShape {
      current!.arrow = text
    } else {
      current!.content += " " + text
    }
    current!.lastLine = max(current!.lastLine, line(max(0, end - 1)))
  }

  private mutating func markOpens() { current?.opens = true }

  // MARK: The file

  enum Statement {
    case network(String, Int)
    case input(InputDecl)
    case block(BlockDecl)
    case element(Element)

    var start: Int {
      switch self {
      case .network(_, let s): return s
      case .input(let d): return d.range.start
      case .block(let b): return b.range.start
      case .element(let e): return e.range.start
      }
    }
  }

  mutating func print(_ tree: NetworkSyntax) -> String {
    var statements: [Statement] = []
    if let name = tree.name {
      let keyword = tokens.first(where: { $0.kind != .newline })?.range.start ?? tree.nameRange?.start ?? 0
      statements.append(.network(name, keyword))
    }
    if let input = tree.input { statements.append(.input(input)) }
    statements += tree.blocks.map { .block($0) } + tree.body.map { .element($0) }
    statements.sort { $0.start < $1.start }

    var previous: Element?
    for s in statements {
      switch s {
      case .network(let name, let start):
        begin(0, at: start)
        add("network \(name)", through: tree.nameRange?.end)
        previous = nil
      case .input(let decl):
        begin(0, at: decl.range.start)
        add("input " + dims(decl.dims), through: decl.range.end)
        previous = nil
      case .block(let b):
        begin(0, at: b.range.start)
        printBlock(b)
        previous = nil
      case .element(let e):
        // After 'relu,' and a line break, 'input(3)' is a call; at the start of a line it would be a statement.
        var reserved = false
        if case .call(let c) = e.kind, ["network", "input", "block"].contains(c.name) { reserved = true }
        if let p = previous, sameLine(p, e) || reserved {
          add(", ")
        } else {
          begin(0, at: e.range.start)
        }
        printElement(e, indent: 0)
        previous = e
      }
    }
    finishLine()
    flushComments(before: Int.max, indent: 0)
    attachTrailingComments()
    return render()
  }

  // MARK: Blocks and elements

  private mutating func printBlock(_ b: BlockDecl) {
    add("block \(b.name)", through: b.nameRange.end)
    let nameIndex = tokenAt[b.nameRange.start] ?? 0
    if nameIndex + 1 < tokens.count, tokens[nameIndex + 1].kind == .lParen {
      printList(open: nameIndex + 1, indent: 0, items: b.params.map { p in
        (p.range.start, p.name + (p.defaultValue.map { "=" + argument($0) } ?? ""), p.defaultValue?.range.end ?? p.range.end)
      })
    } else {
      add("()")
    }
    if let m = b.moduleName { add(" as \(m)") }
    // The body's '{': the first one after the name (parameters hold no braces).
    var brace = nameIndex
    while brace < tokens.count, tokens[brace].kind != .lBrace { brace += 1 }
    guard brace < tokens.count, let close = closerOf[brace] else { return }
    add(" ")
    printBracketed(b.body, open: brace, close: close, indent: 0, opener: "{", closer: "}", pad: " ")
  }

  /// A sequence between brackets: on one line if the source had it on one line, else one line per source
  /// line of elements, indented, with the closing bracket on a line of its own.
  private mutating func printBracketed(_ body: [Element], open: Int, close: Int, indent: Int,
                                       opener: String, closer: String, pad: String) {
    add(opener, through: tokens[open].range.end)
    if !spansLines(open, close) {
      if !body.isEmpty {
        add(pad)
        printSequence(body, indent: indent, continuingLine: true)
        add(pad)
      }
      add(closer, through: tokens[close].range.end)
      return
    }
    markOpens()
    printSequence(body, indent: indent + 2, continuingLine: false)
    begin(indent, at: tokens[close].range.start, commentIndent: indent + 2, closes: true)
    add(closer, through: tokens[close].range.end)
  }

  /// Elements separated by ',' where the source had them on one line, else by line breaks.
  private mutating func printSequence(_ elements: [Element], indent: Int, continuingLine: Bool) {
    var previous: Element?
    for e in elements {
      if let p = previous {
        if sameLine(p, e) { add(", ") } else { begin(indent, at: e.range.start) }
      } else if !continuingLine {
        begin(indent, at: e.range.start)
      }
      printElement(e, indent: indent)
      previous = e
    }
  }

  /// `indent` is the indentation of the sequence the element is in; brackets it opens over several lines
  /// indent their contents two more and close at `indent`.
  private mutating func printElement(_ e: Element, indent: Int) {
    switch e.kind {
    case .layer(let l):
      add(layer(l), through: e.range.end)
    case .call(let c):
      add(c.name, through: c.nameRange.end)
      // The '(' after the name, which may be several tokens (PyTorch's 'nn.Conv2d').
      var open = (tokenAt[c.nameRange.start] ?? 0) + 1
      while open < tokens.count, tokens[open].range.start < c.nameRange.end { open += 1 }
      printList(open: open, indent: indent, items: c.args.map { a in
        let start = a.labelRange?.start ?? a.value.range.start
        return (start, (a.label.map { $0 + "=" } ?? "") + argument(a.value), a.value.range.end)
      })
    case .group(let body):
      let open = tokenAt[e.range.start] ?? 0
      printBracketed(body, open: open, close: closerOf[open] ?? open, indent: indent, opener: "(", closer: ")", pad: "")
    case .combinator(let c):
      printCombinator(c, indent: indent)
    case .conditional(let c):
      printConditional(c, indent: indent)
    case .reference(let name):
      add("@" + name, through: e.range.end)
    case .bad:
      add(file.text(e.range), through: e.range.end)  // never reached: a file with errors is not formatted
    }
    if let count = e.repeatCount {
      let text: String
      switch count {
      case .int(let v?, _): text = "x\(v)"
      case .name(let n, _): text = "x " + n
      default: text = "x (" + expr(count) + ")"
      }
      add(" " + text, through: count.range.end)
    }
    for s in e.suffixes {
      switch s {
      case .expectShape(let d, let r): addSuffix("-> " + dims(d), isShape: true, through: r.end)
      case .bind(let name, let r): addSuffix("=> " + name, isShape: false, through: r.end)
      }
    }
  }

  /// `if COND { ... }`, `} else { ... }` or `} else if COND { ... }`, each body on one line or several as
  /// the source had it.
  private mutating func printConditional(_ c: ConditionalSyntax, indent: Int) {
    add("if " + expr(c.condition) + " ", through: c.condition.range.end)
    // The body's '{': the first one after 'if' (a condition holds no braces).
    var open = tokenAt[c.keywordRange.start] ?? 0
    while open < tokens.count, tokens[open].kind != .lBrace { open += 1 }
    guard open < tokens.count, let close = closerOf[open] else { return }
    printBracketed(c.then, open: open, close: close, indent: indent, opener: "{", closer: "}", pad: " ")
    guard let otherwise = c.otherwise, let elseRange = c.elseRange else { return }
    add(" else ", through: elseRange.end)
    let next = (tokenAt[elseRange.start] ?? 0) + 1
    if next < tokens.count, tokens[next].kind == .lBrace, let close = closerOf[next] {
      printBracketed(otherwise, open: next, close: close, indent: indent, opener: "{", closer: "}", pad: " ")
    } else if case .conditional(let nested)? = otherwise.first?.kind {
      printConditional(nested, indent: indent)
    }
  }

  private mutating func printCombinator(_ c: CombinatorSyntax, indent: Int) {
    // `residual if COND <`: a '<' comparison in COND keeps its parentheses, or '<' would open the branches.
    let opening = c.condition.map { c.keyword + " if " + expr($0, beforeAngle: true) + " <" } ?? c.keyword + "<"
    add(opening, through: c.branchRanges[0].end)
    let open = tokenAt[c.branchRanges[0].start] ?? 0
    let close = closerOf[open] ?? open
    if !spansLines(open, close) {
      if c.branches.allSatisfy(\.isEmpty) && c.branches.count == 1 {
        add(">", through: tokens[close].range.end)
        return
      }
      for (i, branch) in c.branches.enumerated() {
        if i > 0 { add(" |") }
        if !branch.isEmpty {
          add(" ")
          printSequence(branch, indent: indent, continuingLine: true)
        }
      }
      add(" >", through: tokens[close].range.end)
      return
    }
    markOpens()
    for (i, branch) in c.branches.enumerated() {
      if i == 0 {
        printSequence(branch, indent: indent + 2, continuingLine: false)
      } else {
        let pipe = c.branchRanges[i]
        begin(indent, at: pipe.start, commentIndent: indent + 2, depth: indent + 2)
        add("|", through: pipe.end)
        if !branch.isEmpty {
          add(" ")
          printSequence(branch, indent: indent + 2, continuingLine: true)
        }
      }
    }
    begin(indent, at: tokens[close].range.start, commentIndent: indent + 2, closes: true)
    add(">", through: tokens[close].range.end)
  }

  /// A parenthesised list of block parameters or call arguments: on one line if the source had it on one
  /// line (or it is empty), else one item per line, each with a ','.
  private mutating func printList(open: Int, indent: Int, items: [(start: Int, text: String, end: Int)]) {
    guard open < tokens.count, tokens[open].kind == .lParen, let close = closerOf[open] else {
      add("(" + items.map(\.text).joined(separator: ", ") + ")")
      return
    }
    if items.isEmpty || !spansLines(open, close) {
      add("(" + items.map(\.text).joined(separator: ", ") + ")", through: tokens[close].range.end)
      return
    }
    add("(")
    markOpens()
    for item in items {
      begin(indent + 2, at: item.start)
      add(item.text + ",", through: item.end)
    }
    begin(indent, at: tokens[close].range.start, commentIndent: indent + 2, closes: true)
    add(")", through: tokens[close].range.end)
  }

  private func spansLines(_ open: Int, _ close: Int) -> Bool {
    open < tokens.count && close < tokens.count && line(tokens[open].range.start) != line(tokens[close].range.start)
  }

  /// Whether the source had `b` on the line where `a` ends.
  private func sameLine(_ a: Element, _ b: Element) -> Bool {
    line(max(0, end(of: a) - 1)) == line(b.range.start)
  }

  private func end(of e: Element) -> Int {
    var end = e.range.end
    if let r = e.repeatCount { end = max(end, r.range.end) }
    for s in e.suffixes {
      switch s {
      case .expectShape(_, let r), .bind(_, let r): end = max(end, r.end)
      }
    }
    return end
  }

  // MARK: Comments and rendering

  /// A comment after code goes at the end of the output line that holds the code before it. Should two
  /// land on one line (a block header whose '{' is on a line of its own), they are joined.
  private mutating func attachTrailingComments() {
    var codeLines: [Int] = []
    for (i, l) in lines.enumerated() where !l.isComment { codeLines.append(i) }
    var orphans: [OutputLine] = []
    for c in trailingComments {
      // The last code line that starts at or before the comment.
      var lo = 0
      var hi = codeLines.count
      while lo < hi {
        let mid = (lo + hi) / 2
        if lines[codeLines[mid]].firstOffset <= c.range.start { lo = mid + 1 } else { hi = mid }
      }
      guard lo > 0 else {
        orphans.append(OutputLine(indent: 0, depth: 0, comment: commentText(c), isComment: true, firstOffset: 0,
                                  firstLine: 1, lastLine: 1))
        continue
      }
      let target = codeLines[lo - 1]
      lines[target].comment = lines[target].comment.map { $0 + " " + commentText(c) } ?? commentText(c)
    }
    lines.insert(contentsOf: orphans, at: 0)
  }

  /// Lines out, with at most one blank line where the source had any, and `-> shape` columns and trailing
  /// comments aligned within each section: lines between blank lines, at one depth, of comparable width.
  private func render() -> String {
    var blankBefore = [Bool](repeating: false, count: lines.count)
    for i in 1..<max(1, lines.count) {
      let (a, b) = (lines[i - 1], lines[i])
      blankBefore[i] = b.firstLine > a.lastLine + 1 && !a.opens && !b.closes
    }
    // A section ends at a blank line, where the depth changes, and (as in gofmt) between two lines with
    // trailing parts whose widths differ widely: over 40 columns and 2.5 times the other.
    var section = [Int](repeating: 0, count: lines.count)
    var id = 0
    var previousDepth: Int?
    var previousWidth: Int?
    for (i, l) in lines.enumerated() {
      if blankBefore[i] {
        id += 1
        previousDepth = nil
        previousWidth = nil
      }
      if !l.isComment {
        if let d = previousDepth, d != l.depth {
          id += 1
          previousWidth = nil
        }
        if l.arrow != nil || l.comment != nil {
          let w = l.indent + l.content.count
          if let p = previousWidth, max(w, p) > 40, 2 * max(w, p) >= 5 * min(w, p) { id += 1 }
          previousWidth = w
        }
        previousDepth = l.depth
      }
      section[i] = id
    }
    var shapeColumn: [Int: Int] = [:]
    var commentColumn: [Int: Int] = [:]
    for (i, l) in lines.enumerated() where !l.isComment && l.arrow != nil {
      shapeColumn[section[i]] = max(shapeColumn[section[i]] ?? 0, l.indent + l.content.count + 1)
    }
    // A comment on a line without a shape still starts no earlier than the shapes of its section.
    for (i, l) in lines.enumerated() where !l.isComment && l.comment != nil {
      let s = section[i]
      let width = l.arrow.map { (shapeColumn[s] ?? 0) + $0.count } ?? (l.indent + l.content.count)
      commentColumn[s] = max(commentColumn[s] ?? shapeColumn[s] ?? 0, width + 2)
    }
    var out = ""
    for (i, l) in lines.enumerated() {
      if blankBefore[i] { out += "\n" }
      var text = String(repeating: " ", count: l.indent)
      if l.isComment {
        text += l.comment ?? ""
      } else {
        text += l.content
        if let arrow = l.arrow {
          text += String(repeating: " ", count: max(1, (shapeColumn[section[i]] ?? 0) - text.count)) + arrow
        }
        if let comment = l.comment {
          text += String(repeating: " ", count: max(2, (commentColumn[section[i]] ?? 0) - text.count)) + comment
        }
      }
      while text.last == " " { text.removeLast() }
      out += text + "\n"
    }
    return out
  }
}
