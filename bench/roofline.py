"""The roofline bench.py sets beside each network's times: what the machine can do at most, what a network
asks of it at least, and the time below which no implementation can run it.

Machine (measured once, at the start of a run, with PyTorch on 2 threads, as every contender runs):
  compute peak     the best of several 2048x2048x2048 f32 matrix products, 2*M*N*K floating-point
                   operations each (one multiply-add is two), in GFLOP/s;
  memory bandwidth the best of several triads a = b + s*c over three arrays of 32M f32 (128 MiB each, far
                   beyond the caches), 3 x 128 MiB moved each (two read, one written; the write's
                   read-for-ownership is not counted, as STREAM counts it), in GB/s.

Network, at batch 1:
  mult-adds        netc's own count (`netc params --format json`: total_mult_adds, torchinfo's rules);
  bytes            what must cross the memory bus at least once per inference: the parameters in f32
                   (`total_params` x 4; batch norms folded into convolutions would be slightly fewer), the
                   input, and every value netc's lowered graph computes written once (`netc emit --target
                   plan`: each node's output, f32, after batch norms, activations and residual additions
                   are fused into the node that produces them, with flatten and permutations as views).
                   Concatenations, chunks and channel shuffles are not counted: they only rearrange values
                   other nodes computed, which an implementation can write in place (netc does so for most
                   concatenations, not yet for DenseNet's, which copy 41 MB). Reading an activation back is
                   assumed to hit the cache; so is everything a kernel re-reads.
  lower bound      max(2 x mult-adds / compute peak, bytes / bandwidth).
"""
import json
import math
import os
import subprocess
import tempfile
import time

import torch


def best_seconds(fn, repeats):
    fn()  # warm-up: page faults, thread pool start
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def measure_machine(threads=2):
    """(compute peak in GFLOP/s, memory bandwidth in GB/s), each the best of several tries."""
    torch.set_num_threads(threads)
    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    c = torch.empty(n, n)
    gemm = best_seconds(lambda: torch.mm(a, b, out=c), 10)
    flops = 2.0 * n ** 3 / gemm / 1e9
    del a, b, c
    elements = 32 * 1024 * 1024
    x, y, z = torch.ones(elements), torch.ones(elements), torch.empty(elements)
    triad = best_seconds(lambda: torch.add(x, y, alpha=3.0, out=z), 10)
    bandwidth = 3 * elements * 4 / triad / 1e9
    return flops, bandwidth


def cpu_description():
    """The CPU's model name and whether it has the flags that change what the peers run (AVX-512 f32
    kernels; OpenVINO's default bf16 on AVX512-BF16 or AMX)."""
    model, flags = "unknown CPU", set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model == "unknown CPU":
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    return model, {flag: flag in flags for flag in ("avx512f", "avx512_bf16", "amx_bf16")}


# Plan operations that compute nothing: their outputs are other nodes' values, moved.
REARRANGING = {"concat", "chunk", "channel_shuffle"}


def direct_mult_adds(plan):
    """The multiply-adds of the plan's convolutions and linear layers computed directly (no Winograd), each
    output element once per input it sums: only to flag a network whose torchinfo count is far below what
    its layers compute (ConvNeXt's linear layers on 56x56 maps count once, not once per pixel)."""
    total = 0
    for node in plan["nodes"]:
        out = math.prod(plan["shapes"][node["output"]])
        if node["op"] == "conv":
            total += out * node["in_channels"] // node["groups"] * math.prod(node["kernel"])
        elif node["op"] == "linear":
            total += out * node["in_features"]
    return total


def network_work(netc, spec):
    """A dict of one batch-1 inference's mult-adds (netc's and direct_mult_adds), the bytes that must move,
    and of those, the parameters' and the activations'."""
    params = json.loads(subprocess.run([netc, "params", "--format", "json", spec], check=True,
                                       capture_output=True, text=True).stdout)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "net.plan")
        subprocess.run([netc, "emit", "--target", "plan", spec, "-o", path], check=True, capture_output=True)
        with open(path) as f:
            plan = json.load(f)
    written = sum(math.prod(plan["shapes"][node["output"]]) for node in plan["nodes"] if node["op"] not in REARRANGING)
    weight_bytes = params["total_params"] * 4
    activation_bytes = (math.prod(plan["shapes"][plan["input"]]) + written) * 4
    return {"mult_adds": params["total_mult_adds"], "direct_mult_adds": direct_mult_adds(plan),
            "bytes": weight_bytes + activation_bytes, "weight_bytes": weight_bytes, "activation_bytes": activation_bytes}


def lower_bound_ms(mult_adds, moved_bytes, gflops, gbps):
    """(compute bound, memory bound, their maximum), in ms."""
    compute = 2.0 * mult_adds / (gflops * 1e9) * 1e3
    memory = moved_bytes / (gbps * 1e9) * 1e3
    return compute, memory, max(compute, memory)
