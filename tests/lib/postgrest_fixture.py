#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
#
# postgrest_fixture.py: the subset of PostgREST (as Supabase exposes it)
# that the supabase store backend speaks, on loopback, executing the real
# functions of the migration on a private PostgreSQL (tests/lib/pg_cluster).
#
# It exists only because PostgREST itself is not packaged for this
# platform.  It follows docs/PROTOCOLS.md and PostgREST's documented
# behaviour, not what our client happens to expect, and stays small:
#
#   POST /rest/v1/rpc/<fn>   body: a JSON object of named arguments.  The
#       function is resolved like PostgREST does, by name and argument
#       names (none: 404 PGRST202; several: 300 PGRST203); arguments are
#       typed by json_to_record with the function's own types.  Answer: a
#       bare JSON value (scalar or jsonb), an array of row objects
#       (TABLE/SETOF), or 204 (void).
#   POST /rest/v1/<table>    insert one object or an array of them
#       (Prefer: return=minimal): 201, or 409 with code 23505 on a
#       duplicate key.
#   Errors: {"code","message","details","hint"} with PostgREST's SQLSTATE
#       to HTTP status table.  Calls run as service_role (SET LOCAL ROLE)
#       when the apikey and Bearer token equal the service key, as anon
#       with the optional anon key; anything else is 401.
#
# Test controls (never part of PostgREST), authenticated like the API:
#   POST /_fixture/faults  {"latency_ms": N, "fail_next": N,
#       "fail_status": 503, "reset_next": N, "big_next": N,
#       "outage_sec": T}: add latency to every API request; answer the
#       next N with fail_status (a PGRST001 body); reset (TCP RST) the
#       next N connections after reading the request; answer the next N
#       with a 6 MiB JSON string, streamed without Content-Length; or
#       stop listening for T seconds (connections refused, open ones
#       reset).  Omitted fields are left as they are.
#   GET /_fixture/stats    request counts per function and, per event_id,
#       how many inserts into run_events reached the database.
# The same settings can be given at start in RV_FIXTURE_LATENCY_MS,
# RV_FIXTURE_FAIL_NEXT, RV_FIXTURE_RESET_NEXT and RV_FIXTURE_OUTAGE_SEC.
#
# Usage: postgrest_fixture.py --db NAME [--port N]
# Connection: PGHOST/PGPORT/PGUSER from the environment (a superuser);
# keys: RV_FIXTURE_SERVICE_KEY (required), RV_FIXTURE_ANON_KEY.  The port
# is printed as the first line of stdout.  The key is never printed.
# A test tool only: never expose it.

import argparse
import json
import os
import queue
import re
import secrets
import select
import socket
import struct
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

BODY_MAX = 8 * 1024 * 1024
BIG_BYTES = 6 * 1024 * 1024
POOL_MAX = 10
MARK = "__rv_fixture_end__"
NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Runs one RPC as <role>; returns {"status", "body"} as text.  The call is
# a subtransaction, so an error rolls back everything the function did.
HELPER_SQL = r"""
CREATE SCHEMA IF NOT EXISTS rv_fixture;
REVOKE ALL ON SCHEMA rv_fixture FROM PUBLIC;
CREATE OR REPLACE FUNCTION rv_fixture.err(st text, msg text, det text,
    hnt text, role text)
RETURNS jsonb LANGUAGE sql AS $$
	SELECT jsonb_build_object('status', CASE
	    WHEN st LIKE '08%' OR st LIKE '53%' AND st <> '53400' THEN 503
	    WHEN st = '42501' THEN CASE WHEN role = 'anon' THEN 401 ELSE 403 END
	    WHEN st IN ('23503', '23505') THEN 409
	    WHEN st = '25006' THEN 405
	    WHEN st IN ('42883', '42P01') THEN 404
	    WHEN st LIKE '0L%' OR st LIKE '0P%' OR st LIKE '28%' THEN 403
	    WHEN st = 'P0001' THEN 400
	    WHEN substr(st, 1, 2) IN ('09', '25', '2D', '38', '39', '3B', '40',
		'53', '54', '55', '57', '58', 'F0', 'HV', 'P0', 'XX')
		OR st = '42P17' THEN 500
	    ELSE 400 END,
	    'body', jsonb_build_object('code', st, 'message', msg,
	    'details', nullif(det, ''), 'hint', nullif(hnt, '')))
$$;
CREATE OR REPLACE FUNCTION rv_fixture.rpc(fn text, body json, role text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	keys text[];
	f record;
	pick record;
	n integer := 0;
	cols text;
	args text;
	src text;
	q text;
	res jsonb;
	st text; msg text; det text; hnt text;
BEGIN
	IF json_typeof(body) IS DISTINCT FROM 'object' THEN
		RETURN jsonb_build_object('status', 400, 'body',
		    jsonb_build_object('code', 'PGRST102', 'message',
		    'Invalid body', 'details', null, 'hint', null))::text;
	END IF;
	SELECT coalesce(array_agg(k ORDER BY k), '{}') INTO keys
	FROM json_object_keys(body) AS k;
	FOR f IN
		SELECT p.oid, p.proretset, p.prorettype, t.typtype,
		    coalesce((SELECT array_agg(a.nm ORDER BY a.i)
			FROM unnest(p.proargnames, coalesce(p.proargmodes,
			array_fill('i'::"char", ARRAY[p.pronargs])))
			WITH ORDINALITY AS a(nm, md, i)
			WHERE a.md IN ('i', 'b', 'v')), '{}') AS names,
		    p.pronargs - p.pronargdefaults AS nreq
		FROM pg_proc p JOIN pg_namespace s ON s.oid = p.pronamespace
		JOIN pg_type t ON t.oid = p.prorettype
		WHERE s.nspname = 'public' AND p.proname = fn
	LOOP
		IF keys <@ f.names AND f.names[1:f.nreq] <@ keys THEN
			n := n + 1;
			pick := f;
		END IF;
	END LOOP;
	IF n = 0 THEN
		RETURN jsonb_build_object('status', 404, 'body',
		    jsonb_build_object('code', 'PGRST202', 'message',
		    format('Could not find the function public.%s(%s) in the '
		    'schema cache', fn, array_to_string(keys, ', ')),
		    'details', format('Searched for the function public.%s '
		    'with parameters %s or with a single unnamed json/jsonb '
		    'parameter, but no matches were found in the schema '
		    'cache.', fn, array_to_string(keys, ', ')),
		    'hint', null))::text;
	ELSIF n > 1 THEN
		RETURN jsonb_build_object('status', 300, 'body',
		    jsonb_build_object('code', 'PGRST203', 'message', format(
		    'Could not choose the best candidate function between: %s',
		    fn), 'details', null, 'hint', 'Try renaming the parameters '
		    'or the function itself in the database so function '
		    'overloading can be resolved'))::text;
	END IF;
	SELECT string_agg(format('%I %s', a.nm, format_type(
		(pick_types.t)[a.i - 1], NULL)), ', '),
	    string_agg(format('%I => _a.%I', a.nm, a.nm), ', ')
	INTO cols, args
	FROM unnest(pick.names) WITH ORDINALITY AS a(nm, i),
	    (SELECT proargtypes::oid[] AS t FROM pg_proc
	    WHERE oid = pick.oid) AS pick_types
	WHERE a.nm = ANY (keys);
	src := CASE WHEN cols IS NULL THEN '(SELECT) AS _a'
	    ELSE format('json_to_record($1) AS _a(%s)', cols) END;
	args := coalesce(args, '');
	IF pick.proretset THEN
		q := format('SELECT coalesce(jsonb_agg(to_jsonb(_r)), ''[]'') '
		    'FROM %s, public.%I(%s) AS _r', src, fn, args);
	ELSIF pick.prorettype = 'void'::regtype THEN
		q := format('SELECT public.%I(%s) IS NULL FROM %s', fn, args,
		    src);
	ELSIF pick.typtype = 'c' THEN
		q := format('SELECT to_jsonb(_r) FROM %s, public.%I(%s) AS _r',
		    src, fn, args);
	ELSE
		q := format('SELECT to_jsonb(public.%I(%s)) FROM %s', fn, args,
		    src);
	END IF;
	BEGIN
		EXECUTE format('SET LOCAL ROLE %I', role);
		IF pick.prorettype = 'void'::regtype THEN
			EXECUTE q USING body;
			RETURN '{"status": 204}';
		END IF;
		EXECUTE q INTO res USING body;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE,
		    msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
		    hnt = PG_EXCEPTION_HINT;
		RETURN rv_fixture.err(st, msg, det, hnt, role)::text;
	END;
	RETURN jsonb_build_object('status', 200, 'body',
	    coalesce(res, 'null'::jsonb))::text;
END
$$;
CREATE OR REPLACE FUNCTION rv_fixture.ins(tbl text, body json, role text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	rows json := CASE json_typeof(body) WHEN 'array' THEN body
	    ELSE json_build_array(body) END;
	cols text;
	st text; msg text; det text; hnt text;
BEGIN
	IF json_typeof(body) NOT IN ('object', 'array') OR
	    json_array_length(rows) = 0 OR
	    json_typeof(rows->0) <> 'object' THEN
		RETURN jsonb_build_object('status', 400, 'body',
		    jsonb_build_object('code', 'PGRST102', 'message',
		    'Invalid body', 'details', null, 'hint', null))::text;
	END IF;
	SELECT string_agg(format('%I', k), ', ') INTO cols
	FROM json_object_keys(rows->0) AS k;
	BEGIN
		EXECUTE format('SET LOCAL ROLE %I', role);
		EXECUTE format('INSERT INTO public.%I (%s) SELECT %s FROM '
		    'json_populate_recordset(NULL::public.%I, $1)', tbl, cols,
		    cols, tbl) USING rows;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE,
		    msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
		    hnt = PG_EXCEPTION_HINT;
		RETURN rv_fixture.err(st, msg, det, hnt, role)::text;
	END;
	RETURN '{"status": 201}';
END
$$;
"""

UNAVAILABLE = {"code": "PGRST001", "details": "connection to the database "
               "was lost", "hint": None, "message": "Database client "
               "error. Retrying the connection."}


class Psql:
    """One persistent psql session; a query answers one line."""

    def __init__(self, db):
        self.proc = subprocess.Popen(
            ["psql", "-X", "-A", "-t", "-q", "-d", db],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL)

    def query(self, sql):
        try:
            self.proc.stdin.write(sql.encode() + b"\n\\echo " +
                                  MARK.encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            return None
        out = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if line == MARK:
                break
            out.append(line)
        text = "".join(out).strip()
        return text or None

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.wait()


def dollar(text):
    while True:
        tag = "$rv" + secrets.token_hex(4) + "$"
        if tag not in text:
            return tag + text + tag


class Fixture:
    def __init__(self, db, port, key, anon_key):
        self.db = db
        self.key = key
        self.anon_key = anon_key
        self.lock = threading.Lock()
        self.pool = queue.LifoQueue()
        self.npool = 0
        self.faults = {
            "latency_ms": int(os.environ.get("RV_FIXTURE_LATENCY_MS", "0")),
            "fail_next": int(os.environ.get("RV_FIXTURE_FAIL_NEXT", "0")),
            "fail_status": 503,
            "reset_next": int(os.environ.get("RV_FIXTURE_RESET_NEXT", "0")),
            "big_next": 0,
        }
        self.outage_until = (time.monotonic() +
                             float(os.environ.get("RV_FIXTURE_OUTAGE_SEC",
                                                  "0")))
        self.stats = {"requests": 0, "rpc": {}, "event_posts": {}}
        self.port = port
        self.lsock = None
        self.setup()

    def setup(self):
        pg = Psql(self.db)
        ok = pg.query(HELPER_SQL + "SELECT 'ready';")
        pg.close()
        if ok is None or not ok.endswith("ready"):
            sys.exit("postgrest_fixture: cannot set up database " + self.db)

    def sql(self, query):
        try:
            pg = self.pool.get_nowait()
        except queue.Empty:
            with self.lock:
                grow = self.npool < POOL_MAX
                if grow:
                    self.npool += 1
            pg = Psql(self.db) if grow else self.pool.get()
        answer = pg.query(query)
        if answer is None:
            pg.close()
            with self.lock:
                self.npool -= 1
            return None
        self.pool.put(pg)
        return answer

    def listen(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        self.port = s.getsockname()[1]
        return s

    def in_outage(self):
        return time.monotonic() < self.outage_until

    def serve(self):
        self.lsock = self.listen()
        print(self.port, flush=True)
        while True:
            if self.in_outage():
                if self.lsock is not None:
                    self.lsock.close()
                    self.lsock = None
                time.sleep(0.02)
                continue
            if self.lsock is None:
                self.lsock = self.listen()
            r, _, _ = select.select([self.lsock], [], [], 0.05)
            if not r:
                continue
            try:
                conn, addr = self.lsock.accept()
            except OSError:
                continue
            threading.Thread(target=connection, args=(conn, addr, self),
                             daemon=True).start()


def connection(conn, addr, fx):
    try:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        Handler(conn, addr, fx)
    except OSError:
        pass
    finally:
        conn.close()


def reset(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 0))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "postgrest-fixture/1"

    def log_message(self, fmt, *args):
        if os.environ.get("RV_FIXTURE_VERBOSE"):
            sys.stderr.write("fixture: " + (fmt % args) + "\n")

    def answer(self, status, body=None, empty=False):
        data = b"" if empty else json.dumps(body).encode()
        self.send_response(status)
        if not empty:
            self.send_header("Content-Type",
                             "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def abort(self):
        reset(self.connection)
        self.close_connection = True

    def role(self):
        fx = self.server
        key = self.headers.get("apikey", "")
        auth = self.headers.get("Authorization", "")
        for k, role in ((fx.key, "service_role"),
                        (fx.anon_key, "anon")):
            if k and secrets.compare_digest(key, k) and \
                    secrets.compare_digest(auth, "Bearer " + k):
                return role
        return None

    def body(self):
        n = int(self.headers.get("Content-Length") or "0")
        if n < 0 or n > BODY_MAX:
            return None
        raw = self.rfile.read(n) if n > 0 else b""
        try:
            return json.loads(raw.decode() or "{}")
        except (UnicodeDecodeError, ValueError):
            return None

    def faulted(self):
        """Apply the fault settings; True when the request is answered."""
        fx = self.server
        with fx.lock:
            fx.stats["requests"] += 1
            if fx.in_outage():
                self.abort()
                return True
            if fx.faults["reset_next"] > 0:
                fx.faults["reset_next"] -= 1
                self.abort()
                return True
            delay = fx.faults["latency_ms"] / 1000.0
            fail = fx.faults["fail_next"] > 0
            if fail:
                fx.faults["fail_next"] -= 1
            big = not fail and fx.faults["big_next"] > 0
            if big:
                fx.faults["big_next"] -= 1
        if delay > 0:
            time.sleep(delay)
        if fail:
            self.answer(fx.faults["fail_status"], UNAVAILABLE)
            return True
        if big:         # streamed, without Content-Length
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                self.wfile.write(b'"' + b"x" * BIG_BYTES + b'"')
            except OSError:
                pass
            return True
        return False

    def do_GET(self):
        fx = self.server
        if self.path != "/_fixture/stats" or self.role() != "service_role":
            self.answer(404, {"code": "PGRST125", "message": "Invalid path",
                              "details": None, "hint": None})
            return
        with fx.lock:
            self.answer(200, fx.stats)

    def do_POST(self):
        fx = self.server
        body = self.body()
        role = self.role()
        if self.path == "/_fixture/faults":
            return self.control(role, body)
        if not self.path.startswith("/rest/v1/"):
            self.answer(404, {"code": "PGRST125", "message": "Invalid path",
                              "details": None, "hint": None})
            return
        if self.faulted():
            return
        if role is None:
            self.answer(401, {"message": "Invalid API key", "hint":
                              "Double check your Supabase `anon` or "
                              "`service_role` API key."})
            return
        if body is None:
            self.answer(400, {"code": "PGRST102", "message": "Invalid body",
                              "details": None, "hint": None})
            return
        name = self.path[len("/rest/v1/"):].split("?")[0]
        if name.startswith("rpc/"):
            name = name[4:]
            helper = "rpc"
        else:
            helper = "ins"
        if not NAME_RE.match(name):
            self.answer(404, {"code": "PGRST202", "message":
                              "Could not find the function in the schema "
                              "cache", "details": None, "hint": None})
            return
        with fx.lock:
            fx.stats["rpc"][name] = fx.stats["rpc"].get(name, 0) + 1
        text = json.dumps(body)
        out = fx.sql("SELECT rv_fixture.%s('%s', %s::json, '%s');" %
                     (helper, name, dollar(text), role))
        if out is None:
            self.answer(503, UNAVAILABLE)
            return
        res = json.loads(out)
        if helper == "ins" and name == "run_events" and \
                res["status"] in (201, 409):
            rows = body if isinstance(body, list) else [body]
            with fx.lock:
                ev = fx.stats["event_posts"]
                for r in rows:
                    k = str(r.get("event_id"))
                    ev[k] = ev.get(k, 0) + 1
        self.answer(res["status"], res.get("body"), "body" not in res)

    def control(self, role, body):
        fx = self.server
        if role != "service_role" or not isinstance(body, dict):
            self.answer(401, {"message": "Invalid API key"})
            return
        with fx.lock:
            for k in ("latency_ms", "fail_next", "fail_status",
                      "reset_next", "big_next"):
                if k in body:
                    fx.faults[k] = int(body[k])
            if "outage_sec" in body:
                fx.outage_until = time.monotonic() + \
                    float(body["outage_sec"])
            state = dict(fx.faults)
        self.answer(200, state)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    key = os.environ.get("RV_FIXTURE_SERVICE_KEY", "")
    if len(key) < 8:
        sys.exit("postgrest_fixture: RV_FIXTURE_SERVICE_KEY is not set")
    Fixture(a.db, a.port, key, os.environ.get("RV_FIXTURE_ANON_KEY",
                                              "")).serve()


if __name__ == "__main__":
    main()
