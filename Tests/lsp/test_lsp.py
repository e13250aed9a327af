"""netc lsp driven by a real LSP client (pytest-lsp, with VS Code's client capabilities), as an editor
drives it. Every expected figure comes from netc's command-line tools on the same text (`netc check
--diagnostics-format json`, `netc params --format json`, `netc fmt`), so the server is held to what they
print."""
import json
import os
import pathlib
import subprocess
import tempfile

import pytest
import pytest_lsp
from lsprotocol import types as t
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lspwire import Wire

NETC = os.environ["NETC"]
ROOT = pathlib.Path(__file__).resolve().parents[2]

# Mistakes with fix-its (a PyTorch name, a missing flatten) and a note that points (the residual body's
# end); non-ASCII text, one character of it outside the Basic Multilingual Plane, in comments.
BAD = """\
# A small network with mistakes (café, 𝄞: non-ASCII only in comments)
network Small
input 3x32x32

block Down(c) {
  conv 3x3 c s2 p1 nobias, bn, relu => d  # 𝄞 downsampled
  @d
}

conv 3x3 16 p1, relu  # café
BatchNorm2d(16)  # ça 𝄞
Down(32) => mid
residual< conv 3x3 64 p1, bn >
@mid
fc 10
"""


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[NETC, "lsp", "--stdio"]))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(
        t.InitializeParams(capabilities=client_capabilities("visual-studio-code"), root_uri=ROOT.as_uri()))
    yield
    await lsp_client.shutdown_session()


def netc(*args, text=None, name="spec.net"):
    """Runs netc on `text` saved to a file (or on the file given); returns (stdout, stderr)."""
    with tempfile.TemporaryDirectory() as folder:
        if text is not None:
            path = pathlib.Path(folder) / name
            path.write_text(text, encoding="utf-8")
            args = [a if a != "FILE" else str(path) for a in args]
        r = subprocess.run([NETC, *args], capture_output=True, text=True)
        return r.stdout, r.stderr


def utf16_column(text, line, byte_column):
    """netc's 1-based byte column on a 1-based line -> LSP's 0-based UTF-16 character."""
    prefix = text.split("\n")[line - 1].encode("utf-8")[: byte_column - 1].decode("utf-8")
    return len(prefix.encode("utf-16-le")) // 2


def position(text, line, byte_column):
    return (line - 1, utf16_column(text, line, byte_column))


def apply_edits(text, edits):
    """Applies LSP text edits (UTF-16 positions) as an editor does, last first."""
    lines = text.split("\n")

    def offset(p):
        line = lines[p.line] if p.line < len(lines) else ""
        before = sum(len(l.encode("utf-16-le")) // 2 + 1 for l in lines[: p.line])
        return before + min(p.character, len(line.encode("utf-16-le")) // 2)

    units = text.encode("utf-16-le")
    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        a, b = offset(e.range.start) * 2, offset(e.range.end) * 2
        units = units[:a] + e.new_text.encode("utf-16-le") + units[b:]
    return units.decode("utf-16-le")


async def open_document(client, text, uri="file:///tmp/netc-lsp-test/spec.net"):
    client.text_document_did_open(t.DidOpenTextDocumentParams(
        text_document=t.TextDocumentItem(uri=uri, language_id="netc", version=1, text=text)))
    await client.wait_for_notification(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return uri


async def change(client, uri, version, changes):
    client.text_document_did_change(t.DidChangeTextDocumentParams(
        text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=version), content_changes=changes))
    await client.wait_for_notification(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)


@pytest.mark.asyncio
async def test_diagnostics_are_netc_checks_with_utf16_ranges(client: LanguageClient):
    uri = await open_document(client, BAD)
    got = client.diagnostics[uri]
    _, stderr = netc("check", "--diagnostics-format", "json", "FILE", text=BAD)
    expected = [json.loads(line) for line in stderr.splitlines()]
    assert len(expected) == 3
    assert all(d.severity == t.DiagnosticSeverity.Error and d.source == "netc" for d in got)
    assert_same_diagnostics(BAD, got, expected, uri, "BAD")
    assert got[1].related_information[0].location.range.start == t.Position(line=12, character=26)
    # Above the first error the figures are there: the network up to it, as netc graph draws it.
    hover = await client.text_document_hover_async(t.HoverParams(
        text_document=t.TextDocumentIdentifier(uri=uri), position=t.Position(line=9, character=0)))
    assert table_rows(hover.contents.value)[0][:3] == ["3x32x32", "16x32x32", grouped(3 * 9 * 16 + 16)]
    hints = await client.text_document_inlay_hint_async(t.InlayHintParams(
        text_document=t.TextDocumentIdentifier(uri=uri),
        range=t.Range(start=t.Position(line=0, character=0), end=t.Position(line=20, character=0))))
    assert [(h.position.line, h.label) for h in hints] == [(9, "-> 16x32x32")]


def check_json(path):
    r = subprocess.run([NETC, "check", "--diagnostics-format", "json", str(path)], capture_output=True, text=True)
    return [json.loads(line) for line in r.stderr.splitlines()]


def assert_same_diagnostics(text, got, expected, uri, where):
    got = [d for d in got if d.code is not None]  # the server adds "N more errors not shown" without one
    assert [d.code for d in got] == [e["id"] for e in expected], where
    for d, e in zip(got, expected):
        assert d.severity == {"error": 1, "warning": 2, "note": 3}[e["severity"]], where
        assert (d.range.start.line, d.range.start.character) == position(text, e["line"], e["column"]), where
        assert (d.range.end.line, d.range.end.character) == position(text, e["end_line"], e["end_column"]), where
        unplaced = [n["message"] for n in e["notes"] if "line" not in n]
        assert d.message == "\n".join([e["message"]] + ["note: " + m for m in unplaced]), where
        placed = [n for n in e["notes"] if "line" in n]
        related = d.related_information or []
        assert [r.message for r in related] == [n["message"] for n in placed], where
        for r, n in zip(related, placed):
            assert r.location.uri == uri
            assert (r.location.range.start.line, r.location.range.start.character) == position(text, n["line"], n["column"]), where


@pytest.mark.asyncio
async def test_every_diagnostics_input_gets_netc_checks_diagnostics(client: LanguageClient):
    """The diagnostic suite's inputs (Tests/NetcTests/Inputs/diagnostics), two of them with non-ASCII
    characters inside the range of an error, each opened as an editor opens it."""
    folder = ROOT / "Tests/NetcTests/Inputs/diagnostics"
    compared = 0
    for path in sorted(folder.glob("*.net")):
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue  # an editor cannot send invalid UTF-8 in JSON
        if "\r" in text.replace("\r\n", ""):
            continue  # a lone '\r' ends a line for LSP, not for netc
        uri = path.as_uri()
        await open_document(client, text, uri=uri)
        assert_same_diagnostics(text, client.diagnostics[uri], check_json(path), uri, path.name)
        compared += 1
    assert compared >= 190


@pytest.mark.asyncio
async def test_code_actions_apply_the_fix_its_and_a_fixing_change_clears_diagnostics(client: LanguageClient):
    uri = await open_document(client, BAD)
    text = BAD
    version = 1
    for code in ["pytorch-name", "needs-flat-input"]:
        diagnostic = next(d for d in client.diagnostics[uri] if d.code == code)
        actions = await client.text_document_code_action_async(t.CodeActionParams(
            text_document=t.TextDocumentIdentifier(uri=uri), range=diagnostic.range,
            context=t.CodeActionContext(diagnostics=[diagnostic])))
        assert len(actions) == 1 and actions[0].kind == t.CodeActionKind.QuickFix
        edits = actions[0].edit.changes[uri]
        text = apply_edits(text, edits)
        # The editor sends the edit back as an incremental change.
        version += 1
        await change(client, uri, version, [t.TextDocumentContentChangePartial(range=e.range, text=e.new_text) for e in edits])
    assert "bn  # ça 𝄞\n" in text and "flatten, fc 10\n" in text
    assert actions[0].title == "Insert 'flatten, '"
    assert [d.code for d in client.diagnostics[uri]] == ["residual-mismatch"]
    # Widening the residual's body to its input's 32 channels fixes the last error.
    body = client.diagnostics[uri][0].related_information[0].location.range
    line = text.split("\n")[body.start.line]
    start = line.index("64")
    version += 1
    await change(client, uri, version, [t.TextDocumentContentChangePartial(
        range=t.Range(start=t.Position(line=body.start.line, character=start),
                      end=t.Position(line=body.start.line, character=start + 2)), text="32")])
    assert list(client.diagnostics[uri]) == []


@pytest.mark.asyncio
async def test_an_edit_after_a_non_ascii_comment_lands_where_the_client_means(client: LanguageClient):
    uri = await open_document(client, BAD)
    # At the end of line 11 ('BatchNorm2d(16)  # ça 𝄞'): 'ç' is one UTF-16 unit in two bytes, '𝄞' two
    # units in four. An insertion there that the server counted in bytes would land inside the comment.
    line = BAD.split("\n")[10]
    end = len(line.encode("utf-16-le")) // 2
    assert end == len(line) + 1 and end < len(line.encode("utf-8"))
    await change(client, uri, 2, [t.TextDocumentContentChangePartial(
        range=t.Range(start=t.Position(line=10, character=end), end=t.Position(line=10, character=end)),
        text="\nrelu\nfc 3")])
    expected = BAD.replace(line, line + "\nrelu\nfc 3")
    _, stderr = netc("check", "--diagnostics-format", "json", "FILE", text=expected)
    assert [d.code for d in client.diagnostics[uri]] == [json.loads(l)["id"] for l in stderr.splitlines()]
    assert "fc-input" not in stderr and "relu" not in stderr
    fc3 = next(d for d in client.diagnostics[uri] if d.code == "needs-flat-input")
    assert fc3.range.start == t.Position(line=12, character=0)


def figures_by_line(spec_text):
    """`netc params --format json`'s rows, grouped by 1-based line."""
    stdout, _ = netc("params", "--format", "json", "FILE", text=spec_text)
    rows = json.loads(stdout)["layers"]
    by_line = {}
    for row in rows:
        by_line.setdefault(row["line"], []).append(row)
    return rows, by_line


def table_rows(markdown):
    lines = [l for l in markdown.splitlines() if l.startswith("| ") and not l.startswith("| input")]
    return [[c.strip() for c in l.strip("|").split("|")] for l in lines]


def grouped(n):
    return f"{n:,}"


def shape(dims):
    return "x".join(str(d) for d in dims[1:])


@pytest.mark.asyncio
async def test_hover_shows_netc_params_figures(client: LanguageClient):
    text = (ROOT / "specs/resnet/resnet18.net").read_text()
    uri = await open_document(client, text)
    rows, by_line = figures_by_line(text)
    lines = text.split("\n")
    main_lines = [i + 1 for i, l in enumerate(lines) if i >= 22 and l.strip() and by_line.get(i + 1)]
    assert main_lines == [23, 24, 26, 27, 28, 29, 31, 32]
    previous_last = -1
    for number in main_lines:
        last = max(rows.index(r) for r in by_line[number])
        # The line's rows: those after the previous line's last row, block contents included.
        mine = rows[previous_last + 1: last + 1]
        previous_last = last
        hover = await client.text_document_hover_async(t.HoverParams(
            text_document=t.TextDocumentIdentifier(uri=uri), position=t.Position(line=number - 1, character=0)))
        assert hover is not None and hover.contents.kind == t.MarkupKind.Markdown
        [cells] = table_rows(hover.contents.value)
        params = sum(r["params"] for r in mine)
        mult_adds = sum(r["mult_adds"] for r in mine)
        field = rows[last]["receptive_field"]
        assert cells[2:5] == [grouped(params), grouped(mult_adds), str(field[0])], (number, cells)
        if number != 31:  # flatten() prints no row: the line's output is flat, its last row's is 512x1x1
            assert cells[1] == shape(rows[last]["output_shape"])
        assert cells[5:] == [str(rows[last]["effective_stride"][0]), str(rows[last]["effective_padding"][0])]
    first = await client.text_document_hover_async(t.HoverParams(
        text_document=t.TextDocumentIdentifier(uri=uri), position=t.Position(line=22, character=3)))
    assert first.contents.value.startswith("**Conv2d, BatchNorm2d, ReLU**")
    assert table_rows(first.contents.value)[0][:2] == ["3x224x224", "64x112x112"]
    # A block's line: one row per use with different figures.
    inside = await client.text_document_hover_async(t.HoverParams(
        text_document=t.TextDocumentIdentifier(uri=uri), position=t.Position(line=15, character=6)))
    relus = [r for r in by_line[16] if r["type"] == "ReLU"]
    assert [row[1] for row in table_rows(inside.contents.value)] == [shape(r["output_shape"]) for r in relus]
    assert "(in 3 uses of its block)" in inside.contents.value
    # On a block's name: its signature too.
    block = await client.text_document_hover_async(t.HoverParams(
        text_document=t.TextDocumentIdentifier(uri=uri), position=t.Position(line=26, character=3)))
    assert block.contents.value.startswith("```\nblock DownBlock(c, s)\n```\nused 3 times")


@pytest.mark.asyncio
async def test_inlay_hints_show_output_shapes_where_no_annotation_does(client: LanguageClient):
    text = (ROOT / "specs/resnet/resnet18.net").read_text()
    uri = await open_document(client, text)
    _, by_line = figures_by_line(text)
    hints = await client.text_document_inlay_hint_async(t.InlayHintParams(
        text_document=t.TextDocumentIdentifier(uri=uri),
        range=t.Range(start=t.Position(line=0, character=0), end=t.Position(line=40, character=0))))
    by_hint_line = {h.position.line + 1: h for h in hints}
    # Lines 23-29 carry '-> CxHxW' annotations: no hints there.
    assert not any(n in by_hint_line for n in [23, 24, 26, 27, 28, 29])
    assert by_hint_line[32].label == "-> " + shape(by_line[32][-1]["output_shape"])
    assert by_hint_line[32].position == t.Position(line=31, character=len("fc 1000"))
    relus = []
    for r in by_line[16]:
        s = shape(r["output_shape"])
        if r["type"] == "ReLU" and s not in relus:
            relus.append(s)
    assert by_hint_line[16].label == "-> " + " | ".join(relus)
    assert by_hint_line[31].label == "-> 512"


@pytest.mark.asyncio
async def test_definition_references_symbols(client: LanguageClient):
    uri = await open_document(client, BAD)
    doc = t.TextDocumentIdentifier(uri=uri)
    # 'Down' used on line 12 -> its definition on line 5.
    definition = await client.text_document_definition_async(t.DefinitionParams(text_document=doc, position=t.Position(line=11, character=1)))
    assert definition.range == t.Range(start=t.Position(line=4, character=6), end=t.Position(line=4, character=10))
    # '@mid' -> '=> mid'; '@d' inside the block -> the block's '=> d'.
    mid = await client.text_document_definition_async(t.DefinitionParams(text_document=doc, position=t.Position(line=13, character=2)))
    assert mid.range == t.Range(start=t.Position(line=11, character=12), end=t.Position(line=11, character=15))
    d = await client.text_document_definition_async(t.DefinitionParams(text_document=doc, position=t.Position(line=6, character=3)))
    assert d.range.start == t.Position(line=5, character=39)
    refs = await client.text_document_references_async(t.ReferenceParams(
        text_document=doc, position=t.Position(line=11, character=13), context=t.ReferenceContext(include_declaration=True)))
    assert [(r.range.start.line, r.range.start.character) for r in refs] == [(11, 12), (13, 1)]
    refs = await client.text_document_references_async(t.ReferenceParams(
        text_document=doc, position=t.Position(line=4, character=7), context=t.ReferenceContext(include_declaration=False)))
    assert [(r.range.start.line, r.range.start.character) for r in refs] == [(11, 0)]
    symbols = await client.text_document_document_symbol_async(t.DocumentSymbolParams(text_document=doc))
    assert [(s.name, s.kind) for s in symbols] == [("Small", t.SymbolKind.Module), ("Down", t.SymbolKind.Class)]
    assert [c.name for c in symbols[0].children] == ["mid"]
    assert [c.name for c in symbols[1].children] == ["d"]
    assert symbols[1].detail == "(c)"
    # The network's range is the whole file; its end is after the last line.
    assert symbols[0].range.end == t.Position(line=len(BAD.split("\n")) - 1, character=0)


@pytest.mark.asyncio
async def test_completion(client: LanguageClient):
    text = BAD + "conv 3x3 8 \n\n@\nfc 2 -> \n"
    uri = await open_document(client, text)
    doc = t.TextDocumentIdentifier(uri=uri)
    n = len(BAD.split("\n")) - 1

    async def labels(line, character):
        result = await client.text_document_completion_async(t.CompletionParams(text_document=doc, position=t.Position(line=line, character=character)))
        items = result.items if hasattr(result, "items") else result
        return [i.label for i in items]

    options = await labels(n, len("conv 3x3 8 "))
    assert {"stride=", "pad=", "dilation=", "groups=", "nobias", "dw", "frozen"} <= set(options)
    assert "relu" not in options
    starts = await labels(n + 1, 0)
    assert {"conv", "maxpool", "bn", "relu", "fc", "flatten", "residual", "inception", "Down", "network", "block"} <= set(starts)
    assert await labels(n + 2, 1) == ["mid"]
    assert await labels(n + 3, len("fc 2 -> ")) == []  # a checked shape follows
    # Inside the block, its own parameter and its own tensor.
    inside = await labels(6, 3)
    assert inside == ["d"]
    call = await labels(11, len("Down("))
    assert call == ["c="]


@pytest.mark.asyncio
async def test_formatting_is_netc_fmt(client: LanguageClient):
    # The last line has no line break and ends in non-ASCII: the edit's end is in UTF-16 units.
    messy = "network  M\ninput 3x8x8   # café 𝄞\nconv 3x3   4 p1,relu   ->  4x8x8\n\n\n\nflatten ,fc 2  # ça 𝄞"
    uri = await open_document(client, messy)
    edits = await client.text_document_formatting_async(t.DocumentFormattingParams(
        text_document=t.TextDocumentIdentifier(uri=uri), options=t.FormattingOptions(tab_size=2, insert_spaces=True)))
    expected, _ = netc("fmt", "FILE", text=messy)
    assert apply_edits(messy, edits) == expected
    assert expected != messy
    # A file with a syntax error is not formatted.
    await change(client, uri, 2, [t.TextDocumentContentChangeWholeDocument(text="network M\ninput 3x8x8\nconv 3x3 4 p1 (\n")])
    none = await client.text_document_formatting_async(t.DocumentFormattingParams(
        text_document=t.TextDocumentIdentifier(uri=uri), options=t.FormattingOptions(tab_size=2, insert_spaces=True)))
    assert none is None


def test_malformed_input_is_reported_and_the_server_keeps_serving():
    w = Wire(NETC)
    w.send_raw(b"Content-Length: 5\r\n\r\n{bad}")           # not JSON
    w.send_raw(b"Content-Lenght: 12\r\n\r\n")                # no Content-Length
    w.send_raw(b"Content-Length: many\r\n\r\n")              # not a number
    w.send({"jsonrpc": "2.0", "id": 100, "method": "textDocument/hover", "params": {}})  # before initialize
    first = w.request("initialize", {"capabilities": {}})
    messages = []
    response, messages = w.read_until(lambda m: m.get("id") == first)
    assert "capabilities" in response["result"]
    errors = [m["error"] for m in messages if "error" in m]
    assert errors[0]["code"] == -32700 and "at byte 1" in errors[0]["message"]
    assert errors[-1]["code"] == -32002
    logs = [m["params"]["message"] for m in messages if m.get("method") == "window/logMessage"]
    assert any("without Content-Length" in l for l in logs)
    assert any("'many' is not a number" in l for l in logs)
    unknown = w.request("textDocument/semanticTokens/full", {"textDocument": {"uri": "file:///x.net"}})
    assert w.response(unknown)["error"]["code"] == -32601
    bad_params = w.request("textDocument/hover", {"textDocument": {"uri": "file:///x.net"}, "position": {"line": -1}})
    assert w.response(bad_params)["error"]["code"] == -32602
    w.send([1, 2])  # a batch, which LSP does not use
    assert w.read()["error"]["code"] == -32600
    done = w.request("shutdown")
    assert w.response(done)["result"] is None
    w.notify("exit")
    assert w.proc.wait(timeout=10) == 0


def test_exit_without_shutdown_is_status_1_and_help():
    w = Wire(NETC)
    w.notify("exit")
    assert w.proc.wait(timeout=10) == 1
    r = subprocess.run([NETC, "lsp", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("OVERVIEW: Serve the Language Server Protocol")
    r = subprocess.run([NETC, "lsp", "x.net"], capture_output=True, text=True)
    assert r.returncode == 2 and "takes no files" in r.stderr
