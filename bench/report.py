"""bench/results.md and bench/results.svg from bench.py's measurements."""
import math

CONTENDERS = ["swift", "netc", "pytorch", "ort", "openvino"]
PEERS = ["ort", "openvino"]
LABELS = {"swift": "netc emitted Swift", "netc": "netc run (interpreter)", "pytorch": "PyTorch eager",
          "ort": "ONNX Runtime", "openvino": "OpenVINO"}


def best_peer(medians):
    """The faster of ONNX Runtime and OpenVINO on one network."""
    return min(PEERS, key=lambda c: medians[c])


def geometric_mean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values))


def table(head, rows):
    return ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"] + ["| " + " | ".join(r) + " |" for r in rows]


def header(machine):
    model, flags = machine["cpu"], machine["flags"]
    return [f"CPU: {model} ({machine['cores']} cores visible); "
            + ", ".join(f"{flag} {'yes' if present else 'no'}" for flag, present in flags.items()) + ".",
            f"Measured with PyTorch on 2 threads: compute peak {machine['gflops']:.0f} GFLOP/s (2048^3 f32 matrix "
            f"product, best of 10; {machine['gflops_start']:.0f} at the start of the run, {machine['gflops_end']:.0f} "
            f"at its end), memory bandwidth {machine['gbps']:.1f} GB/s (f32 triad over 3 x 128 MiB, best of 10; "
            f"{machine['gbps_start']:.1f} and {machine['gbps_end']:.1f}). The roofline uses the better of the two.",
            "Every contender: fp32, 2 threads (OpenVINO: INFERENCE_PRECISION_HINT f32, PERFORMANCE_HINT LATENCY, "
            "INFERENCE_NUM_THREADS 2, checked on the compiled model)."]


def markdown(machine, results, batch8, work, runs, runs8):
    """results: name -> (medians, peaks, spreads) at batch 1; batch8: name -> medians; work: name -> the
    roofline's figures (roofline.network_work plus 'bound', 'compute_ms', 'memory_ms')."""
    names = list(results)
    lines = header(machine) + [
        "", f"Batch 1, median of {runs} interleaved runs after warm-up, in ms; in parentheses the ratio to the best "
        "peer, the faster of ONNX Runtime and OpenVINO on that network.", ""]
    rows = []
    for name in names:
        med = results[name][0]
        peer = med[best_peer(med)]
        rows.append([name] + [f"{med[c]:.1f} ({med[c] / peer:.2f}x)" for c in CONTENDERS] + [LABELS[best_peer(med)]])
    lines += table(["network"] + [LABELS[c] for c in CONTENDERS] + ["best peer"], rows)
    swift_to_peer = geometric_mean([results[n][0]["swift"] / results[n][0][best_peer(results[n][0])] for n in names])
    netc_to_swift = geometric_mean([results[n][0]["netc"] / results[n][0]["swift"] for n in names])
    lines += ["", f"Geometric means over the {len(names)} networks: emitted Swift / best peer {swift_to_peer:.2f}, "
              f"interpreter / emitted Swift {netc_to_swift:.2f}."]
    lines += ["", "The same runs' middle half (25th to 75th percentile), in ms: how much the machine moved them.", ""]
    lines += table(["network"] + [LABELS[c] for c in CONTENDERS],
                   [[n] + [f"{results[n][2][c][0]:.1f}-{results[n][2][c][1]:.1f}" for c in CONTENDERS] for n in names])
    lines += ["", "Peak resident memory (VmHWM: weights, activations and runtime), MiB.", ""]
    lines += table(["network"] + [LABELS[c] for c in CONTENDERS],
                   [[n] + [f"{results[n][1][c]:.0f}" for c in CONTENDERS] for n in names])
    if batch8:
        lines += ["", f"Batch 8 throughput, images per second (median of {runs8} runs):", ""]
        lines += table(["network"] + [LABELS[c] for c in CONTENDERS],
                       [[n] + [f"{8000 / med[c]:.1f}" for c in CONTENDERS] for n, med in batch8.items()])
    lines += ["", "Roofline at batch 1: the lower bound max(2 x mult-adds / compute peak, bytes / bandwidth), and "
              "each contender's median as a multiple of it (bench/roofline.py says what is counted: the bytes are "
              "the f32 parameters, the input, and each value netc's lowered graph computes, written once).", ""]
    rows = []
    for n in names:
        w, med = work[n], results[n][0]
        rows.append([n, f"{w['mult_adds'] / 1e9:.2f}", f"{w['weight_bytes'] / 1e6:.1f} + {w['activation_bytes'] / 1e6:.1f}",
                     f"{w['compute_ms']:.2f}", f"{w['memory_ms']:.2f}", f"{w['bound']:.2f}"]
                    + [f"{med[c] / w['bound']:.1f}x" for c in CONTENDERS])
    lines += table(["network", "G mult-adds", "MB moved (weights + activations)", "compute bound, ms",
                    "memory bound, ms", "lower bound, ms"] + [LABELS[c] for c in CONTENDERS], rows)
    loose = [n for n in names if work[n]["direct_mult_adds"] > 1.5 * work[n]["mult_adds"]]
    for n in loose:
        lines += ["", f"{n}: netc counts {work[n]['mult_adds'] / 1e9:.2f} G mult-adds by torchinfo's rules, which count "
                  "a linear layer's weights once however many pixels it runs on; its convolutions and linear layers "
                  f"compute {work[n]['direct_mult_adds'] / 1e9:.2f} G directly, so its compute bound here is loose."]
    return "\n".join(lines) + "\n"


def svg(results, clip=4.0):
    """A grouped bar chart of batch-1 latency relative to the best peer, written by hand: no plotting
    library. Bars above `clip` are cut there and labelled with their value."""
    colors = {"swift": "#d9480f", "netc": "#f59f00", "pytorch": "#1c7ed6", "ort": "#495057", "openvino": "#2f9e44"}
    names = list(results)
    ratios = {n: {c: results[n][0][c] / results[n][0][best_peer(results[n][0])] for c in CONTENDERS} for n in names}
    top = min(clip, max(2.0, max(max(r.values()) for r in ratios.values()) * 1.1))
    left, plot_h, group = 60, 260, 78
    # At least wide enough for the title and the legend; a group of bars per network beyond that.
    w, h = max(860, left + group * len(names) + 20), 420
    group = (w - left - 20) / len(names)
    bar = group / (len(CONTENDERS) + 1.5)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2}" y="18" text-anchor="middle" font-size="14">Batch-1 latency relative to the faster of '
           'ONNX Runtime and OpenVINO (lower is faster)</text>']

    def y(v):
        return 36 + plot_h * (1 - min(v, top) / top)
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
            if v > top:  # cut at the top: its value written down the bar, where neighbours cannot overlap it
                tx, ty = x0 + (j + 0.45) * bar + 3, y(top) + 4
                out.append(f'<text x="{tx:.1f}" y="{ty:.1f}" text-anchor="end" font-size="9" fill="white" '
                           f'transform="rotate(-90 {tx:.1f} {ty:.1f})">{v:.1f}x</text>')
        cx, cy = left + (i + 0.5) * group, y(0) + 12
        out.append(f'<text x="{cx:.1f}" y="{cy:.1f}" text-anchor="end" transform="rotate(-35 {cx:.1f} {cy:.1f})">{n}</text>')
    lx = left
    for c in CONTENDERS:
        out.append(f'<rect x="{lx}" y="{h - 24}" width="12" height="12" fill="{colors[c]}"/>')
        out.append(f'<text x="{lx + 16}" y="{h - 14}">{LABELS[c]}</text>')
        lx += 16 + 7 * len(LABELS[c]) + 18
    out.append("</svg>")
    return "\n".join(out) + "\n"
