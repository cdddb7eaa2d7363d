#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
#
# sd_listen.py: the service manager's end of the notification protocol
# (systemd's NOTIFY_SOCKET), for tests of rvsup's own sd_notify.
#
# It binds a real AF_UNIX datagram socket, at a path or at an abstract
# name ("@name", as NOTIFY_SOCKET spells it), with SO_PASSCRED so each
# datagram carries its sender's pid as the kernel saw it, like systemd
# checks NotifyAccess=main.  Every datagram is appended to the log FILE
# as one JSON line {t, pid, lines}: t a monotonic time in seconds, lines
# the KEY=VALUE lines of the datagram.  With --on-ready CMD, CMD runs
# through sh as soon as a READY=1 datagram arrived (before the next one
# is read); its stdout is kept in that record as "on_ready", so a test
# sees the supervisor's state at the moment it said it was ready.
#
# Usage: sd_listen.py --socket PATH|@NAME --log FILE [--on-ready CMD]
# The log FILE exists (empty) once the socket is bound.  SIGTERM ends it.

import argparse
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--on-ready")
    a = ap.parse_args()

    addr = a.socket
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    elif os.path.exists(addr):
        os.unlink(addr)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    s.bind(addr)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log = open(a.log, "a", buffering=1)
    ucred = struct.calcsize("3i")
    while True:
        data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(ucred))
        pid = None
        for level, kind, cdata in anc:
            if level == socket.SOL_SOCKET and \
                    kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("3i", cdata[:ucred])[0]
        rec = {"t": time.monotonic(), "pid": pid,
               "lines": data.decode("utf-8", "replace").split("\n")}
        if a.on_ready and "READY=1" in rec["lines"]:
            r = subprocess.run(a.on_ready, shell=True,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
            rec["on_ready"] = r.stdout.decode("utf-8", "replace")
        log.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
