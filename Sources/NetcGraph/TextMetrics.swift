/// Text widths without a font engine: the advance widths of DejaVu Sans (the font the SVG asks for first,
/// and the one Debian's SVG renderers use), read from its `hmtx` table, in thousandths of an em. Every
/// size in a diagram is computed from these, with some slack for wider fallback fonts (Verdana).
enum TextMetrics {
  /// U+0020 ... U+007E, regular.
  static let regular: [UInt16] = [
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636, 636, 636, 636,
    636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656,
    557, 863, 748, 787, 603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390, 337, 390, 838, 500, 500, 613,
    635, 550, 635, 615, 352, 635, 634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818,
    592, 592, 525, 636, 337, 636, 838,
  ]
  /// U+0020 ... U+007E, bold.
  static let bold: [UInt16] = [
    348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696, 696, 696, 696, 696,
    696, 696, 696, 696, 400, 400, 838, 838, 838, 580, 1000, 774, 762, 734, 830, 683, 683, 821, 837, 372, 372, 775,
    637, 995, 837, 850, 733, 850, 770, 720, 682, 812, 774, 1103, 771, 724, 725, 457, 365, 457, 838, 500, 500, 675,
    716, 593, 716, 678, 435, 716, 712, 343, 343, 665, 343, 1042, 712, 687, 716, 716, 493, 595, 478, 712, 652, 924,
    645, 652, 582, 712, 365, 712, 838,
  ]
  /// Verdana and other fallbacks run a few percent wider than DejaVu Sans.
  static let slack = 1.08

  /// The width of `text` at `size` pixels.
  static func width(_ text: String, size: Double, bold: Bool = false) -> Double {
    let table = bold ? TextMetrics.bold : regular
    var units = 0
    for scalar in text.unicodeScalars {
      let v = Int(scalar.value)
      if v >= 32 && v <= 126 {
        units += Int(table[v - 32])
      } else if v == 0xD7 || v == 0x2192 {
        units += 838  // × →
      } else {
        units += 1000
      }
    }
    return Double(units) / 1000 * size * slack
  }
}
