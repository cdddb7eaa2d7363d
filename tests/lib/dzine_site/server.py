#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
#
# server.py: a fake Dzine lip-sync page on loopback, for the tests of the
# dzine renderer (workers/render/dzine.c).
#
# It exists because the real Dzine site cannot be reached from tests (no
# network in CI, a login and paid credits behind it), yet the renderer
# must be proven against a real headless Chromium driving a real page:
# file upload, a prompt, a generate button that spends credits, a
# progress bar, an export download, and the ways a web application
# breaks.  The page (lip-sync.html + app.js) carries the selectors of the
# shipped flow file, config/dzine_flow.json, so the tests run that very
# file with only DZINE_URL pointing here.
#
# At start it makes a real H.264 MP4 with ffmpeg (a 20 s test card); an
# export is that video cut to the uploaded audio and muxed with it (AAC),
# so its duration matches the segment like a real lip-sync export.  It
# binds 127.0.0.1 on a port the kernel picks and prints the port as the
# first line of stdout.
#
# Usage: server.py WORKDIR
#
# Page: /tools/lip-sync/ (any query string).  The page passes its query
# string to every API call; these parameters make the site misbehave:
#   credits=N   starting balance (default 1000; read once)
#   cost=N      credits one generation costs (default 1)
#   gen_ms=N    how long a generation takes (default 1200)
#   freeze=K    the K-th generate press (1-based, comma list) runs a
#               JavaScript busy loop in the page at 40 % progress
#   error=K     the K-th generation fails with an error banner at 30 %
#   broken=K    the K-th export is a broken file (not an MP4)
#   hold=K      the K-th generation never ends (stays at 50 %): a test
#               that kills the browser mid-render finds it still running
#   slow_balance=N  the first balance asked for after an export takes
#               N ms to answer (the page refreshes it on export)
# Insufficient credits: the press is refused with an error banner.
#
# API (JSON): GET /api/balance, POST /api/upload?kind=image|audio&name=F,
# POST /api/generate, GET /api/job/<id>, POST /api/frozen?job=<id>,
# GET /api/export/<id>.  For the tests: GET /api/stats, also written to
# WORKDIR/stats.json after every change: balance, presses (each with its
# audio file name), exports, frozen_at (epoch seconds).  It is a test
# tool only: never run it exposed.

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
UPLOAD_MAX = 64 * 1024 * 1024
STATIC = {
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/site.css": ("site.css", "text/css; charset=utf-8"),
}


class Site:
    def __init__(self, workdir):
        self.dir = workdir
        self.lock = threading.Lock()
        self.balance = None
        self.presses = []
        self.exports = 0
        self.frozen_at = None
        self.slow_next = False
        self.jobs = {}
        self.uploads = {}
        self.base_video = os.path.join(workdir, "base.mp4")

    def make_base_video(self):
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi",
             "-i", "testsrc=size=320x240:rate=25:duration=20",
             "-c:v", "libx264", "-preset", "ultrafast", "-g", "25",
             "-pix_fmt", "yuv420p", self.base_video], check=True)

    def save_stats(self):
        tmp = os.path.join(self.dir, "stats.json.tmp")
        with open(tmp, "w") as f:
            json.dump(self.stats(), f)
        os.rename(tmp, os.path.join(self.dir, "stats.json"))

    def stats(self):
        return {"balance": self.balance, "presses": self.presses,
                "exports": self.exports, "frozen_at": self.frozen_at}


def knob(query, name, default):
    try:
        return int(query.get(name, [str(default)])[0])
    except ValueError:
        return default


def picked(query, name, n):
    for part in query.get(name, [""])[0].split(","):
        if part.strip().isdigit() and int(part) == n:
            return True
    return False


class Handler(BaseHTTPRequestHandler):
    server_version = "fake-dzine/1"
    site = None

    def log_message(self, fmt, *args):
        pass

    def send_body(self, status, body, ctype, extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status, obj):
        self.send_body(status, json.dumps(obj).encode(), "application/json")

    def do_GET(self):
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        try:
            self.route_get(url.path, q)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_POST(self):
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        n = int(self.headers.get("Content-Length") or 0)
        if n > UPLOAD_MAX:
            self.send_json(413, {"error": "too large"})
            return
        body = self.rfile.read(n) if n > 0 else b""
        try:
            self.route_post(url.path, q, body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def route_get(self, path, q):
        site = self.site
        if path in ("/tools/lip-sync/", "/tools/lip-sync"):
            self.static("lip-sync.html", "text/html; charset=utf-8")
        elif path in STATIC:
            self.static(*STATIC[path])
        elif path == "/api/balance":
            with site.lock:
                slow = site.slow_next
                site.slow_next = False
            if slow:
                time.sleep(knob(q, "slow_balance", 0) / 1000.0)
            with site.lock:
                if site.balance is None:
                    site.balance = knob(q, "credits", 1000)
                    site.save_stats()
                self.send_json(200, {"credits": site.balance})
        elif path.startswith("/api/job/"):
            self.job(path[len("/api/job/"):])
        elif path.startswith("/api/export/"):
            self.export(path[len("/api/export/"):])
        elif path == "/api/stats":
            with site.lock:
                self.send_json(200, site.stats())
        else:
            self.send_body(404, b"not found", "text/plain")

    def route_post(self, path, q, body):
        site = self.site
        if path == "/api/upload":
            kind = q.get("kind", [""])[0]
            name = os.path.basename(q.get("name", ["upload"])[0])
            if kind not in ("image", "audio") or not body:
                self.send_json(400, {"error": "bad upload"})
                return
            with site.lock:
                uid = "u%d" % (len(site.uploads) + 1)
                dst = os.path.join(site.dir, uid + "_" + kind)
                with open(dst, "wb") as f:
                    f.write(body)
                site.uploads[uid] = {"path": dst, "name": name}
            self.send_json(200, {"upload_id": uid})
        elif path == "/api/generate":
            self.generate(q, body)
        elif path == "/api/frozen":
            with site.lock:
                site.frozen_at = time.time()
                site.save_stats()
            self.send_json(200, {})
        else:
            self.send_body(404, b"not found", "text/plain")

    def static(self, name, ctype):
        with open(os.path.join(HERE, name), "rb") as f:
            self.send_body(200, f.read(), ctype)

    def generate(self, q, body):
        site = self.site
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            self.send_json(400, {"error": "bad request"})
            return
        audio = site.uploads.get(req.get("audio", ""))
        if audio is None:
            self.send_json(400, {"error": "Upload an audio file first."})
            return
        cost = knob(q, "cost", 1)
        with site.lock:
            if site.balance is None:
                site.balance = knob(q, "credits", 1000)
            if site.balance < cost:
                self.send_json(402, {"error": "Not enough credits."})
                return
            site.balance -= cost
            n = len(site.presses) + 1
            site.presses.append({"n": n, "audio": audio["name"],
                                 "prompt": req.get("prompt", ""),
                                 "at": time.time()})
            jid = "j%d" % n
            site.jobs[jid] = {
                "start": time.time(), "audio": audio["path"],
                "gen_ms": knob(q, "gen_ms", 1200),
                "error": picked(q, "error", n),
                "broken": picked(q, "broken", n),
                "hold": picked(q, "hold", n), "file": None}
            site.save_stats()
            self.send_json(200, {"job": jid, "credits": site.balance,
                                 "freeze": picked(q, "freeze", n)})

    def job(self, jid):
        j = self.site.jobs.get(jid)
        if j is None:
            self.send_json(404, {"error": "no such job"})
            return
        el = (time.time() - j["start"]) * 1000.0
        pct = min(100, int(100 * el / max(1, j["gen_ms"])))
        if j["hold"]:
            pct = min(pct, 50)
        if j["error"] and pct >= 30:
            self.send_json(200, {"state": "failed", "progress": 30,
                                 "error": "Generation failed: the face "
                                 "could not be detected. Credits were "
                                 "not refunded."})
        elif pct >= 100:
            self.send_json(200, {"state": "done", "progress": 100})
        else:
            self.send_json(200, {"state": "running", "progress": pct})

    def export(self, jid):
        site = self.site
        j = site.jobs.get(jid)
        if j is None:
            self.send_json(404, {"error": "no such job"})
            return
        with site.lock:
            if j["file"] is None:
                j["file"] = self.make_export(jid, j)
            site.exports += 1
            site.slow_next = True
            site.save_stats()
        with open(j["file"], "rb") as f:
            data = f.read()
        self.send_body(200, data, "video/mp4", {
            "Content-Disposition":
            'attachment; filename="dzine_lipsync_%s.mp4"' % jid})

    def make_export(self, jid, j):
        out = os.path.join(self.site.dir, "export_%s.mp4" % jid)
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i",
             self.site.base_video, "-i", j["audio"], "-map", "0:v",
             "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-shortest",
             "-movflags", "+faststart", out], check=True)
        if j["broken"]:
            with open(out, "r+b") as f:
                f.write(b"\0" * 4096)
        return out


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.stderr.write("usage: server.py WORKDIR\n")
        return 2
    site = Site(os.path.abspath(sys.argv[1]))
    site.make_base_video()
    Handler.site = site
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with site.lock:
        site.save_stats()
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sys.exit(main())
