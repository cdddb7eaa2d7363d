#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
#
# httpd_fixture.py: a loopback HTTP server for the evidence tests.
#
# It exists because product web sites cannot be reached from tests (no
# network in CI, and real shops change and rate-limit), yet the fetcher's
# limits must be proven against a real socket: timeouts, body caps,
# redirect loops and error statuses.  It binds 127.0.0.1 on a port the
# kernel picks and prints that port as the first line of stdout.
#
# Usage: httpd_fixture.py PAGES_DIR
#
# Routes:
#   /page/<name>     the file <name> from PAGES_DIR (no '/' or '..')
#   /slow[?s=N]      sleeps N seconds (default 20) before answering
#   /big[?cl=1]      a 6 MiB body streamed in chunks, without
#                    Content-Length unless cl=1
#   /loop            redirects to itself forever
#   /redirect/N      N redirect hops, then a small product page
#   /500             HTTP 500
#   /scheme          redirects to file:///etc/passwd (must be refused)
#   /to?u=URL        redirects to URL
# Anything else is a 404.  It is a test tool only: never run it exposed.

import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

BIG_BYTES = 6 * 1024 * 1024
CHUNK = 64 * 1024

HOP_PAGE = b"""<!DOCTYPE html>
<html><head><title>Redirect target</title>
<script type="application/ld+json">
{"@context":"https://schema.org","@type":"Product","name":"Redirect target",
 "mpn":"RT-1","offers":{"@type":"Offer","price":"10.00","priceCurrency":"BRL"}}
</script></head><body>ok</body></html>
"""


class Handler(BaseHTTPRequestHandler):
    server_version = "rv-fixture/1"
    pages_dir = "."

    def log_message(self, fmt, *args):
        pass

    def send_body(self, status, body, ctype="text/html; charset=utf-8"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, where):
        self.send_response(302)
        self.send_header("Location", where)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        path = url.path
        try:
            if path.startswith("/page/"):
                self.page(path[len("/page/"):])
            elif path == "/slow":
                time.sleep(float(query.get("s", ["20"])[0]))
                self.send_body(200, b"<html>late</html>")
            elif path == "/big":
                self.big("cl" in query)
            elif path == "/loop":
                self.redirect("/loop")
            elif path.startswith("/redirect/"):
                self.hops(path[len("/redirect/"):])
            elif path == "/scheme":
                self.redirect("file:///etc/passwd")
            elif path == "/to" and "u" in query:
                self.redirect(query["u"][0])
            elif path == "/500":
                self.send_body(500, b"<html>internal error</html>")
            else:
                self.send_body(404, b"not found")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def page(self, name):
        if "/" in name or name.startswith(".") or not name:
            self.send_body(404, b"not found")
            return
        try:
            with open(os.path.join(self.pages_dir, name), "rb") as f:
                body = f.read()
        except OSError:
            self.send_body(404, b"not found")
            return
        self.send_body(200, body)

    def big(self, with_length):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        if with_length:
            self.send_header("Content-Length", str(BIG_BYTES))
        self.end_headers()
        chunk = b"x" * CHUNK
        for _ in range(BIG_BYTES // CHUNK):
            self.wfile.write(chunk)

    def hops(self, n):
        if not n.isdigit() or int(n) > 100:
            self.send_body(404, b"not found")
        elif int(n) == 0:
            self.send_body(200, HOP_PAGE)
        else:
            self.redirect("/redirect/%d" % (int(n) - 1))


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.stderr.write("usage: httpd_fixture.py PAGES_DIR\n")
        return 2
    Handler.pages_dir = sys.argv[1]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
