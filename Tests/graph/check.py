#!/usr/bin/env python3
"""Renders netc's diagrams with a real SVG renderer and checks the pictures.

For every spec (specs/*/*.net, specs/examples/ among them, and Tests/NetcTests/Inputs/graph/*.net unless specs are
given), at the default depth and, for specs with blocks, at --depth 1 and --depth 0 (when they draw
differently), it runs `netc graph`,
renders the SVG to PNG with resvg (PyPI's resvg-py, with the DejaVu fonts that PyPI's matplotlib ships,
so that every machine renders the same; `--renderer rsvg-convert` uses Debian's librsvg2-bin and the
system's fonts instead) and decodes the PNG with the standard library (zlib) to check that:

  - the SVG is well-formed XML, netc drew it in under half a second, and the renderer renders it without
    an error (rsvg-convert: without a word on stderr), at exactly the size the SVG declares;
  - the picture is not blank: enough of it is drawn, and some of it is dark (text, lines);
  - the picture is not clipped: nothing is drawn in a 12-pixel strip along any edge (netc leaves a
    16-pixel margin), and the drawing reaches to within 40 pixels of the bottom edge and of the right
    one (or a tenth of the width, for the slack in text widths): the declared size is computed, not
    guessed large;
  - no text runs out of its box: rendered again with only the text visible, no text pixel falls on the
    left or right border of any box, or of any frame's title row.

First the checks are tried on pictures they must reject: lenet5's diagram made blank, clipped (declared
40 pixels smaller) and with a box too narrow for its title.

A spec that does not check (specs/examples/simple_inception_bug.net and Tests/NetcTests/Inputs/graph/partial.net,
on purpose) must make `netc graph` fail with status 1 and a diagnostic, and still write its diagram up to the
first error, which passes the same checks. Exits 1 on any failure.
"""
import argparse
import glob
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import xml.dom.minidom
import zlib

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
EXPECTED_TO_FAIL = {"specs/examples/simple_inception_bug.net", "Tests/NetcTests/Inputs/graph/partial.net"}
MARGIN_STRIP = 12
TIGHT = 40
BOX_CLASSES = {"terminal", "conv", "pool", "linear", "norm", "pointwise", "join", "block", "jump"}


# ---- PNG decoding (8-bit, non-interlaced), fast on mostly uniform pictures ----

NONZERO = re.compile(rb"[^\x00]")


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, idat, header = 8, [], None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, chunk = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat.append(chunk)
        pos += 12 + n
    width, height, depth, color, _, _, interlace = header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(color)
    if depth != 8 or channels is None or interlace != 0:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {color}, interlace {interlace}")
    raw = zlib.decompress(b"".join(idat))
    return width, height, channels, unfilter(raw, width, height, channels)


def unfilter(raw, width, height, bpp):
    stride = width * bpp
    low = int.from_bytes(b"\x7f" * stride, "big")
    high = int.from_bytes(b"\x80" * stride, "big")
    rows, prev, pos = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[pos], raw[pos + 1:pos + 1 + stride]
        pos += stride + 1
        if kind == 0:
            cur = bytearray(line)
        elif kind == 2:  # up: a bytewise sum, done on one big integer without carries between bytes
            a, b = int.from_bytes(line, "big"), int.from_bytes(prev, "big")
            cur = bytearray((((a & low) + (b & low)) ^ ((a ^ b) & high)).to_bytes(stride, "big"))
        else:
            cur = unfilter_row(kind, line, prev, bpp)
        rows.append(cur)
        prev = cur
    return rows


def predict(kind, out, prev, k, bpp):
    a = out[k - bpp] if k >= bpp else 0
    if kind == 1:
        return a
    b = prev[k]
    if kind == 3:
        return (a + b) >> 1
    c = prev[k - bpp] if k >= bpp else 0
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def unfilter_row(kind, line, prev, bpp):
    """Sub, average and Paeth. A run of zero differences where the row above repeats its pixel continues
    the pixel to the left (for average, only if that pixel equals the one above): filled by slices."""
    n, out, i = len(line), bytearray(len(line)), 0
    while i < n:
        m = NONZERO.search(line, i)
        j = m.start() if m else n
        while i < j:
            if i >= bpp and (kind == 1 or prev[i - bpp:j - bpp] == prev[i:j]) and (
                    kind != 3 or out[i - bpp:i] == prev[i - bpp:i]):
                block = out[i - bpp:i]
                out[i:j] = (block * ((j - i) // bpp + 1))[:j - i]
                i = j
            else:
                out[i] = predict(kind, out, prev, i, bpp)
                i += 1
        if j < n:
            out[j] = (line[j] + predict(kind, out, prev, j, bpp)) & 255
            i = j + 1
    return out


# ---- checks ----

def svg_size(text):
    m = re.search(r'<svg [^>]*width="([\d.]+)" height="([\d.]+)"', text)
    return float(m.group(1)), float(m.group(2))


RENDERER = "resvg"


def dejavu_fonts():
    """DejaVu Sans, regular and bold, the family netc's SVG asks for, from matplotlib's data."""
    import matplotlib
    directory = os.path.join(matplotlib.get_data_path(), "fonts", "ttf")
    fonts = [os.path.join(directory, f) for f in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")]
    for f in fonts:
        if not os.path.exists(f):
            raise SystemExit(f"error: {f} is missing: matplotlib no longer ships DejaVu Sans there")
    return fonts


def render(svg_path, png_path):
    if RENDERER == "rsvg-convert":
        r = subprocess.run(["rsvg-convert", svg_path, "-o", png_path], capture_output=True, text=True)
        if r.returncode != 0 or r.stderr.strip():
            raise AssertionError(f"rsvg-convert failed ({r.returncode}): {r.stderr.strip()}")
        return read_png(png_path)
    import resvg_py
    try:
        png = resvg_py.svg_to_bytes(svg_path=svg_path, skip_system_fonts=True, font_files=FONTS)
    except ValueError as e:
        raise AssertionError(f"resvg failed: {e}")
    with open(png_path, "wb") as f:
        f.write(bytes(png))
    return read_png(png_path)


def is_background(px):
    return all(v >= 250 for v in px)


def check_picture(svg_text, svg_path, png_path):
    """Returns a one-line description of the picture; raises AssertionError on a failed check."""
    width, height = svg_size(svg_text)
    w, h, ch, rows = render(svg_path, png_path)
    if (w, h) != (int(-(-width // 1)), int(-(-height // 1))):
        raise AssertionError(f"PNG is {w}x{h} but the SVG declares {width}x{height}")
    colour = ch if ch < 4 else 3  # the alpha of an opaque picture says nothing
    white = bytes([255] * colour)

    # Per row, with bytes operations: 1 where a channel is below the background (or below 128), then
    # the channels of each pixel combined.
    light = bytes(0 if v >= 250 else 1 for v in range(256))
    darkish = bytes(1 if v < 128 else 0 for v in range(256))
    drawn = dark = 0
    top = bottom = left = right = None
    for y, row in enumerate(rows):
        marks = row.translate(light)
        if ch == colour and marks.count(0) == len(marks):
            continue
        any_channel = 0
        for c in range(colour):
            any_channel |= int.from_bytes(marks[c::ch], "big")
        if any_channel == 0:
            continue
        pixels = any_channel.to_bytes(w, "big")
        drawn += pixels.count(1)
        marks = row.translate(darkish)
        all_channels = int.from_bytes(marks[0::ch], "big")
        for c in range(1, colour):
            all_channels &= int.from_bytes(marks[c::ch], "big")
        dark += bin(all_channels).count("1")
        top = y if top is None else top
        bottom = y
        first, last = pixels.index(1), w - 1 - pixels[::-1].index(1)
        left = first if left is None else min(left, first)
        right = last if right is None else max(right, last)
    if drawn < 0.01 * w * h or dark < 200:
        raise AssertionError(f"blank: {drawn} drawn pixels of {w * h}, {dark} dark")
    if top < MARGIN_STRIP or left < MARGIN_STRIP or bottom >= h - MARGIN_STRIP or right >= w - MARGIN_STRIP:
        raise AssertionError(f"clipped: drawing spans x {left}..{right}, y {top}..{bottom} of {w}x{h}")
    # Text widths are estimated with some slack for wider fonts, so a long label may end short of its room.
    if right < w - max(TIGHT, w // 10) or bottom < h - TIGHT:
        raise AssertionError(f"loose: drawing ends at x {right}, y {bottom} of {w}x{h}")
    return f"{w}x{h}, {100 * drawn / (w * h):.0f}% drawn"


def check_text_in_boxes(svg_text, svg_path, png_path):
    """Renders only the text and looks for text on the vertical borders of boxes and frame title rows."""
    only_text = svg_text.replace("</style>", "rect,path,circle{display:none}text,tspan{fill:#000}\n</style>", 1)
    with open(svg_path, "w") as f:
        f.write(only_text)
    w, h, ch, rows = render(svg_path, png_path)
    alpha = ch - 1 if ch in (2, 4) else None

    def ink(x, y):
        if not (0 <= x < w and 0 <= y < h):
            return False
        row = rows[y]
        if alpha is not None:
            return row[x * ch + alpha] > 0
        return not is_background(row[x * ch:x * ch + ch])

    borders = 0
    for m in re.finditer(r'<rect x="([-\d.]+)" y="([-\d.]+)" width="([\d.]+)" height="([\d.]+)" rx="[\d.]+" '
                         r'class="([a-z]+)"/>', svg_text):
        x, y, rw, rh, cls = float(m.group(1)), float(m.group(2)), float(m.group(3)), float(m.group(4)), m.group(5)
        if cls == "frame":
            y0, y1 = y + 1, y + 20      # the title row
        elif cls in BOX_CLASSES:
            y0, y1 = y + 1, y + rh - 1
        else:
            continue
        for bx in (int(x), int(x + rw)):  # the translate(0.5, 0.5) puts the border line in these columns
            borders += 1
            for yy in range(int(y0), int(y1)):
                if ink(bx, yy):
                    raise AssertionError(f"text crosses the border of a '{cls}' box at x {bx}, y {yy}")
    if borders == 0:
        raise AssertionError("no boxes found in the SVG")
    return borders // 2


def self_test(netc, out_dir):
    """The checks must fail on pictures that are wrong: a blank one, a clipped one, a box too narrow."""
    svg_path = os.path.join(out_dir, "self-test.svg")
    subprocess.run([netc, "graph", "specs/lenet/lenet5.net", "-o", svg_path], check=True)
    good = open(svg_path, encoding="utf-8").read()
    width, height = svg_size(good)
    blank = re.sub(r'<g transform="translate\(0.5,0.5\)">.*</g>', "<g/>", good, flags=re.S)
    small = (f'width="{width - 40:g}" height="{height - 40:g}" viewBox="0 0 {width - 40:g} {height - 40:g}"')
    clipped = re.sub(r'width="[\d.]+" height="[\d.]+" viewBox="[^"]*"', small, good, count=1)
    # The first convolution's box, 30 pixels wide around the same centre: its title no longer fits.
    narrow = re.sub(r'<rect x="([-\d.]+)" (y="[-\d.]+") width="([\d.]+)"( height="[\d.]+" rx="[\d.]+" class="conv")',
                    lambda m: f'<rect x="{float(m.group(1)) + (float(m.group(3)) - 30) / 2:g}" {m.group(2)} '
                              f'width="30"{m.group(4)}', good, count=1)
    cases = [("blank", blank, check_picture, "blank"), ("clipped", clipped, check_picture, "clipped"),
             ("narrow box", narrow, check_text_in_boxes, "text crosses the border")]
    check_picture(good, svg_path, os.path.join(out_dir, "self-test.png"))
    for name, text, check, expected in cases:
        path = os.path.join(out_dir, f"self-test-{name.replace(' ', '-')}.svg")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        try:
            check(text, path, path[:-4] + ".png")
        except AssertionError as e:
            if expected not in str(e):
                raise AssertionError(f"self-test: a {name} picture failed for another reason: {e}")
            print(f"ok   self-test: a {name} picture is caught ({e})")
            continue
        raise AssertionError(f"self-test: a {name} picture passed the checks")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--netc", required=True, help="the netc executable")
    ap.add_argument("--keep", help="a directory to keep the SVG and PNG files in")
    ap.add_argument("--renderer", choices=["resvg", "rsvg-convert"], default="resvg",
                    help="resvg from PyPI (default), or Debian's rsvg-convert")
    ap.add_argument("specs", nargs="*")
    args = ap.parse_args()
    global RENDERER, FONTS
    RENDERER = args.renderer
    if RENDERER == "resvg":
        FONTS = dejavu_fonts()
    elif shutil.which("rsvg-convert") is None:
        raise SystemExit("error: rsvg-convert is missing: install Debian's librsvg2-bin, or use the default renderer")
    os.chdir(ROOT)
    specs = args.specs or sorted(glob.glob("specs/*/*.net")
                                 + glob.glob("Tests/NetcTests/Inputs/graph/*.net"))
    out_dir = args.keep or tempfile.mkdtemp(prefix="netc-graph-")
    os.makedirs(out_dir, exist_ok=True)
    self_test(args.netc, out_dir)
    failures = 0
    for spec in specs:
        stem = os.path.splitext(os.path.basename(spec))[0]
        depths = [None]
        if re.search(r"^block ", open(spec).read(), re.M):
            depths += [1, 0]
        default_svg = None
        for depth in depths:
            name = stem + ("" if depth is None else f".depth{depth}")
            svg_path = os.path.join(out_dir, name + ".svg")
            png_path = os.path.join(out_dir, name + ".png")
            if os.path.exists(svg_path):
                os.remove(svg_path)
            cmd = [args.netc, "graph", spec, "-o", svg_path, "--time-stages"]
            if depth is not None:
                cmd += ["--depth", str(depth)]
            r = subprocess.run(cmd, capture_output=True, text=True)
            label = f"{spec}" + ("" if depth is None else f" --depth {depth}")
            try:
                if spec in EXPECTED_TO_FAIL:
                    if r.returncode != 1 or "error:" not in r.stderr or not os.path.exists(svg_path):
                        raise AssertionError(f"expected exit 1, a diagnostic and the diagram up to the error; got {r.returncode}")
                elif r.returncode != 0:
                    raise AssertionError(f"netc graph failed ({r.returncode}): {r.stderr.strip()}")
                total = float(re.search(r"total ([\d.]+) ms", r.stderr).group(1))
                if total > 500:
                    raise AssertionError(f"netc graph took {total:.0f} ms")
                svg_text = open(svg_path, encoding="utf-8").read()
                if depth is not None and svg_text == default_svg:
                    print(f"ok   {label}: the same diagram as without --depth")
                    continue
                if depth is None:
                    default_svg = svg_text
                xml.dom.minidom.parseString(svg_text.encode("utf-8"))
                t0 = time.time()
                picture = check_picture(svg_text, svg_path, png_path)
                boxes = check_text_in_boxes(svg_text, os.path.join(out_dir, name + ".text.svg"),
                                            os.path.join(out_dir, name + ".text.png"))
                print(f"ok   {label}: {picture}, {boxes} boxes, netc {total:.0f} ms, check {time.time() - t0:.1f} s")
            except (AssertionError, ValueError, xml.parsers.expat.ExpatError) as e:
                failures += 1
                print(f"FAIL {label}: {e}")
    if failures:
        print(f"{failures} diagram{'s' if failures > 1 else ''} failed; files in {out_dir}")
        return 1
    if args.keep:
        print(f"every diagram renders, neither blank nor clipped (files in {out_dir})")
    else:
        shutil.rmtree(out_dir)
        print("every diagram renders, neither blank nor clipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
