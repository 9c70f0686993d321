#!/usr/bin/env python3
"""kfbench.py -- the benchmark sections' small clients (Python 3 standard library only).

  kfbench.py freeport                          a free TCP port on 127.0.0.1
  kfbench.py startup BIN RUNS [--tls]          exec `BIN serve` -> first answer to GET /version
  kfbench.py runoverhead BIN SCENARIO RUNS     wall time of `BIN run SCENARIO -- true` and of `true`
  kfbench.py create PORT N [TIMEOUT_S]         POST N pods (bench-NNNNNN) on one keep-alive connection
  kfbench.py pages PORT LIMIT [TIMEOUT_S]      list /api/v1/pods in pages of LIMIT, following continue

Each prints key=value lines (times in ms unless the key says otherwise). Every loop is bounded.
Called by scripts/bench/*.sh; it measures, it never passes or fails anything.
"""
import http.client
import os
import re
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse


def freeport():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int((len(v) - 1) * p / 100))]


def pin(cpu):
    """Pin this process to one CPU when the machine has it (a child forked now inherits it)."""
    try:
        if (os.cpu_count() or 1) > 1:
            os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError):
        pass


def first_answer(port, tls, deadline):
    """Connect in a tight loop until the server accepts, send GET /version, return when the
    status line and headers have arrived (any status: a 401 over TLS is an answer too)."""
    ctx = None
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    req = b"GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    while time.monotonic() < deadline:
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            s.close()
            continue
        try:
            if ctx:
                s = ctx.wrap_socket(s)
            s.sendall(req)
            buf = b""
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(4096)
                if not chunk:
                    break
                buf += chunk
            if buf.startswith(b"HTTP/1.1 "):
                return True
        except OSError:
            pass
        finally:
            s.close()
    return False


def startup(binary, runs, tls):
    times = []
    failures = 0
    with tempfile.TemporaryDirectory(prefix="kfbench-") as tmp:
        for i in range(runs):
            port = freeport()
            args = [binary, "serve", "--quiet", "--port", str(port), "--kubeconfig",
                    os.path.join(tmp, "kc%d" % i)]
            if not tls:
                args.insert(2, "--plain-http")
            pin(0)  # the server starts on CPU 0 ...
            t0 = time.monotonic()
            proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            pin(1)  # ... and this client polls from CPU 1
            ok = first_answer(port, tls, t0 + 10)
            t1 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if ok:
                times.append((t1 - t0) * 1000)
            else:
                failures += 1
    report_times("startup", times)
    print("failures=%d" % failures)
    # the floor this method has: the same spawn of /bin/true until it has exited
    floor = []
    for _ in range(runs):
        t0 = time.monotonic()
        subprocess.Popen(["true"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).wait()
        floor.append((time.monotonic() - t0) * 1000)
    print("spawn_true_median_ms=%.3f" % statistics.median(floor))


def report_times(key, times):
    if times:
        print("%s_runs=%d" % (key, len(times)))
        print("%s_median_ms=%.3f" % (key, statistics.median(times)))
        print("%s_min_ms=%.3f" % (key, min(times)))
        print("%s_max_ms=%.3f" % (key, max(times)))


def timed(args):
    t0 = time.monotonic()
    rc = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        stdin=subprocess.DEVNULL, timeout=60).returncode
    return (time.monotonic() - t0) * 1000, rc


def runoverhead(binary, scenario, runs):
    base, run, bad = [], [], 0
    true = subprocess.run(["sh", "-c", "command -v true"], capture_output=True,
                          text=True).stdout.strip() or "/bin/true"
    for _ in range(runs):
        t, _rc = timed([true])
        base.append(t)
        t, rc = timed([binary, "run", scenario, "--", "true"])
        run.append(t)
        bad += rc != 0
    report_times("true", base)
    report_times("run", run)
    print("overhead_ms=%.3f" % (statistics.median(run) - statistics.median(base)))
    print("run_failures=%d" % bad)


POD = ('{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","labels":{"app":"bench"}},'
       '"spec":{"containers":[{"name":"c","image":"busybox"}]}}')


def create(port, n, timeout_s):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    t0 = time.monotonic()
    made = errors = 0
    first_error = ""
    for i in range(n):
        if time.monotonic() - t0 > timeout_s:
            first_error = first_error or "stopped after %d s" % timeout_s
            break
        try:
            conn.request("POST", "/api/v1/namespaces/default/pods", POD % ("bench-%06d" % i),
                         headers)
            resp = conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException) as e:
            first_error = first_error or "after %d pods: %s" % (made, e)
            break
        if resp.status == 201:
            made += 1
        else:
            errors += 1
            if not first_error:
                first_error = "%d %s" % (resp.status, body[:200].decode("utf-8", "replace"))
            if errors > 100:
                break
    secs = time.monotonic() - t0
    conn.close()
    print("created=%d" % made)
    print("create_s=%.3f" % secs)
    print("create_per_s=%.0f" % (made / secs if secs > 0 else 0))
    if first_error:
        print("error=%s" % first_error.replace("\n", " "))


CONT = re.compile(rb'"continue":"([^"]*)"')


def pages(port, limit, timeout_s):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    token, times, items, nbytes = "", [], 0, 0
    start = time.monotonic()
    for _ in range(100000):  # bounded: at most 100k pages, and timeout_s
        if time.monotonic() - start > timeout_s:
            print("stopped=after %d s" % timeout_s)
            break
        path = "/api/v1/pods?limit=%d" % limit
        if token:
            path += "&continue=" + urllib.parse.quote(token, safe="")
        t0 = time.monotonic()
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException) as e:
            print("error=page %d: %s" % (len(times) + 1, e))
            break
        times.append((time.monotonic() - t0) * 1000)
        if resp.status != 200:
            print("error=%d %s" % (resp.status, body[:200].decode("utf-8", "replace")))
            break
        nbytes += len(body)
        items += body.count(b'"uid":"')  # one uid per pod; list items carry no "kind"
        m = CONT.search(body, 0, 4096)
        token = m.group(1).decode() if m else ""
        if not token:
            break
    conn.close()
    if not times:
        return
    print("pages=%d" % len(times))
    print("items=%d" % items)
    print("bytes=%d" % nbytes)
    print("total_ms=%.1f" % sum(times))
    print("page_p50_ms=%.3f" % pct(times, 50))
    print("page_p99_ms=%.3f" % pct(times, 99))
    print("page_max_ms=%.3f" % max(times))


def main(argv):
    if len(argv) >= 1 and argv[0] == "freeport":
        print(freeport())
    elif len(argv) in (3, 4) and argv[0] == "startup":
        startup(argv[1], int(argv[2]), len(argv) == 4 and argv[3] == "--tls")
    elif len(argv) == 4 and argv[0] == "runoverhead":
        runoverhead(argv[1], argv[2], int(argv[3]))
    elif len(argv) in (3, 4) and argv[0] == "create":
        create(int(argv[1]), int(argv[2]), int(argv[3]) if len(argv) == 4 else 300)
    elif len(argv) in (3, 4) and argv[0] == "pages":
        pages(int(argv[1]), int(argv[2]), int(argv[3]) if len(argv) == 4 else 60)
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
