#!/bin/sh
# Secrets stay where they are needed (SPEC section 9).  With
# SUPABASE_SERVICE_KEY and TELEGRAM_BOT_TOKEN set as real environment
# variables and ELEVENLABS_API_KEY in .env: the memory of each rvw-* child
# (what a core dump would hold; read through /proc/<pid>/mem, which
# setproctitle cannot hide as it does /proc/<pid>/environ) holds no
# service key, only rvw-notify's holds the bot token and only rvw-voice's
# the ElevenLabs key.  An external tool (a fake ffprobe first on PATH, run
# by rvctl baptism, recording what it sees) gets no secret and none of the
# caller's other variables, but PATH and HOME.  Core dumps are off in rvsup
# and every child (Max core file size 0); every program is linked -z now.
# Baptism warns about Chromium
# without its sandbox when the renderer is dzine and it runs as root.
. tests/integration/lib.sh
# Every program is bound at load (full RELRO): no lazy binding, whose
# resolver would save registers holding a key onto the stack later.
for b in rvsup rvctl rvw-evidence rvw-voice rvw-render rvw-probe rvw-notify; do
	readelf -d "$BIN/$b" | grep -q "FLAGS.*BIND_NOW\|Flags:.* NOW" ||
	    fail "$b is not bound at load (-z now)"
	readelf -lW "$BIN/$b" | grep -q GNU_RELRO || fail "$b has no RELRO"
done
ok "every program is bound at load, its relocations read-only"
export SUPABASE_SERVICE_KEY=sk-int-service-key-0123
export TELEGRAM_BOT_TOKEN=123456:int-bot-token
export TELEGRAM_API_BASE=http://127.0.0.1:9	# nothing leaves the machine
export RV_SECRETS_TEST_OTHER=1
printf 'ELEVENLABS_API_KEY=el-int-eleven-key-4567\n' >"$T/.env"
chmod 600 "$T/.env"

# has PID STRING: STRING is somewhere in the readable memory of PID.
# Regions with nothing resident, or over 4 GiB (sanitizer shadow, never a
# string of ours), are skipped; the rest is read in 32 MiB slices.
has() {
	python3 -S - "$1" "$2" <<'EOT'
import sys
pid, needle = sys.argv[1], sys.argv[2].encode()
STEP, SKIP = 32 << 20, 4 << 30
def scan(mem, lo, hi):
    tail = b""
    while lo < hi:
        n = min(STEP, hi - lo)
        mem.seek(lo)
        buf = tail + mem.read(n)
        if needle in buf:
            return True
        tail = buf[-len(needle):]
        lo += n
    return False
regions, cur = [], None
with open("/proc/%s/smaps" % pid) as smaps:
    for line in smaps:
        f = line.split()
        if "-" in f[0] and len(f) >= 5:
            cur = None
            if f[1][0] == "r" and (len(f) < 6 or
                f[5] not in ("[vvar]", "[vsyscall]")):
                lo, hi = (int(x, 16) for x in f[0].split("-"))
                if hi - lo <= SKIP:
                    cur = (lo, hi)
        elif f[0] == "Rss:" and cur is not None and int(f[1]) > 0:
            regions.append(cur)
found = False
with open("/proc/%s/mem" % pid, "rb", 0) as mem:
    for lo, hi in regions:
        try:
            if scan(mem, lo, hi):
                found = True
                break
        except (OSError, ValueError, OverflowError):
            pass
sys.exit(0 if found else 1)
EOT
}

no_core() {
	grep -Eq '^Max core file size +0 +0 ' "/proc/$1/limits"
}

start_sup
wait_for 20 children_ready || fail "children not ready: $(ctl status --json)"
has "$SUP_PID" "$SUPABASE_SERVICE_KEY" ||
    fail "the memory scan does not see rvsup's own service key"
no_core "$SUP_PID" && ok "rvsup: core dumps off" ||
    fail "rvsup: $(grep 'core file' "/proc/$SUP_PID/limits")"
for k in evidence voice render probe notify; do
	pid=$(child_field "$k" pid)
	[ -r "/proc/$pid/maps" ] || { fail "$k: no pid ($pid)"; continue; }
	has "$pid" "$SUPABASE_SERVICE_KEY" &&
	    fail "$k holds SUPABASE_SERVICE_KEY" ||
	    ok "$k: no SUPABASE_SERVICE_KEY in memory"
	if [ "$k" = notify ]; then
		has "$pid" "$TELEGRAM_BOT_TOKEN" && ok "notify has its bot token" ||
		    fail "notify lost its bot token"
	else
		has "$pid" "$TELEGRAM_BOT_TOKEN" &&
		    fail "$k holds TELEGRAM_BOT_TOKEN" ||
		    ok "$k: no TELEGRAM_BOT_TOKEN in memory"
	fi
	if [ "$k" = voice ]; then
		has "$pid" el-int-eleven-key-4567 &&
		    ok "voice has its ElevenLabs key" ||
		    fail "voice lost its ElevenLabs key"
	else
		has "$pid" el-int-eleven-key-4567 &&
		    fail "$k holds ELEVENLABS_API_KEY" ||
		    ok "$k: no ELEVENLABS_API_KEY in memory"
	fi
	no_core "$pid" && ok "$k: core dumps off" ||
	    fail "$k: $(grep 'core file' "/proc/$pid/limits")"
done

# An external tool: a fake ffprobe records its environment.
mkdir -p "$T/tools"
cat >"$T/tools/ffprobe" <<EOT
#!/bin/sh
env >"$T/ffprobe.env"
echo "ffprobe version fake-env"
EOT
chmod 755 "$T/tools/ffprobe"
PATH="$T/tools:$PATH" ctl baptism --level A >"$T/bap.out" 2>&1
if [ ! -s "$T/ffprobe.env" ]; then
	fail "the fake ffprobe did not run: $(grep ffprobe "$T/bap.out")"
else
	grep -Eq '^(SUPABASE_SERVICE_KEY|TELEGRAM_BOT_TOKEN)=' "$T/ffprobe.env" ||
	    grep -q 'int-service-key\|int-bot-token' "$T/ffprobe.env" &&
	    fail "ffprobe saw a secret: $(grep -E 'KEY|TOKEN' "$T/ffprobe.env")" ||
	    ok "ffprobe: no secret in its environment"
	grep -q '^RV_SECRETS_TEST_OTHER=' "$T/ffprobe.env" &&
	    fail "ffprobe saw the caller's other variables" ||
	    ok "ffprobe: scrubbed environment"
	grep -q "^PATH=$T/tools:" "$T/ffprobe.env" && grep -q '^HOME=' \
	    "$T/ffprobe.env" && ok "ffprobe: PATH and HOME kept" ||
	    fail "ffprobe: $(cat "$T/ffprobe.env")"
fi

RAYVAULT_RENDERER=dzine ctl baptism --level A >"$T/bap.out" 2>&1
sb=$(grep -c '^\[WARN\] chromium_sandbox: running as root' "$T/bap.out")
if [ "$(id -u)" = 0 ]; then
	[ "$sb" = 1 ] && ok "baptism warns: root runs Chromium without sandbox" ||
	    fail "baptism as root: $(grep -i sandbox "$T/bap.out")"
fi
RV_TEST_EUID=1000 RAYVAULT_RENDERER=dzine ctl baptism --level A \
    >"$T/bap.out" 2>&1
grep -q 'chromium_sandbox' "$T/bap.out" &&
    fail "baptism warns for a normal user" ||
    ok "no sandbox warning for a normal user"
finish
