#!/usr/bin/python3
"""A gRPC server (Debian's python3-grpcio, a real HTTP/2 stack) that begins a graceful shutdown
while it serves its first call: gRPC core then sends GOAWAY and lets that call finish.

/test.Echo/Echo answers with the request's bytes. The first call starts server.stop(grace)
and answers only once the GOAWAY is on its way, so the caller sees a GOAWAY with its stream
in flight (below last_stream_id), and later calls find the server gone.
Prints "grpc_goaway_peer ready port=N" once it listens on 127.0.0.1:N.
"""

import sys
import threading

import grpc

stopping = threading.Event()
server = grpc.server(__import__("concurrent.futures").futures.ThreadPoolExecutor(max_workers=4))


def echo(request, context):
    if not stopping.is_set():
        stopping.set()
        done = server.stop(grace=10)
        # stop() has sent the GOAWAY when it returns its event; the call then completes
        # within the grace period.
        del done
    return request


handler = grpc.method_handlers_generic_handler(
    "test.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)})
server.add_generic_rpc_handlers((handler,))
port = server.add_insecure_port("127.0.0.1:0")
server.start()
print(f"grpc_goaway_peer ready port={port}", flush=True)
server.wait_for_termination()
sys.exit(0)
