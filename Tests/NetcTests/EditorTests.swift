import Foundation
import NetcDriver
@testable import NetcOps
@testable import NetcSema
import NetcSyntax
import Testing

/// editors/vscode: the problem matcher reads netc's real diagnostics, and the grammar knows netc's words.
@Suite struct EditorTests {
  static let vscode = Paths.root.appendingPathComponent("editors/vscode")

  static func json(_ name: String) throws -> [String: Any] {
    let data = try Data(contentsOf: vscode.appendingPathComponent(name))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(name) is not a JSON object")
  }

  static func problemMatcher() throws -> (regex: NSRegularExpression, pattern: [String: Any]) {
    let package = try json("package.json")
    let contributes = try #require(package["contributes"] as? [String: Any])
    let matchers = try #require(contributes["problemMatchers"] as? [[String: Any]])
    let netc = try #require(matchers.first { $0["name"] as? String == "netc" }, "no problem matcher named netc")
    let pattern = try #require(netc["pattern"] as? [String: Any])
    let regexp = try #require(pattern["regexp"] as? String)
    return (try NSRegularExpression(pattern: regexp), pattern)
  }

  /// Runs the built netc (as a task in an editor would) and returns its stderr.
  static func runNetc(_ args: [String]) throws -> String {
    let exe = Paths.root.appendingPathComponent(".build/debug/netc")
    guard FileManager.default.isExecutableFile(atPath: exe.path) else {
      return Driver.run(args).stderr  // the same text, produced in process
    }
    let p = Process()
    p.executableURL = exe
    p.arguments = args
    p.currentDirectoryURL = Paths.root
    let err = Pipe()
    p.standardError = err
    p.standardOutput = Pipe()
    try p.run()
    let data = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
  }

  /// Every diagnostic header netc prints (`file:line:col: severity: message`) is one problem, with the
  /// right file, line, column, severity and message; snippets, carets and summaries are not.
  @Test func problemMatcherMatchesNetcDiagnostics() throws {
    let (regex, pattern) = try Self.problemMatcher()
    let groups = try ["file", "line", "column", "severity", "message"].map { try #require(pattern[$0] as? Int, "\($0)") }
    let messy = "Tests/NetcTests/Inputs/fmt/messy.net"
    let runs: [[String]] = [
      ["check", "--color", "never", "specs/examples/simple_inception_bug.net"],  // an error and notes
      ["check", "--color", "never", "Tests/NetcTests/Inputs/diagnostics/dropped-input.net"],  // warnings
      ["check", "--color", "never", "Tests/NetcTests/Inputs/diagnostics/several-errors.net"],
      ["fmt", "--check", "--color", "never", messy],  // not formatted
    ]
    var problems = 0
    var severities: Set<String> = []
    for args in runs {
      let stderr = try Self.runNetc(args)
      #expect(!stderr.isEmpty, "\(args)")
      for line in stderr.split(separator: "\n").map(String.init) {
        let ns = line as NSString
        let match = regex.firstMatch(in: line, range: NSRange(location: 0, length: ns.length))
        // What netc means as a located diagnostic: the input's path, a line and a column, a severity.
        let path = args.last!
        let isHeader = line.hasPrefix(path + ":") && [": error: ", ": warning: ", ": note: "].contains { line.contains($0) }
        #expect((match != nil) == isHeader, "\(args): '\(line)'")
        guard let m = match, isHeader else { continue }
        problems += 1
        func group(_ i: Int) -> String { ns.substring(with: m.range(at: groups[i])) }
        #expect(group(0) == path)
        let rest = line.dropFirst(path.count + 1).split(separator: ":", maxSplits: 3)
        #expect(group(1) == String(rest[0]) && Int(group(1))! >= 1)
        #expect(group(2) == String(rest[1]) && Int(group(2))! >= 1)
        #expect(group(3) == rest[2].trimmingCharacters(in: .whitespaces))
        #expect(group(4) == rest[3].trimmingCharacters(in: .whitespaces))
        severities.insert(group(3))
      }
    }
    #expect(problems >= 6)
    #expect(severities == ["error", "warning", "note"])
  }

  @Test func extensionManifest() throws {
    let package = try Self.json("package.json")
    let contributes = try #require(package["contributes"] as? [String: Any])
    let languages = try #require(contributes["languages"] as? [[String: Any]])
    #expect(languages.first?["id"] as? String == "netc")
    #expect(languages.first?["extensions"] as? [String] == [".net"])
    let grammars = try #require(contributes["grammars"] as? [[String: Any]])
    let grammarPath = try #require(grammars.first?["path"] as? String)
    let grammar = try Self.json(grammarPath)
    #expect(grammars.first?["scopeName"] as? String == grammar["scopeName"] as? String)
    let configPath = try #require(languages.first?["configuration"] as? String)
    let config = try Self.json(configPath)
    #expect((config["comments"] as? [String: Any])?["lineComment"] as? String == "#")
    #expect(config["brackets"] as? [[String]] == [["{", "}"], ["(", ")"], ["<", ">"]])
  }

  /// The extension's code starts `netc lsp` through vscode-languageclient, which the manifest declares
  /// (npm cannot install it here: the extension is checked as written, not run).
  @Test func extensionStartsTheLanguageServer() throws {
    let package = try Self.json("package.json")
    let main = try #require(package["main"] as? String)
    #expect((package["dependencies"] as? [String: String])?["vscode-languageclient"] != nil)
    #expect(package["activationEvents"] as? [String] == ["onLanguage:netc"])
    let code = try String(contentsOf: Self.vscode.appendingPathComponent(main), encoding: .utf8)
    #expect(code.contains(#"require("vscode-languageclient/node")"#))
    #expect(code.contains(#"args: ["lsp"]"#))
    #expect(code.contains(#"documentSelector: [{ language: "netc" }]"#))
    #expect(Driver.run(["lsp", "--help"]).stdout.hasPrefix("OVERVIEW: Serve the Language Server Protocol"))
  }

  // MARK: The grammar

  /// The grammar's patterns, includes resolved, in the order they are tried.
  static func patterns() throws -> [[String: Any]] {
    let grammar = try json("syntaxes/netc.tmLanguage.json")
    let repository = try #require(grammar["repository"] as? [String: [String: Any]])
    func expand(_ p: [String: Any]) -> [[String: Any]] {
      if let include = p["include"] as? String, let target = repository[String(include.dropFirst())] { return expand(target) }
      if let inner = p["patterns"] as? [[String: Any]] { return inner.flatMap(expand) }
      return [p]
    }
    return try #require(grammar["patterns"] as? [[String: Any]]).flatMap(expand)
  }

  /// The words one repository rule lists: the alternatives of its first group, `\b(a|b|c)...`.
  static func words(_ rule: String) throws -> Set<String> {
    let grammar = try json("syntaxes/netc.tmLanguage.json")
    let repository = try #require(grammar["repository"] as? [String: [String: Any]])
    let match = try #require(repository[rule]?["match"] as? String, "no rule \(rule)")
    let open = try #require(match.range(of: "("))
    let close = try #require(match.range(of: ")", range: open.upperBound..<match.endIndex))
    return Set(match[open.upperBound..<close.lowerBound].split(separator: "|").map(String.init))
  }

  /// The word lists are netc's own: the parser's keywords, and every option and flag of every layer.
  @Test func grammarWordsAreNetcs() throws {
    #expect(try Self.words("layers") == Parser.layerKeywords)
    #expect(try Self.words("combinators") == Parser.combinatorKeywords)
    let signatures = OperationRegistry.byKeyword.values.map(\.signature)
    #expect(Set(OperationRegistry.byKeyword.keys) == Parser.layerKeywords)
    #expect(try Self.words("options") == Set(signatures.flatMap(\.options.keys)))
    #expect(try Self.words("flags") == Set(signatures.flatMap(\.flags)))
    #expect(try Self.words("words") == ["same"])
    let declared = try #require(try Self.json("syntaxes/netc.tmLanguage.json")["repository"] as? [String: Any])
    let text = String(describing: declared["declarations"] ?? "")
    for word in ["network", "input", "block", "as"] { #expect(text.contains("(\(word))"), "\(word)") }
    // The words of conditions: 'if', 'else', and the operators 'and', 'or', 'not'.
    let conditions = try #require((declared["conditions"] as? [String: Any])?["patterns"] as? [[String: Any]])
    var conditionWords: Set<String> = []
    for rule in conditions {
      let match = try #require(rule["match"] as? String)
      let open = try #require(match.range(of: "("))
      let close = try #require(match.range(of: ")", range: open.upperBound..<match.endIndex))
      conditionWords.formUnion(match[open.upperBound..<close.lowerBound].split(separator: "|").map(String.init))
    }
    #expect(conditionWords == Parser.conditionWords)
  }

  /// Highlights a line as a TextMate engine does (at each position the earliest match, the first rule on a
  /// tie) and returns each token's text and scope.
  static func highlight(_ line: String, _ rules: [(NSRegularExpression, [String: Any])]) -> [(String, String)] {
    let ns = line as NSString
    var tokens: [(String, String)] = []
    var pos = 0
    while pos < ns.length {
      var best: (NSTextCheckingResult, [String: Any])?
      for (regex, rule) in rules {
        guard let m = regex.firstMatch(in: line, range: NSRange(location: pos, length: ns.length - pos)), m.range.length > 0
        else { continue }
        if best == nil || m.range.location < best!.0.range.location { best = (m, rule) }
      }
      guard let (m, rule) = best else { break }
      if let name = rule["name"] as? String { tokens.append((ns.substring(with: m.range), name)) }
      if let captures = rule["captures"] as? [String: [String: String]] {
        for (index, capture) in captures.sorted(by: { $0.key < $1.key }) {
          let r = m.range(at: Int(index)!)
          if r.location != NSNotFound, let name = capture["name"] { tokens.append((ns.substring(with: r), name)) }
        }
      }
      pos = m.range.location + m.range.length
    }
    return tokens
  }

  @Test func grammarHighlightsEveryConstruct() throws {
    let rules = try Self.patterns().map { (try NSRegularExpression(pattern: try #require($0["match"] as? String)), $0) }
    let cases: [(String, [(String, String)])] = [
      ("conv 3x3 64 s2 p1x2 nobias, relu  # a comment, with -> inside",
       [("conv", "support.function.layer"), ("3x3", "constant.numeric.shape"), ("64", "constant.numeric.integer"),
        ("s", "keyword.other.unit.option"), ("2", "constant.numeric.integer"), ("p", "keyword.other.unit.option"),
        ("1x2", "constant.numeric.integer"), ("nobias", "constant.language.flag"), ("relu", "support.function.layer"),
        ("# a comment, with -> inside", "comment.line.number-sign")]),
      ("inception< conv 1x1 c1 | maxpool 3x3 s1 p1 ceil, conv 1x1 pp > -> 256x28x28",
       [("inception", "keyword.control.combinator"), ("|", "punctuation.separator.branch"), ("ceil", "constant.language.flag"),
        (">", "punctuation.section.combinator.end"), ("->", "keyword.operator.arrow"), ("256x28x28", "constant.numeric.shape")]),
      ("block DownBottleneck(c, s=2) as Bottleneck {",
       [("block", "storage.type.block"), ("DownBottleneck", "entity.name.type.block"), ("s", "variable.parameter.option"),
        ("as", "keyword.other.as"), ("Bottleneck", "entity.name.type.module")]),
      ("DownBottleneck(128), Bottleneck(128) x3 => c1",
       [("DownBottleneck", "entity.name.function.block"), ("Bottleneck", "entity.name.function.block"),
        ("x", "keyword.operator.repeat"), ("3", "constant.numeric.integer"), ("=>", "keyword.operator.bind"),
        ("c1", "variable.other.tensor")]),
      ("network LeNet5", [("network", "keyword.other.network"), ("LeNet5", "entity.name.type.network")]),
      ("input 3x224x224", [("input", "keyword.other.input"), ("3x224x224", "constant.numeric.shape")]),
      ("bn eps=0.001, relu(), conv 3x3 c*4 pad=same, concat< @c1 | identity >, (relu) x n",
       [("eps", "variable.parameter.option"), ("0.001", "constant.numeric.float"), ("relu", "support.function.layer"),
        ("*", "keyword.operator.arithmetic"), ("pad", "variable.parameter.option"), ("same", "constant.language"),
        ("concat", "keyword.control.combinator"), ("c1", "variable.other.tensor"), ("x", "keyword.operator.repeat")]),
      ("conv 3x3 64; fc \"10\"", [(";", "invalid.illegal.character"), ("\"", "invalid.illegal.character")]),
      ("  residual if s == 1 and in.c != out <",
       [("residual", "keyword.control.combinator"), ("if", "keyword.control.conditional"),
        ("==", "keyword.operator.comparison"), ("and", "keyword.operator.logical"), ("in", "variable.language.input"),
        ("c", "variable.language.input.size"), ("!=", "keyword.operator.comparison"), ("<", "punctuation.section.combinator.begin")]),
      ("  if not sq >= 8 { SqueezeExcitation(sq, scale_activation=hardsigmoid) } else { act() }",
       [("if", "keyword.control.conditional"), ("not", "keyword.operator.logical"), (">=", "keyword.operator.comparison"),
        ("scale_activation", "variable.parameter"), ("hardsigmoid", "support.function.layer"), ("else", "keyword.control.conditional")]),
      ("block Bneck(k, act=relu, norm=(bn eps=0.001)) {",
       [("act", "variable.parameter"), ("relu", "support.function.layer"), ("norm", "variable.parameter"),
        ("bn", "support.function.layer"), ("eps", "variable.parameter.option")]),
      ("if !s { relu }", [("!", "invalid.illegal.character")]),
    ]
    for (line, expected) in cases {
      let tokens = Self.highlight(line, rules)
      for (text, scope) in expected {
        #expect(tokens.contains { $0.0 == text && $0.1 == scope + ".netc" }, "'\(text)' in '\(line)' is not \(scope): \(tokens)")
      }
    }
    // Every word of every spec gets some scope but plain names (block parameters such as 'c').
    for path in FormatterTests.specPaths {
      for line in try readText(URL(fileURLWithPath: path)).split(separator: "\n") {
        let tokens = Self.highlight(String(line), rules)
        #expect(!tokens.contains { $0.1.hasPrefix("invalid") }, "\(path): \(line)")
      }
    }
  }
}
