#!/usr/bin/python3
"""A real gRPC server (grpcio's, h2c or h2 over TLS) for levee's gRPC tests: service levee.test.Echo.

Messages are opaque bytes (grpc's generic handlers, no generated code); grpcio does the gRPC
framing, HTTP/2, trailers and status codes, so nothing here can agree with levee by accident.

  /levee.test.Echo/Unary         answers REQUEST|AUTHORIZATION|call=N, N the Unary call counter
                                 (1 for the first call since start or the last reset). Initial
                                 metadata x-call: N; trailing metadata x-served-by: grpc_peer.
  /levee.test.Echo/ServerStream  answers k messages REQUEST|msg=I/k|call=N (I from 1), then OK
                                 with trailing metadata x-served-by and x-messages: k. k is the
                                 x-count metadata, else the request bytes if they are a number,
                                 else 3 (at most 10000).
  /levee.test.Echo/Chat          bidirectional: answers each message M as it arrives with
                                 M|echo|call=N, then OK when the client ends its side.
  /levee.test.Echo/Stats         answers the counters below as JSON bytes.

Request metadata steers a call, so that a test needs no extra RPCs (Unary; the ones marked *
also ServerStream):
  x-delay-ms: D *          hold the call D ms before answering (at most 60000): calls overlap.
                           A call cancelled meanwhile (client gone, deadline) stops waiting and
                           is counted in cancelled_calls.
  x-await-in-flight: K *   hold the call until K calls are in flight at once, at most
                           x-await-timeout-ms (default 10000), then answer either way; trailing
                           metadata x-await-met: 1 or 0. Makes overlap certain without timing.
  x-fail-code: CODE        abort with that status (a name, NOT_FOUND, or a number, 5) and the
  x-fail-message: TEXT     message TEXT; trailing metadata x-detail: failed-call-N.
  x-fail-message-bin: B    the message as UTF-8 bytes, for text that ASCII metadata cannot carry.
  x-trailers-only: 1       with x-fail-code: send no initial metadata, so that grpcio answers
                           in the Trailers-Only form (one HEADERS frame carrying grpc-status).
  x-interval-ms: D         ServerStream: wait D ms between messages (at most 10000 in total per
                           wait), so that a test can see messages arrive before the end.
  x-hold-after: I          ServerStream: after message I, hold the rest until POST /release/NAME
  x-hold-name: NAME        on the side port (or 10 s), so that a test can see message I arrive
                           while the call is still open, without timing; trailing metadata
                           x-released: 1 (released) or 0 (the 10 s ran out).

Counters (GET /stats on the HTTP side port, or the Stats RPC; POST /reset on the side port
zeroes them, call numbers included; POST /release/NAME releases x-hold-name NAME, before or
while it holds):
  {"unary_calls", "stream_calls", "failed_calls", "cancelled_calls", "in_flight",
   "max_in_flight", "by_method": {path: calls}, "by_peer": {"ipv4:127.0.0.1:P": calls},
   "authorizations": {value: Unary calls}}
by_peer has one key per client connection, so a test can count the connections a proxy used.

  tests/peers/grpc_peer.py [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]
                           [--max-concurrent-streams N] [--exit-on-stdin-close]
prints "grpc_peer ready grpc_port=N stats_port=M tls=0|1" on stdout once both ports listen on
127.0.0.1, and exits 0 on SIGTERM or SIGINT (and on stdin EOF with --exit-on-stdin-close).
"""

import argparse
import http.server
import json
import signal
import sys
import threading
import time
from concurrent import futures

import grpc

SERVICE = "levee.test.Echo"
UNARY = f"/{SERVICE}/Unary"
SERVER_STREAM = f"/{SERVICE}/ServerStream"
CHAT = f"/{SERVICE}/Chat"
STATS = f"/{SERVICE}/Stats"

MAX_WORKERS = 256  # 200 concurrent delayed calls, each holding a worker, plus room
MAX_DELAY_MS = 60000
MAX_INTERVAL_MS = 10000
DEFAULT_AWAIT_TIMEOUT_MS = 10000
MAX_MESSAGES = 10000
DEFAULT_MESSAGES = 3


def _log(text):
    print(f"grpc_peer: {text}", file=sys.stderr, flush=True)


class Counters:
    """Everything the tests read; one lock, held only for bookkeeping, never while waiting."""

    def __init__(self):
        self._lock = threading.Lock()
        self._awaiting = []  # (wanted, threading.Event) of the calls in x-await-in-flight
        self.in_flight = 0
        self._reset_locked()

    def _reset_locked(self):
        self.unary_calls = 0
        self.stream_calls = 0
        self.failed_calls = 0
        self.cancelled_calls = 0
        # in_flight is the present, not a count: the calls under way stay under way.
        self.max_in_flight = self.in_flight
        self.by_method = {}
        self.by_peer = {}
        self.authorizations = {}

    def reset(self):
        with self._lock:
            self._reset_locked()

    def begin(self, method, peer):
        """Counts a call in; returns its number among the calls of its kind."""
        with self._lock:
            self.by_method[method] = self.by_method.get(method, 0) + 1
            self.by_peer[peer] = self.by_peer.get(peer, 0) + 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            for wanted, reached in self._awaiting:
                if self.in_flight >= wanted:
                    reached.set()
            if method == UNARY:
                self.unary_calls += 1
                return self.unary_calls
            if method == SERVER_STREAM:
                self.stream_calls += 1
                return self.stream_calls
            return self.by_method[method]

    def end(self):
        with self._lock:
            self.in_flight -= 1

    def count_authorization(self, value):
        with self._lock:
            self.authorizations[value] = self.authorizations.get(value, 0) + 1

    def count_failed(self):
        with self._lock:
            self.failed_calls += 1

    def count_cancelled(self):
        with self._lock:
            self.cancelled_calls += 1

    def await_in_flight(self, wanted, timeout_s, ended):
        """True once `wanted` calls have been in flight at once since this call began waiting
        (the moment counts, not the present: the first call released answers and leaves, and
        the others must still go); False after timeout_s or once `ended` is set."""
        reached = threading.Event()
        with self._lock:
            if self.in_flight >= wanted:
                return True
            self._awaiting.append((wanted, reached))
        deadline = time.monotonic() + timeout_s
        # Bounded slices: `ended` is set on grpc's thread and cannot wake this wait itself.
        while not reached.wait(min(0.05, max(0.0, deadline - time.monotonic()))):
            if ended.is_set() or time.monotonic() >= deadline:
                break
        with self._lock:
            self._awaiting = [w for w in self._awaiting if w[1] is not reached]
        return reached.is_set()

    def snapshot(self):
        with self._lock:
            return {
                "unary_calls": self.unary_calls,
                "stream_calls": self.stream_calls,
                "failed_calls": self.failed_calls,
                "cancelled_calls": self.cancelled_calls,
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
                "by_method": dict(self.by_method),
                "by_peer": dict(self.by_peer),
                "authorizations": dict(self.authorizations),
            }


COUNTERS = Counters()


class Releases:
    """Named gates for x-hold-after: released by POST /release/NAME, before or while held."""

    MAX_NAMES = 1000

    def __init__(self):
        self._lock = threading.Lock()
        self._events = {}

    def _event(self, name):
        with self._lock:
            if name not in self._events and len(self._events) >= self.MAX_NAMES:
                self._events.clear()  # bounded: old gates are forgotten
            return self._events.setdefault(name, threading.Event())

    def release(self, name):
        self._event(name).set()

    def wait(self, name, timeout_s, ended):
        event = self._event(name)
        deadline = time.monotonic() + timeout_s
        while not event.is_set() and not ended.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            event.wait(min(left, 0.05))
        return event.is_set()


RELEASES = Releases()
MAX_HOLD_S = 10.0


def metadata_of(context):
    """Request metadata as a dict of the last value per key (keys arrive lower-case)."""
    return {key: value for key, value in context.invocation_metadata()}


def bounded_int(text, default, low, high):
    try:
        return max(low, min(high, int(text)))
    except (TypeError, ValueError):
        return default


def status_code(text):
    """A grpc.StatusCode from a name ("NOT_FOUND") or a number ("5"); UNKNOWN otherwise."""
    text = str(text).strip()
    for code in grpc.StatusCode:
        if text.upper() == code.name or text == str(code.value[0]):
            return code
    return grpc.StatusCode.UNKNOWN


def failure_message(metadata):
    binary = metadata.get("x-fail-message-bin")
    if binary is not None:
        return binary.decode("utf-8", errors="replace")
    return metadata.get("x-fail-message", "")


class Call:
    """One RPC's lifetime: counted in on entry, out on exit; knows when the RPC has ended."""

    def __init__(self, method, context):
        self.context = context
        self.metadata = metadata_of(context)
        self.ended = threading.Event()
        # Runs on grpc's thread when the RPC terminates (completed, cancelled, deadline).
        if not context.add_callback(self.ended.set):
            self.ended.set()  # it has ended already
        self.number = COUNTERS.begin(method, context.peer())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        COUNTERS.end()
        return False

    def hold(self):
        """Applies x-delay-ms and x-await-in-flight. False when the call ended meanwhile."""
        trailing = []
        wanted = bounded_int(self.metadata.get("x-await-in-flight"), 0, 0, MAX_WORKERS)
        if wanted > 0:
            timeout_ms = bounded_int(self.metadata.get("x-await-timeout-ms"),
                                     DEFAULT_AWAIT_TIMEOUT_MS, 0, MAX_DELAY_MS)
            met = COUNTERS.await_in_flight(wanted, timeout_ms / 1000.0, self.ended)
            trailing.append(("x-await-met", "1" if met else "0"))
        delay_ms = bounded_int(self.metadata.get("x-delay-ms"), 0, 0, MAX_DELAY_MS)
        if delay_ms > 0:
            self.ended.wait(delay_ms / 1000.0)
        if self.ended.is_set() or not self.context.is_active():
            COUNTERS.count_cancelled()
            return False, trailing
        return True, trailing


def unary(request, context):
    with Call(UNARY, context) as call:
        authorization = call.metadata.get("authorization", "")
        COUNTERS.count_authorization(authorization)
        alive, trailing = call.hold()
        trailing.append(("x-served-by", "grpc_peer"))
        if not alive:
            return b""  # nobody is listening any more; grpcio drops it
        fail = call.metadata.get("x-fail-code")
        if fail is not None:
            COUNTERS.count_failed()
            if call.metadata.get("x-trailers-only") != "1":
                context.send_initial_metadata((("x-call", str(call.number)),))
            trailing.append(("x-detail", f"failed-call-{call.number}"))
            context.set_trailing_metadata(tuple(trailing))
            context.abort(status_code(fail), failure_message(call.metadata))
        context.send_initial_metadata((("x-call", str(call.number)),))
        context.set_trailing_metadata(tuple(trailing))
        return request + b"|" + authorization.encode() + b"|call=" + str(call.number).encode()


def server_stream(request, context):
    with Call(SERVER_STREAM, context) as call:
        count = bounded_int(call.metadata.get("x-count"), None, 0, MAX_MESSAGES)
        if count is None:
            count = bounded_int(request.decode("latin-1"), DEFAULT_MESSAGES, 0, MAX_MESSAGES)
        interval_ms = bounded_int(call.metadata.get("x-interval-ms"), 0, 0, MAX_INTERVAL_MS)
        alive, trailing = call.hold()
        if not alive:
            return
        hold_after = bounded_int(call.metadata.get("x-hold-after"), 0, 0, MAX_MESSAGES)
        hold_name = call.metadata.get("x-hold-name", "")
        context.send_initial_metadata((("x-call", str(call.number)),))
        for index in range(1, count + 1):
            if index > 1 and interval_ms > 0 and call.ended.wait(interval_ms / 1000.0):
                COUNTERS.count_cancelled()
                return
            yield request + f"|msg={index}/{count}|call={call.number}".encode()
            if index == hold_after and hold_name:
                released = RELEASES.wait(hold_name, MAX_HOLD_S, call.ended)
                trailing.append(("x-released", "1" if released else "0"))
                if call.ended.is_set():
                    COUNTERS.count_cancelled()
                    return
        trailing += [("x-served-by", "grpc_peer"), ("x-messages", str(count))]
        context.set_trailing_metadata(tuple(trailing))


def chat(request_iterator, context):
    with Call(CHAT, context) as call:
        for request in request_iterator:
            yield request + f"|echo|call={call.number}".encode()
        context.set_trailing_metadata((("x-served-by", "grpc_peer"),))


def stats(request, context):
    del request
    with Call(STATS, context):
        context.set_trailing_metadata((("x-served-by", "grpc_peer"),))
        return json.dumps(COUNTERS.snapshot()).encode()


def identity(data):
    return data


class EchoService(grpc.GenericRpcHandler):
    """Bytes in, bytes out: no protobuf, no generated code."""

    def __init__(self):
        self._handlers = {
            UNARY: grpc.unary_unary_rpc_method_handler(unary, identity, identity),
            SERVER_STREAM: grpc.unary_stream_rpc_method_handler(server_stream, identity, identity),
            CHAT: grpc.stream_stream_rpc_method_handler(chat, identity, identity),
            STATS: grpc.unary_unary_rpc_method_handler(stats, identity, identity),
        }

    def service(self, handler_call_details):
        return self._handlers.get(handler_call_details.method)  # None: UNIMPLEMENTED


class StatsHandler(http.server.BaseHTTPRequestHandler):
    """GET /stats and POST /reset, for tests that speak HTTP/1.1 but not gRPC."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def _send(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/stats":
            self._send(200, json.dumps(COUNTERS.snapshot()).encode())
        else:
            self._send(404)

    def do_POST(self):
        length = bounded_int(self.headers.get("Content-Length"), 0, 0, 65536)
        self.rfile.read(length)
        if self.path == "/reset":
            COUNTERS.reset()
            self._send(204)
        elif self.path.startswith("/release/") and len(self.path) > len("/release/"):
            RELEASES.release(self.path[len("/release/"):])
            self._send(204)
        else:
            self._send(404)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def server_credentials(args):
    pairs = [(read_file(args.tls_key), read_file(args.tls_cert))]
    if args.tls_client_ca:
        return grpc.ssl_server_credentials(pairs, root_certificates=read_file(args.tls_client_ca),
                                           require_client_auth=True)
    return grpc.ssl_server_credentials(pairs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tls-cert", help="PEM certificate chain: serve h2 over TLS")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")
    parser.add_argument("--tls-client-ca", help="PEM CA: require client certificates it signed")
    parser.add_argument("--max-concurrent-streams", type=int, default=0,
                        help="HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS (0: grpcio's default)")
    parser.add_argument("--exit-on-stdin-close", action="store_true",
                        help="exit when stdin reaches EOF (a parent that dies closes it)")
    args = parser.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.tls_client_ca and not args.tls_cert:
        parser.error("--tls-client-ca needs --tls-cert and --tls-key")

    options = [("grpc.so_reuseport", 0)]  # port 0 must be this server's alone
    if args.max_concurrent_streams > 0:
        options.append(("grpc.max_concurrent_streams", args.max_concurrent_streams))
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=MAX_WORKERS),
                         handlers=(EchoService(),), options=options)
    try:
        if args.tls_cert:
            grpc_port = server.add_secure_port("127.0.0.1:0", server_credentials(args))
        else:
            grpc_port = server.add_insecure_port("127.0.0.1:0")
    except (OSError, RuntimeError) as error:
        _log(f"cannot listen: {error}")
        return 1
    if grpc_port == 0:
        _log("cannot listen on 127.0.0.1:0")
        return 1

    stats_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StatsHandler)
    stats_server.daemon_threads = True
    threading.Thread(target=stats_server.serve_forever, daemon=True).start()
    server.start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.exit_on_stdin_close:
        def watch_stdin():
            while sys.stdin.buffer.read(65536):
                pass
            stop.set()
        threading.Thread(target=watch_stdin, daemon=True).start()

    print(f"grpc_peer ready grpc_port={grpc_port} stats_port={stats_server.server_address[1]} "
          f"tls={1 if args.tls_cert else 0}", flush=True)
    # Event.wait with a timeout, so that the main thread wakes for the signal handlers.
    while not stop.wait(0.5):
        pass
    server.stop(grace=1).wait(5)
    stats_server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
