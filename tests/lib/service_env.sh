# service_env.sh: what the service-manager tests (service_launchd.sh,
# service_systemd.sh) share: a work folder whose .env holds secrets that
# must never reach a job file, a stand-in that records its calls, and the
# supervisor's SIGTERM grace the jobs' stop timeouts must exceed.

# service_workdir DIR: DIR with a .env of settings and test secrets
service_workdir() {
	mkdir -p "$1" "$T/fake" "$T/home"
	cat >"$1/.env" <<'ENV'
RAYVAULT_STATE_DIR=state-here
SUPABASE_URL=https://example-project.supabase.co
SUPABASE_SERVICE_KEY=sk-test-7f3a9c1e55d04b2b
TELEGRAM_BOT_TOKEN=123456:test-token-b1d2e3f4
TELEGRAM_CHAT_ID=-100777
ENV
	chmod 600 "$1/.env"
}

# service_fake TOOL: a TOOL in $T/fake that appends "TOOL ARGS" to
# $T/TOOL.calls
service_fake() {
	printf '#!/bin/sh\necho "%s $*" >>"%s/%s.calls"\n' "$1" "$T" "$1" \
	    >"$T/fake/$1"
	chmod +x "$T/fake/$1"
}

# the supervisor's SIGTERM grace in ms, from its source
grace=$(sed -n 's/^#define STOP_GRACE_MS[[:space:]]*\([0-9]*\).*/\1/p' "$ROOT/supervisor/rvsup.c")
[ -n "$grace" ] || fail "no STOP_GRACE_MS in supervisor/rvsup.c"
