#!/usr/bin/env python3
"""netc lsp's latency on a large spec: a keystroke (one incremental didChange) until its diagnostics are
published, and a hover right after it (the first request on a new version computes the figures) and
again (cached). Prints the minimum, the median and the 90th percentile in milliseconds
(on a busy machine the minimum is the server's own time, the others add the scheduler's).
  bench/lsp_latency.py [--netc .build/release/netc] [--spec specs/resnet/resnet152.net] [--rounds 100]"""
import argparse
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "Tests" / "lsp"))
from lspwire import Wire  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--netc", default=".build/release/netc")
    ap.add_argument("--spec", default="specs/resnet/resnet152.net")
    ap.add_argument("--rounds", type=int, default=100)
    args = ap.parse_args()
    text = pathlib.Path(args.spec).read_text()
    lines = text.split("\n")
    # A layer line of the network's body and the end of a comment line to type into.
    hover_line = next(i for i, l in enumerate(lines) if l.startswith("DownBottleneck(256)"))
    typing_line = next(i for i, l in enumerate(lines) if l.startswith("#"))
    uri = pathlib.Path(args.spec).resolve().as_uri()
    w = Wire(args.netc)
    w.response(w.request("initialize", {"capabilities": {}}))
    w.notify("initialized", {})
    w.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "netc", "version": 1, "text": text}})
    w.read_until(lambda m: m.get("method") == "textDocument/publishDiagnostics")
    change, first_hover, cached_hover = [], [], []
    column = len(lines[typing_line])
    hover = {"textDocument": {"uri": uri}, "position": {"line": hover_line, "character": 2}}
    for version in range(2, args.rounds + 2):
        edit = {"range": {"start": {"line": typing_line, "character": column},
                          "end": {"line": typing_line, "character": column}}, "text": "x"}
        column += 1
        t0 = time.perf_counter()
        w.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [edit]})
        published, _ = w.read_until(lambda m: m.get("method") == "textDocument/publishDiagnostics")
        t1 = time.perf_counter()
        assert published["params"]["version"] == version and published["params"]["diagnostics"] == []
        result = w.response(w.request("textDocument/hover", hover))
        t2 = time.perf_counter()
        assert "Bottleneck" in result["result"]["contents"]["value"]
        w.response(w.request("textDocument/hover", hover))
        t3 = time.perf_counter()
        change.append(t1 - t0)
        first_hover.append(t2 - t1)
        cached_hover.append(t3 - t2)
    w.response(w.request("shutdown"))
    w.notify("exit")
    w.proc.wait(timeout=10)

    def report(name, xs):
        xs = sorted(x * 1000 for x in xs)
        print(f"{name:<36} min {xs[0]:6.2f} ms   median {statistics.median(xs):6.2f} ms   p90 {xs[int(len(xs) * 0.9)]:6.2f} ms")

    print(f"{args.spec}, {len(lines)} lines, {args.rounds} rounds")
    report("didChange -> publishDiagnostics", change)
    report("hover, first on the new version", first_hover)
    report("hover, again (cached)", cached_hover)


if __name__ == "__main__":
    main()
