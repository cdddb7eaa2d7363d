#!/bin/sh
# A child that crashes at every start is throttled (1 s doubling), never
# spun; the supervisor and the other children carry on.  SIGHUP with a
# bad settings file changes nothing.
. tests/integration/lib.sh
export RV_FAULT="crash-start:notify"
t0=$(date +%s)
start_sup
# Restarted after 1, 2, 4 s: generation 3 no sooner than 3 s after the
# start (a loaded machine only makes it later), at most 5 by 8 s.
gen_ge() { [ "$(child_field notify generation 2>/dev/null)" -ge "$1" ] 2>/dev/null; }
wait_for 30 gen_ge 3 || fail "notify generation $(child_field notify generation) after 30 s"
el=$(( $(date +%s) - t0 ))
[ "$el" -ge 2 ] && ok "generation 3 after $el s (backoff)" ||
    fail "generation 3 after $el s: restarted without backoff"
while [ $(( $(date +%s) - t0 )) -lt 8 ]; do
	sleep 0.2
done
gen=$(child_field notify generation)
[ "$gen" -ge 3 ] && [ "$gen" -le 5 ] && ok "crashing child restarted $gen times in 8 s (backoff)" ||
    fail "notify generation $gen after 8 s"
[ "$(child_field evidence generation)" -eq 1 ] && ok "other children untouched" || fail "others restarted"
echo "RAYVAULT_BROWSER_STALL_SEC=forever" >"$T/.env"
kill -HUP "$SUP_PID"
sleep 0.5
alive "$SUP_PID" && ok "SIGHUP with bad settings survived" || fail "supervisor died on SIGHUP"
grep -q "reload refused" "$T/sup.log" && grep -q "RAYVAULT_BROWSER_STALL_SEC" "$T/sup.log" &&
    ok "bad reload refused naming the key" || fail "no refusal logged"
echo "RAYVAULT_BROWSER_STALL_SEC=33" >"$T/.env"
kill -HUP "$SUP_PID"
sleep 0.5
grep -q "settings reloaded" "$T/sup.log" && ok "good reload applied" || fail "good reload"
sup_up && ok "status answers after the reload" || fail "status after reload"
ctl log-level debug | grep -q "set to debug" && ok "log level changed at run time" || fail "log-level"
ctl log-level loud >/dev/null 2>&1; [ $? -eq 64 ] && ok "bad log level refused" || fail "bad level accepted"
finish
