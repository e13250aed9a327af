"""From training to netc on real data: trains Examples/digits/digits.net on scikit-learn's digits with
Examples/digits/train.py, in one process, then with DistributedDataParallel (gloo, two processes on
loopback) spawned by train.py and started by torchrun, and deploys each state_dict, saved as PyTorch saves
it, unchanged. The two distributed runs must give the same weights, bit for bit.

For each training run: the weight file must hold the integer buffers PyTorch saves (num_batches_tracked),
which netc ignores; PyTorch's eval-mode accuracy on the 450 test images must reach MIN_ACCURACY; the whole
test split, one .npy batch, goes through `netc run` and through the emitted Swift (built against the
NetcKernels library beside netc, with Tests/parity/SwiftMain.swift), and each must give PyTorch's logits
within LOGIT_TOLERANCE, the same predicted class on every image, and so the same accuracy.

usage: check.py --netc NETC
"""
import argparse
import filecmp
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
from safetensors import safe_open

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "Tests", "parity"))
from emitted_swift import build_swift, run_swift  # noqa: E402

SPEC = os.path.join(ROOT, "Examples", "digits", "digits.net")
TRAIN = os.path.join(ROOT, "Examples", "digits", "train.py")
MIN_ACCURACY = 0.95
LOGIT_TOLERANCE = 1e-4
TRAINING_TIMEOUT = 600  # seconds: a stuck rendezvous fails the test rather than hang it


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launches(netc):
    """Each way of training, as it comes: (name, the command before train.py's own arguments, its
    environment). A generator, so torchrun's port is taken free just before it starts."""
    yield "one process", [sys.executable, TRAIN, "--netc", netc], os.environ
    yield ("DistributedDataParallel, 2 processes spawned (gloo)",
           [sys.executable, TRAIN, "--netc", netc, "--processes", "2"], os.environ)
    loopback = dict(os.environ, OMP_NUM_THREADS="1", **({"GLOO_SOCKET_IFNAME": "lo"} if sys.platform == "linux" else {}))
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2",
                "--master-addr", "127.0.0.1", "--master-port", str(free_port())]
    yield "DistributedDataParallel, 2 processes under torchrun (gloo)", torchrun + [TRAIN, "--netc", netc], loopback


def trained(command, env, out):
    t0 = time.time()
    subprocess.run(command + ["--out", out], env=env, check=True, timeout=TRAINING_TIMEOUT)
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    summary["wall_seconds"] = time.time() - t0
    return summary


def integer_buffers(weights):
    with safe_open(weights, "pt") as f:
        return [k for k in f.keys() if not f.get_slice(k).get_dtype().startswith(("F", "BF"))]


def run_netc(netc, weights, x_path, out):
    y_path = os.path.join(out, "netc_logits.npy")
    subprocess.run([netc, "run", SPEC, "--weights", weights, "--input", x_path, "-o", y_path], check=True)
    return np.load(y_path)


def agrees(label, got, want, labels):
    """`got` logits against PyTorch's `want`: within the tolerance, the same class for every image."""
    err = float(np.abs(got - want).max()) if got.shape == want.shape else float("inf")
    same = got.shape == want.shape and np.array_equal(got.argmax(1), want.argmax(1))
    accuracy = float((got.argmax(1) == labels).mean()) if got.shape == want.shape else 0.0
    ok = err <= LOGIT_TOLERANCE and same
    print(f"  {label}: max|logit diff| {err:.3g} (tolerance {LOGIT_TOLERANCE:g}), "
          f"{'the same class on every image' if same else 'a DIFFERENT class on some image'}, "
          f"accuracy {accuracy:.4f} {'ok' if ok else 'FAIL'}", flush=True)
    return ok


def check_run(netc, swift, name, command, env, out):
    print(f"{name}:", flush=True)
    summary = trained(command, env, out)
    weights = os.path.join(out, "digits.safetensors")
    x_path = os.path.join(out, "x_test.npy")
    x, labels, want = np.load(x_path), np.load(os.path.join(out, "y_test.npy")), np.load(os.path.join(out, "logits_test.npy"))
    accuracy = float((want.argmax(1) == labels).mean())
    ok = accuracy >= MIN_ACCURACY and accuracy == summary["test_accuracy"]
    top2 = np.sort(want, axis=1)[:, -2:]
    print(f"  PyTorch eval: accuracy {accuracy:.4f} on {len(labels)} test images (at least {MIN_ACCURACY}), "
          f"smallest margin between the two highest logits {float((top2[:, 1] - top2[:, 0]).min()):.3g}, "
          f"trained in {summary['train_seconds']:.1f} s ({summary['wall_seconds']:.1f} s with start-up) "
          f"{'ok' if ok else 'FAIL'}", flush=True)
    ignored = integer_buffers(weights)
    has_counters = len(ignored) > 0 and all(k.endswith(".num_batches_tracked") for k in ignored)
    print(f"  the state_dict as PyTorch saves it: {len(ignored)} integer buffers (num_batches_tracked) for netc "
          f"to ignore {'ok' if has_counters else 'FAIL'}", flush=True)
    ok &= has_counters
    ok &= agrees("netc run", run_netc(netc, weights, x_path, out), want, labels)
    ok &= agrees("emitted Swift", run_swift(swift, weights, x, out)[0], want, labels)
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--netc", required=True, help="netc, built in release beside the NetcKernels library")
    args = parser.parse_args()
    netc = os.path.abspath(args.netc)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        swift = build_swift(netc, SPEC, tmp)
        ok, weights = True, []
        for k, (name, command, env) in enumerate(launches(netc)):
            out = os.path.join(tmp, f"run{k}")
            ok &= check_run(netc, swift, name, command, env, out)
            weights.append(os.path.join(out, "digits.safetensors"))
        # The two launchers run the same ranks on the same shards: any difference is a launcher's doing.
        same = filecmp.cmp(weights[1], weights[2], shallow=False)
        print(f"spawned and torchrun's processes: {'the same weights, bit for bit' if same else 'DIFFERENT weights'} "
              f"{'ok' if same else 'FAIL'}", flush=True)
        ok &= same
    print(f"{'passed' if ok else 'FAILED'} in {time.time() - t0:.0f} s", flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
