#!/usr/bin/env bash
# netc as a versioned SwiftPM dependency: clones this repository into a temporary folder, tags the clone
# with the version `netc --version` prints, and builds an app package that depends on it by that version
# (`.package(url: "file://...", from: VERSION)`) and links the NetcKernels product, with a network that
# `netc emit --target swift` wrote and the same network as a spec that the NetcPlugin build plugin
# compiles. The app must build (SwiftPM refuses a versioned dependency whose targets use unsafe flags)
# and both networks compute what `netc run` computes on the same weights and input.
#   Tests/package/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
swift build -c release --product netc >/dev/null
netc="$root/.build/release/netc"
version=$("$netc" --version | awk '{print $NF}')
work=$(mktemp -d "${TMPDIR:-/tmp}/netc-package-XXXXXX")
trap 'rm -rf "$work"' EXIT

# The committed state of this checkout, tagged as the release it says it is.
git clone --quiet --no-local "$root" "$work/netc"
git -C "$work/netc" -c user.name=netc -c user.email=netc@localhost tag -f "$version" >/dev/null

app="$work/app"
mkdir -p "$app/Sources/App"
cat >"$app/Package.swift" <<SWIFT
// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "App",
  dependencies: [.package(url: "file://$work/netc", from: "$version")],
  targets: [
    .executableTarget(name: "App", dependencies: [.product(name: "NetcKernels", package: "netc")],
                      swiftSettings: [.swiftLanguageMode(.v5)], plugins: [.plugin(name: "NetcPlugin", package: "netc")]),
  ]
)
SWIFT
"$netc" emit --target swift specs/lenet/lenet5.net -o "$app/Sources/App/LeNet5.swift"
sed 's/^network LeNet5$/network LeNet5FromPlugin/' specs/lenet/lenet5.net >"$app/Sources/App/lenet5.net"
cat >"$app/Sources/App/main.swift" <<'SWIFT'
// LeNet-5 on an input of 0.25 everywhere, emitted by hand and by the plugin: prints the two outputs of each.
let input = [Float](repeating: 0.25, count: 32 * 32)
let emitted = try LeNet5(weightsPath: CommandLine.arguments[1], batch: 1)
let built = try LeNet5FromPlugin(weightsPath: CommandLine.arguments[1], batch: 1)
print((emitted(input)[0] + built(input)[0]).map { String($0) }.joined(separator: " "))
SWIFT
"$netc" init specs/lenet/lenet5.net --seed 5 -o "$work/w.safetensors"

echo "building an app that depends on netc $version by version..."
(cd "$app" && swift build -c release 2>&1 | tail -3)
got=$("$app/.build/release/App" "$work/w.safetensors")

# The same input as an .npy file (little-endian float32 0.25 = 00 00 80 3e) for netc run.
header="{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 32, 32), }"
while [ $(( (10 + ${#header} + 1) % 64 )) -ne 0 ]; do header+=" "; done
{ printf '\x93NUMPY\x01\x00'; printf "\\x$(printf %02x $(( (${#header} + 1) & 255 )))\\x00"; printf '%s\n' "$header"
  for _ in $(seq 1024); do printf '\x00\x00\x80\x3e'; done; } >"$work/x.npy"
"$netc" run specs/lenet/lenet5.net --weights "$work/w.safetensors" --input "$work/x.npy" -o "$work/y.npy"
python3 - "$work/y.npy" "$got" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<H", data[8:10])[0]
want = struct.unpack("<2f", data[10 + n:10 + n + 8]) * 2
got = [float(v) for v in sys.argv[2].split()]
err = max(abs(a - b) for a, b in zip(got, want)) if len(got) == len(want) else float("inf")
print(f"app built against netc by version (emitted, then by the plugin): outputs {got}, netc run {list(want)}: max|diff| {err:.3g}",
      "ok" if err <= 1e-5 else "FAIL")
sys.exit(0 if err <= 1e-5 else 1)
PY
