#!/bin/sh
# contrib/homebrew/rayvault.rb is a formula a Mac can install from: Ruby
# that parses (when ruby is here), the dependencies RayVault builds and
# runs with (libbsd on Linux only), make install into the keg, a service
# block that keeps rvsup running on a state under var, and a test that
# runs --version; its version is VERSION's.
. tests/integration/lib.sh

F=$ROOT/contrib/homebrew/rayvault.rb
[ -f "$F" ] || { fail "no $F"; finish; }
if command -v ruby >/dev/null 2>&1; then
	ruby -c "$F" >/dev/null && ok "ruby -c: syntax ok" || fail "ruby -c $F"
else
	echo "SKIP: ruby not installed: syntax not checked"
fi
has() {
	grep -Eq "$1" "$F" || fail "formula: no line matching $1"
}
has '^class Rayvault < Formula$'
has "^  version \"$(cat "$ROOT/VERSION")\"$"
has '^  depends_on "pkg-config" => :build$'
for d in zeromq cjson curl sqlite ffmpeg espeak-ng; do
	has "^  depends_on \"$d\"$"
done
# libbsd: inside on_linux only
awk '/^  on_linux do$/ { in_l = 1; next } in_l && /^  end$/ { in_l = 0 }
    /depends_on "libbsd"/ { if (in_l) good++; else bad++ }
    END { exit !(good == 1 && bad == 0) }' "$F" &&
    ok "libbsd only on_linux" || fail "libbsd must be an on_linux dependency only"
has 'system "make", "install", "PREFIX=#\{prefix\}"'
# the service block
sed -n '/^  service do$/,/^  end$/p' "$F" >"$T/service"
[ -s "$T/service" ] || fail "no service do block"
for re in 'run \[opt_bin/"rvsup", "start", "--state-dir", var/' \
    'keep_alive crashed: true' 'log_path var/' 'error_log_path var/' \
    'working_dir var/'; do
	grep -Eq "$re" "$T/service" || fail "service block: no $re"
done
sed -n '/^  test do$/,/^  end$/p' "$F" | grep -q '#{bin}/rvsup --version' &&
    ok "test do runs rvsup --version" || fail "test do: no rvsup --version"
[ "$FAILS" -eq 0 ] && ok "formula stanzas present"
# the checks see a broken formula: one without the on_linux block
sed '/^  on_linux do$/,/^  end$/d' "$F" >"$T/broken.rb"
printf '  depends_on "libbsd"\n' >>"$T/broken.rb"
awk '/^  on_linux do$/ { in_l = 1; next } in_l && /^  end$/ { in_l = 0 }
    /depends_on "libbsd"/ { if (in_l) good++; else bad++ }
    END { exit !(good == 1 && bad == 0) }' "$T/broken.rb" &&
    fail "an unconditional libbsd went unseen" || ok "an unconditional libbsd is seen"
finish
