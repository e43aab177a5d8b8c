#!/bin/bash
# Issue 20 burst profile (docs/benchmarks.md "Where a burst's time goes"): a by-hand harness,
# kept as the producer of the raw data beside it. Paths are those of the run (/tmp/g20p).
# usage: run.sh LEVEE_BIN BURSTS [perf]
set -u
BIN=$1; N=$2; PERF=${3:-}
D=/tmp/g20p/m
(sleep 600 | taskset -c 1 /usr/bin/python3 /work/main/bench/grpc_peer_wide.py --exit-on-stdin-close > $D/peer.out 2>&1 &)
for i in $(seq 50); do grep -q ready $D/peer.out 2>/dev/null && break; sleep 0.1; done
GP=$(sed -n 's/.*grpc_port=\([0-9]*\).*/\1/p' $D/peer.out)
cat > $D/levee.toml <<EOT
[server]
listen = "127.0.0.1:19832"
admin_listen = "127.0.0.1:19833"
workers = 1
[log]
level = "warn"
[upstreams.grpc]
address = "127.0.0.1:$GP"
protocol = "h2c"
request_timeout = "10s"
[[routes]]
name = "echo"
path_prefix = "/levee.test.Echo/"
upstream = "grpc"
mode = "collapse"
grpc = true
[routes.collapse]
max_waiters = 1000
EOT
taskset -c 1 $BIN serve --config $D/levee.toml > $D/levee.out 2>&1 &
LP=$!
for i in $(seq 300); do curl -s -o /dev/null http://127.0.0.1:19833/healthz 2>/dev/null && break; sleep 0.1; done
/usr/bin/python3 -c 'import struct, sys; m = b"bench-question"; sys.stdout.buffer.write(b"\0" + struct.pack(">I", len(m)) + m)' > $D/req.bin
h() { rm -f $D/h2.log; taskset -c 0 h2load -t 1 -n $1 -c 10 -m $2 -d $D/req.bin -H 'content-type: application/grpc' -H 'te: trailers' -H "authorization: Bearer bench" -H "x-delay-ms: 50" --log-file $D/h2.log http://127.0.0.1:19832/levee.test.Echo/Unary > $D/h2.txt 2>&1; }
h 20 2; callgrind_control -z $LP >/dev/null
if [ -n "$PERF" ]; then perf record -F 9999 -g -p $LP -o $D/perf.data 2>/dev/null & PP=$!; sleep 0.5; fi
C0=$(awk '{print $14+$15}' /proc/$LP/stat)
for i in $(seq $N); do h 1000 100; python3 -c "
import sys
v=sorted(float(l.split()[2])/1000 for l in open('$D/h2.log'))
print('%.2f %.2f'%(v[len(v)//2], v[int(len(v)*0.99)]))" ; done > $D/lat.txt
C1=$(awk '{print $14+$15}' /proc/$LP/stat); callgrind_control -d $LP >/dev/null
if [ -n "$PERF" ]; then kill -INT $PP; wait $PP; fi
echo "cpu ticks per burst: $(( (C1-C0) ))/$N"
echo "median p50 $(cut -d' ' -f1 $D/lat.txt | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}')" \
  "median p99 $(cut -d' ' -f2 $D/lat.txt | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}')"
kill $LP; wait $LP 2>/dev/null
pkill -f grpc_peer_wide.py
