#!/usr/bin/env python3
"""A TCP proxy that holds every client-to-server chunk for --delay ms: one round trip, +delay.

For bench/fleet_collapse.sh: levee's [cache] redis points here instead of at redis-server,
so that each Redis round trip a request waits for adds --delay to its latency, and the
latency difference against a run without Redis round trips, divided by --delay, counts the
round trips on the request's path. Each chunk is forwarded --delay after it arrived (not
after the previous one was sent), in order, so pipelined commands are delayed once, not once
each. Server-to-client bytes pass at once. Listens on 127.0.0.1 only; prints
"delay_proxy ready" when listening. Hand-run benchmarks only.
"""

import argparse
import asyncio
import sys
import time


async def pipe_delayed(reader, writer, delay):
    """Forward reader to writer, each chunk delay seconds after it was read, in order."""
    queue = asyncio.Queue()

    async def read_side():
        while True:
            data = await reader.read(65536)
            await queue.put((time.monotonic() + delay, data))
            if not data:
                return

    async def write_side():
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    await asyncio.gather(read_side(), write_side())


async def pipe(reader, writer):
    while True:
        data = await reader.read(65536)
        if not data:
            if writer.can_write_eof():
                writer.write_eof()
            return
        writer.write(data)
        await writer.drain()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="listen on 127.0.0.1:PORT")
    parser.add_argument("--to", type=int, required=True, help="forward to 127.0.0.1:PORT")
    parser.add_argument("--delay", type=float, required=True, help="milliseconds")
    args = parser.parse_args()
    delay = args.delay / 1000.0

    async def serve(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", args.to)
        except OSError:
            client_writer.close()
            return
        try:
            await asyncio.gather(
                pipe_delayed(client_reader, server_writer, delay), pipe(server_reader, client_writer)
            )
        except (ConnectionError, OSError):
            pass
        finally:
            client_writer.close()
            server_writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", args.port)
    print("delay_proxy ready", flush=True)
    async with server:
        await server.serve_forever()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except KeyboardInterrupt:
        sys.exit(0)
