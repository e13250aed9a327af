import NetcBasic
import NetcSyntax

/// The names a document defines and uses: blocks (`block Name(...)`, used as `Name(...)`) and named
/// tensors (`=> name`, used as `@name`, visible in the network or block that binds them).
public struct SymbolIndex: Sendable {
  public struct Occurrence: Equatable, Sendable {
    public var name: String
    public var range: SourceRange
    /// The block whose body holds it; nil for the network's body.
    public var owner: String?
  }

  public var blockDefinitions: [Occurrence] = []
  public var blockUses: [Occurrence] = []
  public var tensorDefinitions: [Occurrence] = []
  public var tensorUses: [Occurrence] = []
  /// Each block's parameters, for completion of `Name(label=...)`.
  public var blockParameters: [String: [String]] = [:]
  /// Each block's whole declaration, to tell which body a position is in.
  public var blockRanges: [(name: String, range: SourceRange)] = []
  /// Source lines (0-based) that hold a `-> CxHxW` annotation or start an element that has one.
  public var annotatedLines: Set<Int> = []

  public init() {}

  public init(_ tree: NetworkSyntax, file: SourceFile) {
    for block in tree.blocks {
      blockDefinitions.append(Occurrence(name: block.name, range: block.nameRange, owner: nil))
      blockParameters[block.name] = block.params.map(\.name)
      blockRanges.append((block.name, block.range))
      visit(block.body, owner: block.name, file: file)
    }
    visit(tree.body, owner: nil, file: file)
  }

  /// The block whose declaration contains `offset`, or nil in the network's body.
  public func owner(at offset: Int) -> String? {
    blockRanges.first { $0.range.start <= offset && offset <= $0.range.end }?.name
  }

  /// The name under `offset`: a block's (definition or use) or a tensor's (binding or use).
  public func occurrence(at offset: Int) -> (occurrence: Occurrence, isBlock: Bool)? {
    func hit(_ o: Occurrence) -> Bool { o.range.start <= offset && offset <= o.range.end }
    if let o = blockDefinitions.first(where: hit) ?? blockUses.first(where: hit) { return (o, true) }
    if let o = tensorDefinitions.first(where: hit) ?? tensorUses.first(where: hit) { return (o, false) }
    return nil
  }

  private mutating func visit(_ elements: [Element], owner: String?, file: SourceFile) {
    for e in elements {
      switch e.kind {
      case .layer, .bad:
        break
      case .call(let call):
        blockUses.append(Occurrence(name: call.name, range: call.nameRange, owner: owner))
      case .group(let inner):
        visit(inner, owner: owner, file: file)
      case .combinator(let c):
        for branch in c.branches { visit(branch, owner: owner, file: file) }
      case .conditional(let c):
        visit(c.then, owner: owner, file: file)
        if let otherwise = c.otherwise { visit(otherwise, owner: owner, file: file) }
      case .reference(let name):
        // `@name`: the name follows the '@' (the element's range may go on to a repetition or suffix).
        let start = e.range.start + 1
        if file.bytes.indices.contains(e.range.start), file.bytes[e.range.start] == UInt8(ascii: "@") {
          tensorUses.append(Occurrence(name: name, range: SourceRange(start, start + name.utf8.count), owner: owner))
        }
      }
      for suffix in e.suffixes {
        switch suffix {
        case .bind(let name, let r):
          tensorDefinitions.append(Occurrence(name: name, range: r, owner: owner))
        case .expectShape(_, let r):
          annotatedLines.insert(file.lineAndColumn(of: r.start).line - 1)
          annotatedLines.insert(file.lineAndColumn(of: e.range.start).line - 1)
        }
      }
    }
  }
}
