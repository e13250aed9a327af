#!/usr/bin/env bash
# Fuzzes netc with libFuzzer: builds the targets in Fuzz/ with `--sanitize fuzzer --sanitize address`,
# seeds their corpora, and runs each for SECONDS (default 60). Exits non-zero if any target crashes, traps,
# leaks or hangs; the input that did it is left in .build-fuzz/artifacts/ and printed.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      TARGET: source safetensors npy plan runinput weights (default: all)
#
# A crash found here becomes a regression test (Tests/NetcTests/RobustnessTests.swift, or a case in
# Tests/NetcTests/Inputs/diagnostics) before it is fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(source safetensors npy plan runinput weights)

build=.build-fuzz
products=()
for t in "${targets[@]}"; do products+=(--product "fuzz-$t"); done
echo "building ${targets[*]} with libFuzzer and AddressSanitizer..."
# SwiftPM passes its two `--sanitize` flags to swiftc in no fixed order, and swiftc keeps only the last
# `-sanitize=`: the combined flag after them is what instruments every module for both. `--sanitize fuzzer`
# is still needed, for SwiftPM to leave `main` to libFuzzer.
for t in "${targets[@]}"; do
  mkdir -p "$build"
  if ! NETC_FUZZ=1 swift build --build-path "$build" -c release --sanitize fuzzer --sanitize address \
    -Xswiftc -sanitize=fuzzer,address --product "fuzz-$t" >"$build/build-$t.log" 2>&1; then
    grep -E "error" "$build/build-$t.log" >&2 || true
    echo "error: fuzz-$t did not build (log: $build/build-$t.log)" >&2
    exit 1
  fi
  grep -E "Compiling fuzz|Build of" "$build/build-$t.log" || true
  bin="$build/release/fuzz-$t"
  # A binary without coverage counters fuzzes blind, and one without AddressSanitizer misses overflows.
  symbols=$(nm "$bin")
  guards=$(grep -c "__sanitizer_cov_trace_cmp\|__sancov" <<<"$symbols" || true)
  grep -q "__asan_init" <<<"$symbols" || { echo "error: fuzz-$t is not built with AddressSanitizer" >&2; exit 1; }
  [ "$guards" -ge 50 ] || { echo "error: fuzz-$t has no coverage instrumentation ($guards symbols)" >&2; exit 1; }
done

# Seeds: every spec and every bad input of the diagnostic suite; weights, tensors and plans netc writes.
swift build -c release --product netc >"$build/build-netc.log" 2>&1 || { cat "$build/build-netc.log" >&2; exit 1; }
netc=.build/release/netc
seeds="$build/seeds"
rm -rf "$seeds"
mkdir -p "$seeds"/{source,safetensors,npy,plan,runinput,weights} "$build/artifacts"
cp specs/*/*.net Tests/NetcTests/Inputs/diagnostics/*.net Tests/NetcTests/Inputs/fmt/*.net Fuzz/seeds/*.net \
  "$seeds/source/"
for dtype in f32 f16 bf16; do
  "$netc" init Fuzz/seeds/tiny.net --seed 1 --dtype "$dtype" -o "$seeds/safetensors/tiny-$dtype.safetensors"
done
"$netc" run Fuzz/seeds/tiny.net --weights "$seeds/safetensors/tiny-f32.safetensors" --input random -o "$seeds/npy/y.npy"
"$netc" run Fuzz/seeds/tiny.net --batch 2 --weights "$seeds/safetensors/tiny-f32.safetensors" --input random \
  -o "$seeds/npy/y2.npy"
# runinput: '--input random' at a few batches and input sizes, and .npy inputs of tiny.net's 3x8x8 (identity.net's
# output is its input) after the byte that chooses a file, alone or with a '--batch'.
printf '\x00\x01\x00\x07\x00' >"$seeds/runinput/random-1"
printf '\x00\x40\x00\x07\x00' >"$seeds/runinput/random-64"
printf '\x00\xff\xff\x07\x00' >"$seeds/runinput/random-65535"
printf '\x00\x02\x00\x07\x00\x00\x1f\x1f' >"$seeds/runinput/random-2-1x32x32"
"$netc" init Fuzz/seeds/identity.net -o "$build/identity.safetensors"
for batch in 1 3; do
  "$netc" run Fuzz/seeds/identity.net --batch "$batch" --weights "$build/identity.safetensors" --input random \
    -o "$seeds/npy/x$batch.npy"
  { printf '\x01'; cat "$seeds/npy/x$batch.npy"; } >"$seeds/runinput/npy-$batch"
  # The same file with '--batch' given: right, then wrong.
  { printf '\x03'; printf "\\x$(printf %02x "$batch")\\x00"; cat "$seeds/npy/x$batch.npy"; } >"$seeds/runinput/npy-$batch-batch-$batch"
  { printf '\x03\x02\x00'; cat "$seeds/npy/x$batch.npy"; } >"$seeds/runinput/npy-$batch-batch-2"
done
# weights: each seed weight file with its 8-byte header length rewritten as 2 bytes (the target's format).
for f in "$seeds"/safetensors/tiny-*.safetensors; do
  n=$(od -An -tu8 -N8 "$f" | tr -d ' ')
  { printf "\\x$(printf %02x $((n & 255)))\\x$(printf %02x $((n >> 8)))"; tail -c +9 "$f"; } >"$seeds/weights/$(basename "$f" .safetensors)"
done
for spec in Fuzz/seeds/tiny.net specs/lenet/lenet5.net specs/inception/simple_inception.net specs/resnet/resnet18.net; do
  "$netc" emit --target plan "$spec" -o "$seeds/plan/$(basename "$spec" .net).plan"
done

status=0
summary=""
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  mkdir -p "$corpus"
  dict=Fuzz/tensors.dict
  [ "$t" = source ] && dict=Fuzz/netc.dict
  echo "fuzz-$t: ${seconds}s"
  log="$build/fuzz-$t.log"
  # libFuzzer reports crashes itself; the Swift runtime backtracer would only garble its report.
  if SWIFT_BACKTRACE=enable=no "$build/release/fuzz-$t" "$corpus" "$seeds/$t" -dict="$dict" -max_total_time="$seconds" -timeout=20 \
      -rss_limit_mb=6144 -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" >"$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
    grep -E "ERROR|SUMMARY|Fatal error|Test unit written|timeout" "$log" | head -20 >&2 || true
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  cov=$(grep -oE "cov: [0-9]+" "$log" | tail -1 || true)
  line=$(printf "%-12s %-7s %12s runs %9s exec/s  %s  corpus %s files" "$t" "$result" "${runs:-?}" "${rate:-?}" "${cov:-}" \
    "$(ls "$corpus" | wc -l)")
  echo "$line"
  summary+="$line"$'\n'
done
echo
echo "$summary"
exit $status
