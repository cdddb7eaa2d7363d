# SPDX-License-Identifier: ISC
#
# storefaults.sh: real store faults injected from outside the worker, for
# the store-fault matrix (tests/integration/store_faults*.sh through
# tests/lib/storefault_session.sh) and the crash matrix (tests/chaos).
# Sourced (POSIX sh) after tests/integration/lib.sh.
#
#   sf_db_setup            SQLite: put the database on a private small file
#                          system ($T/dbfs, RAYVAULT_DB_PATH; sf_mount_dbfs),
#                          so "disk full" is a real ENOSPC; sets SF_CAN_FULL
#   sf_fault_on KIND       start a fault; sf_fault_off KIND ends it
#   sf_hold KIND           seconds a fault must last after the targeted call
#                          was made so that call surely fails at least once
#   sf_cleanup             undo everything (also on exit: see sf_trap)
#   sf_claimed_runs        video ids of the runs holding a lock
#   sf_gated_runs          "video_id|gate_nonce" of the runs gated in the store
#   sf_run_field VID COL   a pipeline_runs column read straight from the
#                          database (never through rvctl or the fixture, so it
#                          works while the store is faulted for the worker)
#
# Kinds.  SQLite: lock (rv_dblock holds BEGIN EXCLUSIVE from another
# connection; busy timeout is 5 s), ro (chattr +i on the database and its
# WAL: root ignores file modes, the immutable flag it cannot; a handle
# opened meanwhile is read-only, an open one gets SQLITE_IOERR on ext4 --
# tmpfs checks the flag only at open), full (the file system filled to
# ENOSPC after a TRUNCATE checkpoint, so the WAL must grow).  Supabase, through the PostgREST fixture's switches: 5xx (every
# request answered 503), timeout (1.5 s latency: longer than the client's
# RAYVAULT_HEARTBEAT_TIMEOUT_SEC=1, and the request still runs in the
# database afterwards, so answers are lost), refused (the fixture stops
# listening for SF_REFUSED_SEC=10 s: its control endpoint goes too, so
# the end is waited for), slow (600 ms latency, under the timeout).  "none" does
# nothing.

SF_DB=""
SF_LOCK_PID=""
SF_MOUNTED=""
SF_CAN_FULL=0
SF_FS=none
SF_CAN_RO=""

sf_db_path() {
	echo "${RAYVAULT_DB_PATH:-$RAYVAULT_STATE_DIR/rayvault.db}"
}

sf_db_setup() {
	[ "${RV_STORE_BACKEND:-sqlite}" = supabase ] && return 0
	sf_mount_dbfs "$T/dbfs"
	export RAYVAULT_DB_PATH="$T/dbfs/rayvault.db"
}

# sf_mount_dbfs DIR: a small private file system for the database: a
# loop-mounted 48 MiB ext4 (no reserved blocks: root without
# CAP_SYS_RESOURCE could not use them anyway), where the immutable flag
# also stops writes through handles already open and ENOSPC is real; else
# a tmpfs (ENOSPC real, but chattr +i only stops new opens); else none.
sf_mount_dbfs() {
	mkdir -p "$1"
	SF_CAN_FULL=0
	SF_FS=none
	if truncate -s 48M "$1.img" 2>/dev/null &&
	    mkfs.ext4 -q -m 0 -F "$1.img" >/dev/null 2>&1 &&
	    mount -o loop "$1.img" "$1" 2>/dev/null; then
		SF_FS=ext4
	elif mount -t tmpfs -o size=32m,mode=0700 tmpfs "$1" 2>/dev/null; then
		SF_FS=tmpfs
	fi
	rm -f "$1.img"	# a loop device keeps it open while mounted
	if [ "$SF_FS" != none ]; then
		SF_MOUNTED="$1"
		SF_CAN_FULL=1
	fi
}

# Can the immutable flag be set here (ext4, xfs, btrfs, tmpfs >= 6.0)?
sf_can_ro() {
	if [ -z "$SF_CAN_RO" ]; then
		SF_CAN_RO=0
		: >"$(dirname "$(sf_db_path)")/.rvt-attr" 2>/dev/null &&
		    chattr +i "$(dirname "$(sf_db_path)")/.rvt-attr" \
		    2>/dev/null && SF_CAN_RO=1
		chattr -i "$(dirname "$(sf_db_path)")/.rvt-attr" 2>/dev/null
		rm -f "$(dirname "$(sf_db_path)")/.rvt-attr"
	fi
	[ "$SF_CAN_RO" = 1 ]
}

sf_fixture() {
	curl -s -o /dev/null -w '%{http_code}' -X POST \
	    -H "apikey: $SUPABASE_SERVICE_KEY" \
	    -H "Authorization: Bearer $SUPABASE_SERVICE_KEY" \
	    -H 'Content-Type: application/json' -d "$1" \
	    "$SUPABASE_URL/_fixture/faults" 2>/dev/null | grep -q 200 ||
	    fail "fixture faults $1"
}

sf_fixture_up() {
	curl -s -o /dev/null -w '%{http_code}' -X POST \
	    -H "apikey: $SUPABASE_SERVICE_KEY" \
	    -H "Authorization: Bearer $SUPABASE_SERVICE_KEY" \
	    -H 'Content-Type: application/json' -d '{}' \
	    "$SUPABASE_URL/_fixture/faults" 2>/dev/null | grep -q 200
}

sf_hold() {
	case "$1" in
	lock) echo 11 ;;	# 2 x busy timeout + margin: a queued call fails too
	timeout) echo 6 ;;
	none | slow) echo 3 ;;
	*) echo 5 ;;
	esac
}

sf_fault_on() {
	_db=$(sf_db_path)
	case "$1" in
	none) ;;
	lock)
		rm -f "$T/dblock.ready"
		"$TOOLS/rv_dblock" -r "$T/dblock.ready" -t 300 "$_db" \
		    >>"$T/dblock.log" 2>&1 &
		SF_LOCK_PID=$!
		wait_for 60 test -f "$T/dblock.ready" ||
		    fail "rv_dblock did not get the lock"
		;;
	ro)
		chattr +i "$_db" 2>/dev/null || fail "chattr +i $_db"
		[ -f "$_db-wal" ] && chattr +i "$_db-wal" 2>/dev/null
		;;
	full)
		sqlite3 "$_db" '.timeout 5000' 'PRAGMA wal_checkpoint(TRUNCATE)' \
		    >/dev/null 2>&1
		# big blocks, then the last small ones (delayed allocation)
		for _bs in 64k 4k 4k; do
			dd if=/dev/zero of="$(dirname "$_db")/filler.$_bs.$$" \
			    bs=$_bs >/dev/null 2>&1
			sync
		done
		;;
	5xx) sf_fixture '{"fail_next": 1000000000, "fail_status": 503}' ;;
	timeout) sf_fixture '{"latency_ms": 1500}' ;;
	refused)
		# the fixture stops listening, its control endpoint too: the
		# outage is set for a fixed time and waited out by sf_fault_off
		sf_fixture "{\"outage_sec\": ${SF_REFUSED_SEC:-10}}"
		;;
	slow) sf_fixture '{"latency_ms": 600}' ;;
	*) fail "unknown fault $1" ;;
	esac
}

sf_fault_off() {
	_db=$(sf_db_path)
	case "$1" in
	none) ;;
	lock)
		if [ -n "$SF_LOCK_PID" ]; then
			kill -TERM "$SF_LOCK_PID" 2>/dev/null
			wait "$SF_LOCK_PID" 2>/dev/null
			SF_LOCK_PID=""
		fi
		;;
	ro) chattr -i "$_db" "$_db-wal" 2>/dev/null ;;
	full) rm -f "$(dirname "$_db")"/filler.* ;;
	5xx) sf_fixture '{"fail_next": 0}' ;;
	timeout | slow) sf_fixture '{"latency_ms": 0}' ;;
	refused)
		wait_for 60 sf_fixture_up || fail "the fixture did not come back"
		;;
	esac
}

sf_cleanup() {
	[ -n "$SF_LOCK_PID" ] && kill -9 "$SF_LOCK_PID" 2>/dev/null
	_db=$(sf_db_path)
	chattr -i "$_db" "$_db-wal" "$_db-shm" 2>/dev/null
	rm -f "$(dirname "$_db")"/filler.*
	if [ -n "$SF_MOUNTED" ]; then
		# the supervisors first, they hold the database open
		for _p in $(inv_procs "$T"); do
			kill -9 "$_p" 2>/dev/null
		done
		umount -l "$SF_MOUNTED" 2>/dev/null
		SF_MOUNTED=""
	fi
}

sf_trap() {
	trap 'sf_cleanup; cleanup' EXIT
	trap 'exit 130' INT TERM
}

sf_run_field() {
	if [ "${RV_STORE_BACKEND:-sqlite}" = supabase ]; then
		psql -X -q -A -t -c "SELECT $2 FROM pipeline_runs WHERE video_id = '$1'" 2>/dev/null
	else
		sqlite3 -readonly "$(sf_db_path)" '.timeout 5000' \
		    "SELECT $2 FROM pipeline_runs WHERE video_id = '$1'" 2>/dev/null
	fi
}

sf_query() {
	if [ "${RV_STORE_BACKEND:-sqlite}" = supabase ]; then
		psql -X -q -A -t -c "$1" 2>/dev/null
	else
		sqlite3 -readonly "$(sf_db_path)" '.timeout 5000' "$1" 2>/dev/null
	fi
}

sf_claimed_runs() {
	sf_query "SELECT video_id FROM pipeline_runs WHERE lock_token IS NOT NULL" |
	    tr '\n' ' ' | sed 's/ $//'
}

sf_gated_runs() {
	sf_query "SELECT video_id || '|' || CAST(gate_nonce AS TEXT) FROM
	    pipeline_runs WHERE status = 'waiting_approval' AND
	    gate_nonce IS NOT NULL"
}
