#!/bin/sh
# The man pages lint clean with mandoc -T lint (style level included; a
# cross-reference is fine when the page it names is one of ours), and
# rayvault.env(5) documents exactly the settings table of
# common/core/config.c (rvctl --settings): each setting once, with its
# default, its range and whether it is a secret.
. tests/integration/lib.sh

if ! command -v mandoc >/dev/null 2>&1; then
	fail "mandoc not installed (scripts/bootstrap installs it)"
	finish
fi
pages=$(ls "$ROOT"/docs/*.[1-9])
ours=$(for p in $pages; do
	b=${p##*/}; echo "${b%.*} ${b##*.}"
done)
# Pages of other systems that ours name: launchd.plist(5) is macOS's,
# sd_notify(3) and systemd.service(5) come with systemd's development and
# documentation packages, which a machine need not have.
ours="$ours
sd_notify 3
launchd.plist 5
systemd.service 5"
for p in $pages; do
	mandoc -T lint -W style "$p" >"$T/lint" 2>&1
	# "referenced manual not found: Xr rvsup 8": no database here; ours exist
	bad=$(while IFS= read -r l; do
		x=$(echo "$l" | sed -n 's/.*referenced manual not found: Xr \([^ ]*\) \([0-9]\).*/\1 \2/p')
		if [ -n "$x" ] && echo "$ours" | grep -qx "$x"; then
			continue
		fi
		case $l in
		*"outdated mandoc.db"*) continue ;;	# the machine's index
		esac
		echo "$l"
	done <"$T/lint")
	[ -z "$bad" ] && ok "${p##*/} lints clean" || fail "${p##*/}: $bad"
done

# The check itself: a planted defect is reported.
printf '.Sh NAME\n.Nm x\n.Xr nosuchpage 7\n' >"$T/bad.5"
cat "$ROOT/docs/rayvault.env.5" "$T/bad.5" >"$T/broken.5"
mandoc -T lint -W style "$T/broken.5" 2>&1 | grep -q 'nosuchpage' &&
    ok "mandoc reports a planted defect" || fail "mandoc missed a planted defect"

# check_env PAGE: the settings table against PAGE; prints the problems.
check_env() {
	"$BIN/rvctl" --settings >"$T/settings" || { echo "rvctl --settings failed"; return; }
	python3 - "$T/settings" "$1" <<'PY'
import re, sys
table = {}
for line in open(sys.argv[1]):
    name, typ, default, lo, hi, secret = line.rstrip("\n").split("\t")
    table[name] = (typ, default, lo, hi, secret == "secret")
src = open(sys.argv[2]).read().split("\n")
# the entries of the DESCRIPTION section: ".It Ev NAME" up to the next .It
entries, cur, sec = {}, None, None
for l in src:
    if l.startswith(".Sh "):
        sec, cur = l[4:], None
        continue
    if sec != "DESCRIPTION":
        continue
    m = re.match(r"\.It Ev (\S+)$", l)
    if m:
        cur = m.group(1)
        if cur in entries:
            print("%s: documented twice" % cur)
        entries[cur] = []
    elif l.startswith(".El"):
        cur = None
    elif cur:
        entries[cur].append(l)
if not table:
    print("rvctl --settings printed nothing")
for name, (typ, default, lo, hi, secret) in table.items():
    if name not in entries:
        print("%s: not in the page" % name)
        continue
    body = entries[name]
    defs = [l for l in body if l.startswith("Default: ")]
    want = "Default: " + (default if default != "" else "empty")
    if defs != [want]:
        print("%s: page says %r, the table %r" % (name, defs, want))
    rng = [l for l in body if l.startswith("Range: ")]
    want = ["Range: %s to %s." % (lo, hi)] if lo != "-" else []
    if rng != want:
        print("%s: page says %r, the table %r" % (name, rng, want))
    said = any("secret" in l.lower() for l in body)
    if said != secret:
        print("%s: the table says %s, the page %s" % (name,
              "secret" if secret else "not secret",
              "secret" if said else "not"))
for name in entries:
    if name not in table:
        print("%s: in the page, not in the settings table" % name)
PY
}
out=$(check_env "$ROOT/docs/rayvault.env.5")
[ -z "$out" ] && ok "rayvault.env.5 matches the settings table ($(wc -l <"$T/settings") settings)" ||
    fail "rayvault.env.5: $out"
# and the check catches a wrong default, a wrong range and a missing entry
sed -e '/^\.It Ev RAYVAULT_LEASE_MINUTES$/,/^Default/s/^Default: 15$/Default: 16/' \
    -e '/^\.It Ev USD_BRL$/,/^Default/s/^Range: .*/Range: 0 to 1000./' \
    -e 's/^\.It Ev RAYVAULT_TTS$/.It Ev RAYVAULT_TTS_ENGINE/' \
    "$ROOT/docs/rayvault.env.5" >"$T/wrong.5"
out=$(check_env "$T/wrong.5")
echo "$out" | grep -q "RAYVAULT_LEASE_MINUTES: page says \['Default: 16'\]" &&
    echo "$out" | grep -q "USD_BRL: page says \['Range: 0 to 1000.'\]" &&
    echo "$out" | grep -q "RAYVAULT_TTS: not in the page" &&
    echo "$out" | grep -q "RAYVAULT_TTS_ENGINE: in the page, not in the settings" &&
    ok "a wrong default, range and name are caught" ||
    fail "planted page errors not all caught: $out"
finish
