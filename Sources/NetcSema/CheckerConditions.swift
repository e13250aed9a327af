import NetcBasic
import NetcOps
import NetcSyntax

/// Conditions: `if COND { ... } else { ... }`, a shortcut under a condition (`residual if COND < ... >`),
/// and the evaluation of expressions whose value may rest on a guess.
extension Checker {
  func checkConditional(_ c: ConditionalSyntax, input: Int?, _ env: inout Env) -> Int? {
    guard let holds = condition(c.condition, env.params, of: "'if'") else {
      checkUntaken(c.then, env)
      if let otherwise = c.otherwise { checkUntaken(otherwise, env) }
      return guessFrom(input)
    }
    if holds {
      if let otherwise = c.otherwise { checkUntaken(otherwise, env) }
      return checkSequence(c.then, input: input, &env)
    }
    checkUntaken(c.then, env)
    guard let otherwise = c.otherwise else { return input }
    return checkSequence(otherwise, input: input, &env)
  }

  /// The condition's truth; nil after an error (reported, unless it rests on a guess).
  func condition(_ e: Expr, _ env: Bindings, of what: String) -> Bool? {
    guard let v = evaluate(e, env) else { return nil }
    guard case .bool(let b) = v else {
      error("condition-not-boolean", "the condition of \(what) is a number, not true or false", at: e.range,
            notes: [Note("a condition compares: Python's 'if n:' is 'if n != 0' in netc")],
            fixIts: [FixIt(range: SourceRange.point(e.range.end), replacement: " != 0")])
      return nil
    }
    return b
  }

  /// Names in a branch that is not taken are still checked (once): a misspelt layer there is a mistake
  /// whichever branch a use takes.
  func checkUntaken(_ elements: [Element], _ env: Env) {
    guard let first = elements.first, checkedUntaken.insert(first.range.start).inserted else { return }
    checkUnusedBody(elements, parameters: Set(env.params.numbers.keys).union(env.params.layers.keys))
  }

  /// What the condition of `residual if COND < body | shortcut >` decides: `.keep` the combinator as it
  /// stands (no condition, or one that holds), its `.body` alone, or nothing (`.unknown`, after an error).
  enum ResidualForm { case keep, body, unknown }

  func residualForm(_ c: CombinatorSyntax, _ env: Env) -> ResidualForm {
    guard let condition = c.condition else { return .keep }
    guard c.keyword == "residual" else {
      error("condition-not-residual", "only 'residual' takes a condition: its shortcut is added only when the condition holds",
            at: c.conditionKeywordRange ?? c.keywordRange,
            notes: [Note("to make the whole '\(c.keyword)' conditional, write 'if COND { \(c.keyword)< ... > }'")])
      return .keep
    }
    guard let holds = self.condition(condition, env.params, of: "'residual if'") else {
      c.branches.forEach { checkUntaken($0, env) }
      return .unknown
    }
    if holds { return .keep }
    if c.branches.count == 2 { checkUntaken(c.branches[1], env) }
    return .body
  }

  /// An expression's value, its errors reported; or, when it reads a block input that is a guess made
  /// after an error, its value with its errors left unsaid (they would be that error's consequence).
  func evaluate(_ e: Expr, _ env: Bindings) -> Value? {
    if env.inputIsGuess && e.readsInput {
      var nowhere = DiagnosticEngine(file: file, errorLimit: 0)
      return Evaluator.evaluate(e, env: env, &nowhere)
    }
    return reporting { Evaluator.evaluate(e, env: env, &$0) }
  }
}
