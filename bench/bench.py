"""Inference speed of netc against PyTorch and ONNX Runtime, side by side in one run.

For each network: the same random weights (torchvision's model, batch-norm statistics randomised, mapped
onto netc's tensor names as the parity test does) and the same input for every contender:

  swift     netc's emitted Swift, compiled as README.md tells users to
  netc      `netc run --serve`: netc's interpreter
  pytorch   PyTorch eager, torch.inference_mode, 2 threads
  ort       ONNX Runtime, the model exported by torch.onnx (opset 17), 2 intra-op threads

Each contender is one long-lived process (bench/worker.py for the Python ones) that loads the model, writes
its output for the shared input, then answers each line on stdin with one inference's time. Outputs are
checked equal (the parity tolerance) before any timing. Runs are interleaved: every round times each
contender once, in a rotating order, after warm-up rounds. Reported: the median per contender, its ratio to
ONNX Runtime, and its peak resident memory (VmHWM: weights, activations and runtime together).

  bench/run.sh [--runs N] [--batch8-runs N] [--nets alexnet,vgg16,...]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from safetensors.numpy import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Tests", "parity"))
import parity  # noqa: E402  (model table, weight randomisation and mapping, the emitted-Swift build)

CONTENDERS = ["swift", "netc", "pytorch", "ort"]
LABELS = {"swift": "netc emitted Swift", "netc": "netc run (interpreter)", "pytorch": "PyTorch eager",
          "ort": "ONNX Runtime"}
NETS = ["alexnet", "vgg16", "googlenet", "resnet18", "resnet50"]


class Worker:
    def __init__(self, name, argv):
        self.name = name
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        line = self.proc.stdout.readline().strip()
        while line and line != "ready":  # netc prints nothing else, but be lenient with library chatter
            line = self.proc.stdout.readline().strip()
        if line != "ready":
            raise SystemExit(f"{name}: the worker did not start ({argv[0]})")

    def time_one(self):
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def peak_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def prepare(netc, name, tmp):
    """Weights, input, the ONNX export and the compiled emitted Swift for one network."""
    factory, shape = parity.MODELS[name]
    spec = parity.spec_path(name)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    model = factory().eval()
    parity.randomize(model, gen)
    weights, _ = parity.mapped_weights(model, parity.netc_names(netc, spec, tmp))
    wpath = os.path.join(tmp, f"{name}.safetensors")
    save_file(weights, wpath)
    torch.save(model.state_dict(), wpath[:-len(".safetensors")] + ".pt")
    onnx_path = os.path.join(tmp, f"{name}.onnx")
    with torch.no_grad():
        torch.onnx.export(model, torch.randn((1,) + shape), onnx_path, opset_version=17, dynamo=False,
                          input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
    exe = parity.build_swift(netc, spec, tmp)
    return spec, shape, gen, wpath, onnx_path, exe


def start(contender, netc, name, spec, wpath, onnx_path, exe, xpath, ypath):
    if contender == "swift":
        return Worker(contender, [exe, wpath, xpath, ypath, "--serve"])
    if contender == "netc":
        return Worker(contender, [netc, "run", spec, "--weights", wpath, "--input", xpath, "-o", ypath, "--serve"])
    worker = os.path.join(ROOT, "bench", "worker.py")
    return Worker(contender, [sys.executable, worker, contender, name, wpath, onnx_path, xpath, ypath])


def measure(netc, name, batch, runs, warmup, prepared, tmp):
    spec, shape, gen, wpath, onnx_path, exe = prepared
    x = torch.randn((batch,) + shape, generator=gen).numpy()
    xpath = os.path.join(tmp, f"x{batch}.npy")
    np.save(xpath, x)
    workers, outputs = {}, {}
    try:
        for c in CONTENDERS:
            ypath = os.path.join(tmp, f"y-{c}.npy")
            workers[c] = start(c, netc, name, spec, wpath, onnx_path, exe, xpath, ypath)
            outputs[c] = np.load(ypath)
        want = outputs["pytorch"]
        tol = 1e-4 * max(1.0, float(np.abs(want).max()))
        for c in CONTENDERS:
            err = float(np.abs(outputs[c] - want).max()) if outputs[c].shape == want.shape else float("inf")
            if err > tol:
                raise SystemExit(f"{name}: {c}'s output differs from PyTorch's by {err:.3g} (tolerance {tol:.3g})")
        times = {c: [] for c in CONTENDERS}
        for r in range(warmup + runs):
            order = CONTENDERS[r % len(CONTENDERS):] + CONTENDERS[:r % len(CONTENDERS)]
            for c in order:
                # A pause lets the previous contender's thread pool stop spinning before the next one runs.
                time.sleep(0.1)
                t = workers[c].time_one()
                if r >= warmup:
                    times[c].append(t)
        peaks = {c: workers[c].peak_mib() for c in CONTENDERS}
    finally:
        for w in workers.values():
            w.close()
    quartiles = {c: statistics.quantiles(times[c], n=4) if len(times[c]) > 1 else times[c] * 3 for c in CONTENDERS}
    return {c: statistics.median(times[c]) for c in CONTENDERS}, peaks, {c: (q[0], q[2]) for c, q in quartiles.items()}


def markdown(results, batch8, runs, runs8, spreads):
    lines = [f"Batch 1, fp32, median of {runs} interleaved runs after warm-up, in ms; ratio to ONNX Runtime in "
             "parentheses; peak resident memory in MiB.", "",
             "| network | " + " | ".join(LABELS[c] for c in CONTENDERS) + " |",
             "|---|" + "---|" * len(CONTENDERS)]
    for name, (med, peak) in results.items():
        cells = [f"{med[c]:.1f} ({med[c] / med['ort']:.2f}x)" for c in CONTENDERS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "The same runs' middle half (25th to 75th percentile), in ms: how much the machine moved them.", "",
              "| network | " + " | ".join(LABELS[c] for c in CONTENDERS) + " |",
              "|---|" + "---|" * len(CONTENDERS)]
    for name, spread in spreads.items():
        lines.append(f"| {name} | " + " | ".join(f"{spread[c][0]:.1f}-{spread[c][1]:.1f}" for c in CONTENDERS) + " |")
    lines += ["", "| peak memory, MiB | " + " | ".join(LABELS[c] for c in CONTENDERS) + " |",
              "|---|" + "---|" * len(CONTENDERS)]
    for name, (med, peak) in results.items():
        lines.append(f"| {name} | " + " | ".join(f"{peak[c]:.0f}" for c in CONTENDERS) + " |")
    lines += ["", "| ratio | " + " | ".join(results) + " |", "|---|" + "---|" * len(results)]
    lines.append("| emitted Swift / ONNX Runtime | " +
                 " | ".join(f"{m['swift'] / m['ort']:.2f}" for m, _ in results.values()) + " |")
    lines.append("| interpreter / emitted Swift | " +
                 " | ".join(f"{m['netc'] / m['swift']:.2f}" for m, _ in results.values()) + " |")
    if batch8:
        lines += ["", f"Batch 8 throughput, images per second (median of {runs8} runs):", "",
                  "| network | " + " | ".join(LABELS[c] for c in CONTENDERS) + " |",
                  "|---|" + "---|" * len(CONTENDERS)]
        for name, (med, _) in batch8.items():
            lines.append(f"| {name} | " + " | ".join(f"{8000 / med[c]:.1f}" for c in CONTENDERS) + " |")
    return "\n".join(lines) + "\n"


def svg(results):
    """A grouped bar chart of latency relative to ONNX Runtime, written by hand: no plotting library."""
    colors = {"swift": "#d9480f", "netc": "#f59f00", "pytorch": "#1c7ed6", "ort": "#495057"}
    names = list(results)
    ratios = {n: {c: results[n][0][c] / results[n][0]["ort"] for c in CONTENDERS} for n in names}
    top = max(2.0, max(max(r.values()) for r in ratios.values()) * 1.1)
    w, h, left, bottom, plot_h = 760, 340, 60, 60, 240
    group = (w - left - 20) / len(names)
    bar = group / (len(CONTENDERS) + 1.5)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2}" y="18" text-anchor="middle" font-size="14">Batch-1 latency relative to ONNX Runtime '
           '(lower is faster)</text>']
    def y(v):
        return 30 + plot_h * (1 - v / top)
    tick = 0.0
    while tick <= top + 1e-9:
        out.append(f'<line x1="{left}" x2="{w - 20}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#dee2e6"/>')
        out.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:.1f}x</text>')
        tick += 0.5
    out.append(f'<line x1="{left}" x2="{w - 20}" y1="{y(1):.1f}" y2="{y(1):.1f}" stroke="#495057" stroke-dasharray="4 3"/>')
    for i, n in enumerate(names):
        x0 = left + i * group + bar * 0.75
        for j, c in enumerate(CONTENDERS):
            v = ratios[n][c]
            out.append(f'<rect x="{x0 + j * bar:.1f}" y="{y(v):.1f}" width="{bar * 0.9:.1f}" '
                       f'height="{y(0) - y(v):.1f}" fill="{colors[c]}"><title>{LABELS[c]}: '
                       f'{results[n][0][c]:.1f} ms ({v:.2f}x)</title></rect>')
        out.append(f'<text x="{left + (i + 0.5) * group:.1f}" y="{y(0) + 16:.1f}" text-anchor="middle">{n}</text>')
    lx = left
    for c in CONTENDERS:
        out.append(f'<rect x="{lx}" y="{h - 24}" width="12" height="12" fill="{colors[c]}"/>')
        out.append(f'<text x="{lx + 16}" y="{h - 14}">{LABELS[c]}</text>')
        lx += 16 + 7.5 * len(LABELS[c]) + 18
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--netc", required=True)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch8-runs", type=int, default=5)
    ap.add_argument("--nets", default=",".join(NETS))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    args = ap.parse_args()
    results, batch8, spreads = {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.nets.split(","):
            print(f"{name}:", flush=True)
            prepared = prepare(args.netc, name, tmp)
            med, peak, spreads[name] = measure(args.netc, name, 1, args.runs, args.warmup, prepared, tmp)
            results[name] = (med, peak)
            print("  batch 1: " + ", ".join(f"{c} {med[c]:.1f} ms ({med[c] / med['ort']:.2f}x)" for c in CONTENDERS),
                  flush=True)
            if args.batch8_runs > 0:
                med8, _, _ = measure(args.netc, name, 8, args.batch8_runs, 1, prepared, tmp)
                batch8[name] = (med8, None)
                print("  batch 8: " + ", ".join(f"{c} {8000 / med8[c]:.1f} img/s" for c in CONTENDERS), flush=True)
    text = markdown(results, batch8, args.runs, args.batch8_runs, spreads)
    stamp = time.strftime("%Y-%m-%d")
    with open(args.out + ".md", "w") as f:
        f.write(f"<!-- bench/run.sh, {stamp} -->\n" + text)
    with open(args.out + ".svg", "w") as f:
        f.write(svg(results))
    print()
    print(text)


if __name__ == "__main__":
    main()
