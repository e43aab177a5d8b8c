#!/usr/bin/python3
"""Takes docs/status_page.png: the admin status page of a levee under traffic.

Starts levee-upstream and a levee with a collapse, a batch and a pass route on ephemeral
127.0.0.1 ports, sends a bounded mix of requests through it for a while, and meanwhile keeps
the page open in headless Chromium (driven over --remote-debugging-pipe, so the page polls
/stats in real time and its charts hold real rates), then captures it at 1280x900.

    scripts/status_page_screenshot.py [--bin build/bin] [--out docs/status_page.png]
                                      [--seconds 75]

Run it again whenever the page changes (README "Status page"): the picture must stay current.
"""

import argparse
import base64
import json
import os
import random
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROUTES = """
[[routes]]
name = "api"
path_prefix = "/api/"
upstream = "legacy"
mode = "collapse"

[[routes]]
name = "items"
path_prefix = "/process"
upstream = "legacy"
mode = "batch"
[routes.batch]
upstream_path = "/process_batch"
max_batch_size = 16
max_wait = "5ms"

[[routes]]
name = "rest"
path_prefix = "/"
upstream = "legacy"
"""


def wait_for_line(process, marker, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if marker in line:
            return line
    raise RuntimeError(f"no '{marker}' from {process.args[0]}")


def port_after(line, key):
    value = line[line.index(key) + len(key):].split()[0]
    return int(value.rsplit(":", 1)[1])


def traffic(port, stop, seed):
    """One client: mostly hot-key GETs (collapse), some batch items, a few errors."""
    rng = random.Random(seed)
    while not stop.is_set():
        roll = rng.random()
        try:
            if roll < 0.6:
                key = min(int(rng.paretovariate(1.2)), 200)
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/item/{key}", timeout=5).read()
            elif roll < 0.95:
                body = json.dumps({"id": rng.randrange(10_000)}).encode()
                urllib.request.urlopen(f"http://127.0.0.1:{port}/process", data=body, timeout=5).read()
            else:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/status/503", timeout=5).read()
        except (urllib.error.URLError, OSError):
            pass  # the 503s, and whatever levee sheds


class Chromium:
    """Headless Chromium spoken to over the DevTools protocol on a pipe (fd 3 in, fd 4 out)."""

    def __init__(self, profile):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        command = (f"exec chromium --headless --no-sandbox --disable-gpu --no-first-run "
                   f"--disable-extensions --disable-background-timer-throttling "
                   f"--disable-renderer-backgrounding --hide-scrollbars --window-size=1280,900 "
                   f"--user-data-dir='{profile}' --remote-debugging-pipe about:blank "
                   f"3<&{to_chrome_r} 4>&{from_chrome_w} 2>/dev/null")
        self.process = subprocess.Popen(["/bin/sh", "-c", command],
                                        pass_fds=(to_chrome_r, from_chrome_w))
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.next_id = 0
        self.buffer = b""

    def call(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_chrome, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self.buffer:
                chunk = os.read(self.from_chrome, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self.buffer += chunk
            raw, self.buffer = self.buffer.split(b"\0", 1)
            answer = json.loads(raw)
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer["result"]

    def close(self):
        try:
            self.call("Browser.close")
        except RuntimeError:
            pass
        self.process.wait(timeout=10)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default="build/bin")
    parser.add_argument("--out", default="docs/status_page.png")
    parser.add_argument("--seconds", type=float, default=75)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="levee-status-page-") as scratch:
        upstream = subprocess.Popen(
            [f"{args.bin}/levee-upstream", "--listen", "127.0.0.1:0", "--latency", "8ms",
             "--jitter", "4ms", "--workers", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        levee = None
        chromium = None
        stop = threading.Event()
        clients = []
        try:
            upstream_port = port_after(wait_for_line(upstream, "levee-upstream ready "), "listen=")
            config = os.path.join(scratch, "levee.toml")
            with open(config, "w") as out:
                out.write(f'[server]\nlisten = "127.0.0.1:0"\nadmin_listen = "127.0.0.1:0"\n'
                          f'workers = 2\n[log]\nlevel = "info"\n'
                          f'[upstreams.legacy]\naddress = "127.0.0.1:{upstream_port}"\n{ROUTES}')
            levee = subprocess.Popen([f"{args.bin}/levee", "serve", "--config", config],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            ready = wait_for_line(levee, "levee ready")
            port, admin = port_after(ready, "listen="), port_after(ready, "admin=")
            # Keep levee's pipe drained so that its logging never blocks it.
            threading.Thread(target=lambda: [None for _ in levee.stdout], daemon=True).start()

            chromium = Chromium(os.path.join(scratch, "profile"))
            target = chromium.call("Target.createTarget", {"url": f"http://127.0.0.1:{admin}/"})
            session = chromium.call("Target.attachToTarget",
                                    {"targetId": target["targetId"], "flatten": True})["sessionId"]
            chromium.call("Emulation.setDeviceMetricsOverride",
                          {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                          session)
            for seed in range(6):
                client = threading.Thread(target=traffic, args=(port, stop, seed), daemon=True)
                client.start()
                clients.append(client)
            time.sleep(args.seconds)  # the page's charts fill in real time
            shot = chromium.call("Page.captureScreenshot", {"format": "png"}, session)
            with open(args.out, "wb") as out:
                out.write(base64.b64decode(shot["data"]))
            print(f"wrote {args.out}")
        finally:
            stop.set()
            for client in clients:
                client.join(timeout=10)
            if chromium:
                chromium.close()
            for process in (levee, upstream):
                if process:
                    process.terminate()
                    process.wait(timeout=10)


if __name__ == "__main__":
    main()
