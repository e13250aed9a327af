import NetcBasic
import NetcSema

extension Diagram {
  /// The diagram of a network with errors: its layers up to the first error, then the element that failed
  /// where the output would be, outlined in red with the error's message.
  public static func build(_ partial: PartialNetwork, file: SourceFile, depth: Int = allLevels) -> Diagram {
    let net = partial.network
    var b = DiagramBuilder(net, maxDepth: max(0, depth))
    // No output to reach: the body ends where checking stopped.
    let body = b.sequence(0, from: 0, to: nil, in: DiagramBuilder.Context(blockDepth: 0, blockInput: 0))
    let (line, column) = file.lineAndColumn(of: partial.error.range.start)
    let element = partial.element.map(file.text) ?? file.lineText(line)
    let message = "\(line):\(column): error: \(partial.error.message)"
    return Diagram(
      name: net.name,
      summary: "up to the first error: \(grouped(net.totalParams)) parameters, \(compactCount(net.totalMultAdds)) mult-adds before it",
      input: DiagramBox(title: "input", shape: net.input.description, style: .terminal, compact: false, value: 0),
      body: body,
      output: DiagramBox(title: oneLine(element), shape: message, style: .failure, compact: false, value: -1),
      failure: message)
  }

  /// An element's source on one line of at most 48 characters: a combinator spans several.
  static func oneLine(_ text: String) -> String {
    let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" })
    let joined = words.joined(separator: " ")
    return joined.count <= 48 ? joined : String(joined.prefix(47)) + "\u{2026}"
  }
}
