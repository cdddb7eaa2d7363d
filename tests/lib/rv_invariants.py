#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
#
# rv_invariants.py: the store-level invariants of issue 10 (SPEC sections
# 2-4), checked from outside the worker after a fault scenario, on either
# backend.  Used through tests/lib/invariants.sh by the store-fault matrix
# (tests/integration/store_faults*.sh) and the crash matrix (tests/chaos).
#
#   rv_invariants.py audit-install --store S
#       Adds an audit table (rvt_audit) and triggers to the store, so the
#       history of every run (epoch, holder, token, status, gate nonce,
#       decision, fenced epoch) and, for every event and ledger row that
#       reached the store, the run's epoch at that very moment are kept.
#       Install it after the schema exists and before any worker starts.
#   rv_invariants.py check --store S --state DIR [--state DIR...]
#       [--log FILE...] [--conflict VIDEO...] [--doctor FILE]
#       [--checks a,b,...] [--final]
#       Prints "ok   <check>: ..." or "FAIL <check>: ..." per check and
#       exits 1 when one failed.
#
# S is "sqlite:<db path>" or "pg" (psql with PG* from the environment,
# straight to the database, not through the PostgREST fixture).
#
# Checks:
#   conflict_gate  a conflicting run (a --conflict video, or evidence with
#                  conflicts) that reached voice (audio file, render or
#                  timeline event, a later stage dispatched in a log, or
#                  status done) has an operator approve recorded in the
#                  store for one of its gates' nonces (decided_nonce, or an
#                  applied operator_action event naming the nonce), made
#                  before the first sign of voice.
#   ledger_once    no ledger key leaves state done; no render of a key is
#                  started after that key's render_done; a done run has
#                  only done ledger rows.
#   epoch_fence    every run-scoped event and ledger write that reached
#                  the store carries the run's epoch of that moment (and
#                  not one an operator fenced), and that epoch was held
#                  by the worker named as the event's source.
#   claims         no log line and no alert claims a decision ("operator
#                  said ...", "aborted by the operator", "operator asked
#                  for a refetch") or a gate ("waits for the operator",
#                  "gate opened", a gate alert, an alert with buttons)
#                  that the store did not hold at that moment.
#   run_end        (--final) every run is done or aborted, or gated (gate
#                  nonce in the store) with a next action for it in
#                  rvctl doctor --json (--doctor FILE).

import argparse
import glob
import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                     r"[0-9a-f]{12}")
LOGTIME_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)\s")
GATE_ALERTS = ("gate_opened", "panic_integrity_failure", "stage_failed",
               "crash_loop", "panic_voice_contract_drift",
               "panic_dzine_ui_failure", "panic_preflight_no_go")
VOICE_EVENTS = ("render_started", "render_done", "render_skipped",
                "render_rejected", "timeline_written",
                "voice_contract_drift", "render_paid_again")
# (pattern, fixed action): group "act" the action when not fixed, group
# "nonce" the first 8 hex digits of the gate decided when named.
DECISION_PATTERNS = (
    (re.compile(r"operator said (?P<act>approve|refetch|abort)"), None),
    (re.compile(r"aborted by the operator"), "abort"),
    (re.compile(r"operator asked for a refetch"), "refetch"),
    (re.compile(r'the store recorded "(?P<act>approve|refetch|abort)" for '
                r"gate (?P<nonce>[0-9a-f]{8})"), None),
    (re.compile(r"operator decided gate (?P<nonce>[0-9a-f]{8}) .*: "
                r"(?P<act>approve|refetch|abort)"), None),
)
GATE_PATTERNS = (
    re.compile(r"waits for the operator"),
    re.compile(r"gate opened", re.I),
    re.compile(r"ALERT (" + "|".join(GATE_ALERTS) + r")\b"),
)
GATE_NONCE_RE = re.compile(r"\(gate (?P<nonce>[0-9a-f]{8})\)")
SLACK = 0.005
EVENTS_SQL = ("SELECT event_id, run_id, event_type, reason_key, source, "
              "occurred_at, created_at, payload FROM run_events")           # seconds: both clocks are this host's, in ms


def ts(text):
    """An ISO-8601 time (SQLite text, PostgreSQL json, log prefix) as
    seconds since the epoch; None when empty."""
    if text is None or text == "":
        return None
    if isinstance(text, (int, float)):
        return float(text)
    t = text.strip().replace(" ", "T")
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    m = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?([+-]\d\d(?::?\d\d)?)?$", t)
    if not m:
        return None
    frac = (m.group(2) or ".0")[:7]
    tz = m.group(3) or "+00:00"
    if re.match(r"^[+-]\d\d$", tz):
        tz += ":00"
    d = datetime.fromisoformat(m.group(1) + frac + tz)
    return d.astimezone(timezone.utc).timestamp()


class Store:
    def __init__(self, spec):
        self.spec = spec
        if spec.startswith("sqlite:"):
            self.kind = "sqlite"
            self.path = spec[len("sqlite:"):]
        elif spec == "pg":
            self.kind = "pg"
        else:
            sys.exit("rv_invariants: --store sqlite:PATH or pg")
        self._cols = {}

    def _sqlite(self, sql, write=False):
        if write:
            c = sqlite3.connect(self.path, timeout=30,
                                isolation_level=None)
        else:
            c = sqlite3.connect("file:%s?mode=ro" % self.path, uri=True,
                                timeout=30)
        c.row_factory = sqlite3.Row
        try:
            if write:
                c.executescript(sql)
                return []
            return [dict(r) for r in c.execute(sql)]
        finally:
            c.close()

    def _pg(self, sql, write=False):
        q = sql if write else \
            "SELECT coalesce(json_agg(row_to_json(_t)), '[]') FROM (%s) _t" \
            % sql
        p = subprocess.run(["psql", "-X", "-q", "-A", "-t",
                            "-v", "ON_ERROR_STOP=1", "-c", q],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("psql: " + p.stderr.strip())
        return [] if write else json.loads(p.stdout.strip() or "[]")

    def query(self, sql):
        return self._sqlite(sql) if self.kind == "sqlite" else \
            self._pg(sql)

    def execute(self, sql):
        return self._sqlite(sql, True) if self.kind == "sqlite" else \
            self._pg(sql, True)

    def snapshot(self):
        """runs, events, ledger and audit (None when not installed), all
        from one consistent read of the store."""
        audit = "rvt_audit" in self.tables()
        if self.kind == "sqlite":
            c = sqlite3.connect("file:%s?mode=ro" % self.path, uri=True,
                                timeout=30, isolation_level=None)
            c.row_factory = sqlite3.Row
            try:
                c.execute("BEGIN")
                out = [[dict(r) for r in c.execute(q)] for q in (
                    "SELECT * FROM pipeline_runs", EVENTS_SQL,
                    "SELECT * FROM credit_ledger")]
                out.append([dict(r) for r in c.execute(
                    "SELECT * FROM rvt_audit ORDER BY seq")]
                           if audit else None)
                c.execute("COMMIT")
            finally:
                c.close()
            return out
        q = ("SELECT json_build_object("
             "'runs', (SELECT coalesce(json_agg(row_to_json(p)), '[]') "
             "FROM pipeline_runs p), "
             "'events', (SELECT coalesce(json_agg(row_to_json(e)), '[]') "
             "FROM (%s) e), "
             "'ledger', (SELECT coalesce(json_agg(row_to_json(l)), '[]') "
             "FROM credit_ledger l)%s)" % (
                 EVENTS_SQL, ", 'audit', (SELECT coalesce(json_agg("
                 "row_to_json(a) ORDER BY a.seq), '[]') FROM rvt_audit a)"
                 if audit else ""))
        p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v",
                            "ON_ERROR_STOP=1", "-c", q],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("psql: " + p.stderr.strip())
        j = json.loads(p.stdout.strip())
        return [j["runs"], j["events"], j["ledger"],
                j["audit"] if audit else None]

    def tables(self):
        if self.kind == "sqlite":
            return {r["name"] for r in self.query(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {r["name"] for r in self.query(
            "SELECT table_name AS name FROM information_schema.tables "
            "WHERE table_schema = 'public'")}

    def columns(self, table):
        if table not in self._cols:
            if self.kind == "sqlite":
                rows = self.query("PRAGMA table_info(%s)" % table)
                self._cols[table] = {r["name"] for r in rows}
            else:
                rows = self.query("SELECT column_name AS name FROM "
                                  "information_schema.columns WHERE "
                                  "table_schema = 'public' AND "
                                  "table_name = '%s'" % table)
                self._cols[table] = {r["name"] for r in rows}
        return self._cols[table]


# ------------------------------------------------------------ audit

RUN_WATCH = ("lease_epoch", "lock_token", "worker_id", "status",
             "worker_state", "gate_nonce", "decided_nonce", "gate_decision",
             "fenced_epoch")


def audit_sqlite(st):
    runs = st.columns("pipeline_runs")
    evs = st.columns("run_events")
    led = st.columns("credit_ledger")

    def col(name, have, alias="NEW"):
        return "%s.%s" % (alias, name) if name in have else "NULL"
    watch = " OR ".join("NEW.%s IS NOT OLD.%s" % (c, c) for c in RUN_WATCH
                        if c in runs)
    run_vals = ("'run', NEW.run_id, NEW.lease_epoch, NEW.worker_id, "
                "NEW.lock_token, NEW.status, NEW.worker_state, "
                "NEW.gate_nonce, %s, %s, %s" % (
                    col("decided_nonce", runs), col("gate_decision", runs),
                    col("fenced_epoch", runs)))
    run_cols = ("kind, run_id, epoch, worker, token, status, wstate, "
                "gate_nonce, decided, decision, fenced")
    fen_now = ("(SELECT fenced_epoch FROM pipeline_runs WHERE run_id = "
               "NEW.run_id)" if "fenced_epoch" in runs else "NULL")
    ep_now = "(SELECT lease_epoch FROM pipeline_runs WHERE run_id = " \
        "NEW.run_id)"
    if "lease_epoch" in evs:
        ev_ep = ("CASE WHEN coalesce(NEW.lease_epoch, 0) > 0 THEN "
                 "NEW.lease_epoch ELSE json_extract(NEW.payload, "
                 "'$.lease_epoch') END")
    else:
        ev_ep = "json_extract(NEW.payload, '$.lease_epoch')"
    att = col("attempts", led)
    sql = """
CREATE TABLE IF NOT EXISTS rvt_audit (
 seq INTEGER PRIMARY KEY AUTOINCREMENT,
 at TEXT NOT NULL DEFAULT (strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now')),
 kind TEXT NOT NULL, run_id TEXT, epoch INTEGER, worker TEXT, token TEXT,
 status TEXT, wstate TEXT, gate_nonce TEXT, decided TEXT, decision TEXT,
 fenced INTEGER, ev_id TEXT, ev_type TEXT, ev_source TEXT, ev_epoch INTEGER,
 run_epoch INTEGER, run_fenced INTEGER, lkey TEXT, lstate TEXT,
 attempts INTEGER);
DROP TRIGGER IF EXISTS rvt_runs_ins;
DROP TRIGGER IF EXISTS rvt_runs_upd;
DROP TRIGGER IF EXISTS rvt_events_ins;
DROP TRIGGER IF EXISTS rvt_ledger_ins;
DROP TRIGGER IF EXISTS rvt_ledger_upd;
CREATE TRIGGER rvt_runs_ins AFTER INSERT ON pipeline_runs BEGIN
 INSERT INTO rvt_audit (%(run_cols)s) VALUES (%(run_vals)s); END;
CREATE TRIGGER rvt_runs_upd AFTER UPDATE ON pipeline_runs WHEN %(watch)s
 BEGIN INSERT INTO rvt_audit (%(run_cols)s) VALUES (%(run_vals)s); END;
CREATE TRIGGER rvt_events_ins AFTER INSERT ON run_events BEGIN
 INSERT INTO rvt_audit (kind, run_id, ev_id, ev_type, ev_source, ev_epoch,
  run_epoch, run_fenced)
 VALUES ('event', NEW.run_id, NEW.event_id, NEW.event_type, NEW.source,
  %(ev_ep)s, %(ep_now)s, %(fen_now)s); END;
CREATE TRIGGER rvt_ledger_ins AFTER INSERT ON credit_ledger BEGIN
 INSERT INTO rvt_audit (kind, run_id, lkey, lstate, epoch, attempts,
  run_epoch, run_fenced)
 VALUES ('ledger', NEW.run_id, NEW.key, NEW.state, NEW.lease_epoch, %(att)s,
  %(ep_now)s, %(fen_now)s); END;
CREATE TRIGGER rvt_ledger_upd AFTER UPDATE ON credit_ledger BEGIN
 INSERT INTO rvt_audit (kind, run_id, lkey, lstate, epoch, attempts,
  run_epoch, run_fenced)
 VALUES ('ledger_upd', NEW.run_id, NEW.key, NEW.state,
  CASE WHEN NEW.lease_epoch IS NOT OLD.lease_epoch THEN NEW.lease_epoch
  END, %(att)s, %(ep_now)s, %(fen_now)s); END;
INSERT INTO rvt_audit (%(run_cols2)s)
 SELECT %(run_vals2)s FROM pipeline_runs;
""" % {"run_cols": run_cols, "run_vals": run_vals, "watch": watch,
        "ev_ep": ev_ep, "ep_now": ep_now, "fen_now": fen_now, "att": att,
        "run_cols2": run_cols,
        "run_vals2": run_vals.replace("NEW.", "pipeline_runs.")}
    st.execute(sql)


AUDIT_PG = r"""
CREATE TABLE IF NOT EXISTS public.rvt_audit (
 seq bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp(),
 kind text NOT NULL, run_id text, epoch bigint, worker text, token text,
 status text, wstate text, gate_nonce text, decided text, decision text,
 fenced bigint, ev_id text, ev_type text, ev_source text, ev_epoch bigint,
 run_epoch bigint, run_fenced bigint, lkey text, lstate text,
 attempts integer);
CREATE OR REPLACE FUNCTION public.rvt_runs() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE n jsonb := to_jsonb(NEW); o jsonb;
BEGIN
	IF TG_OP = 'UPDATE' THEN
		o := to_jsonb(OLD);
		IF n->'lease_epoch' IS NOT DISTINCT FROM o->'lease_epoch'
		    AND n->'lock_token' IS NOT DISTINCT FROM o->'lock_token'
		    AND n->'worker_id' IS NOT DISTINCT FROM o->'worker_id'
		    AND n->'status' IS NOT DISTINCT FROM o->'status'
		    AND n->'worker_state' IS NOT DISTINCT FROM o->'worker_state'
		    AND n->'gate_nonce' IS NOT DISTINCT FROM o->'gate_nonce'
		    AND n->'decided_nonce' IS NOT DISTINCT FROM o->'decided_nonce'
		    AND n->'gate_decision' IS NOT DISTINCT FROM o->'gate_decision'
		    AND n->'fenced_epoch' IS NOT DISTINCT FROM o->'fenced_epoch'
		THEN
			RETURN NULL;
		END IF;
	END IF;
	INSERT INTO rvt_audit (kind, run_id, epoch, worker, token, status,
	    wstate, gate_nonce, decided, decision, fenced)
	VALUES ('run', n->>'run_id', (n->>'lease_epoch')::bigint,
	    n->>'worker_id', n->>'lock_token', n->>'status',
	    n->>'worker_state', n->>'gate_nonce', n->>'decided_nonce',
	    n->>'gate_decision', (n->>'fenced_epoch')::bigint);
	RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION public.rvt_events() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE n jsonb := to_jsonb(NEW); r jsonb;
BEGIN
	SELECT to_jsonb(p) INTO r FROM pipeline_runs p
	WHERE p.run_id::text = n->>'run_id';
	INSERT INTO rvt_audit (kind, run_id, ev_id, ev_type, ev_source,
	    ev_epoch, run_epoch, run_fenced)
	VALUES ('event', n->>'run_id', n->>'event_id', n->>'event_type',
	    n->>'source', CASE WHEN coalesce((n->>'lease_epoch')::bigint, 0) > 0
	    THEN (n->>'lease_epoch')::bigint
	    ELSE (n->'payload'->>'lease_epoch')::bigint END,
	    (r->>'lease_epoch')::bigint, (r->>'fenced_epoch')::bigint);
	RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION public.rvt_ledger() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE n jsonb := to_jsonb(NEW); r jsonb; ep bigint;
BEGIN
	SELECT to_jsonb(p) INTO r FROM pipeline_runs p
	WHERE p.run_id::text = n->>'run_id';
	ep := (n->>'lease_epoch')::bigint;
	IF TG_OP = 'UPDATE' AND OLD.lease_epoch IS NOT DISTINCT FROM
	    NEW.lease_epoch THEN
		ep := NULL;
	END IF;
	INSERT INTO rvt_audit (kind, run_id, lkey, lstate, epoch, attempts,
	    run_epoch, run_fenced)
	VALUES (CASE TG_OP WHEN 'INSERT' THEN 'ledger' ELSE 'ledger_upd' END,
	    n->>'run_id', n->>'key', n->>'state', ep,
	    (n->>'attempts')::integer, (r->>'lease_epoch')::bigint,
	    (r->>'fenced_epoch')::bigint);
	RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS rvt_runs ON public.pipeline_runs;
DROP TRIGGER IF EXISTS rvt_events ON public.run_events;
DROP TRIGGER IF EXISTS rvt_ledger ON public.credit_ledger;
CREATE TRIGGER rvt_runs AFTER INSERT OR UPDATE ON public.pipeline_runs
    FOR EACH ROW EXECUTE FUNCTION public.rvt_runs();
CREATE TRIGGER rvt_events AFTER INSERT ON public.run_events
    FOR EACH ROW EXECUTE FUNCTION public.rvt_events();
CREATE TRIGGER rvt_ledger AFTER INSERT OR UPDATE ON public.credit_ledger
    FOR EACH ROW EXECUTE FUNCTION public.rvt_ledger();
INSERT INTO public.rvt_audit (kind, run_id, epoch, worker, token, status,
    wstate, gate_nonce, decided, decision, fenced)
SELECT 'run', j->>'run_id', (j->>'lease_epoch')::bigint, j->>'worker_id',
    j->>'lock_token', j->>'status', j->>'worker_state', j->>'gate_nonce',
    j->>'decided_nonce', j->>'gate_decision', (j->>'fenced_epoch')::bigint
FROM (SELECT to_jsonb(p) AS j FROM public.pipeline_runs p) s;
"""


def audit_install(st):
    if st.kind == "sqlite":
        audit_sqlite(st)
    else:
        st.execute(AUDIT_PG)


# ------------------------------------------------------------ the facts

class Facts:
    """Everything the checks look at.  The files (logs, alerts, audio,
    evidence) are read before the store, in one snapshot: whatever a log
    line claims was written before that snapshot, so the store must hold
    it by then."""

    def __init__(self, st, states, logs, conflicts, doctor):
        self.st = st
        self.states = states
        self.conflicts = set(conflicts)
        self.logs = []          # (time, file, line)
        seen = set()
        for f in logs:
            try:
                with open(f, errors="replace") as fp:
                    for line in fp:
                        if line in seen:        # sup.log and rvsup.log
                            continue
                        seen.add(line)
                        m = LOGTIME_RE.match(line)
                        self.logs.append((ts(m.group(1)) if m else None, f,
                                          line.rstrip("\n")))
            except OSError:
                pass
        self.alerts = []
        self.audio = []         # (path, mtime)
        for s in states:
            try:
                with open(os.path.join(s, "logs", "alerts.log"),
                          errors="replace") as fp:
                    self.alerts += fp.read().splitlines()
            except OSError:
                pass
            for a in glob.glob(os.path.join(s, "audio", "A_*")):
                try:
                    self.audio.append((a, os.stat(a).st_mtime))
                except OSError:
                    pass
            for ev in glob.glob(os.path.join(s, "evidence", "*.json")):
                try:
                    with open(ev) as fp:
                        j = json.load(fp)
                except (OSError, ValueError):
                    continue
                if j.get("conflicts"):
                    self.conflicts.add(j.get("video_id"))
        self.doctor = None
        if doctor:
            try:
                with open(doctor) as fp:
                    self.doctor = json.load(fp)
            except (OSError, ValueError):
                self.doctor = {}
        self.runs, self.events, self.ledger, self.audit = st.snapshot()
        for r in self.runs:
            for k in list(r):
                if r[k] is not None and not isinstance(r[k],
                                                       (int, float, str)):
                    r[k] = str(r[k]) if not isinstance(r[k], dict) else r[k]
        self.by_id = {str(r["run_id"]): r for r in self.runs}
        self.by_vid = {r["video_id"]: str(r["run_id"]) for r in self.runs}
        for e in self.events:
            e["run_id"] = str(e["run_id"]) if e["run_id"] else None
            p = e.get("payload")
            if isinstance(p, str):
                try:
                    e["payload"] = json.loads(p)
                except ValueError:
                    e["payload"] = {}
            if not isinstance(e["payload"], dict):
                e["payload"] = {}

    def ev_of(self, rid, types=None):
        return [e for e in self.events if e["run_id"] == rid and
                (types is None or e["event_type"] in types)]

    def audit_runs(self, rid):
        return [a for a in (self.audit or []) if a["kind"] == "run" and
                str(a["run_id"]) == rid]

    def gates(self, rid):
        """nonce -> first time the store held it."""
        g = {}
        for a in self.audit_runs(rid):
            if a["gate_nonce"]:
                g.setdefault(str(a["gate_nonce"]), ts(a["at"]))
        r = self.by_id.get(rid, {})
        if r.get("gate_nonce"):
            g.setdefault(str(r["gate_nonce"]), None)
        for e in self.ev_of(rid, ("gate_opened",)):
            n = e["payload"].get("nonce") or e["payload"].get("gate_nonce")
            if n:
                g.setdefault(str(n), ts(e["created_at"]))
        return g

    def gate_times(self, rid):
        """Times at which the store recorded a gate of the run."""
        t = [a_t for a_t in self.gates(rid).values() if a_t is not None]
        t += [ts(e["created_at"]) for e in self.ev_of(rid,
                                                       ("gate_opened",))]
        return sorted(x for x in t if x is not None)

    def decisions(self, rid, action=None, need_gate=True):
        """[(time, nonce)] of decisions recorded for the run."""
        gates = self.gates(rid)
        out = []

        def gate_match(n):
            if not n:
                return None
            n = str(n).lower()
            for g in gates:
                if g.lower() == n or (len(n) == 8 and g.lower().startswith(n)):
                    return g
            return None
        seen_dec = set()
        for a in self.audit_runs(rid):
            d = a.get("decision") or ""
            dn = a.get("decided")
            if not dn or (action and not d.startswith(action)):
                continue
            if (dn, d) in seen_dec:
                continue
            seen_dec.add((dn, d))
            g = gate_match(dn)
            if g or not need_gate:
                out.append((ts(a["at"]), g or dn))
        for e in self.ev_of(rid, ("operator_action",)):
            p = e["payload"]
            if action and p.get("action") != action:
                continue
            if p.get("result", "applied") != "applied":
                continue
            g = gate_match(p.get("nonce"))
            if g or not need_gate:
                out.append((ts(e["created_at"]), g))
        return out

    def run_of_line(self, line):
        for u in UUID_RE.findall(line):
            if u in self.by_id:
                return u
        for vid, rid in self.by_vid.items():
            if re.search(r"(?<![A-Za-z0-9-])%s(?![A-Za-z0-9-])" %
                         re.escape(vid), line):
                return rid
        for u in re.findall(r"run=([0-9a-f]{8})\b", line):
            for rid in self.by_id:
                if rid.startswith(u):
                    return rid
        return None


# ------------------------------------------------------------ the checks

class Report:
    def __init__(self):
        self.failed = 0

    def ok(self, name, msg):
        print("ok   %s: %s" % (name, msg))

    def fail(self, name, msg):
        self.failed += 1
        print("FAIL %s: %s" % (name, msg))


def voice_signs(f, rid):
    """(reached, first time or None, what)."""
    r = f.by_id[rid]
    vid = r["video_id"]
    first, what = None, []
    for a, t in f.audio:
        if os.path.basename(a).startswith("A_%s_" % rid):
            what.append("audio " + os.path.basename(a))
            first = t if first is None else min(first, t)
    for e in f.ev_of(rid, VOICE_EVENTS):
        t = ts(e["occurred_at"]) or ts(e["created_at"])
        what.append("event " + e["event_type"])
        if t is not None:
            first = t if first is None else min(first, t)
    pat = re.compile(r"stage (voice|render|probe|timeline) dispatched")
    for t, _, line in f.logs:
        if pat.search(line) and f.run_of_line(line) == rid:
            what.append("log: " + line.split(": ", 1)[-1][:80])
            if t is not None:
                first = t if first is None else min(first, t)
    if r["status"] == "done":
        what.append("status done")
    del vid
    return bool(what), first, what


def check_conflict_gate(f, rep):
    name = "conflict_gate"
    n = 0
    for rid, r in f.by_id.items():
        if r["video_id"] not in f.conflicts:
            continue
        n += 1
        reached, first, what = voice_signs(f, rid)
        if not reached:
            continue
        dec = [t for t, g in f.decisions(rid, "approve") if g is not None]
        good = [t for t in dec if t is None or first is None or
                t <= first + SLACK]
        if not good:
            rep.fail(name, "%s reached voice (%s) without an operator "
                     "approve recorded for one of its gates %s before it "
                     "(decisions: %s)" % (
                         r["video_id"], "; ".join(what[:3]),
                         sorted(f.gates(rid)) or "none",
                         f.decisions(rid, None, False) or "none"))
            return
    rep.ok(name, "%d conflicting run(s): none reached voice without a "
           "recorded decision for its gate" % n)


def check_ledger_once(f, rep):
    name = "ledger_once"
    bad = []
    if f.audit is not None:
        done = set()
        for a in f.audit:
            if a["kind"] not in ("ledger", "ledger_upd"):
                continue
            if a["lkey"] in done and a["lstate"] != "done":
                bad.append("key %s left done for %s" % (a["lkey"],
                                                        a["lstate"]))
            if a["lstate"] == "done":
                done.add(a["lkey"])
    for rid in f.by_id:
        first_done = {}
        for e in f.ev_of(rid, ("render_done",)):
            k = (e["payload"].get("segment_id"), e["payload"].get("sha8"))
            t = ts(e["occurred_at"])
            if t is not None and (k not in first_done or t < first_done[k]):
                first_done[k] = t
        for e in f.ev_of(rid, ("render_started",)):
            k = (e["payload"].get("segment_id"), e["payload"].get("sha8"))
            t = ts(e["occurred_at"])
            if k in first_done and t is not None and \
                    t > first_done[k] + SLACK:
                bad.append("%s:%s:%s rendered again after its render_done"
                           % (rid, k[0], k[1]))
        if f.by_id[rid]["status"] == "done":
            for l in f.ledger:
                if str(l["run_id"]) == rid and l["state"] != "done":
                    bad.append("done run %s has ledger row %s in state %s"
                               % (f.by_id[rid]["video_id"], l["key"],
                                  l["state"]))
    if bad:
        rep.fail(name, "; ".join(bad[:4]))
    else:
        rep.ok(name, "%d ledger key(s), none paid twice, none failed in "
               "a done run" % len(f.ledger))


def check_epoch_fence(f, rep):
    name = "epoch_fence"
    if f.audit is None:
        rep.fail(name, "no audit table: audit-install was not run")
        return
    held = set()
    workers = set()
    bad = []
    nev = 0
    for a in f.audit:
        if a["kind"] == "run":
            if a["token"] and a["worker"]:
                held.add((str(a["run_id"]), a["epoch"], a["worker"]))
                workers.add(a["worker"])
            continue
        if a["kind"] == "event":
            if not a["run_id"] or not a["ev_epoch"]:
                continue
            nev += 1
            e, now, fen = a["ev_epoch"], a["run_epoch"], a["run_fenced"]
            if now is not None and e != now:
                bad.append("event %s (%s) of epoch %s stored while the "
                           "run was at epoch %s" % (a["ev_type"],
                                                    a["ev_id"][:8], e, now))
            elif fen is not None and e <= fen:
                bad.append("event %s (%s) of epoch %s stored after an "
                           "operator fenced epoch %s" % (
                               a["ev_type"], a["ev_id"][:8], e, fen))
            src = a["ev_source"]
            if src in workers and (str(a["run_id"]), e, src) not in held:
                bad.append("event %s from %s carries epoch %s, which %s "
                           "never held" % (a["ev_type"], src, e, src))
        elif a["kind"] in ("ledger", "ledger_upd"):
            if a["epoch"] is None:
                continue
            nev += 1
            if a["run_epoch"] is not None and a["epoch"] != a["run_epoch"]:
                bad.append("ledger %s written with epoch %s while the run "
                           "was at epoch %s" % (a["lkey"], a["epoch"],
                                                a["run_epoch"]))
            elif a["run_fenced"] is not None and \
                    a["epoch"] <= a["run_fenced"]:
                bad.append("ledger %s written with fenced epoch %s" %
                           (a["lkey"], a["epoch"]))
    if bad:
        rep.fail(name, "; ".join(bad[:4]) +
                 (" (+%d more)" % (len(bad) - 4) if len(bad) > 4 else ""))
    else:
        rep.ok(name, "%d run-scoped writes, all of the run's current "
               "epoch, held by their writer" % nev)


def check_claims(f, rep):
    name = "claims"
    bad = []
    n = 0
    for t, fn, line in f.logs:
        for pat, fixed in DECISION_PATTERNS:
            m = pat.search(line)
            if not m:
                continue
            n += 1
            act = fixed or m.group("act")
            nonce = m.groupdict().get("nonce")
            rid = f.run_of_line(line)
            rids = [rid] if rid else list(f.by_id)
            ok = any((dt is None or t is None or dt <= t + SLACK) and
                     (nonce is None or str(g or "").startswith(nonce))
                     for r in rids
                     for dt, g in f.decisions(r, act, need_gate=False))
            if not ok:
                bad.append("%s: \"%s\" but the store holds no %s decision"
                           "%s for that run" % (
                               os.path.basename(fn), line[:140], act,
                               " of gate " + nonce if nonce else ""))
        if any(p.search(line) for p in GATE_PATTERNS):
            n += 1
            rid = f.run_of_line(line)
            rids = [rid] if rid else list(f.by_id)
            m = GATE_NONCE_RE.search(line)
            if m:
                ok = any(g.startswith(m.group("nonce")) and
                         (gt is None or t is None or gt <= t + SLACK)
                         for r in rids for g, gt in f.gates(r).items())
            else:
                ok = any(gt <= t + SLACK if t is not None else True
                         for r in rids for gt in f.gate_times(r))
            if not ok:
                bad.append("%s: \"%s\" but the store held no %s for that"
                           " run then" % (os.path.basename(fn), line[:140],
                                          "gate " + m.group("nonce") if m
                                          else "gate"))
    for line in f.alerts:
        p = line.split()
        if len(p) < 3 or not p[2].startswith(GATE_ALERTS):
            continue
        n += 1
        t = ts(p[0])
        rid = f.run_of_line(line)
        rids = [rid] if rid else list(f.by_id)
        if not any(t is None or gt <= t + SLACK
                   for r in rids for gt in f.gate_times(r)):
            bad.append("alerts.log: \"%s\" but the store held no gate "
                       "for that run then" % line[:140])
    for e in f.events:
        if e["event_type"] != "alert" or not e["run_id"]:
            continue
        p = e["payload"]
        if not (p.get("buttons") is True or
                str(p.get("alert", "")).startswith(GATE_ALERTS)):
            continue
        n += 1
        t = ts(e["occurred_at"])
        gn = str(p.get("gate_nonce") or "")
        if gn:
            g = f.gates(e["run_id"])
            if gn not in g or (g[gn] is not None and t is not None and
                               g[gn] > t + SLACK):
                bad.append("alert event %s (%s) names gate %s, which the "
                           "store did not hold then" % (
                               p.get("alert"), e["event_id"][:8], gn[:8]))
        elif not any(t is None or gt <= t + SLACK
                     for gt in f.gate_times(e["run_id"])):
            bad.append("alert event %s (%s) claims a gate the store did "
                       "not hold then" % (p.get("alert"), e["event_id"][:8]))
    if bad:
        rep.fail(name, "; ".join(bad[:3]) +
                 (" (+%d more)" % (len(bad) - 3) if len(bad) > 3 else ""))
    else:
        rep.ok(name, "%d decision/gate claims in logs and alerts, each held "
               "by the store" % n)


def check_run_end(f, rep):
    name = "run_end"
    bad = []
    acts = []
    if f.doctor is not None:
        acts = [str(a) for a in (f.doctor.get("next_actions") or [])]
    for rid, r in f.by_id.items():
        s = r["status"]
        if s in ("done", "aborted"):
            continue
        if s == "waiting_approval":
            if "gate_nonce" in r and not r.get("gate_nonce"):
                bad.append("%s waits for approval without a gate nonce" %
                           r["video_id"])
                continue
            if f.doctor is None:
                bad.append("%s is gated (no doctor output to check)" %
                           r["video_id"])
                continue
            if not any((r["video_id"] in a or rid[:8] in a) and
                       re.search(r"approve|abort|refetch", a)
                       for a in acts):
                bad.append("%s is gated but rvctl doctor names no next "
                           "action for it (%s)" % (r["video_id"],
                                                   acts or "none"))
            continue
        bad.append("%s ended %s (worker_state %s)" % (
            r["video_id"], s, r.get("worker_state")))
    if bad:
        rep.fail(name, "; ".join(bad))
    else:
        rep.ok(name, "%d run(s): %s" % (len(f.runs), ", ".join(
            "%s %s" % (r["video_id"], r["status"]) for r in f.runs)))


CHECKS = {
    "conflict_gate": check_conflict_gate,
    "ledger_once": check_ledger_once,
    "epoch_fence": check_epoch_fence,
    "claims": check_claims,
    "run_end": check_run_end,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=("audit-install", "check"))
    ap.add_argument("--store", required=True)
    ap.add_argument("--state", action="append", default=[])
    ap.add_argument("--log", action="append", default=[])
    ap.add_argument("--conflict", action="append", default=[])
    ap.add_argument("--doctor")
    ap.add_argument("--checks", default="")
    ap.add_argument("--final", action="store_true")
    a = ap.parse_args()
    st = Store(a.store)
    if a.cmd == "audit-install":
        audit_install(st)
        return 0
    f = Facts(st, a.state, a.log, a.conflict, a.doctor)
    rep = Report()
    names = [c for c in a.checks.split(",") if c] or \
        ["conflict_gate", "ledger_once", "epoch_fence", "claims"] + \
        (["run_end"] if a.final else [])
    for c in names:
        CHECKS[c](f, rep)
    return 1 if rep.failed else 0


if __name__ == "__main__":
    sys.exit(main())
