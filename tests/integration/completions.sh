#!/bin/sh
# rvctl's shell completions (contrib/completions) follow its command
# table: the committed files are what scripts/gen-completions makes from
# "rvctl --commands" (so adding a command or an option to the table and
# not remaking them fails here), and the bash one really completes:
# commands, every --option of each command's usage, option values, files.
. tests/integration/lib.sh

C=$ROOT/contrib/completions
"$BIN/rvctl" --commands >"$T/table" && [ -s "$T/table" ] ||
    fail "rvctl --commands printed nothing"
mkdir -p "$T/gen"
"$ROOT/scripts/gen-completions" "$BIN/rvctl" "$T/gen" ||
    fail "scripts/gen-completions failed"
for f in rvctl.bash _rvctl; do
	diff -u "$C/$f" "$T/gen/$f" >"$T/diff" &&
	    ok "contrib/completions/$f is up to date" ||
	    fail "contrib/completions/$f differs from the table (run make completions): $(head -20 "$T/diff")"
done

# complete WORD...: what the bash completion offers for the last word
cat >"$T/complete.bash" <<EOB
. "$C/rvctl.bash"
COMP_WORDS=("\$@")
COMP_CWORD=\$((\$# - 1))
_rvctl
printf '%s\n' "\${COMPREPLY[@]}" | sort
EOB
complete() {
	bash "$T/complete.bash" "$@"
}

want=$(cut -f1 "$T/table" | sort)
got=$(complete rvctl "")
[ "$got" = "$want" ] && ok "bash: every command ($(echo "$want" | wc -l))" ||
    fail "bash commands: got $(echo $got), want $(echo $want)"
# every command's options, in one bash (a bash start per command is slow
# on a loaded machine)
miss=$(bash -c '
. "$1"
offers() {	# offers WANTED WORD...: WANTED among the completions of WORD...
	local w=$1 c
	shift
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	_rvctl
	for c in "${COMPREPLY[@]}"; do
		[[ $c == "$w" ]] && return 0
	done
	return 1
}
while IFS=$'"'"'\t'"'"' read -r name usage help; do
	for o in $(grep -o -- "--[a-z0-9-]*" <<<"$usage") --help --state-dir; do
		offers "$o" rvctl "$name" -- || echo -n " $name$o"
	done
	# and after a global option before the command
	offers --help rvctl --state-dir /tmp "$name" -- ||
	    echo -n " $name(after --state-dir)"
done <"$2"
' sh "$C/rvctl.bash" "$T/table")
[ -z "$miss" ] && ok "bash: every option of every command's usage" ||
    fail "bash options missing:$miss"
[ "$(complete rvctl baptism --level "" | tr '\n' ' ')" = "A B " ] &&
    ok "bash: baptism --level A|B" || fail "bash: --level: $(complete rvctl baptism --level "")"
[ "$(complete rvctl log-level "" | tr '\n' ' ')" = "debug error info warn " ] &&
    ok "bash: log-level values" || fail "bash: log-level: $(complete rvctl log-level "")"
[ -z "$(complete rvctl amend --run "")" ] ||
    fail "bash: offers something for a run id"
mkdir -p "$T/w/specs" && : >"$T/w/run.json" && : >"$T/w/notes.txt"
cd "$T/w"
[ "$(complete rvctl enqueue "" | tr '\n' ' ')" = "run.json specs " ] &&
    ok "bash: enqueue offers JSON files and directories" ||
    fail "bash: enqueue: $(complete rvctl enqueue "")"
[ "$(complete rvctl --state-dir "")" = specs ] &&
    ok "bash: --state-dir offers directories" ||
    fail "bash: --state-dir: $(complete rvctl --state-dir "")"
[ "$(complete rvctl enqueue run.json "" | tr '\n' ' ')" = "--help --replace --state-dir " ] ||
    fail "bash: after the file: $(complete rvctl enqueue run.json "")"
cd "$T"

# A command or an option added to the table and not to the completions
# is caught: an rvctl whose table has one more of each.
cat >"$T/rvctl-more" <<EOB
#!/bin/sh
sed 's/^status\tstatus \[--json\]/status\tstatus [--json] [--watch]/' "$T/table"
printf 'frobnicate\tfrobnicate [--hard]\tdo a new thing\n'
EOB
chmod +x "$T/rvctl-more"
mkdir -p "$T/gen2"
"$ROOT/scripts/gen-completions" "$T/rvctl-more" "$T/gen2"
diff "$C/rvctl.bash" "$T/gen2/rvctl.bash" >"$T/d1"
diff "$C/_rvctl" "$T/gen2/_rvctl" >"$T/d2"
grep -q -- '--watch' "$T/d1" && grep -q frobnicate "$T/d1" &&
    grep -q -- '--watch' "$T/d2" && grep -q frobnicate "$T/d2" &&
    ok "a new command and option make the committed files stale" ||
    fail "table changes not seen: $(cat "$T/d1" "$T/d2")"

# zsh: the file parses, names every command and option, and is autoloadable
if command -v zsh >/dev/null 2>&1; then
	zsh -n "$C/_rvctl" && ok "zsh: _rvctl parses" || fail "zsh: _rvctl syntax"
	head -1 "$C/_rvctl" | grep -qx '#compdef rvctl' || fail "zsh: no #compdef line"
	miss=""
	while IFS="$(printf '\t')" read -r name usage help; do
		grep -q "^		'$name:" "$C/_rvctl" || miss="$miss $name"
		for o in $(echo "$usage" | grep -o -- '--[a-z0-9-]*'); do
			sed -n "/^		$name)\$/,/;;/p" "$C/_rvctl" |
			    grep -q -- "'$o[=[']" || miss="$miss $name$o"
		done
	done <"$T/table"
	[ -z "$miss" ] && ok "zsh: every command and option" || fail "zsh: missing$miss"
else
	echo "SKIP: zsh not installed (scripts/bootstrap installs it)"
fi
finish
