#!/bin/sh
# The operator guide's recipe for voice drift (docs/OPERATOR.md, "Voice
# drift"): a segment whose text cannot be spoken in its target stops the
# run with panic_voice_contract_drift; rvctl amend changes that segment's
# text in the stored spec (recorded with before and after), and Approve
# makes only that segment's audio again: the audio the other segments had
# before the amend is kept (same inode, same mtime) and the run ends done.
# A second amend of a segment that already had audio (a typo fixed on the
# way) moves its old audio aside, so the voice stage cannot reuse the
# audio of the old text.
# Bad amends are refused with the documented exit codes and change
# nothing; a run that is not gated or aborted is not amendable.
. tests/integration/lib.sh
vid=RAY-AMEND-1
spec=$(make_spec "$vid")
python3 - "$spec" <<'PY'
import json, sys
p = sys.argv[1]
s = json.load(open(p))
# The last segment: far too many words for one second.
s["segments"].append({"segment_id": "outro", "kind": "outro",
    "text": "Thanks for watching this very long goodbye that goes on and on "
            "about kettles, water, steam, handles, lids and cables for many "
            "more words than one second could ever hold.",
    "approx_duration_sec": 1.0})
json.dump(s, open(p, "w"))
PY
ctl enqueue "$spec" >/dev/null || fail "enqueue"
rid=$(run_id_of "$vid")
start_sup
gate_reason() { ctl runs --json | json "[r['gate_reason'] for r in j if r['video_id']=='$vid'][0]"; }
drifted() { status_is "$vid" waiting_approval && [ "$(gate_reason)" = panic_voice_contract_drift ]; }
wait_for 60 drifted && ok "the long outro stops the run: panic_voice_contract_drift" ||
    fail "no drift gate: $(run_status "$vid") $(gate_reason)"
ctl events --run "$vid" --json |
    json '[e["payload"]["segment_id"] for e in j if e["event_type"]=="voice_contract_drift"][0]' |
    grep -qx outro && ok "the drift event names the segment" || fail "drift event"
A=$RAYVAULT_STATE_DIR/audio
# inode:mtime of each kept segment's audio, before the amend
snap() { stat -c '%n %i %Y' "$A"/A_"${rid}"_intro_*.wav; }
before=$(snap) || fail "no audio of intro before the amend"
ls "$A"/A_"${rid}"_p1_*.wav >/dev/null 2>&1 && ok "intro and p1 have their audio" || fail "no p1 audio"
ls "$A"/A_"${rid}"_outro_* >/dev/null 2>&1 && fail "drifting audio was stored"
mirror=$RAYVAULT_STATE_DIR/jobs/$rid.json
mirror_sum=$(sha256sum <"$mirror")

# Bad amends: exit code, a message naming the problem, nothing changed.
bad() { # want-rc what args...
	_want=$1 _what=$2
	shift 2
	ctl amend "$@" >"$T/bad.out" 2>"$T/bad.err"
	_rc=$?
	if [ "$_rc" -eq "$_want" ] && [ -s "$T/bad.err" ]; then
		ok "refused ($_rc): $_what: $(head -1 "$T/bad.err")"
	else
		fail "$_what: exit $_rc (want $_want): $(cat "$T/bad.out" "$T/bad.err")"
	fi
}
bad 65 "unknown run" --run RAY-NOPE --segment outro --text "Bye." --operator night-op
bad 65 "unknown segment" --run "$vid" --segment middle --text "Bye." --operator night-op
bad 64 "both text and duration" --run "$vid" --segment outro --text "Bye." --duration 3 --operator night-op
bad 64 "neither text nor duration" --run "$vid" --segment outro --operator night-op
bad 64 "duration too short" --run "$vid" --segment outro --duration 0.1 --operator night-op
bad 64 "duration too long" --run "$vid" --segment outro --duration 601 --operator night-op
bad 64 "duration not a number" --run "$vid" --segment outro --duration soon --operator night-op
bad 64 "operator too short" --run "$vid" --segment outro --text "Bye." --operator ab
bad 64 "text with a control character" --run "$vid" --segment outro --text "$(printf 'Bye\033[2J')" --operator night-op
bad 64 "no operator" --run "$vid" --segment outro --text "Bye."
amends() { ctl events --run "$vid" --json | json "len([e for e in j if e['reason_key']=='spec_amended' and e['payload'].get('result')=='applied'])"; }
[ "$(amends)" -eq 0 ] && [ "$(sha256sum <"$mirror")" = "$mirror_sum" ] &&
    status_is "$vid" waiting_approval && ok "bad amends changed nothing" ||
    fail "a bad amend changed something: $(amends) amends"

# The recipe.
ctl amend --run "$vid" --segment outro --text "Thanks for watching." \
    --operator night-op >"$T/amend.out" 2>&1 &&
    grep -q "applied" "$T/amend.out" && grep -q "next: rvctl approve" "$T/amend.out" &&
    ok "amend applied, says what comes next" || fail "amend: $(cat "$T/amend.out")"
ctl events --run "$vid" --json | json '[e["payload"] for e in j if e["reason_key"]=="spec_amended" and e["event_type"]=="operator_action"][0]' >"$T/ev.json"
python3 - "$T/ev.json" <<'PY' && ok "event: operator, before and after" || fail "amend event: $(cat "$T/ev.json")"
import json, sys
p = json.load(open(sys.argv[1]))
assert p["operator"] == "night-op" and p["segment_id"] == "outro", p
assert p["before"]["text"].startswith("Thanks for watching this very long"), p
assert p["after"]["text"] == "Thanks for watching.", p
assert p["before"]["approx_duration_sec"] == 1 == p["after"]["approx_duration_sec"], p
PY
json '[s["text"] for s in j["segments"] if s["segment_id"]=="outro"][0]' <"$mirror" |
    grep -qx "Thanks for watching." && ok "the spec mirror holds the new text" || fail "mirror"
ctl amend --run "$vid" --segment outro --text "Thanks for watching." --operator night-op |
    grep -q already_applied && ok "the same amend again: already applied" || fail "repeat amend"
old_p1=$(ls "$A"/A_"${rid}"_p1_*.wav)
ctl amend --run "$vid" --segment p1 --text "This kettle boils water fast." \
    --operator night-op | grep -q applied || fail "amend p1"
ctl approve --run "$vid" --operator night-op | grep -q applied || fail "approve"
wait_for 120 status_is "$vid" done && ok "approved after the amend: the run is done" ||
    fail "after approve: $(run_status "$vid")"
after=$(snap)
[ "$before" = "$after" ] && ok "intro kept its audio (same inode and mtime)" ||
    fail "audio of intro redone: before [$before] after [$after]"
ls "$A"/A_"${rid}"_outro_*.wav >/dev/null 2>&1 && ok "outro has new audio" || fail "no outro audio"
new_p1=$(ls "$A"/A_"${rid}"_p1_*.wav)
[ -f "$A/amended/$(basename "$old_p1")" ] && [ "$(echo "$new_p1" | wc -l)" -eq 1 ] &&
    [ "$new_p1" != "$old_p1" ] && ok "p1's old audio moved to audio/amended, new audio made" ||
    fail "p1 audio: old $old_p1 new $new_p1"
[ "$(count_events "$rid" segment_redo)" -eq 2 ] && ok "two segments redone" ||
    fail "segment_redo events: $(count_events "$rid" segment_redo)"
[ "$(ls "$RAYVAULT_STATE_DIR"/video/final/V_"${rid}"_*.mp4 | wc -l)" -eq 3 ] &&
    ok "three segment videos" || fail "videos: $(ls "$RAYVAULT_STATE_DIR"/video/final/)"
# a done run is not amendable; nothing changes
ctl amend --run "$vid" --segment outro --duration 3 --operator night-op >"$T/done.out" 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -q "not_possible" "$T/done.out" && [ "$(amends)" -eq 2 ] &&
    ok "a done run is not amendable (exit 1)" || fail "amend of a done run: $rc $(cat "$T/done.out")"
finish
