"""A bare JSON-RPC client over a pipe: for what an editor's client library would not send (broken headers,
invalid JSON) and for timing netc lsp without a client library's overhead."""
import json
import subprocess


class Wire:
    def __init__(self, netc):
        self.proc = subprocess.Popen([netc, "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.next_id = 0

    def send_raw(self, data: bytes):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, message: dict):
        body = json.dumps(message).encode()
        self.send_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def request(self, method, params=None):
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        return self.next_id

    def notify(self, method, params=None):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def read(self) -> dict:
        length = None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise EOFError("netc lsp closed its output")
            if line == b"\r\n":
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value.strip())
        return json.loads(self.proc.stdout.read(length))

    def read_until(self, predicate) -> tuple[dict, list[dict]]:
        """Reads messages until one satisfies `predicate`; returns it and those read before it."""
        before = []
        while True:
            message = self.read()
            if predicate(message):
                return message, before
            before.append(message)

    def response(self, id_):
        return self.read_until(lambda m: m.get("id") == id_ and "method" not in m)[0]

    def close(self):
        self.proc.stdin.close()
        return self.proc.wait(timeout=10)
