#!/usr/bin/python3
"""An upstream that misbehaves on cue, written on raw sockets so that nothing smooths it over.

Paths (the last two segments count, so a route's prefix may come first; the last segment is a
name the test chooses, echoed in the event lines):
  /stall/NAME      reads the request and never answers; prints "closed NAME" once levee
                   closes or resets the connection (the upstream sees the call cancelled).
  /cut/NAME        answers 200 with Content-Length: 100000, sends 1000 bytes, and closes.
  /cut-chunked/NAME answers 200 chunked, sends one 1000-byte chunk, and closes (no last chunk).
  /hold/NAME       answers 200 with Content-Length: 2048 and the first 1024 bytes at once,
                   then waits for /release/NAME before it sends the other 1024.
  /release/NAME    answers 200 "released" and lets /hold/NAME finish.
  /upload/NAME     reads a Content-Length body; prints "upload NAME got N" once 1024 bytes
                   are in (before it has the rest), then answers 200 with the byte count.
  /sink/NAME       reads the head and then nothing more: an upstream that stopped reading.
Every request prints "request PATH" once its head is read.

  tests/peers/scripted_upstream.py
prints "scripted_upstream ready port=N" on stdout once listening on 127.0.0.1.
"""

import socket
import sys
import threading

RELEASES = {}
LOCK = threading.Lock()


def say(line):
    print(line, flush=True)


def release_event(name):
    with LOCK:
        return RELEASES.setdefault(name, threading.Event())


def read_head(conn):
    """The request line, the header block and the body bytes that came with it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None, None, b""
        data += chunk
        if len(data) > 65536:
            return None, None, b""
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers, rest


def serve(conn):
    try:
        while True:
            line, headers, rest = read_head(conn)
            if line is None:
                return
            path = line.split(" ")[1]
            say("request " + path)
            # The last two segments, whatever prefix the route kept: /shared/hold/x is hold x.
            parts = path.split("?")[0].strip("/").split("/")
            kind, name = (parts[-2], parts[-1]) if len(parts) >= 2 else ("", "")
            if kind == "stall":
                conn.settimeout(60)
                try:
                    while conn.recv(65536):
                        pass
                except OSError:
                    pass
                say("closed " + name)
                return
            if kind == "cut":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"c" * 1000)
                return
            if kind == "cut-chunked":
                conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             + b"3e8\r\n" + b"c" * 1000 + b"\r\n")
                return
            if kind == "hold":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2048\r\n\r\n" + b"a" * 1024)
                release_event(name).wait(30)
                conn.sendall(b"b" * 1024)
                continue
            if kind == "upload":
                length = int(headers.get("content-length", "0"))
                got = len(rest)
                told = False
                while got < length:
                    if got >= 1024 and not told:
                        say("upload %s got %d" % (name, got))
                        told = True
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    got += len(chunk)
                body = b"%d\n" % got
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                continue
            if kind == "sink":
                release_event(name).wait(30)
                return
            if kind == "release":
                release_event(name).set()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nreleased\n")
                continue
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    except OSError:
        return
    finally:
        conn.close()


def main():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    say("scripted_upstream ready port=%d" % listener.getsockname()[1])
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
