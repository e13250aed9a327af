"""Checks the ImageClassifier example (Examples/ImageClassifier) once built: on images it writes in every
format the example reads, the input the example makes (--dump-input) must equal the image decoded,
resized and normalised here, and its top-5 classes and probabilities must equal what `netc run` computes
on that input; bad image files must fail with exit status 1 and a message naming the file.
    check.py --app APP --netc NETC --spec SPEC --weights W --work DIR
"""
import argparse
import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

TOLERANCE = 1e-5
CIFAR10_MEAN = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32)
CIFAR10_STD = np.array([0.2470, 0.2435, 0.2616], dtype=np.float32)
LABELS = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


# Images, written from an array of height x width x channels samples.

def ppm(pixels, maxval=255, ascii=False):
    h, w, c = pixels.shape
    kind = {(1, False): b"P5", (3, False): b"P6", (1, True): b"P2", (3, True): b"P3"}[(c, ascii)]
    header = kind + b"\n# written by Tests/examples/check.py\n%d %d\n%d\n" % (w, h, maxval)
    if ascii:
        return header + " ".join(str(v) for v in pixels.reshape(-1)).encode() + b"\n"
    return header + pixels.astype(">u2" if maxval > 255 else "u1").tobytes()


def bmp(pixels, bits=24, top_down=False):
    h, w, _ = pixels.shape
    bpp = bits // 8
    row_bytes = (w * bpp + 3) // 4 * 4
    rows = []
    for y in (range(h) if top_down else range(h - 1, -1, -1)):
        bgr = pixels[y, :, ::-1].astype(np.uint8)
        if bpp == 4:
            bgr = np.concatenate([bgr, np.full((w, 1), 255, np.uint8)], axis=1)
        row = bgr.tobytes()
        rows.append(row + b"\0" * (row_bytes - len(row)))
    data = b"".join(rows)
    info = struct.pack("<IiiHHIIiiII", 40, w, -h if top_down else h, 1, bits, 0, len(data), 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + len(data), 0, 0, 54) + info + data


# The example's preprocessing, written independently: grey repeated into three channels, bilinear
# resizing with half-pixel centres (PyTorch's interpolate, align_corners=False, antialias=False), CIFAR-10's
# normalisation.

def bilinear_axis(n_in, n_out):
    source = np.maximum((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0)
    low = np.minimum(np.floor(source).astype(np.int64), n_in - 1)
    return low, np.minimum(low + 1, n_in - 1), source - low


def preprocess(pixels, maxval, size=(32, 32)):
    x = pixels.astype(np.float64) / maxval
    if x.shape[2] == 1:
        x = np.repeat(x, 3, axis=2)
    x = x.transpose(2, 0, 1)
    y0, y1, wy = bilinear_axis(x.shape[1], size[0])
    x0, x1, wx = bilinear_axis(x.shape[2], size[1])
    rows = x[:, y0, :] * (1 - wy)[None, :, None] + x[:, y1, :] * wy[None, :, None]
    out = rows[:, :, x0] * (1 - wx) + rows[:, :, x1] * wx
    return ((out.astype(np.float32) - CIFAR10_MEAN[:, None, None]) / CIFAR10_STD[:, None, None])[None]


def torch_preprocess(pixels, maxval, size=(32, 32)):
    """The same with PyTorch itself, when it is installed (Tests/parity/run.sh installs it)."""
    import torch
    x = torch.from_numpy(pixels.astype(np.float32) / maxval).permute(2, 0, 1)
    x = x.expand(3, -1, -1) if x.shape[0] == 1 else x
    x = torch.nn.functional.interpolate(x[None], size=size, mode="bilinear", align_corners=False, antialias=False)
    return ((x[0] - torch.from_numpy(CIFAR10_MEAN)[:, None, None]) / torch.from_numpy(CIFAR10_STD)[:, None, None])[None].numpy()


def run(args):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True)


def main():
    parser = argparse.ArgumentParser()
    for name in ["--app", "--netc", "--spec", "--weights", "--work"]:
        parser.add_argument(name, required=True)
    opts = parser.parse_args()
    work = Path(opts.work)
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
    print("preprocessing reference: numpy" + (" and torch.nn.functional.interpolate" if have_torch else
                                              " (torch is not installed: PyTorch's resize itself not compared)"))

    rng = np.random.default_rng(7)
    colour = rng.integers(0, 256, size=(27, 40, 3))      # wider than the input, shorter: both directions
    grey16 = rng.integers(0, 65536, size=(50, 23, 1))
    small = rng.integers(0, 256, size=(5, 7, 3))
    images = {
        "colour.ppm": (ppm(colour), colour, 255),
        "colour-ascii.ppm": (ppm(colour, ascii=True), colour, 255),
        "colour.bmp": (bmp(colour), colour, 255),
        "colour-top-down-32.bmp": (bmp(colour, bits=32, top_down=True), colour, 255),
        "grey16.pgm": (ppm(grey16, maxval=65535), grey16, 65535),
        "grey-ascii.pgm": (ppm(grey16 // 257, ascii=True), grey16 // 257, 255),
        "small.ppm": (ppm(small), small, 255),
        "exact.ppm": (ppm(rng.integers(0, 256, size=(32, 32, 3))), None, 255),
    }
    for name, (data, pixels, maxval) in images.items():
        path = work / name
        path.write_bytes(data)
        if pixels is None:
            pixels = rng.integers(0, 256, size=(32, 32, 3))
            path.write_bytes(ppm(pixels))
        dump, out = work / (name + ".npy"), work / (name + ".out.npy")
        r = run([opts.app, "--weights", opts.weights, path, "--format", "json", "--dump-input", dump])
        if r.returncode != 0:
            check(False, f"{name}: the example failed ({r.returncode}): {r.stderr.strip()}")
            continue
        result = json.loads(r.stdout)
        got_input = np.load(dump)
        want_input = preprocess(pixels, maxval)
        err = float(np.abs(got_input - want_input).max()) if got_input.shape == want_input.shape else float("inf")
        check(err <= TOLERANCE, f"{name}: input {got_input.shape} against numpy's: max|diff| {err:.3g}")
        if have_torch:
            err = float(np.abs(got_input - torch_preprocess(pixels, maxval)).max())
            check(err <= TOLERANCE, f"{name}: input against PyTorch's interpolate: max|diff| {err:.3g}")
        check(result["width"] == pixels.shape[1] and result["height"] == pixels.shape[0],
              f"{name}: reports {result['width']}x{result['height']}")
        r = run([opts.netc, "run", opts.spec, "--weights", opts.weights, "--input", dump, "-o", out])
        if r.returncode != 0:
            check(False, f"{name}: netc run failed: {r.stderr.strip()}")
            continue
        probabilities = np.load(out)[0]
        order = sorted(range(len(probabilities)), key=lambda k: (-probabilities[k], k))[:5]
        got = [(row["class"], row["label"], row["probability"]) for row in result["top5"]]
        same_classes = [c for c, _, _ in got] == order and [l for _, l, _ in got] == [LABELS[k] for k in order]
        err = max(abs(p - float(probabilities[c])) for c, _, p in got) if same_classes else float("inf")
        check(same_classes and err <= TOLERANCE,
              f"{name}: top-5 {[c for c, _, _ in got]} against netc run's {order}: max|diff| {err:.3g}")

    same = np.array_equal(np.load(work / "colour.ppm.npy"), np.load(work / "colour.bmp.npy")) and \
        np.array_equal(np.load(work / "colour.ppm.npy"), np.load(work / "colour-top-down-32.bmp.npy")) and \
        np.array_equal(np.load(work / "colour.ppm.npy"), np.load(work / "colour-ascii.ppm.npy"))
    check(same, "the same pixels as P6, P3, 24-bit BMP and top-down 32-bit BMP make the same input")

    text = run([opts.app, "--weights", opts.weights, work / "colour.ppm"])
    result = json.loads(run([opts.app, "--weights", opts.weights, work / "colour.ppm", "--format", "json"]).stdout)
    want_lines = [f"{work / 'colour.ppm'}: 40x27, resized to 32x32"] + [
        f"{rank}. {row['label']:<12} {row['probability']:.6f}" for rank, row in enumerate(result["top5"], 1)]
    check(text.returncode == 0 and text.stdout.splitlines() == want_lines, "text output: the JSON's classes, one a line")

    bad = {
        "empty.ppm": (b"", "not a PGM, PPM or BMP file"),
        "text.ppm": (b"hello", "not a PGM, PPM or BMP file"),
        "bitmap.pbm": (b"P4\n2 2\n\0\0", "not a PGM, PPM or BMP file"),
        "truncated.ppm": (ppm(colour)[:-1], "the file ends after 3239 bytes of samples; a 40x27 image needs 3240"),
        "no-width.ppm": (b"P6\n", "the file ends before the width"),
        "letters.ppm": (b"P6\nab 2\n255\n", "expected the width, a decimal number, at byte 3"),
        "zero.ppm": (b"P6\n0 4\n255\n", "the image is 0x4: it has no pixels"),
        "huge.ppm": (b"P6\n100000 100000\n255\n", "the image is 100000x100000: more than 268435456 pixels"),
        "digits.ppm": (b"P6\n1234567890 1\n255\n", "the width has too many digits"),
        "maxval.ppm": (b"P6\n1 1\n0\n\0\0\0", "the maximum value is 0: it must be between 1 and 65535"),
        "above.pgm": (b"P2\n2 1\n100\n50 101\n", "sample 2 is 101, above the maximum value 100"),
        "short-ascii.ppm": (b"P3\n100 100\n255\n1 2 3\n", "the file is too short for the 30000 samples of a 100x100 image"),
        "no-gap.ppm": (b"P6\n1 1\n255", "the header does not end with a whitespace character"),
        "short.bmp": (bmp(colour)[:40], "the file ends inside the BMP headers (40 bytes)"),
        "truncated.bmp": (bmp(colour)[:-200], "the file ends before the pixels of a 40x27 image"),
        "8bit.bmp": (bmp(colour)[:28] + b"\x08\x00" + bmp(colour)[30:], "the BMP has 8 bits a pixel: only 24 and 32 are read"),
        "rle.bmp": (bmp(colour)[:30] + b"\x01\x00\x00\x00" + bmp(colour)[34:], "the BMP is compressed (method 1)"),
        "core.bmp": (bmp(colour)[:14] + b"\x0c\x00\x00\x00" + bmp(colour)[18:], "the BMP header is 12 bytes"),
        "negative-width.bmp": (bmp(colour)[:18] + struct.pack("<i", -40) + bmp(colour)[22:], "the image is -40x27: it has no pixels"),
    }
    for name, (data, message) in bad.items():
        path = work / name
        path.write_bytes(data)
        r = run([opts.app, "--weights", opts.weights, path])
        check(r.returncode == 1 and r.stdout == "" and r.stderr.startswith(f"ImageClassifier: error: '{path}': {message}"),
              f"{name}: exit {r.returncode}, {r.stderr.strip()!r}")
    missing = work / "missing.ppm"
    r = run([opts.app, "--weights", opts.weights, missing])
    check(r.returncode == 1 and r.stderr == f"ImageClassifier: error: cannot read '{missing}'\n", f"missing image: {r.stderr.strip()!r}")
    r = run([opts.app, "--weights", work / "colour.ppm", work / "colour.ppm"])
    check(r.returncode == 1 and r.stderr.startswith(f"ImageClassifier: error: '{work / 'colour.ppm'}': the header claims"),
          f"an image as weights: {r.stderr.strip()!r}")
    for args, message in [([], "give the image to classify"), ([work / "colour.ppm"], "give the weights with '--weights FILE'"),
                          (["--frob"], "unknown option '--frob'"), (["--format", "xml"], "--format is text or json, found 'xml'"),
                          (["--weights", opts.weights, work / "colour.ppm", "--mean", "1,2"], "the network takes 3 channels"),
                          (["--weights"], "--weights needs a value")]:
        r = run([opts.app] + args)
        check(r.returncode == 2 and r.stderr.startswith(f"ImageClassifier: error: {message}"), f"usage {args}: {r.stderr.strip()!r}")
    r = run([opts.app, "--help"])
    check(r.returncode == 0 and r.stdout.startswith("OVERVIEW: Classify an image"), "--help")

    print(f"{len(failures)} failure(s)" if failures else "every check passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
