#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""dash_sse.py: a client of rvctl dashboard's /events for the tests.

    dash_sse.py BASE COOKIE_JAR watch RUN_ID STATUS LIMIT_SEC -- CMD...
        connect, wait for the first frame, run CMD, and print the seconds
        until a change event shows run RUN_ID with STATUS (exit 1 when
        not within LIMIT_SEC).  Every frame read is appended to
        $SSE_LOG when set.
    dash_sse.py BASE COOKIE_JAR watch-supervisor STATE LIMIT_SEC
        connect and print the seconds until a change event says the
        supervisor is STATE (running or stopped); exit 1 when not within
        LIMIT_SEC.
    dash_sse.py BASE COOKIE_JAR first [LAST_EVENT_ID]
        print the event type and id of the first frame, "TYPE ID"
        (reconnecting with Last-Event-ID when given).
"""
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.parse


def cookie(jar):
    for line in open(jar):
        f = line.rstrip("\n").split("\t")
        if len(f) == 7 and f[5] == "rvdash":
            return "rvdash=" + f[6]
    sys.exit("dash_sse: no rvdash cookie in " + jar)


def connect(base, jar, last_id=None):
    u = urllib.parse.urlparse(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    h = {"Cookie": cookie(jar), "Accept": "text/event-stream"}
    if last_id:
        h["Last-Event-ID"] = last_id
    c.request("GET", "/events", headers=h)
    r = c.getresponse()
    if r.status != 200:
        sys.exit("dash_sse: /events answered %d" % r.status)
    return r


def frames(r):
    """Yield (event, id, data) per frame; comments as ("comment", ...)."""
    ev, eid, data = "message", "", []
    log = os.environ.get("SSE_LOG")
    while True:
        line = r.fp.readline()
        if not line:
            return
        if log:
            with open(log, "ab") as f:
                f.write(line)
        line = line.decode("utf-8").rstrip("\n")
        if line == "":
            if data or ev != "message":
                yield ev, eid, "\n".join(data)
            ev, data = "message", []
        elif line.startswith(":"):
            yield "comment", "", line
        elif line.startswith("event: "):
            ev = line[7:]
        elif line.startswith("id: "):
            eid = line[4:]
        elif line.startswith("data: "):
            data.append(line[6:])


def main():
    base, jar, mode = sys.argv[1:4]
    if mode == "first":
        r = connect(base, jar, sys.argv[4] if len(sys.argv) > 4 else None)
        for ev, eid, _ in frames(r):
            print(ev, eid)
            return 0
        return 1
    if mode == "watch-supervisor":
        state, limit = sys.argv[4], float(sys.argv[5])
        r = connect(base, jar)
        t0 = time.monotonic()
        r.fp.raw._sock.settimeout(limit + 1)
        try:
            for ev, _, data in frames(r):
                if ev == "change" and json.loads(data)["supervisor"] == state:
                    print("%.2f" % (time.monotonic() - t0))
                    return 0
                if time.monotonic() - t0 > limit:
                    break
        except OSError:
            pass
        print("never")
        return 1
    run_id, status, limit = sys.argv[4], sys.argv[5], float(sys.argv[6])
    cmd = sys.argv[sys.argv.index("--") + 1:]
    r = connect(base, jar)
    it = frames(r)
    next(it)                         # the hello frame
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    r.fp.raw._sock.settimeout(limit + 1)
    try:
        for ev, _, data in it:
            if ev != "change":
                continue
            for run in json.loads(data).get("runs", []):
                if run["run_id"] == run_id and run["status"] == status:
                    dt = time.monotonic() - t0
                    print("%.2f" % dt)
                    return 0 if dt <= limit else 1
            if time.monotonic() - t0 > limit + 1:
                break
    except OSError:
        pass
    print("never")
    return 1


if __name__ == "__main__":
    sys.exit(main())
