#!/bin/sh
# The run state machine is one printable table (rvsup print-machine) and
# encodes the critical rules: a gated run resumes only on a decision the
# store recorded for its gate's nonce, a gate counts only once the store
# confirmed it, and a failed store call changes no state.  This test reads
# the table the binary really runs on, so a row added later that breaks a
# rule fails here.
. tests/integration/lib.sh
tab=$("$BIN/rvsup" print-machine) || fail "print-machine failed"
run=$(echo "$tab" | sed -n '/^run machine/,/^$/p' | awk 'NR > 2 && NF == 4')
[ -n "$run" ] && ok "run table printed ($(echo "$run" | wc -l) rows)" ||
    fail "no run table"

# Leaving "gated" for "running" happens only on a recorded decision.
bad=$(echo "$run" | awk '$1 == "gated" && $4 == "running" &&
    $2 != "decided_approve" && $2 != "decided_refetch"')
[ -z "$bad" ] && ok "gated -> running only on decided_*" ||
    fail "gated left for running on: $bad"
# "gated" is entered only from a store confirmation.
bad=$(echo "$run" | awk '$4 == "gated" && $2 != "gate_ok" &&
    $2 != "gated_in_store"')
[ -z "$bad" ] && ok "gated entered only on gate_ok / gated_in_store" ||
    fail "gated entered on: $bad"
# A failed store call never moves the machine forward.
bad=$(echo "$run" | awk '($2 == "gate_failed" || $2 == "end_failed" ||
    $2 == "claim_failed") && $4 != "(same)" && $4 != "idle"')
[ -z "$bad" ] && ok "failed store calls keep the state (or go idle)" ||
    fail "failure moves the state: $bad"
bad=$(echo "$run" | awk '$2 == "gate_failed" && $4 != "(same)"')
[ -z "$bad" ] && ok "a failed gate call stays where it is" ||
    fail "gate_failed leaves: $bad"
# Nothing is dispatched while gating or gated.
bad=$(echo "$run" | awk '($1 == "gating" || $1 == "gated") &&
    ($2 == "dispatch_due" || $2 == "all_done")')
[ -z "$bad" ] && ok "no dispatch while gating/gated" || fail "dispatch: $bad"
# Every state is named in the table, and every (state, event) pair once.
dups=$(echo "$run" | awk '{print $1, $2}' | sort | uniq -d)
[ -z "$dups" ] && ok "no duplicate (state, event) rows" || fail "dups: $dups"
child=$(echo "$tab" | sed -n '/^child machine/,$p' | awk 'NR > 2 && NF == 4')
echo "$child" | awk '$2 == "silent" && $1 == "stopping" && $4 == "down"' |
    grep -q . && ok "a silent child is killed during shutdown" ||
    fail "no stopping/silent row"
finish
