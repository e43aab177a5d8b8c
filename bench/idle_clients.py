#!/usr/bin/python3
"""Open many idle keep-alive client connections to 127.0.0.1:PORT and hold them.

Used by bench/idle_connections.sh. Standard library only.

  --mode request  (default) each connection sends one complete GET and reads the whole
                  answer, then stays open and idle: a real keep-alive connection.
  --mode connect  each connection is only opened (no request is sent).

Prints "holding N connections ..." once every connection is open, then waits until --hold
seconds have passed or it gets SIGTERM/SIGINT. Before exiting it prints how many of the
connections the server still had open ("still open: N").
"""

import argparse
import resource
import selectors
import signal
import socket
import sys
import time


def read_response(sock: socket.socket) -> int:
    """Read one HTTP/1.1 response with a Content-Length body; return its status code."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response headers")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
        if name.strip().lower() == b"connection" and value.strip().lower() == b"close":
            raise ConnectionError("server answered Connection: close")
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed in the response body")
        body += chunk
    return status


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--mode", choices=["request", "connect"], default="request")
    ap.add_argument("--path", default="/api/bench")
    ap.add_argument("--hold", type=float, default=120.0, help="seconds to hold, at most")
    ap.add_argument("--open-timeout", type=float, default=120.0,
                    help="give up opening connections after this many seconds")
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.count + 64
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < need:
        print(f"error: RLIMIT_NOFILE too low for {args.count} connections", file=sys.stderr)
        return 2

    stop = False

    def on_signal(signum, frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    request = (f"GET {args.path} HTTP/1.1\r\nHost: 127.0.0.1:{args.port}\r\n"
               "User-Agent: levee-idle-bench\r\nAccept: */*\r\n\r\n").encode()
    socks = []
    failed = 0
    non200 = 0
    first_error = None
    t0 = time.monotonic()
    for _ in range(args.count):
        if stop or time.monotonic() - t0 > args.open_timeout:
            break
        try:
            s = socket.create_connection(("127.0.0.1", args.port), timeout=5)
            if args.mode == "request":
                s.sendall(request)
                if read_response(s) != 200:
                    non200 += 1
            socks.append(s)
        except (OSError, ConnectionError, ValueError, IndexError) as e:
            failed += 1
            if first_error is None:
                first_error = repr(e)
    opened_in = time.monotonic() - t0
    print(f"holding {len(socks)} connections (mode={args.mode}, failed={failed}, "
          f"non200={non200}, opened in {opened_in:.1f}s"
          + (f", first error: {first_error}" if first_error else "") + ")", flush=True)

    deadline = time.monotonic() + args.hold
    while not stop and time.monotonic() < deadline:
        time.sleep(0.2)

    # A connection the server closed is readable and returns EOF (or an error).
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    closed = 0
    for key, _ in sel.select(timeout=0.5):
        try:
            if not key.fileobj.recv(4096):
                closed += 1
        except OSError:
            closed += 1
    print(f"still open: {len(socks) - closed} of {len(socks)}", flush=True)
    for s in socks:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
