#!/usr/bin/python3
"""A real gRPC client (grpcio's) that sends many calls at once and reports each one as JSON.

  tests/peers/grpc_client.py --target 127.0.0.1:PORT --method /levee.test.Echo/Unary
      [--calls 100] [--concurrency 100] [--same-request | --distinct-requests]
      [--request TEXT | --request-base64 B64] [--authorization VALUE | --authorization-per-call]
      [--metadata k=v ...] [--timeout-ms 10000] [--stream | --chat N] [--channels 1]
      [--authority NAME]
      [--tls-ca PEM [--server-name NAME] [--tls-cert PEM --tls-key PEM]]

Requests are opaque bytes (no generated code). --same-request sends the request bytes as they
are on every call (the default); --distinct-requests appends "-I" (I the call's index) to each.
--authorization-per-call sends "authorization: Bearer token-I". --metadata values must be
printable ASCII unless the key ends in -bin (binary metadata: the value's UTF-8 bytes). --stream makes the method a
server-streaming one. --chat N makes it a bidirectional one: each call sends N messages
(the request bytes + "#K", K from 1), each only after the answer to the one before has
arrived, so a proxy that waited for the whole request would never answer. --channels N spreads the calls round robin over N channels, each with
its own connection. --authority sets :authority (default: the target), so that calls through two
proxies can name one service. At most --concurrency calls are outstanding at a time; every call has the
deadline --timeout-ms, and the whole run is bounded by it as well.

Prints one JSON document on stdout:
  {"calls": [{"index", "code" (a grpc.StatusCode name), "details", "body", "body_base64",
              "messages", "messages_base64" (--stream: the messages in order), "message_ms"
              (--stream: when each came, in ms since the call started),
              "initial_metadata": [[k, v], ...], "trailing_metadata": [[k, v], ...],
              "latency_ms"}, ...],
   "summary": {"calls", "ok", "errors": {code: n}, "latency_ms": {"p50", "p99", "max"},
               "wall_ms"}}
"body" (and each of "messages") is the message as UTF-8 text, or null when it is not UTF-8;
"body_base64" and "messages_base64" always hold the exact bytes. A unary call that failed
has null bodies. A call that the run had no time to finish has the code NOT_STARTED.
Metadata values of -bin keys are base64. gRPC errors are data: the exit status is non-zero
only when this client itself fails (bad arguments, unreadable files).
"""

import argparse
import base64
import json
import math
import sys
import threading
import time

import grpc

MAX_CALLS = 100000
MAX_CONCURRENCY = 1000
MAX_CHANNELS = 64
CONNECT_MS = 5000
# After the deadline every call has ended or been failed by grpc; this margin covers the
# callbacks that report it, and beyond it the calls still outstanding are cancelled.
COLLECT_MARGIN_S = 10.0


def fail(text):
    print(f"grpc_client: {text}", file=sys.stderr, flush=True)
    sys.exit(2)


def read_file(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as error:
        fail(f"cannot read {path}: {error}")


def text_or_none(data):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def metadata_pairs(metadata):
    pairs = []
    for key, value in metadata or ():
        if isinstance(value, bytes):
            value = base64.b64encode(value).decode("ascii")
        pairs.append([key, value])
    return pairs


def percentile(sorted_values, fraction):
    if not sorted_values:
        return None
    # Nearest rank: the smallest value with at least `fraction` of the values at or below it.
    rank = math.ceil(fraction * len(sorted_values))
    return sorted_values[min(len(sorted_values), max(1, rank)) - 1]


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="HOST:PORT")
    parser.add_argument("--method", required=True, help="/package.Service/Method")
    parser.add_argument("--calls", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=0, help="0: all calls at once")
    requests = parser.add_mutually_exclusive_group()
    requests.add_argument("--same-request", action="store_true")
    requests.add_argument("--distinct-requests", action="store_true")
    body = parser.add_mutually_exclusive_group()
    body.add_argument("--request", default="req", help="request bytes, as UTF-8 text")
    body.add_argument("--request-base64", help="request bytes, base64")
    auth = parser.add_mutually_exclusive_group()
    auth.add_argument("--authorization", help="authorization metadata on every call")
    auth.add_argument("--authorization-per-call", action="store_true")
    parser.add_argument("--metadata", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--timeout-ms", type=int, default=10000)
    parser.add_argument("--stream", action="store_true", help="a server-streaming method")
    parser.add_argument("--chat", type=int, default=0,
                        help="a bidirectional method: N messages, each after the last answer")
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--authority", help=":authority of every call (default: the target)")
    parser.add_argument("--tls-ca", help="PEM CA: speak h2 over TLS and verify the server")
    parser.add_argument("--server-name", help="name to verify in the server's certificate")
    parser.add_argument("--tls-cert", help="PEM client certificate chain")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")
    args = parser.parse_args(argv)

    if not 1 <= args.calls <= MAX_CALLS:
        parser.error(f"--calls must be 1..{MAX_CALLS}")
    if args.concurrency == 0:
        args.concurrency = min(args.calls, MAX_CONCURRENCY)
    if not 1 <= args.concurrency <= MAX_CONCURRENCY:
        parser.error(f"--concurrency must be 0..{MAX_CONCURRENCY}")
    if not 1 <= args.channels <= MAX_CHANNELS:
        parser.error(f"--channels must be 1..{MAX_CHANNELS}")
    if args.timeout_ms <= 0:
        parser.error("--timeout-ms must be positive")
    if (args.server_name or args.tls_cert) and not args.tls_ca:
        parser.error("--server-name and --tls-cert need --tls-ca")
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    pairs = []
    for item in args.metadata:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--metadata wants KEY=VALUE, got {item!r}")
        key = key.lower()
        if key.endswith("-bin"):
            pairs.append((key, value.encode("utf-8")))  # binary metadata: any bytes
        elif all(" " <= c <= "~" for c in value):
            pairs.append((key, value))
        else:
            parser.error(f"--metadata {key}: a value that is not printable ASCII needs a -bin key")
    args.metadata = pairs
    if args.request_base64 is not None:
        try:
            args.request_bytes = base64.b64decode(args.request_base64, validate=True)
        except ValueError:
            parser.error("--request-base64 is not base64")
    else:
        args.request_bytes = args.request.encode("utf-8")
    return args


def make_channel(args, index):
    # A local subchannel pool per channel: otherwise grpc shares one connection between
    # channels with the same target and arguments, and --channels would change nothing.
    options = [("grpc.use_local_subchannel_pool", 1), ("levee.channel_index", index)]
    if args.authority:
        options.append(("grpc.default_authority", args.authority))
    if args.tls_ca is None:
        return grpc.insecure_channel(args.target, options=options)
    if args.server_name:
        options.append(("grpc.ssl_target_name_override", args.server_name))
    credentials = grpc.ssl_channel_credentials(
        root_certificates=read_file(args.tls_ca),
        private_key=read_file(args.tls_key) if args.tls_key else None,
        certificate_chain=read_file(args.tls_cert) if args.tls_cert else None)
    return grpc.secure_channel(args.target, credentials, options=options)


class Run:
    """The calls of one run: started through a window of --concurrency, each recorded once."""

    def __init__(self, args, channels):
        self.args = args
        self.channels = channels
        self.results = [None] * args.calls
        self.window = threading.BoundedSemaphore(args.concurrency)
        self.lock = threading.Lock()
        self.finished = threading.Condition(self.lock)
        self.done = 0
        self.calls = {}  # index -> the grpc call, to cancel stragglers

    def request_of(self, index):
        if self.args.distinct_requests:
            return self.args.request_bytes + f"-{index}".encode()
        return self.args.request_bytes

    def metadata_of(self, index):
        metadata = list(self.args.metadata)
        if self.args.authorization_per_call:
            metadata.append(("authorization", f"Bearer token-{index}"))
        elif self.args.authorization is not None:
            metadata.append(("authorization", self.args.authorization))
        return tuple(metadata)

    def record(self, index, started, call, body=None, messages=None, message_ms=None):
        latency_ms = (time.monotonic() - started) * 1000.0
        code = call.code()
        result = {
            "index": index,
            "code": code.name if code is not None else "UNKNOWN",
            "details": call.details() or "",
            "body": None,
            "body_base64": None,
            "initial_metadata": metadata_pairs(call.initial_metadata()),
            "trailing_metadata": metadata_pairs(call.trailing_metadata()),
            "latency_ms": round(latency_ms, 3),
        }
        if body is not None:
            result["body"] = text_or_none(body)
            result["body_base64"] = base64.b64encode(body).decode("ascii")
        if messages is not None:
            result["messages"] = [text_or_none(m) for m in messages]
            result["messages_base64"] = [base64.b64encode(m).decode("ascii") for m in messages]
            result["message_ms"] = message_ms
        with self.lock:
            if self.results[index] is None:
                self.results[index] = result
                self.done += 1
                self.calls.pop(index, None)
                self.finished.notify_all()
                self.window.release()

    def start_unary(self, index, deadline_s):
        channel = self.channels[index % len(self.channels)]
        multicallable = channel.unary_unary(self.args.method)
        started = time.monotonic()
        future = multicallable.future(self.request_of(index), timeout=deadline_s,
                                      metadata=self.metadata_of(index))
        with self.lock:
            self.calls[index] = future

        def on_done(f):
            # A failed future is itself the grpc.RpcError/Call; a good one has a result.
            body = f.result() if f.code() == grpc.StatusCode.OK else None
            self.record(index, started, f, body=body)

        future.add_done_callback(on_done)

    def start_stream(self, index, deadline_s):
        channel = self.channels[index % len(self.channels)]
        multicallable = channel.unary_stream(self.args.method)
        started = time.monotonic()
        call = multicallable(self.request_of(index), timeout=deadline_s,
                             metadata=self.metadata_of(index))
        self.consume_in_background(index, started, call)

    def consume_in_background(self, index, started, call, on_message=None, on_end=None):
        """Reads a streaming call's answers on a thread of its own and records the call."""
        with self.lock:
            self.calls[index] = call

        def consume():
            messages, message_ms = [], []
            try:
                for message in call:
                    messages.append(message)
                    message_ms.append(round((time.monotonic() - started) * 1000.0, 3))
                    if on_message is not None:
                        on_message()
            except grpc.RpcError:
                pass  # the call's status says what happened
            if on_end is not None:
                on_end()
            self.record(index, started, call, messages=messages, message_ms=message_ms)

        threading.Thread(target=consume, daemon=True).start()

    def start_chat(self, index, deadline_s):
        channel = self.channels[index % len(self.channels)]
        multicallable = channel.stream_stream(self.args.method)
        started = time.monotonic()
        answered = threading.Semaphore(0)
        stop = threading.Event()

        def requests():
            for k in range(1, self.args.chat + 1):
                # The next message only once the last one's answer is in (bounded by the call).
                if k > 1 and not answered.acquire(timeout=deadline_s):
                    return
                if stop.is_set():
                    return
                yield self.request_of(index) + f"#{k}".encode()

        call = multicallable(requests(), timeout=deadline_s, metadata=self.metadata_of(index))

        def ended():
            stop.set()
            answered.release()

        self.consume_in_background(index, started, call, on_message=answered.release,
                                   on_end=ended)

    def run(self):
        deadline_s = self.args.timeout_ms / 1000.0
        end = time.monotonic() + deadline_s + COLLECT_MARGIN_S
        start = self.start_unary
        if self.args.stream:
            start = self.start_stream
        elif self.args.chat > 0:
            start = self.start_chat
        for index in range(self.args.calls):
            if not self.window.acquire(timeout=max(0.0, end - time.monotonic())):
                break  # the run is out of time; the calls not started are reported below
            start(index, max(0.001, min(deadline_s, end - time.monotonic())))
        with self.lock:
            self.finished.wait_for(lambda: self.done == self.args.calls,
                                   timeout=max(0.0, end - time.monotonic()))
            stragglers = list(self.calls.values())
        for call in stragglers:
            call.cancel()
        with self.lock:
            self.finished.wait_for(lambda: self.done == self.args.calls, timeout=COLLECT_MARGIN_S)
            for index, result in enumerate(self.results):
                if result is None:
                    self.results[index] = {
                        "index": index, "code": "NOT_STARTED",
                        "details": "the run ran out of time before this call ended",
                        "body": None, "body_base64": None, "initial_metadata": [],
                        "trailing_metadata": [], "latency_ms": None}
            return list(self.results)


def summary(results, wall_ms):
    errors = {}
    ok = 0
    for result in results:
        if result["code"] == "OK":
            ok += 1
        else:
            errors[result["code"]] = errors.get(result["code"], 0) + 1
    latencies = sorted(r["latency_ms"] for r in results if r["latency_ms"] is not None)
    return {
        "calls": len(results),
        "ok": ok,
        "errors": errors,
        "latency_ms": {
            "p50": percentile(latencies, 0.50),
            "p99": percentile(latencies, 0.99),
            "max": latencies[-1] if latencies else None,
        },
        "wall_ms": round(wall_ms, 3),
    }


def main(argv):
    args = parse_args(argv)
    channels = [make_channel(args, i) for i in range(args.channels)]
    # Connect first (bounded), so that the calls go out together rather than trickle out as
    # connections come up. A channel that does not connect is not this client's failure:
    # its calls will report UNAVAILABLE.
    for channel in channels:
        try:
            grpc.channel_ready_future(channel).result(
                timeout=min(CONNECT_MS, args.timeout_ms) / 1000.0)
        except grpc.FutureTimeoutError:
            pass
    started = time.monotonic()
    results = Run(args, channels).run()
    wall_ms = (time.monotonic() - started) * 1000.0
    json.dump({"calls": results, "summary": summary(results, wall_ms)}, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()
    for channel in channels:
        channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
