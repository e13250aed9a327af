"""Builds and runs a network's emitted Swift as the README tells users to: `netc emit --target swift`, compiled
with swiftc beside SwiftMain.swift (the driver) against the NetcKernels library SwiftPM built beside netc, or
as one self-contained file. Used by parity.py, bench/bench.py (through parity) and Tests/train/check.py."""
import os
import re
import subprocess
import time

import numpy as np


def emitted_class(source):
    """The class an emitted Swift file defines."""
    with open(source) as f:
        return re.search(r"^public final class (\S+) \{", f.read(), re.M).group(1)


def write_main(path, network_class):
    """SwiftMain.swift, the driver, for the emitted class `network_class`."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "SwiftMain.swift")) as f, open(path, "w") as g:
        g.write(f"typealias NetcNetwork = {network_class}\n" + f.read())


def swiftc_command(netc, sources, exe, self_contained=False):
    """swiftc as the README tells users to run it: against the NetcKernels library SwiftPM built beside netc
    (its module in Modules/, its archive libNetcKernels.a), or, with self_contained, on the files alone."""
    command = ["swiftc", "-Ounchecked", "-target-cpu", "native"] + sources + ["-o", exe]
    if not self_contained:
        build = os.path.dirname(os.path.abspath(netc))
        modules, archive = os.path.join(build, "Modules"), os.path.join(build, "libNetcKernels.a")
        if not os.path.exists(os.path.join(modules, "NetcKernels.swiftmodule")) or not os.path.exists(archive):
            raise SystemExit(f"no NetcKernels library beside {netc}: run 'swift build -c release --product NetcKernels'")
        command[4:4] = ["-I", modules]
        command.insert(-2, archive)
    return command


def build_swift(netc, spec, tmp, self_contained=False):
    """Emits the network as Swift and compiles it as the README tells users to: against the NetcKernels
    library that SwiftPM built beside netc (its module in Modules/, its archive libNetcKernels.a), or, with
    self_contained, as one file."""
    form = "self-contained" if self_contained else "library"
    work = os.path.join(tmp, form)
    os.makedirs(work, exist_ok=True)
    source = os.path.join(work, "Net.swift")
    subprocess.run([netc, "emit", "--target", "swift", spec, "-o", source] + (["--self-contained"] if self_contained else []),
                   check=True)
    exe = os.path.join(work, "net")
    main = os.path.join(work, "main.swift")  # top-level code must live in main.swift
    write_main(main, emitted_class(source))
    command = swiftc_command(netc, [source, main], exe, self_contained)
    t0 = time.time()
    subprocess.run(command, check=True)
    print(f"  emitted Swift ({form}) compiled in {time.time() - t0:.1f} s", flush=True)
    return exe


def run_swift(exe, weights, x, tmp, count=1):
    """The first `count` outputs: SwiftMain.swift writes output k > 0 beside the first, as ys.k.npy."""
    xin, yout = os.path.join(tmp, "x.npy"), os.path.join(tmp, "ys.npy")
    np.save(xin, x.astype(np.float32))
    subprocess.run([exe, weights, xin, yout], check=True)
    return [np.load(yout)] + [np.load(os.path.join(tmp, f"ys.{k}.npy")) for k in range(1, count)]
