#!/usr/bin/env bash
# Ad-hoc: new connection per request (wrk with Connection: close) against base (44cee02) and tlsdown levee.
set -u
UP=19750; LP=19751; AP=19752
taskset -c 1 /work/wt-tlsdown/build/bin/levee-upstream --listen 127.0.0.1:$UP --latency 0ms --workers 1 > up.log 2>&1 &
UPID=$!
sleep 0.5
cat > l.toml <<CONF
[server]
listen = "127.0.0.1:$LP"
admin_listen = "127.0.0.1:$AP"
workers = 1
max_connections = 20000
[log]
level = "warn"
[upstreams.mock]
address = "127.0.0.1:$UP"
max_idle_connections = 64
[[routes]]
name = "api"
path_prefix = "/api/"
upstream = "mock"
CONF
for round in 1 2 3 4 5 6; do
  for which in base tlsdown; do
    if [[ $which == base ]]; then BIN=/tmp/levee-base/build/bin/levee; else BIN=/work/wt-tlsdown/build/bin/levee; fi
    nice -n -10 taskset -c 0 $BIN serve --config l.toml > l.out 2>&1 &
    LPID=$!
    for i in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:$LP/api/x && break; sleep 0.1; done
    t0=$(awk '{print $14+$15}' /proc/$LPID/stat)
    out=$(nice -n -10 taskset -c 1 wrk -t1 -c20 -d8s -H "Connection: close" http://127.0.0.1:$LP/api/bench 2>&1)
    t1=$(awk '{print $14+$15}' /proc/$LPID/stat)
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    errs=$(echo "$out" | grep -i "errors" | tr '\n' ' ')
    echo -e "$round\t$which\t$rps\t$(awk -v c=$((t1-t0)) -v n=$reqs 'BEGIN{printf "%.1f", c/100*1e6/n}')\t$errs"
    kill $LPID; wait $LPID 2>/dev/null
  done
done
kill $UPID
