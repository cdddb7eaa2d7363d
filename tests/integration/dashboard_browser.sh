#!/bin/sh
# rvctl dashboard in a real headless Chromium (/usr/lib/chromium/chromium,
# driven by playwright-core from tests/dashboard, pinned by its lock
# file): two copies of the conflicting sample, the first with a third,
# lower-tier source whose claims are HTML (<img src=x onerror=alert(1)>).
# tests/dashboard/browser.mjs logs in with the printed URL, reads the
# diff (both voltages raw and normalised, as the evidence file has them,
# the row marked as a critical conflict, Approve after the diff in
# document order), checks the hostile values are text (no dialog, no img
# element) on the run page and the evidence page, screenshots /, the
# gated run page and /incidents at 1280x800 and 390x844 (no horizontal
# scroll at 390), opens Abort's confirm page and leaves it (nothing
# changes), sees `rvctl abort` from another process change the open
# page's status within 2 s without a reload, then approves the second run
# from its page and sees it resume on an open page without a reload.  The
# store records the approval as dashboard:<operator>.
# Screenshots: $RV_TEST_ARTEFACTS/dashboard_browser/ (tests/run sets
# RV_TEST_ARTEFACTS to $BUILD/test-artefacts; kept after the run).
. tests/integration/lib.sh
CHROMIUM=/usr/lib/chromium/chromium
NODE_DIR="$ROOT/tests/dashboard"
if [ ! -x "$CHROMIUM" ]; then
	echo "SKIP: chromium not installed ($CHROMIUM)"
	exit 0
fi
if ! command -v node >/dev/null 2>&1 ||
    [ ! -d "$NODE_DIR/node_modules/playwright-core" ]; then
	# CI bootstraps them: there a missing one is a failure, not a skip.
	[ "${CI:-}" = true ] &&
	    fail "node or tests/dashboard/node_modules missing under CI" && finish
	echo "SKIP: node or tests/dashboard/node_modules missing (scripts/bootstrap installs them)"
	exit 0
fi
ART=${RV_TEST_ARTEFACTS:-$ROOT/$BUILD/test-artefacts}/dashboard_browser
rm -rf "$ART" && mkdir -p "$ART" || fail "cannot make $ART"
DASH_PID=""
NODE_PID=""
# Chromium's profile and its helpers live under $T/tmp: what is left of
# them after a failure is found by that path, never by name.
mkdir -p "$T/tmp"
stop_browser() {
	[ -n "$NODE_PID" ] && kill -9 "$NODE_PID" 2>/dev/null
	for p in $(pgrep -f -- "--user-data-dir=$T/tmp/" 2>/dev/null); do
		kill -9 "$p" 2>/dev/null
	done
	[ -n "$DASH_PID" ] && kill "$DASH_PID" 2>/dev/null
}
at_exit stop_browser

# Run A: the sample plus a tier 3 page with HTML for claims.
cp -r "$ROOT/examples/ray-conflict" "$T/a"
cp "$ROOT/tests/dashboard/data/hostile.html" "$T/a/pages/hostile.html"
python3 - "$T/a/run.json" <<'PY'
import json, sys
p = sys.argv[1]
j = json.load(open(p))
j["video_id"] = "RAY-DASH-A"
j["sources"].append({"path": "pages/hostile.html", "tier": 3})
json.dump(j, open(p, "w"), indent=1)
PY
cp -r "$ROOT/examples/ray-conflict" "$T/b"
python3 - "$T/b/run.json" <<'PY'
import json, sys
p = sys.argv[1]
j = json.load(open(p))
j["video_id"] = "RAY-DASH-B"
json.dump(j, open(p, "w"), indent=1)
PY
ctl enqueue "$T/a/run.json" >/dev/null || fail "enqueue A"
ctl enqueue "$T/b/run.json" >/dev/null || fail "enqueue B"
start_sup
wait_for 60 status_is RAY-DASH-A waiting_approval && ok "run A gated" ||
    fail "run A: $(run_status RAY-DASH-A)"
RUN_A=$(run_id_of RAY-DASH-A)
RUN_B=$(run_id_of RAY-DASH-B)

"$BIN/rvctl" dashboard --listen 127.0.0.1:0 --operator night-op >"$T/dash.out" 2>"$T/dash.err" &
DASH_PID=$!
dash_up() { [ -s "$T/dash.out" ]; }
wait_for 10 dash_up || fail "no login URL: $(cat "$T/dash.err")"
LOGIN=$(head -1 "$T/dash.out")
echo "$LOGIN" | grep -Eq '^http://127\.0\.0\.1:[0-9]+/login\?token=[0-9a-f]{64}$' &&
    ok "dashboard prints its login URL" || fail "first line: $LOGIN"

TMPDIR="$T/tmp" DASH_LOGIN="$LOGIN" RUN_A="$RUN_A" RUN_B="$RUN_B" \
    EVIDENCE_A="$RAYVAULT_STATE_DIR/evidence/$RUN_A.json" ART="$ART" \
    RVCTL="$BIN/rvctl" CHROMIUM="$CHROMIUM" RV_TEST_PATIENCE="$RV_TEST_PATIENCE" \
    node "$NODE_DIR/browser.mjs" >"$T/node.out" 2>"$T/node.err" &
NODE_PID=$!
wait "$NODE_PID"
rc=$?
NODE_PID=""
cat "$T/node.out"
[ $rc -eq 0 ] || fail "browser.mjs exit $rc: $(tail -20 "$T/node.err")"
FAILS=$((FAILS + $(grep -c '^FAIL' "$T/node.out")))

# What the browser did, seen from the store and the disk
[ "$(run_status RAY-DASH-A)" = aborted ] && ok "run A aborted (rvctl)" || fail "run A: $(run_status RAY-DASH-A)"
ctl events --run "$RUN_B" --json | json '[e["payload"].get("operator") for e in j if e["event_type"] == "operator_action"]' |
    grep -q '"dashboard:night-op"' && ok "the approval is recorded as dashboard:night-op" ||
    fail "events of B: $(ctl events --run "$RUN_B" --json | json '[e["event_type"] for e in j]')"
wait_for 60 status_is RAY-DASH-B done && ok "approved run B completes" || fail "run B: $(run_status RAY-DASH-B)"
n=0
for page in overview run incidents; do
	for size in 1280x800 390x844; do
		f="$ART/$page-$size.png"
		[ -s "$f" ] && [ "$(od -An -N4 -tx1 "$f" | tr -d ' \n')" = 89504e47 ] && n=$((n + 1))
	done
done
[ $n -eq 6 ] && ok "6 screenshots (PNG) in $ART" || fail "screenshots: $n of 6 in $ART: $(ls "$ART")"
grep -rlF "$(echo "$LOGIN" | sed 's/.*token=//')" "$T/node.out" "$T/node.err" "$T/dash.err" "$RAYVAULT_STATE_DIR/logs" 2>/dev/null | grep -q . &&
    fail "the login token was logged" || ok "the login token is in no log"
browser_gone() { ! pgrep -f -- "--user-data-dir=$T/tmp/" >/dev/null 2>&1; }
wait_for 10 browser_gone && ok "no Chromium process left" ||
    fail "Chromium left: $(pgrep -af -- "--user-data-dir=$T/tmp/" | cut -c1-120)"
kill "$DASH_PID" 2>/dev/null
dash_gone() { ! alive "$DASH_PID"; }
wait_for 10 dash_gone && ok "the dashboard stops on SIGTERM" || fail "the dashboard did not stop"
wait "$DASH_PID" 2>/dev/null
DASH_PID=""
finish
