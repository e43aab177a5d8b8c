#!/usr/bin/python3
"""A real HTTP/1.1 upstream that nobody here wrote the server of: Python's http.server.

It answers the way many legacy stacks do: the status line and headers in one send (when
end_headers() flushes them), the body in a second send, with Nagle's algorithm on. The body
then waits for the ACK of the header segment, which is what a proxy's reused upstream
connection must not delay (issue 16.1).

Every request is answered 200 with a JSON description of what arrived, so that a test can
see exactly what a proxy forwarded:
  {"method", "path", "headers": [[name, value], ...], "body", "trailers": [[name, value], ...]}
A chunked request body is de-chunked here and its trailer section reported apart.

  tests/peers/http_server_peer.py [--port 0]
prints "http_server_peer ready port=N" on stdout once listening on 127.0.0.1.
"""

import argparse
import http.server
import json
import sys

MAX_LINE = 65536
MAX_BODY = 16 * 1024 * 1024


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def _read_chunked(self):
        body = bytearray()
        while True:
            line = self.rfile.readline(MAX_LINE)
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                break
            if len(body) + size > MAX_BODY:
                raise ValueError("body too large")
            body += self.rfile.read(size)
            self.rfile.readline(MAX_LINE)
        trailers = []
        while True:
            line = self.rfile.readline(MAX_LINE)
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            trailers.append([name.strip(), value.strip()])
        return bytes(body), trailers

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, MAX_BODY)), []

    def _answer(self, body, trailers):
        payload = json.dumps({
            "method": self.command,
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body.decode("latin-1"),
            "trailers": trailers,
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()  # first send: status line and headers
        self.wfile.write(payload)  # second send: the body

    def do_GET(self):
        self._answer(b"", [])

    def do_POST(self):
        body, trailers = self._read_body()
        self._answer(body, trailers)

    do_PUT = do_POST


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"http_server_peer ready port={server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
