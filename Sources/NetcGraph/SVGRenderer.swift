import NetcBasic
import NetcOps

/// Lays a diagram out top to bottom and writes it as SVG, with no font engine and no Graphviz: every size
/// is computed from `TextMetrics`. The main line runs straight down one axis; branches of an inception
/// stand side by side between a fork and a join; a residual body stays on the axis with its shortcut
/// drawn around it on the right; an open block is a dashed frame with its name, and a folded run of
/// blocks is drawn once, as a stack, with "xN".
public enum SVGRenderer {
  public static func render(_ diagram: Diagram) -> String {
    let layout = Layout()
    let items = [DiagramItem.box(diagram.input)] + diagram.body + [.box(diagram.output)]
    let main = layout.sequence(items, depth: 0)
    let header = max(TextMetrics.width(diagram.name, size: 15, bold: true),
                     TextMetrics.width(diagram.summary, size: 11))
    let contentWidth = main.left + main.right
    let width = (max(contentWidth, header) + 2 * Layout.margin).rounded(.up)
    let height = (Layout.margin + Layout.headerHeight + main.height + Layout.margin).rounded(.up)
    let axis = (Layout.margin + main.left + (width - 2 * Layout.margin - contentWidth) / 2).rounded()
    var canvas = Canvas()
    canvas.text(diagram.name, x: Layout.margin, y: Layout.margin + 14, cls: "h")
    canvas.text(diagram.summary, x: Layout.margin, y: Layout.margin + 31, cls: "sub")
    main.draw(&canvas, axis, Layout.margin + Layout.headerHeight)

    // The failure's rules only where there is one: a diagram without errors stays as it was.
    let styles = DiagramBox.Style.allCases.filter { $0 != .failure || diagram.failure != nil }.map { style -> String in
      let (fill, stroke) = Palette.colors(style)
      let extra = style == .block ? ";stroke-width:1.6" : style == .jump ? ";stroke-dasharray:3 2"
        : style == .failure ? ";stroke-width:2" : ""
      return ".\(style.rawValue){fill:\(fill);stroke:\(stroke)\(extra)}"
    }.joined() + (diagram.failure == nil ? "" : ".err{fill:\(Palette.colors(.failure).stroke)}")
    var out = """
      <?xml version="1.0" encoding="UTF-8"?>
      <svg xmlns="http://www.w3.org/2000/svg" width="\(num(width))" height="\(num(height))" \
      viewBox="0 0 \(num(width)) \(num(height))">
      <title>\(escape(diagram.name))</title>
      <desc>\(escape(diagram.summary)). Drawn by netc graph.</desc>
      <style>
      text{font-family:'DejaVu Sans',Verdana,Arial,sans-serif;fill:#222}
      .t{font-size:12px}.c{font-size:11px}.s{font-size:10px;fill:#666}.b{font-weight:bold}
      .h{font-size:15px;font-weight:bold}.sub{font-size:11px;fill:#666}.ft{font-size:11px;font-weight:bold;fill:#555}
      .e{fill:none;stroke:#555;stroke-width:1.2}.dot{fill:#555}
      \(styles)
      .frame{fill:#000;fill-opacity:0.035;stroke:#8a8a8a;stroke-dasharray:4 3}.card{fill:none;stroke:#8a8a8a}
      </style>
      <defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" \
      markerUnits="userSpaceOnUse" orient="auto"><path d="M0,1 L10,5 L0,9 z" fill="#555"/></marker></defs>
      <rect width="100%" height="100%" fill="#fff"/>
      <g transform="translate(0.5,0.5)">

      """
    for line in canvas.frames + canvas.boxes + canvas.edges { out += line + "\n" }
    out += "</g>\n</svg>\n"
    return out
  }
}

/// SVG elements in three layers: frames behind, boxes, and connectors on top (so an arrow into a stack
/// of boxes still shows its head).
struct Canvas {
  static let badgeGap = 5.0

  var frames: [String] = []
  var boxes: [String] = []
  var edges: [String] = []

  mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, cls: String, radius: Double = 4,
                     frame: Bool = false) {
    let r = "<rect x=\"\(num(x))\" y=\"\(num(y))\" width=\"\(num(w))\" height=\"\(num(h))\" rx=\"\(num(radius))\" class=\"\(cls)\"/>"
    if frame { frames.append(r) } else { boxes.append(r) }
  }

  mutating func text(_ s: String, x: Double, y: Double, cls: String, anchor: String = "start", badge: String? = nil,
                     frame: Bool = false) {
    let a = anchor == "start" ? "" : " text-anchor=\"\(anchor)\""
    // The gap before the badge is a shift, not a space: renderers drop a space at the start of a tspan.
    let tail = badge.map { "<tspan dx=\"\(num(Canvas.badgeGap))\" class=\"b\">\(escape($0))</tspan>" } ?? ""
    let t = "<text x=\"\(num(x))\" y=\"\(num(y))\" class=\"\(cls)\"\(a)>\(escape(s))\(tail)</text>"
    if frame { frames.append(t) } else { boxes.append(t) }
  }

  /// The visible edges of a card behind a frame.
  mutating func outline(_ points: [(Double, Double)]) {
    var d = "M\(num(points[0].0)),\(num(points[0].1))"
    for p in points.dropFirst() { d += " L\(num(p.0)),\(num(p.1))" }
    frames.append("<path d=\"\(d)\" class=\"card\"/>")
  }

  /// A connector through `points`, with an arrowhead at its end unless it ends at a junction.
  mutating func line(_ points: [(Double, Double)], arrow: Bool = true) {
    guard points.count >= 2 else { return }
    var d = "M\(num(points[0].0)),\(num(points[0].1))"
    for p in points.dropFirst() { d += " L\(num(p.0)),\(num(p.1))" }
    edges.append("<path d=\"\(d)\" class=\"e\"\(arrow ? " marker-end=\"url(#arrow)\"" : "")/>")
  }

  mutating func dot(_ x: Double, _ y: Double) {
    edges.append("<circle cx=\"\(num(x))\" cy=\"\(num(y))\" r=\"2.5\" class=\"dot\"/>")
  }

  /// A join drawn as a circle with `+` (add) or `x` (mul).
  mutating func joinCircle(_ x: Double, _ cy: Double, _ r: Double, multiply: Bool) {
    boxes.append("<circle cx=\"\(num(x))\" cy=\"\(num(cy))\" r=\"\(num(r))\" class=\"join\"/>")
    let a = r * 0.5
    let d = multiply
      ? "M\(num(x - a)),\(num(cy - a)) L\(num(x + a)),\(num(cy + a)) M\(num(x - a)),\(num(cy + a)) L\(num(x + a)),\(num(cy - a))"
      : "M\(num(x - a)),\(num(cy)) L\(num(x + a)),\(num(cy)) M\(num(x)),\(num(cy - a)) L\(num(x)),\(num(cy + a))"
    boxes.append("<path d=\"\(d)\" class=\"e\"/>")
  }
}

/// A laid-out item: its extent left and right of the axis it is drawn on, its height, where the line
/// from above ends (`entry`) and where the line below starts (`exit`), and how to draw it at an axis x
/// and a top y.
struct Piece {
  var left: Double
  var right: Double
  var height: Double
  var entry: Double = 0
  /// The line from above ends at a fork rather than a box: no arrowhead.
  var junction = false
  var exit: Double
  /// Starts from an earlier tensor: no line from above.
  var detached = false
  var draw: (inout Canvas, Double, Double) -> Void
}

struct Layout {
  static let margin = 16.0
  static let headerHeight = 48.0
  static let gap = 16.0          // between items of a sequence: the arrows
  static let branchGap = 18.0    // between branches side by side
  static let minBoxWidth = 140.0
  static let boxHeight = 36.0
  static let compactHeight = 22.0
  static let padding = 10.0      // text inside a box
  static let framePadding = 10.0
  static let frameTitle = 20.0   // the title row
  static let frameGap = 12.0     // from the title row to the body
  static let joinRadius = 9.0
  static let stackStep = 3.0     // offset of each card behind a folded run

  func sequence(_ items: [DiagramItem], depth: Int) -> Piece {
    let pieces = items.map { piece($0, depth: depth) }
    guard let first = pieces.first, let last = pieces.last else {
      return Piece(left: 0, right: 0, height: 0, junction: true, exit: 0, draw: { _, _, _ in })
    }
    var tops: [Double] = []
    var y = 0.0
    for p in pieces {
      tops.append(y)
      y += p.height + Layout.gap
    }
    let height = y - Layout.gap
    return Piece(
      left: pieces.map(\.left).max()!, right: pieces.map(\.right).max()!, height: height,
      entry: first.entry, junction: first.junction, exit: tops.last! + last.exit, detached: first.detached,
      draw: { canvas, x, top in
        for (k, p) in pieces.enumerated() {
          if k > 0 && !p.detached {
            canvas.line([(x, top + tops[k - 1] + pieces[k - 1].exit), (x, top + tops[k] + p.entry)], arrow: !p.junction)
          }
          p.draw(&canvas, x, top + tops[k])
        }
      })
  }

  func piece(_ item: DiagramItem, depth: Int) -> Piece {
    switch item {
    case .box(let b): return box(b)
    case .jump(let b):
      var p = box(b)
      p.detached = true
      return p
    case .frame(let f): return frame(f, depth: depth)
    case .parallel(let branches, let join): return parallel(branches, join, depth: depth)
    case .residual(let body, let shortcut, let join): return residual(body, shortcut, join, depth: depth)
    case .side(let branch, let output): return side(branch, output, depth: depth)
    }
  }

  // MARK: Boxes

  func box(_ b: DiagramBox) -> Piece {
    b.compact ? compactBox(b) : fullBox(b)
  }

  /// Two lines: the title (with "xN" for a folded run) and the output shape.
  func fullBox(_ b: DiagramBox) -> Piece {
    let bold = b.style == .block || b.style == .terminal
    let badge = b.repeats > 1 ? "\u{D7}\(b.repeats)" : nil
    let titleWidth = TextMetrics.width(b.title, size: 12, bold: bold)
      + (badge.map { Canvas.badgeGap + TextMetrics.width($0, size: 12, bold: true) } ?? 0)
    let textWidth = max(titleWidth, TextMetrics.width(b.shape, size: 10))
    let w = evenWidth(max(Layout.minBoxWidth, textWidth + 2 * Layout.padding))
    let stack = b.repeats > 1 ? 2 * Layout.stackStep : 0
    let h = Layout.boxHeight
    let radius = b.style == .terminal ? h / 2 : 4
    // The arrow from above ends on the topmost card of a stack.
    return Piece(left: w / 2, right: w / 2 + stack, height: h + stack, exit: h + stack) { c, x, top in
      if stack > 0 {
        c.rect(x - w / 2 + stack, top, w, h, cls: b.style.rawValue, radius: radius)
        c.rect(x - w / 2 + Layout.stackStep, top + Layout.stackStep, w, h, cls: b.style.rawValue, radius: radius)
      }
      let y = top + stack
      c.rect(x - w / 2, y, w, h, cls: b.style.rawValue, radius: radius)
      let failed = b.style == .failure
      c.text(b.title, x: x, y: y + 15, cls: bold || failed ? "t b" : "t", anchor: "middle", badge: badge)
      c.text(b.shape, x: x, y: y + 29, cls: failed ? "s err" : "s", anchor: "middle")
    }
  }

  /// One line: the title on the left, the output shape on the right.
  func compactBox(_ b: DiagramBox) -> Piece {
    let titleWidth = TextMetrics.width(b.title, size: 11)
    let shapeWidth = TextMetrics.width(b.shape, size: 10)
    let w = evenWidth(max(Layout.minBoxWidth, titleWidth + shapeWidth + 2 * Layout.padding + 12))
    let h = Layout.compactHeight
    return Piece(left: w / 2, right: w / 2, height: h, exit: h) { c, x, top in
      c.rect(x - w / 2, top, w, h, cls: b.style.rawValue, radius: 3)
      c.text(b.title, x: x - w / 2 + Layout.padding, y: top + 15, cls: "c")
      c.text(b.shape, x: x + w / 2 - Layout.padding, y: top + 15, cls: "s", anchor: "end")
    }
  }

  // MARK: Frames

  /// An open block: a dashed frame around its body, its name at the top left, "xN" at the top right.
  /// The arrow from above ends at the frame; inside, the flow starts again under the title.
  func frame(_ f: DiagramFrame, depth: Int) -> Piece {
    let body = sequence(f.body, depth: depth + 1)
    let pad = Layout.framePadding
    let titleWidth = TextMetrics.width(f.title, size: 11, bold: true)
    var badge = f.repeats > 1 ? "\u{D7}\(f.repeats)" : ""
    if let s = f.finalShape { badge += (badge.isEmpty ? "" : " ") + "\u{2192} " + s }
    let badgeWidth = badge.isEmpty ? 0 : TextMetrics.width(badge, size: 11, bold: true) + 12
    // A title wider than the body widens the frame on both sides alike.
    let needed = titleWidth + badgeWidth + 2 * pad
    let grow = max(0, needed - (body.left + body.right + 2 * pad)) / 2
    let left = evenWidth(body.left + pad + grow)
    let right = evenWidth(body.right + pad + grow)
    let stack = f.repeats > 1 ? 2 * Layout.stackStep : 0
    let bodyOffset = Layout.frameTitle + Layout.frameGap
    let h = bodyOffset + body.height + pad
    let bodyTop = stack + bodyOffset
    return Piece(left: left, right: right + stack, height: h + stack, exit: bodyTop + body.exit) { c, x, top in
      let w = left + right
      // The cards behind show only their top and right edges: the frame in front is translucent.
      for k in [2.0, 1.0] where stack > 0 {
        let dx = k * Layout.stackStep, cardTop = top + stack - dx
        c.outline([(x - left + dx, cardTop + 6), (x - left + dx, cardTop), (x + right + dx, cardTop),
                   (x + right + dx, cardTop + h), (x + right + dx - 6, cardTop + h)])
      }
      let y = top + stack
      c.rect(x - left, y, w, h, cls: "frame", radius: 6, frame: true)
      c.text(f.title, x: x - left + pad, y: y + 14, cls: "ft", frame: true)
      if !badge.isEmpty { c.text(badge, x: x + right - pad, y: y + 14, cls: "ft", anchor: "end", frame: true) }
      if !body.detached && body.height > 0 {
        c.line([(x, y + Layout.frameTitle), (x, top + bodyTop + body.entry)], arrow: !body.junction)
      }
      body.draw(&c, x, top + bodyTop)
    }
  }

  // MARK: Branches

  /// Branches side by side under a fork, then a bus into the join.
  func parallel(_ items: [[DiagramItem]], _ join: DiagramBox, depth: Int) -> Piece {
    let branches = items.map { sequence($0, depth: depth) }
    let total = branches.reduce(0) { $0 + $1.left + $1.right } + Layout.branchGap * Double(max(0, branches.count - 1))
    var xs: [Double] = []
    var cursor = -(total / 2).rounded()
    for b in branches {
      xs.append(cursor + b.left)
      cursor += b.left + b.right + Layout.branchGap
    }
    let branchTop = Layout.gap
    let longest = branches.map(\.height).max() ?? 0
    let busBottom = branchTop + longest + 12
    let joinTop = busBottom + Layout.gap
    let circle = join.title != "concat"
    let joinPiece = circle ? nil : box(join)
    let r = Layout.joinRadius
    let label = TextMetrics.width(join.shape, size: 10)
    let joinLeft = joinPiece?.left ?? r
    let joinRight = joinPiece?.right ?? (r + 6 + label)
    let height = joinTop + (joinPiece?.height ?? 2 * r)
    let left = max(zip(xs, branches).map { -($0 - $1.left) }.max() ?? 0, joinLeft)
    let right = max(zip(xs, branches).map { $0 + $1.right }.max() ?? 0, joinRight)
    return Piece(left: left, right: right, height: height, junction: true, exit: height) { c, x, top in
      let attached = zip(xs, branches).filter { !$0.1.detached }.map { x + $0.0 }
      c.line([(min(attached.min() ?? x, x), top), (max(attached.max() ?? x, x), top)], arrow: false)
      for (bx, b) in zip(xs, branches) {
        let ax = x + bx
        if !b.detached {
          c.line([(ax, top), (ax, top + branchTop + b.entry)], arrow: !b.junction && b.height > 0)
        }
        b.draw(&c, ax, top + branchTop)
        c.line([(ax, top + branchTop + b.exit), (ax, top + busBottom)], arrow: false)
      }
      let all = xs.map { x + $0 }
      c.line([(min(all.min() ?? x, x), top + busBottom), (max(all.max() ?? x, x), top + busBottom)], arrow: false)
      c.line([(x, top + busBottom), (x, top + joinTop)])
      if let joinPiece {
        joinPiece.draw(&c, x, top + joinTop)
      } else {
        c.joinCircle(x, top + joinTop + r, r, multiply: join.title == "mul")
        c.text(join.shape, x: x + r + 6, y: top + joinTop + r + 3.5, cls: "s")
      }
    }
  }

  /// The body on the axis; the shortcut (a column of layers, or a bare line for the identity) on the
  /// right, from the fork above the body into the circle that adds them.
  func residual(_ bodyItems: [DiagramItem], _ shortcutItems: [DiagramItem]?, _ join: DiagramBox, depth: Int) -> Piece {
    let body = sequence(bodyItems, depth: depth)
    let shortcut = shortcutItems.map { sequence($0, depth: depth) }
    let r = Layout.joinRadius
    let bodyTop = Layout.gap + 2
    let sx: Double
    if let s = shortcut, s.height > 0 {
      sx = body.right + Layout.branchGap + 6 + s.left
    } else {
      sx = body.right + Layout.branchGap
    }
    let bottom = bodyTop + max(body.height, shortcut?.height ?? 0)
    let joinTop = bottom + Layout.gap
    let cy = joinTop + r
    let label = TextMetrics.width(join.shape, size: 10)
    let left = max(body.left, r + 6 + label)
    let right = sx + max(shortcut?.right ?? 0, 1)
    let height = cy + r
    return Piece(left: left, right: right, height: height, entry: bodyTop + body.entry, junction: body.junction,
                 exit: height, detached: body.detached) { c, x, top in
      body.draw(&c, x, top + bodyTop)
      c.line([(x, top + bodyTop + body.exit), (x, top + joinTop)])
      c.joinCircle(x, top + cy, r, multiply: join.title == "mul")
      c.text(join.shape, x: x - r - 6, y: top + cy + 3.5, cls: "s", anchor: "end")
      let ax = x + sx
      if let s = shortcut, s.height > 0 {
        if !s.detached {
          c.dot(x, top)
          c.line([(x, top), (ax, top), (ax, top + bodyTop + s.entry)], arrow: !s.junction)
        }
        s.draw(&c, ax, top + bodyTop)
        c.line([(ax, top + bodyTop + s.exit), (ax, top + cy), (x + r, top + cy)])
      } else {
        c.dot(x, top)
        c.line([(x, top), (ax, top), (ax, top + cy), (x + r, top + cy)])
      }
    }
  }

  /// An extra output: the branch leaves the axis to the right and ends in its output. Its exit is its
  /// top: the line on to the next item (if one follows on) runs past the branch.
  func side(_ items: [DiagramItem], _ output: DiagramBox, depth: Int) -> Piece {
    let branch = sequence(items, depth: depth)
    let terminal = box(output)
    let sx = Layout.branchGap + 6 + max(branch.left, terminal.left)
    let branchTop = Layout.gap
    let terminalTop = branchTop + branch.height + Layout.gap
    let height = terminalTop + terminal.height
    let right = sx + max(branch.right, terminal.right)
    return Piece(left: 1, right: right, height: height, junction: true, exit: 0) { c, x, top in
      let ax = x + sx
      c.dot(x, top)
      c.line([(x, top), (ax, top), (ax, top + branchTop + branch.entry)], arrow: !branch.junction)
      branch.draw(&c, ax, top + branchTop)
      c.line([(ax, top + branchTop + branch.exit), (ax, top + terminalTop)])
      terminal.draw(&c, ax, top + terminalTop)
    }
  }

  /// Box widths are even, so that half of one is a whole number of pixels.
  func evenWidth(_ w: Double) -> Double { 2 * (w / 2).rounded(.up) }
}

/// A coordinate: integers without a decimal point, other values to one decimal.
func num(_ x: Double) -> String {
  let r = (x * 10).rounded() / 10
  if r == r.rounded() && abs(r) < 1e15 { return String(Int(r)) }
  return fixed(r, 1)
}

/// Text for XML character data and attribute values.
func escape(_ s: String) -> String {
  var out = ""
  out.reserveCapacity(s.utf8.count)
  for ch in s.unicodeScalars {
    switch ch {
    case "&": out += "&amp;"
    case "<": out += "&lt;"
    case ">": out += "&gt;"
    case "\"": out += "&quot;"
    case "'": out += "&apos;"
    default:
      // Control characters other than tab and newline are not allowed in XML 1.0.
      if ch.value < 0x20 && ch != "\t" && ch != "\n" { out += "?" } else { out.unicodeScalars.append(ch) }
    }
  }
  return out
}
