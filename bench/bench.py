"""Inference speed of netc against PyTorch, ONNX Runtime and OpenVINO, side by side in one run, and each
network's roofline.

For each network: the same random weights (torchvision's model, batch-norm statistics randomised or, for
the RegNetYs, calibrated as the parity test does; its state_dict made into netc's file by `netc weights
import`) and the same input for every contender:

  swift     netc's emitted Swift, compiled as README.md tells users to
  netc      `netc run --serve`: netc's interpreter
  pytorch   PyTorch eager, torch.inference_mode, 2 threads
  ort       ONNX Runtime, the model exported by torch.onnx (opset 17), 2 intra-op threads
  openvino  OpenVINO on the same ONNX file, f32 (INFERENCE_PRECISION_HINT: on a CPU with AVX512-BF16 it
            would otherwise run bf16), PERFORMANCE_HINT LATENCY, 2 threads

Each contender is one long-lived process (bench/worker.py for the Python ones) that loads the model, writes
its output for the shared input, then answers each line on stdin with one inference's time. Outputs are
checked equal to PyTorch's (the parity tolerance) before any timing. Runs are interleaved: every round
times each contender once, in a rotating order, after warm-up rounds. Reported: the median per contender,
its ratio to the best peer (the faster of ONNX Runtime and OpenVINO on that network), geometric means over
the networks, peak resident memory (VmHWM), batch-8 throughput, and the roofline (bench/roofline.py): the
machine's compute peak and memory bandwidth, measured at the start and the end of the run, and each
network's lower bound time.

  bench/run.sh [--runs N] [--batch8-runs N] [--nets mobilenet_v2,resnet18,...]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import safetensors.torch
import torch

sys.dont_write_bytecode = True  # no __pycache__ left in bench/ by the two modules below
import report  # noqa: E402
import roofline  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Tests", "parity"))
import parity  # noqa: E402  (model table, weight randomisation, the emitted-Swift build)

CONTENDERS = report.CONTENDERS
NETS = ["alexnet", "vgg16", "googlenet", "resnet18", "resnet50",
        "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "efficientnet_b0", "mnasnet1_0",
        "shufflenet_v2_x1_0", "resnext50_32x4d", "densenet121", "squeezenet1_1", "inception_v3",
        "regnet_y_400mf", "convnext_tiny"]


class Worker:
    def __init__(self, name, argv):
        self.name = name
        self.settings = None
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        line = self.proc.stdout.readline().strip()
        while line and line != "ready":  # netc prints nothing else, but be lenient with library chatter
            if line.startswith("settings "):
                self.settings = dict(item.split("=", 1) for item in line.split()[1:])
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
    if name in parity.CALIBRATED_BATCH_NORMS:
        parity.calibrate_batch_norms(model, shape, gen)
    # netc's weights are what `netc weights import` makes of the state_dict; PyTorch loads the state_dict.
    state_path = os.path.join(tmp, f"{name}.state.safetensors")
    safetensors.torch.save_file(model.state_dict(), state_path)
    wpath = os.path.join(tmp, f"{name}.safetensors")
    imported = subprocess.run([netc, "weights", "import", state_path, "--spec", spec, "-o", wpath],
                              capture_output=True, text=True)
    if imported.returncode != 0:
        raise SystemExit(f"{name}: netc weights import failed:\n{imported.stderr}")
    ptpath = os.path.join(tmp, f"{name}.pt")
    torch.save(model.state_dict(), ptpath)
    onnx_path = os.path.join(tmp, f"{name}.onnx")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter's, chosen on purpose
        torch.onnx.export(model, torch.randn((1,) + shape), onnx_path, opset_version=17, dynamo=False,
                          input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
    exe = parity.build_swift(netc, spec, tmp)
    return spec, shape, gen, wpath, ptpath, onnx_path, exe


def start(contender, netc, name, prepared, xpath, ypath):
    spec, _, _, wpath, ptpath, onnx_path, exe = prepared
    if contender == "swift":
        return Worker(contender, [exe, wpath, xpath, ypath, "--serve"])
    if contender == "netc":
        return Worker(contender, [netc, "run", spec, "--weights", wpath, "--input", xpath, "-o", ypath, "--serve"])
    worker = os.path.join(ROOT, "bench", "worker.py")
    w = Worker(contender, [sys.executable, worker, contender, name, ptpath, onnx_path, xpath, ypath])
    if contender == "openvino" and w.settings != {"precision": "f32", "threads": "2", "hint": "LATENCY"}:
        w.close()
        raise SystemExit(f"{name}: OpenVINO compiled the model with {w.settings}, not f32 on 2 threads for latency")
    return w


def measure(netc, name, batch, runs, warmup, prepared, tmp):
    shape, gen = prepared[1], prepared[2]
    x = torch.randn((batch,) + shape, generator=gen).numpy()
    xpath = os.path.join(tmp, f"x{batch}.npy")
    np.save(xpath, x)
    workers, outputs = {}, {}
    try:
        for c in CONTENDERS:
            ypath = os.path.join(tmp, f"y-{c}.npy")
            workers[c] = start(c, netc, name, prepared, xpath, ypath)
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
    quartiles = {c: statistics.quantiles(times[c], n=4, method="inclusive") if len(times[c]) > 1 else times[c] * 3 for c in CONTENDERS}
    return {c: statistics.median(times[c]) for c in CONTENDERS}, peaks, {c: (q[0], q[2]) for c, q in quartiles.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--netc", required=True)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch8-runs", type=int, default=5)
    ap.add_argument("--nets", default=",".join(NETS), help="comma-separated (default: all %(default)s)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    args = ap.parse_args()
    nets = args.nets.split(",")
    unknown = [n for n in nets if n not in parity.MODELS or parity.MODELS[n][0] == "emitted"]
    if unknown:
        ap.error(f"no PyTorch model for {', '.join(unknown)}; known: {', '.join(NETS)} and the other specs "
                 "Tests/parity/parity.py's MODELS lists")
    model, flags = roofline.cpu_description()
    machine = {"cpu": model, "flags": flags, "cores": os.cpu_count()}
    machine["gflops_start"], machine["gbps_start"] = roofline.measure_machine()
    print(f"{model}: " + ", ".join(f"{f} {'yes' if v else 'no'}" for f, v in flags.items()) +
          f"; compute peak {machine['gflops_start']:.0f} GFLOP/s, memory bandwidth {machine['gbps_start']:.1f} GB/s",
          flush=True)
    results, batch8, work = {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in nets:
            print(f"{name}:", flush=True)
            prepared = prepare(args.netc, name, tmp)
            work[name] = roofline.network_work(args.netc, prepared[0])
            results[name] = measure(args.netc, name, 1, args.runs, args.warmup, prepared, tmp)
            med = results[name][0]
            peer = med[report.best_peer(med)]
            print("  batch 1: " + ", ".join(f"{c} {med[c]:.1f} ms ({med[c] / peer:.2f}x)" for c in CONTENDERS),
                  flush=True)
            if args.batch8_runs > 0:
                batch8[name] = measure(args.netc, name, 8, args.batch8_runs, 1, prepared, tmp)[0]
                print("  batch 8: " + ", ".join(f"{c} {8000 / batch8[name][c]:.1f} img/s" for c in CONTENDERS),
                      flush=True)
    machine["gflops_end"], machine["gbps_end"] = roofline.measure_machine()
    machine["gflops"] = max(machine["gflops_start"], machine["gflops_end"])
    machine["gbps"] = max(machine["gbps_start"], machine["gbps_end"])
    for w in work.values():
        w["compute_ms"], w["memory_ms"], w["bound"] = roofline.lower_bound_ms(
            w["mult_adds"], w["bytes"], machine["gflops"], machine["gbps"])
    text = report.markdown(machine, results, batch8, work, args.runs, args.batch8_runs)
    with open(args.out + ".md", "w") as f:
        f.write(f"<!-- bench/run.sh, {time.strftime('%Y-%m-%d')} -->\n" + text)
    with open(args.out + ".svg", "w") as f:
        f.write(report.svg(results))
    print()
    print(text)


if __name__ == "__main__":
    main()
