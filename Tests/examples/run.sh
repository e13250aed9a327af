#!/usr/bin/env bash
# The example app, Examples/ImageClassifier, built as an app builds it: SwiftPM runs the NetcPlugin build
# plugin on its target, which compiles TinyResNet.net into Swift. The package is built in a copy of this
# checkout (its sources, the example unchanged) so that the specs added below leave the checkout alone.
# Then (check.py) on images in every format it reads, its input must equal the image preprocessed in
# Python, and its top-5 classes and probabilities what `netc run` computes on that input, within 1e-5;
# bad images must fail cleanly. Last, in the same copy: two more specs in the target (one of them with
# the file name of another in a subfolder) must build with it, and a spec with a mistake must fail the
# build with netc's diagnostic, file:line:col, in the build log, and a target with a spec but without
# NetcKernels must be refused.
# numpy comes from .venv, installed there if missing.
#   Tests/examples/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import numpy" 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet numpy
fi
swift build --product netc >/dev/null
netc="$(swift build --show-bin-path)/netc"
work=$(mktemp -d "${TMPDIR:-/tmp}/netc-examples-XXXXXX")
trap 'rm -rf "$work"' EXIT

copy="$work/netc"
mkdir -p "$copy/Examples/ImageClassifier" "$copy/Tests"
cp -R Package.swift Sources Plugins "$copy/"
cp -R Tests/NetcTests "$copy/Tests/"
cp -R Examples/ImageClassifier/Package.swift Examples/ImageClassifier/Sources "$copy/Examples/ImageClassifier/"
app="$copy/Examples/ImageClassifier"
target="$app/Sources/ImageClassifier"

echo "building Examples/ImageClassifier (debug) with the NetcPlugin build plugin..."
start=$SECONDS
(cd "$app" && swift build 2>&1 | tail -1)
echo "built in $((SECONDS - start)) s"
bin="$(cd "$app" && swift build --show-bin-path)"

"$netc" weights init "$target/TinyResNet.net" --seed 11 -o "$work/w.safetensors" >/dev/null
mkdir "$work/images"
.venv/bin/python Tests/examples/check.py --app "$bin/ImageClassifier" --netc "$netc" --spec "$target/TinyResNet.net" \
  --weights "$work/w.safetensors" --work "$work/images"

# Two more networks in the target, one of them in a subfolder with the file name of the other: each
# spec becomes its own Swift file, and the classes (named after the networks) build together.
mkdir "$target/more"
cp specs/lenet/lenet5.net "$target/lenet5.net"
sed 's/^network LeNet5$/network LeNet5Twin/' specs/lenet/lenet5.net >"$target/more/lenet5.net"
grep -q '^network LeNet5Twin$' "$target/more/lenet5.net"
if ! (cd "$app" && swift build >"$work/two.log" 2>&1); then
  cat "$work/two.log"
  echo "FAIL  three specs in one target do not build together"
  exit 1
fi
emitted=$(find "$app/.build/plugins/outputs" -path '*NetcPlugin*' -name '*.swift' -exec basename {} \; | sort | tr '\n' ' ')
[ "$emitted" = "TinyResNet.swift lenet5.2.swift lenet5.swift " ] || { echo "FAIL  the plugin wrote: $emitted"; exit 1; }
echo "ok    three specs in one target build together: $emitted"

# A spec with a mistake: the build fails, and its log holds netc's diagnostic (as `netc check` gives it).
cat >"$target/Broken.net" <<'NET'
network Broken
input 3x32x32

conv 3x3 8 p1, relu -> 8x32x32
conv 5x5 8, relu    -> 8x30x30
NET
if (cd "$app" && swift build >"$work/broken.log" 2>&1); then
  echo "FAIL  a spec with a mistake built"
  exit 1
fi
want="$target/Broken.net:5:21: error: the output is 8x28x28, not 8x30x30 as annotated"
said=$("$netc" check --color never "$target/Broken.net" 2>&1 | head -1 || true)
[ "$said" = "$want" ] || { echo "FAIL  netc check said: $said"; exit 1; }
if ! grep -qxF "$want" "$work/broken.log"; then
  cat "$work/broken.log"
  echo "FAIL  the build log lacks netc's diagnostic: $want"
  exit 1
fi
echo "ok    a spec with a mistake fails the build with: $want"

# A target with a spec but without NetcKernels: the plugin refuses it, saying what to add.
rm "$target/Broken.net"
mkdir "$app/Sources/NoKernels"
cp specs/lenet/lenet5.net "$app/Sources/NoKernels/"
echo 'print("no network used")' >"$app/Sources/NoKernels/main.swift"
echo 'package.targets.append(.executableTarget(name: "NoKernels", plugins: [.plugin(name: "NetcPlugin", package: "netc")]))' >>"$app/Package.swift"
if (cd "$app" && swift build >"$work/nokernels.log" 2>&1); then
  echo "FAIL  a target with a spec and without NetcKernels built"
  exit 1
fi
want="error: target 'NoKernels' turns .net specs into Swift that imports NetcKernels: add .product(name: \"NetcKernels\", package: \"netc\") to its dependencies"
if ! grep -qxF "$want" "$work/nokernels.log"; then
  cat "$work/nokernels.log"
  echo "FAIL  the build log lacks: $want"
  exit 1
fi
echo "ok    a target with a spec and without NetcKernels is refused: $want"
