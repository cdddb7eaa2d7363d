#!/bin/sh
# make install-launchd writes the two LaunchAgents from
# contrib/launchd/*.plist.in: valid property lists (Python's plistlib)
# with the keys the Mac needs (absolute ProgramArguments with
# --state-dir, WorkingDirectory the folder with .env, PATH with
# /opt/homebrew/bin and no other variable, RunAtLoad, KeepAlive
# {SuccessfulExit: false}, ThrottleInterval 10, an ExitTimeOut above the
# stop grace plus the last store calls, ProcessType Interactive, log paths
# filled in; the doctor every 300 s), never a secret of the .env, paths
# with XML's special characters escaped.  LAUNCHD_DIR only writes them;
# on macOS (uname and launchctl stand-ins here) they are loaded with
# launchctl bootstrap gui/UID and unloaded with bootout; on Linux the real
# install is refused with the way out.
. tests/integration/lib.sh
W="$T/my work & <co>"
. "$ROOT/tests/lib/service_env.sh"
service_workdir "$W"
service_fake launchctl

inst() {	# inst MAKE-ARGS...: make in the checkout, the stand-ins first
	PATH="$T/fake:$PATH" make -s -C "$ROOT" --no-print-directory "$@"
}
inst install-launchd SERVICE_BINDIR="$BIN" WORKDIR="$W" \
    LAUNCHD_DIR="$T/agents" LOG_DIR="$T/logs" >"$T/inst.out" 2>&1 ||
    fail "install-launchd: $(cat "$T/inst.out")"
[ -f "$T/agents/com.rayvault.rvsup.plist" ] && [ -f "$T/agents/com.rayvault.doctor.plist" ] &&
    ok "both plists written to LAUNCHD_DIR" || fail "plists: $(ls "$T/agents")"
[ ! -e "$T/launchctl.calls" ] && ok "LAUNCHD_DIR: nothing loaded" ||
    fail "launchctl called: $(cat "$T/launchctl.calls")"

check_plists() {	# check_plists DIR STATE: every key and value
	python3 - "$1" "$BIN" "$W" "$2" "$T/logs" "$grace" <<'PY'
import plistlib, sys
d, bindir, work, state, logs, grace = sys.argv[1:7]
def load(name):
    with open("%s/%s" % (d, name), "rb") as f:
        return plistlib.load(f)
bad = []
def want(what, got, exp):
    if got != exp:
        bad.append("%s: %r, want %r" % (what, got, exp))
s = load("com.rayvault.rvsup.plist")
want("Label", s.get("Label"), "com.rayvault.rvsup")
want("ProgramArguments", s.get("ProgramArguments"),
     [bindir + "/rvsup", "start", "--state-dir", state])
want("WorkingDirectory", s.get("WorkingDirectory"), work)
env = s.get("EnvironmentVariables", {})
want("EnvironmentVariables keys", sorted(env), ["PATH"])
if "/opt/homebrew/bin" not in env.get("PATH", "").split(":"):
    bad.append("PATH without /opt/homebrew/bin: %r" % env.get("PATH"))
want("RunAtLoad", s.get("RunAtLoad"), True)
want("KeepAlive", s.get("KeepAlive"), {"SuccessfulExit": False})
want("ThrottleInterval", s.get("ThrottleInterval"), 10)
# the stop grace, 2 s for the children, two store calls of 10 s each
need = int(grace) // 1000 + 2 + 2 * 10
if not isinstance(s.get("ExitTimeOut"), int) or s["ExitTimeOut"] <= need:
    bad.append("ExitTimeOut %r not above %d s" % (s.get("ExitTimeOut"), need))
want("ProcessType", s.get("ProcessType"), "Interactive")
want("StandardOutPath", s.get("StandardOutPath"), logs + "/rvsup.log")
want("StandardErrorPath", s.get("StandardErrorPath"), logs + "/rvsup.log")
for p in s["ProgramArguments"][:1] + [s["WorkingDirectory"],
        s["StandardOutPath"], state]:
    if not p.startswith("/"):
        bad.append("not absolute: " + p)
o = load("com.rayvault.doctor.plist")
want("doctor Label", o.get("Label"), "com.rayvault.doctor")
want("doctor ProgramArguments", o.get("ProgramArguments"),
     [bindir + "/rvctl", "--state-dir", state, "doctor", "--alert"])
want("doctor StartInterval", o.get("StartInterval"), 300)
want("doctor WorkingDirectory", o.get("WorkingDirectory"), work)
want("doctor EnvironmentVariables", o.get("EnvironmentVariables"), env)
want("doctor KeepAlive", o.get("KeepAlive"), None)
want("doctor StandardErrorPath", o.get("StandardErrorPath"), logs + "/doctor.log")
if bad:
    sys.exit("\n".join(bad))
PY
}
out=$(check_plists "$T/agents" "$W/state-here" 2>&1) &&
    ok "plistlib reads both; every key as it should be (state from the .env, not this shell's RAYVAULT_STATE_DIR)" ||
    fail "plists: $out"
grep -q '&amp; &lt;co&gt;' "$T/agents/com.rayvault.rvsup.plist" &&
    ok "the path's & < > escaped for XML" || fail "no XML escapes"
leaked=""
for s in sk-test-7f3a9c1e55d04b2b 123456:test-token-b1d2e3f4 SUPABASE_SERVICE_KEY \
    TELEGRAM_BOT_TOKEN example-project; do
	grep -q -- "$s" "$T/agents"/*.plist "$T/inst.out" && leaked="$leaked $s"
done
[ -z "$leaked" ] && ok "no secret or setting of the .env in the plists" || fail "leaked:$leaked"

# STATE_DIR= wins
inst install-launchd SERVICE_BINDIR="$BIN" WORKDIR="$W" STATE_DIR="$T/elsewhere" \
    LAUNCHD_DIR="$T/agents2" LOG_DIR="$T/logs" >/dev/null 2>&1 &&
    out=$(check_plists "$T/agents2" "$T/elsewhere" 2>&1) &&
    ok "STATE_DIR= names the state directory" || fail "STATE_DIR=: $out"

# bad input changes nothing
inst install-launchd SERVICE_BINDIR=build/bin WORKDIR="$W" \
    LAUNCHD_DIR="$T/agents3" >"$T/bad.out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "SERVICE_BINDIR must be the absolute path" "$T/bad.out" &&
    [ ! -e "$T/agents3" ] && ok "a relative SERVICE_BINDIR is refused, nothing written" ||
    fail "relative SERVICE_BINDIR: rc $rc $(cat "$T/bad.out")"
inst install-launchd SERVICE_BINDIR="$T" WORKDIR="$W" \
    LAUNCHD_DIR="$T/agents3" >"$T/bad.out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "no $T/rvsup: build first" "$T/bad.out" && [ ! -e "$T/agents3" ] &&
    ok "no rvsup in SERVICE_BINDIR: refused, nothing written" ||
    fail "missing rvsup: rc $rc $(cat "$T/bad.out")"
mkdir -p "$T/badenv"
printf 'RAYVAULT_LEASE_MINUTES=0\n' >"$T/badenv/.env"
inst install-launchd SERVICE_BINDIR="$BIN" WORKDIR="$T/badenv" \
    LAUNCHD_DIR="$T/agents3" >"$T/bad.out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "RAYVAULT_LEASE_MINUTES" "$T/bad.out" && [ ! -e "$T/agents3" ] &&
    ok "settings rvsup refuses: the install is refused and says why" ||
    fail "bad .env: rc $rc $(cat "$T/bad.out")"

# on macOS: loaded into the user's GUI domain, unloaded by uninstall
printf '#!/bin/sh\necho Darwin\n' >"$T/fake/uname"
chmod +x "$T/fake/uname"
HOME="$T/home" inst install-launchd SERVICE_BINDIR="$BIN" WORKDIR="$W" \
    LOG_DIR="$T/mac-logs" >"$T/mac.out" 2>&1 || fail "Darwin install: $(cat "$T/mac.out")"
uid=$(id -u)
A="$T/home/Library/LaunchAgents"
for l in rvsup doctor; do
	printf 'launchctl bootout gui/%s/com.rayvault.%s\n' "$uid" "$l"
	printf 'launchctl enable gui/%s/com.rayvault.%s\n' "$uid" "$l"
	printf 'launchctl bootstrap gui/%s %s/com.rayvault.%s.plist\n' "$uid" "$A" "$l"
done >"$T/want.calls"
cmp -s "$T/want.calls" "$T/launchctl.calls" &&
    ok "macOS: written to ~/Library/LaunchAgents and loaded with launchctl bootstrap gui/$uid" ||
    fail "launchctl calls: $(cat "$T/launchctl.calls")"
[ -d "$T/mac-logs" ] && [ "$(stat -c %a "$T/mac-logs")" = 700 ] &&
    ok "macOS: the log folder made (0700)" || fail "log folder"
rm -f "$T/launchctl.calls"
HOME="$T/home" inst uninstall-launchd >"$T/mac.out" 2>&1 || fail "Darwin uninstall: $(cat "$T/mac.out")"
printf 'launchctl bootout gui/%s/com.rayvault.rvsup\nlaunchctl bootout gui/%s/com.rayvault.doctor\n' \
    "$uid" "$uid" | cmp -s - "$T/launchctl.calls" && [ -z "$(ls "$A")" ] &&
    ok "macOS: uninstall boots both out and removes them" ||
    fail "uninstall: $(cat "$T/launchctl.calls"; ls "$A")"
rm -f "$T/fake/uname" "$T/launchctl.calls"

inst uninstall-launchd LAUNCHD_DIR="$T/agents" >/dev/null 2>&1 &&
    [ -z "$(ls "$T/agents")" ] && [ ! -e "$T/launchctl.calls" ] &&
    ok "uninstall-launchd LAUNCHD_DIR= removes the files only" || fail "uninstall LAUNCHD_DIR"
if [ "$(uname -s)" != Darwin ]; then
	HOME="$T/home-linux" inst install-launchd SERVICE_BINDIR="$BIN" WORKDIR="$W" \
	    >"$T/linux.out" 2>&1
	rc=$?
	[ $rc -ne 0 ] && grep -q "launchd is macOS's service manager" "$T/linux.out" &&
	    grep -q "make install-systemd" "$T/linux.out" && [ ! -e "$T/home-linux" ] &&
	    [ ! -e "$T/launchctl.calls" ] &&
	    ok "on $(uname -s) a real install-launchd is refused: $(head -1 "$T/linux.out")" ||
	    fail "Linux install-launchd: rc $rc: $(cat "$T/linux.out")"
fi
finish
