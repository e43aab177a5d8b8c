#!/usr/bin/python3
"""tests/peers/grpc_peer.py with a wider thread pool, for bench/grpc_collapse_burst.sh.

The test peer holds each delayed call (x-delay-ms) on one thread of a pool of 256. A burst of
1,000 calls sent straight to it (the benchmark's control, no levee in between) would then be
answered in four waves of 50 ms, and the control would measure the pool, not the client.
This runs the same server, unchanged, with GRPC_PEER_WORKERS threads (default 1100).
Arguments are grpc_peer.py's.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "peers"))

import grpc_peer  # noqa: E402  (path set above)

grpc_peer.MAX_WORKERS = max(1, min(4096, int(os.environ.get("GRPC_PEER_WORKERS", "1100"))))

if __name__ == "__main__":
    sys.exit(grpc_peer.main())
