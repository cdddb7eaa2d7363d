#!/bin/sh
# make install-systemd writes rvsup.service (a user unit: Type=notify,
# WatchdogSec=30, KillMode=mixed, TimeoutStopSec above the stop grace plus
# the last store calls, Restart=on-failure, UMask=0077,
# NoNewPrivileges=yes; ExecStart with absolute paths and --state-dir,
# WorkingDirectory the folder with .env, PATH and no other variable),
# rvctl-doctor.service and rvctl-doctor.timer (every 5 minutes) from
# contrib/systemd/*.in; never a secret of the .env.  systemd-analyze
# verify accepts them when it is installed (and is shown to catch a
# planted error).  SYSTEMD_USER_DIR or DESTDIR only write them; a real
# install (a systemctl stand-in here) reloads, enables and starts them
# without waiting for READY; uninstall disables and removes them.  A path
# a unit cannot hold is refused and nothing is written.
. tests/integration/lib.sh
unset XDG_CONFIG_HOME
W="$T/my work"
. "$ROOT/tests/lib/service_env.sh"
service_workdir "$W"
service_fake systemctl
inst() {
	PATH="$T/fake:$PATH" make -s -C "$ROOT" --no-print-directory "$@"
}
U="$T/units"
inst install-systemd SERVICE_BINDIR="$BIN" WORKDIR="$W" SYSTEMD_USER_DIR="$U" \
    >"$T/inst.out" 2>&1 || fail "install-systemd: $(cat "$T/inst.out")"
[ ! -e "$T/systemctl.calls" ] && ok "SYSTEMD_USER_DIR: written only, systemctl not called" ||
    fail "systemctl called: $(cat "$T/systemctl.calls")"

# key=value lines of a unit, comments out
keys() { grep -v '^[#;]' "$1" | grep '='; }
S="$U/rvsup.service"
missing=""
for l in "Type=notify" "NotifyAccess=main" "WatchdogSec=30" "KillMode=mixed" \
    "Restart=on-failure" "UMask=0077" "NoNewPrivileges=yes" \
    "ExecStart=\"$BIN/rvsup\" start --state-dir \"$W/state-here\"" \
    "WorkingDirectory=$W" "Environment=\"PATH=/usr/local/bin:/usr/bin:/bin\"" \
    "WantedBy=default.target"; do
	keys "$S" | grep -qxF "$l" || missing="$missing [$l]"
done
[ -z "$missing" ] && ok "rvsup.service: every line as it should be (state from the .env)" ||
    fail "rvsup.service lacks:$missing
$(cat "$S")"
stop=$(keys "$S" | sed -n 's/^TimeoutStopSec=\([0-9]*\)$/\1/p')
need=$((grace / 1000 + 2 + 2 * 10))
[ -n "$stop" ] && [ "$stop" -gt "$need" ] &&
    ok "TimeoutStopSec=$stop above the grace, the children's 2 s and two store calls ($need s)" ||
    fail "TimeoutStopSec '$stop' (need > $need)"
[ "$(keys "$S" | grep -c '^Environment')" = 1 ] && ok "PATH is the only variable" ||
    fail "environment: $(keys "$S" | grep '^Environment')"
D="$U/rvctl-doctor.service"
keys "$D" | grep -qxF "ExecStart=\"$BIN/rvctl\" --state-dir \"$W/state-here\" doctor --alert" &&
    keys "$D" | grep -qxF "Type=oneshot" && keys "$D" | grep -qxF "WorkingDirectory=$W" &&
    ok "rvctl-doctor.service runs rvctl doctor --alert" || fail "doctor service: $(cat "$D")"
keys "$U/rvctl-doctor.timer" | grep -qxF "OnCalendar=*:0/5" &&
    keys "$U/rvctl-doctor.timer" | grep -qxF "WantedBy=timers.target" &&
    ok "rvctl-doctor.timer: every 5 minutes" || fail "timer: $(cat "$U/rvctl-doctor.timer")"
leaked=""
for s in sk-test-7f3a9c1e55d04b2b 123456:test-token-b1d2e3f4 SUPABASE_SERVICE_KEY \
    TELEGRAM_BOT_TOKEN example-project; do
	grep -q -- "$s" "$U"/* "$T/inst.out" && leaked="$leaked $s"
done
[ -z "$leaked" ] && ok "no secret or setting of the .env in the units" || fail "leaked:$leaked"

if command -v systemd-analyze >/dev/null 2>&1; then
	systemd-analyze verify --man=no "$U/rvsup.service" "$U/rvctl-doctor.service" \
	    "$U/rvctl-doctor.timer" >"$T/verify.out" 2>&1
	rc=$?
	[ $rc -eq 0 ] && [ ! -s "$T/verify.out" ] &&
	    ok "systemd-analyze verify: no complaint" || fail "verify rc $rc: $(cat "$T/verify.out")"
	mkdir -p "$T/broken"
	sed 's/^WatchdogSec=30$/WatchdogSec=thirty/' "$S" >"$T/broken/rvsup.service"
	systemd-analyze verify --man=no "$T/broken/rvsup.service" >"$T/verify2.out" 2>&1
	grep -q "WatchdogSec\|sec value" "$T/verify2.out" &&
	    ok "and it does catch a planted bad value" || fail "planted error not reported: $(cat "$T/verify2.out")"
else
	ok "(systemd-analyze not installed: units not verified)"
fi

# DESTDIR: under the staging root, systemctl not called
HOME="$T/home" inst install-systemd SERVICE_BINDIR="$BIN" WORKDIR="$W" \
    DESTDIR="$T/stage" >/dev/null 2>&1 &&
    [ -f "$T/stage$T/home/.config/systemd/user/rvsup.service" ] &&
    [ -f "$T/stage$T/home/.config/systemd/user/rvctl-doctor.timer" ] &&
    [ ! -e "$T/systemctl.calls" ] && [ ! -e "$T/home/.config" ] &&
    ok "DESTDIR: ~/.config/systemd/user under the staging root, nothing enabled" ||
    fail "DESTDIR: $(find "$T/stage" -type f) $(cat "$T/systemctl.calls" 2>/dev/null)"

# a real install: reload, enable, start without waiting for READY
HOME="$T/home" inst install-systemd SERVICE_BINDIR="$BIN" WORKDIR="$W" \
    >"$T/real.out" 2>&1 || fail "install: $(cat "$T/real.out")"
printf '%s\n' "systemctl --user daemon-reload" \
    "systemctl --user enable rvsup.service rvctl-doctor.timer" \
    "systemctl --user restart --no-block rvsup.service" \
    "systemctl --user start rvctl-doctor.timer" | cmp -s - "$T/systemctl.calls" &&
    [ -f "$T/home/.config/systemd/user/rvsup.service" ] &&
    ok "install: into ~/.config/systemd/user, reloaded, enabled, started (--no-block)" ||
    fail "systemctl calls: $(cat "$T/systemctl.calls")"
rm -f "$T/systemctl.calls"
HOME="$T/home" inst uninstall-systemd >"$T/un.out" 2>&1 || fail "uninstall: $(cat "$T/un.out")"
printf '%s\n' "systemctl --user disable --now rvsup.service rvctl-doctor.timer" \
    "systemctl --user daemon-reload" | cmp -s - "$T/systemctl.calls" &&
    [ -z "$(ls "$T/home/.config/systemd/user")" ] &&
    ok "uninstall: disabled, stopped and removed" ||
    fail "uninstall: $(cat "$T/systemctl.calls"; ls "$T/home/.config/systemd/user")"
rm -f "$T/systemctl.calls"

# a path systemd would read as a specifier: refused, nothing written
mkdir -p "$T/100%"
cp "$W/.env" "$T/100%/.env"
inst install-systemd SERVICE_BINDIR="$BIN" WORKDIR="$T/100%" SYSTEMD_USER_DIR="$T/units2" \
    >"$T/bad.out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q 'cannot go into a systemd unit' "$T/bad.out" && [ ! -e "$T/units2" ] &&
    ok "a path with % is refused, nothing written" || fail "%: rc $rc $(cat "$T/bad.out")"
finish
