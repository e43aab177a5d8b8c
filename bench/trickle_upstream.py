#!/usr/bin/env python3
"""A slow upstream for bench/ttfb.sh: the first byte at once, the rest over a while.

Every GET is answered 200 with a Content-Length body of --body-bytes bytes: the header block
and the first --first-bytes bytes of the body in one send, at once; then the rest in --pieces
equal sends spread evenly over --spread seconds. HTTP/1.1 keep-alive, TCP_NODELAY (so no
piece waits for Nagle). Listens on 127.0.0.1 only. Prints "trickle_upstream ready" when
listening. Hand-run benchmarks only.
"""

import argparse
import http.server
import socket
import socketserver
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body-bytes", type=int, default=64 * 1024)
    parser.add_argument("--first-bytes", type=int, default=1024)
    parser.add_argument("--pieces", type=int, default=20)
    parser.add_argument("--spread", type=float, default=2.0, help="seconds over which the rest is sent")
    args = parser.parse_args()
    first = min(args.first_bytes, args.body_bytes)
    rest = args.body_bytes - first
    pieces = max(1, args.pieces)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            head = (
                "HTTP/1.1 200 OK\r\n"
                "Content-Type: application/octet-stream\r\n"
                f"Content-Length: {args.body_bytes}\r\n"
                "Cache-Control: no-store\r\n"
                "\r\n"
            ).encode()
            start = time.monotonic()
            self.wfile.write(head + b"f" * first)
            self.wfile.flush()
            sent = 0
            for i in range(pieces):
                size = rest * (i + 1) // pieces - sent
                # Piece i goes out at (i + 1) / pieces of the spread.
                delay = start + args.spread * (i + 1) / pieces - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                if size:
                    self.wfile.write(b"r" * size)
                    self.wfile.flush()
                sent += size

        def log_message(self, format, *a) -> None:  # noqa: A002 (http.server's signature)
            pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    with Server(("127.0.0.1", args.port), Handler) as server:
        print("trickle_upstream ready", flush=True)
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
