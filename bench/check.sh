#!/usr/bin/env bash
# Times `netc check` end to end on the largest spec (ResNet-152 by default) with a release build, and the
# split between netc's stages as `--time-stages` reports them. Prints medians over many runs; the machine
# is shared and noisy, so single runs mean little.
#
#   bench/check.sh [SPEC] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
spec=${1:-specs/resnet/resnet152.net}
runs=${2:-200}
# A statically linked release build starts in about 3 ms instead of 5 (no shared Swift libraries to load).
swift build -c release --product netc --static-swift-stdlib --scratch-path .build-static >/dev/null
netc=.build-static/release/netc
"$netc" check "$spec" >/dev/null
python3 - "$netc" "$spec" "$runs" <<'PY'
import re, statistics, subprocess, sys, time
netc, spec, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
walls, stages = [], {}
for _ in range(runs):
    t0 = time.perf_counter()
    p = subprocess.run([netc, "check", "--time-stages", spec], capture_output=True, text=True, check=True)
    walls.append((time.perf_counter() - t0) * 1000)
    for name, ms in re.findall(r"(\w+) ([0-9.]+) ms", p.stderr):
        stages.setdefault(name, []).append(float(ms))
print(f"netc check {spec}: {runs} runs")
print(f"  wall time (process start to exit): median {statistics.median(walls):.2f} ms, "
      f"p10 {sorted(walls)[runs // 10]:.2f} ms, p90 {sorted(walls)[runs * 9 // 10]:.2f} ms")
for name, xs in stages.items():
    print(f"  {name:>7}: median {statistics.median(xs):.3f} ms")
PY
