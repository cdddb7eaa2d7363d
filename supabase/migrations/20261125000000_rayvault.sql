-- SPDX-License-Identifier: ISC
--
-- RayVault store schema for Supabase / PostgreSQL (SPEC section 2): the
-- only migration.  It creates the tables pipeline_runs, run_events and
-- credit_ledger and the RPCs the supabase store backend
-- (common/store/store_supabase.c) calls through PostgREST.  The rules are
-- the embedded SQLite backend's (common/store/sqlite_*.c), statement for
-- statement: recovery-first claims, lease clamp 1..30 minutes, an epoch
-- bump per claim, lock-token guarded writes, epoch fencing (an event or
-- ledger write stamped with a lease epoch that is not the run's current
-- one, or whose lock an operator cleared, is refused: FENCED),
-- compare-and-set operator actions that name the gate they decide (by
-- nonce, in full or its first 8 hex digits), an abort that drops the
-- lock in the same step, force unlock with a manual_unlock event, an
-- amend of one segment of a gated or aborted run's spec, and one current
-- run per video id (enqueue with p_replace replaces an aborted or failed
-- one).  Every
-- age and expiry uses the database clock (now()).
--
-- Security: every function is SECURITY DEFINER with a fixed search_path;
-- EXECUTE on the RPCs is granted to service_role only, the internal rv_*
-- helpers to nobody.  Row level security is enabled on every table and
-- denies anon and authenticated, who have no privilege on the tables'
-- sequences either; service_role may read the tables and
-- append to run_events (POST /rest/v1/run_events, for idempotent event
-- replay) but changes runs and the ledger only through the RPCs.
--
-- Re-running it is harmless: tables and indexes are created when missing,
-- functions are replaced, and any other signature of one of our function
-- names is dropped first (PostgREST resolves a call by name and argument
-- names, so two signatures would make every call ambiguous).
--
-- Errors the RPCs raise carry these SQLSTATEs (PostgREST answers all of
-- them with HTTP 400 and keeps the message):
--   P0001  bad argument          RV404  not found
--   RV409  already exists        RV412  lock lost (token or epoch), or
--                                       an event of a stale epoch
--   RV403  not allowed in the run's state
--
-- Apply: see supabase/README.md.

-- Roles exist on Supabase; a bare PostgreSQL (tests) gets them here.
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
		CREATE ROLE anon NOLOGIN NOINHERIT;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles
	    WHERE rolname = 'authenticated') THEN
		CREATE ROLE authenticated NOLOGIN NOINHERIT;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles
	    WHERE rolname = 'service_role') THEN
		CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
	END IF;
END
$$;

-- ---------------------------------------------------------------- tables

CREATE TABLE IF NOT EXISTS public.pipeline_runs (
	run_id			uuid PRIMARY KEY,
	seq			bigint GENERATED ALWAYS AS IDENTITY,
	video_id		text NOT NULL
	    CHECK (video_id ~ '^[A-Za-z0-9][A-Za-z0-9-]{0,63}$'),
	task_type		text NOT NULL DEFAULT ''
	    CHECK (octet_length(task_type) <= 31),
	status			text NOT NULL DEFAULT 'running'
	    CHECK (status IN ('running', 'waiting_approval', 'approved',
	    'done', 'failed', 'aborted')),
	worker_id		text,
	worker_state		text NOT NULL DEFAULT 'idle'
	    CHECK (worker_state IN ('active', 'waiting', 'panic', 'idle')),
	lock_token		uuid,
	lease_epoch		bigint NOT NULL DEFAULT 0,
	lease_expires_at	timestamptz,
	last_heartbeat_at	timestamptz,
	heartbeat_latency_ms	bigint,
	force_refetch		boolean NOT NULL DEFAULT false,
	gate_nonce		uuid,
	gate_reason		text,
	gate_evidence		jsonb,
	gated_at		timestamptz,
	gate_decision		text,
	decided_nonce		uuid,
	fenced_epoch		bigint NOT NULL DEFAULT 0,
	error			text,
	spec_json		jsonb,
	replaced_by		uuid,
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now()
);
-- The claim order: approved first, then oldest.
CREATE INDEX IF NOT EXISTS pipeline_runs_claim ON public.pipeline_runs
    ((status = 'approved') DESC, created_at, seq)
    WHERE status IN ('approved', 'running');
CREATE INDEX IF NOT EXISTS pipeline_runs_worker
    ON public.pipeline_runs (worker_id);

CREATE TABLE IF NOT EXISTS public.run_events (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	event_id	uuid NOT NULL UNIQUE,
	run_id		uuid,
	event_type	text NOT NULL CHECK (event_type <> ''
	    AND octet_length(event_type) < 64),
	severity	text NOT NULL CHECK (severity IN ('DEBUG', 'INFO',
	    'WARN', 'ERROR', 'CRITICAL')),
	reason_key	text,
	source		text,
	occurred_at	timestamptz NOT NULL DEFAULT now(),
	payload		jsonb NOT NULL DEFAULT '{}'
	    CHECK (jsonb_typeof(payload) = 'object'),
	lease_epoch	bigint NOT NULL DEFAULT 0,
	created_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS run_events_run
    ON public.run_events (run_id, occurred_at);

CREATE TABLE IF NOT EXISTS public.credit_ledger (
	key		text PRIMARY KEY,
	seq		bigint GENERATED ALWAYS AS IDENTITY,
	run_id		uuid NOT NULL,
	segment_id	text NOT NULL,
	sha8		text NOT NULL,
	lease_epoch	bigint NOT NULL,
	credits		integer NOT NULL DEFAULT 0 CHECK (credits >= 0),
	attempts	integer NOT NULL DEFAULT 1 CHECK (attempts >= 1),
	state		text NOT NULL CHECK (state IN ('intent', 'done',
	    'failed')),
	output		text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS credit_ledger_run
    ON public.credit_ledger (run_id);

-- Columns added since the first version of this migration (a database
-- made by it gets them here; a new one has them already).
ALTER TABLE public.pipeline_runs
    ADD COLUMN IF NOT EXISTS decided_nonce uuid,
    ADD COLUMN IF NOT EXISTS fenced_epoch bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS replaced_by uuid;
-- A video id has one current run (replaced_by null); rvctl enqueue
-- --replace keeps the aborted or failed run it replaces.
ALTER TABLE public.pipeline_runs
    DROP CONSTRAINT IF EXISTS pipeline_runs_video_id_key;
CREATE UNIQUE INDEX IF NOT EXISTS pipeline_runs_video
    ON public.pipeline_runs (video_id) WHERE replaced_by IS NULL;
ALTER TABLE public.run_events
    ADD COLUMN IF NOT EXISTS lease_epoch bigint NOT NULL DEFAULT 0;
ALTER TABLE public.credit_ledger
    ADD COLUMN IF NOT EXISTS attempts integer NOT NULL DEFAULT 1;
-- The decision is the bare action now (the operator is in the event).
UPDATE public.pipeline_runs SET gate_decision = split_part(gate_decision,
    ' ', 1) WHERE gate_decision LIKE '% by %';

-- One signature per function name: drop any other (older) one.
DO $$
DECLARE
	want constant text[] := ARRAY[
	    'rpc_enqueue_run(p_video_id text, p_task_type text, p_spec jsonb, '
	    'p_replace boolean)',
	    'rpc_amend_run(p_run_id text, p_segment_id text, p_text text, '
	    'p_duration double precision, p_operator text)',
	    'rpc_claim_next_run(p_worker_id text, p_lock_token text, '
	    'p_lease_minutes integer, p_task_type text, p_prev_lock_token '
	    'text, p_heartbeat_interval_sec integer)',
	    'cas_heartbeat_run(p_run_id text, p_worker_id text, p_lock_token '
	    'text, p_lease_minutes integer, p_latency_ms bigint, '
	    'p_worker_state text)',
	    'rpc_release_run(p_run_id text, p_worker_id text, p_lock_token '
	    'text, p_worker_state text)',
	    'rpc_finish_run(p_run_id text, p_worker_id text, p_lock_token '
	    'text, p_status text, p_error text)',
	    'rpc_gate_run(p_run_id text, p_worker_id text, p_lock_token text, '
	    'p_reason text, p_evidence jsonb, p_worker_state text)',
	    'rpc_operator_action(p_run_id text, p_action text, p_operator '
	    'text, p_nonce text)',
	    'rpc_force_unlock_run(p_run_id text, p_operator_id text, '
	    'p_reason text, p_force boolean)',
	    'rpc_set_worker_state(p_run_id text, p_worker_id text, '
	    'p_lock_token text, p_worker_state text)',
	    'rpc_get_run(p_run_or_video_id text, p_with_spec boolean)',
	    'rpc_list_runs()',
	    'rpc_list_events(p_run_id text)',
	    'rpc_ledger_intent(p_run_id text, p_segment_id text, p_sha8 text, '
	    'p_lock_token text, p_lease_epoch bigint, p_credits integer, '
	    'p_key text)',
	    'rpc_ledger_result(p_key text, p_lease_epoch bigint, p_state text, '
	    'p_credits integer, p_output text)',
	    'rpc_ledger_list(p_run_id text)',
	    'rpc_now()',
	    'rpc_contract_info()'
	];
	f record;
BEGIN
	FOR f IN
		SELECT p.oid::regprocedure AS sig, p.proname || '(' ||
		    pg_get_function_identity_arguments(p.oid) || ')' AS ident
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = 'public' AND p.proname = ANY (SELECT
		    split_part(w, '(', 1) FROM unnest(want) AS w)
	LOOP
		IF NOT f.ident = ANY (want) THEN
			EXECUTE format('DROP FUNCTION %s', f.sig);
		END IF;
	END LOOP;
	-- A result type cannot be replaced in place: drop the old shape.
	FOR f IN
		SELECT p.oid::regprocedure AS sig
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = 'public' AND (
		    (p.proname = 'cas_heartbeat_run' AND
		    pg_get_function_result(p.oid) <> 'TABLE(ok boolean, status '
		    'text, force_refetch boolean, gate_nonce uuid, '
		    'decided_nonce uuid, decision text)') OR
		    (p.proname = 'rpc_ledger_result' AND
		    pg_get_function_result(p.oid) <> 'jsonb'))
	LOOP
		EXECUTE format('DROP FUNCTION %s', f.sig);
	END LOOP;
END
$$;

-- ---------------------------------------------------------------- helpers

-- A time as ISO-8601 UTC text with milliseconds (the SQLite backend's).
CREATE OR REPLACE FUNCTION public.rv_ts(t timestamptz)
RETURNS text LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
	SELECT to_char(t AT TIME ZONE 'UTC',
	    'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- Seconds from <t> to now() (positive when <t> is past).
CREATE OR REPLACE FUNCTION public.rv_age(t timestamptz)
RETURNS double precision LANGUAGE sql STABLE
SET search_path = public, pg_temp AS $$
	SELECT extract(epoch FROM (now() - t))::double precision
$$;

-- Raise <msg> with SQLSTATE <code> (see the header).
CREATE OR REPLACE FUNCTION public.rv_raise(code text, msg text)
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg;
END
$$;

-- Untrusted text for a message: 40 bytes, printable ASCII, "..." if cut.
CREATE OR REPLACE FUNCTION public.rv_quote(s text)
RETURNS text LANGUAGE sql IMMUTABLE SET search_path = public, pg_temp AS $$
	SELECT regexp_replace(left(coalesce(s, ''), 40), '[^ -~]', '?', 'g')
	    || CASE WHEN length(coalesce(s, '')) > 40 THEN '...' ELSE '' END
$$;

CREATE OR REPLACE FUNCTION public.rv_is_uuid(s text)
RETURNS boolean LANGUAGE sql IMMUTABLE SET search_path = public, pg_temp AS $$
	SELECT coalesce(s ~ ('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
	    '[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'), false)
$$;

-- A run id must be uuid-shaped; returns it as a uuid.
CREATE OR REPLACE FUNCTION public.rv_run_id(s text)
RETURNS uuid LANGUAGE plpgsql IMMUTABLE SET search_path = public, pg_temp AS $$
BEGIN
	IF NOT rv_is_uuid(s) THEN
		PERFORM rv_raise('P0001', format('"%s" is not a run id',
		    rv_quote(s)));
	END IF;
	RETURN s::uuid;
END
$$;

-- A worker or operator name: 3 to 64 printable ASCII, no spaces.
CREATE OR REPLACE FUNCTION public.rv_check_name(name text, what text)
RETURNS void LANGUAGE plpgsql IMMUTABLE SET search_path = public, pg_temp AS $$
BEGIN
	IF coalesce(octet_length(name), 0) < 3 THEN
		PERFORM rv_raise('P0001', format('%s "%s" is too short (at '
		    'least 3 characters)', what, rv_quote(name)));
	ELSIF octet_length(name) > 64 THEN
		PERFORM rv_raise('P0001', format('%s "%s" is too long (at most '
		    '64 characters)', what, rv_quote(name)));
	ELSIF name !~ '^[!-~]+$' THEN
		PERFORM rv_raise('P0001', format('%s "%s": only printable '
		    'characters without spaces', what, rv_quote(name)));
	END IF;
END
$$;

CREATE OR REPLACE FUNCTION public.rv_terminal(status text)
RETURNS boolean LANGUAGE sql IMMUTABLE SET search_path = public, pg_temp AS $$
	SELECT status IN ('done', 'failed', 'aborted')
$$;

CREATE OR REPLACE FUNCTION public.rv_check_state(ws text, may_be_empty boolean)
RETURNS void LANGUAGE plpgsql IMMUTABLE SET search_path = public, pg_temp AS $$
BEGIN
	IF may_be_empty AND coalesce(ws, '') = '' THEN
		RETURN;
	END IF;
	IF ws IS NULL OR ws NOT IN ('active', 'waiting', 'panic', 'idle') THEN
		PERFORM rv_raise('P0001', format('worker state "%s" is not one '
		    'of active, waiting, panic, idle', rv_quote(ws)));
	END IF;
END
$$;

CREATE OR REPLACE FUNCTION public.rv_lease_clamp(m integer)
RETURNS integer LANGUAGE sql IMMUTABLE SET search_path = public, pg_temp AS $$
	SELECT greatest(1, least(30, coalesce(m, 15)))
$$;

-- The arguments every holder call shares.
CREATE OR REPLACE FUNCTION public.rv_check_holder(p_run_id text,
    p_worker_id text, p_lock_token text)
RETURNS uuid LANGUAGE plpgsql IMMUTABLE SET search_path = public, pg_temp AS $$
DECLARE
	id uuid := rv_run_id(p_run_id);
BEGIN
	PERFORM rv_check_name(p_worker_id, 'worker id');
	IF coalesce(p_lock_token, '') = '' THEN
		PERFORM rv_raise('P0001', format('run %s: empty lock token',
		    id));
	END IF;
	RETURN id;
END
$$;

-- Whether <worker_id> with <lock_token> holds the run <r>.
CREATE OR REPLACE FUNCTION public.rv_holds(r public.pipeline_runs,
    p_worker_id text, p_lock_token text)
RETURNS boolean LANGUAGE sql IMMUTABLE SET search_path = public, pg_temp AS $$
	SELECT r.lock_token IS NOT NULL AND rv_is_uuid(p_lock_token)
	    AND r.lock_token = p_lock_token::uuid
	    AND r.worker_id IS NOT DISTINCT FROM p_worker_id
$$;

-- Locked and the lease has not expired.
CREATE OR REPLACE FUNCTION public.rv_live(r public.pipeline_runs)
RETURNS boolean LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
	SELECT r.lock_token IS NOT NULL AND r.lease_expires_at IS NOT NULL
	    AND r.lease_expires_at > now()
$$;

CREATE OR REPLACE FUNCTION public.rv_lock_snapshot(r public.pipeline_runs)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
	SELECT jsonb_build_object(
	    'worker_id', nullif(r.worker_id, ''),
	    'lock_token', r.lock_token,
	    'lease_epoch', r.lease_epoch,
	    'lease_expires_at', rv_ts(r.lease_expires_at),
	    'last_heartbeat_at', rv_ts(r.last_heartbeat_at),
	    'live', rv_live(r))
$$;

-- The run <id>, row-locked; RV404 when there is none.
CREATE OR REPLACE FUNCTION public.rv_lock_run(id uuid)
RETURNS public.pipeline_runs LANGUAGE plpgsql
SET search_path = public, pg_temp AS $$
DECLARE
	r pipeline_runs;
BEGIN
	SELECT * INTO r FROM pipeline_runs p WHERE p.run_id = id FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM rv_raise('RV404', format('run %s: not found', id));
	END IF;
	RETURN r;
END
$$;

-- One run_events row of the store's own (source "store", now).
CREATE OR REPLACE FUNCTION public.rv_event(run uuid, etype text,
    sev text, reason text, payload jsonb)
RETURNS void LANGUAGE sql SET search_path = public, pg_temp AS $$
	INSERT INTO run_events (event_id, run_id, event_type, severity,
	    reason_key, source, occurred_at, payload)
	VALUES (gen_random_uuid(), run, etype, sev, nullif(reason, ''),
	    'store', now(), coalesce(payload, '{}'))
$$;

-- Drop the lease of <id> for an operator (status and worker_id are kept);
-- rows changed.  The epoch of a lock that was held is fenced: its holder
-- can write nothing more, even before the run is claimed again.
CREATE OR REPLACE FUNCTION public.rv_clear_lock(id uuid)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	UPDATE pipeline_runs r SET fenced_epoch = CASE WHEN r.lock_token IS
	    NOT NULL THEN r.lease_epoch ELSE r.fenced_epoch END,
	    lock_token = NULL, lease_expires_at = NULL,
	    worker_state = 'idle', updated_at = now()
	WHERE r.run_id = id;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;

-- A run as the JSON object the client reads (struct store_run).
CREATE OR REPLACE FUNCTION public.rv_run_json(r public.pipeline_runs,
    with_spec boolean)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
	SELECT jsonb_build_object(
	    'run_id', r.run_id, 'video_id', r.video_id,
	    'task_type', r.task_type, 'status', r.status,
	    'worker_id', r.worker_id, 'worker_state', r.worker_state,
	    'lock_token', r.lock_token, 'lease_epoch', r.lease_epoch,
	    'lease_expires_at', rv_ts(r.lease_expires_at),
	    'last_heartbeat_at', rv_ts(r.last_heartbeat_at),
	    'created_at', rv_ts(r.created_at),
	    'updated_at', rv_ts(r.updated_at),
	    'gate_nonce', r.gate_nonce, 'gate_reason', r.gate_reason,
	    'gated_at', rv_ts(r.gated_at), 'error', r.error,
	    'decided_nonce', r.decided_nonce, 'decision', r.gate_decision,
	    'heartbeat_latency_ms', coalesce(r.heartbeat_latency_ms, -1),
	    'force_refetch', r.force_refetch,
	    'lease_expired', coalesce(r.lease_expires_at <= now(), false),
	    'lease_seconds_left', CASE WHEN r.lease_expires_at IS NULL
		THEN 0 ELSE -rv_age(r.lease_expires_at) END,
	    'heartbeat_age_sec', CASE WHEN r.last_heartbeat_at IS NULL
		THEN -1 ELSE rv_age(r.last_heartbeat_at) END,
	    'gate_age_sec', CASE WHEN r.status = 'waiting_approval'
		AND r.gated_at IS NOT NULL THEN rv_age(r.gated_at)
		ELSE -1 END,
	    'age_sec', rv_age(r.created_at))
	|| CASE WHEN with_spec THEN jsonb_build_object('spec', r.spec_json)
	    ELSE '{}'::jsonb END
$$;

CREATE OR REPLACE FUNCTION public.rv_ledger_json(l public.credit_ledger)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
	SELECT jsonb_build_object('key', l.key, 'run_id', l.run_id,
	    'segment_id', l.segment_id, 'sha8', l.sha8,
	    'lease_epoch', l.lease_epoch, 'credits', l.credits,
	    'attempts', l.attempts, 'state', l.state, 'output', l.output)
$$;

-- Epoch fencing: why a write of run <run> stamped with lease epoch
-- <epoch> must be refused (the run is at another epoch, or an operator
-- cleared that epoch's lock), or NULL when it may be written (no epoch,
-- or a run the store does not know).  Share-locks the run row, so a
-- claim cannot bump the epoch before the write commits.
CREATE OR REPLACE FUNCTION public.rv_fence_why(run uuid, epoch bigint)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	r pipeline_runs;
BEGIN
	IF run IS NULL OR coalesce(epoch, 0) <= 0 THEN
		RETURN NULL;
	END IF;
	SELECT * INTO r FROM pipeline_runs p WHERE p.run_id = run FOR SHARE;
	IF NOT FOUND THEN
		RETURN NULL;
	ELSIF r.lease_epoch <> epoch THEN
		RETURN format('stale epoch %s, run is at %s', epoch,
		    r.lease_epoch);
	ELSIF epoch <= r.fenced_epoch THEN
		RETURN format('stale epoch %s: an operator cleared its lock',
		    epoch);
	END IF;
	RETURN NULL;
END
$$;

-- Every row inserted into run_events (the client POSTs them) is fenced:
-- one stamped with a stale lease epoch is refused with RV412 and the
-- reason.  A replayed event_id is left to the unique key (409).
CREATE OR REPLACE FUNCTION public.rv_fence_event()
RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
	v_why text;
BEGIN
	NEW.lease_epoch := coalesce(NEW.lease_epoch, 0);
	IF NEW.run_id IS NULL OR NEW.lease_epoch <= 0 OR EXISTS (SELECT 1
	    FROM run_events e WHERE e.event_id = NEW.event_id) THEN
		RETURN NEW;
	END IF;
	v_why := rv_fence_why(NEW.run_id, NEW.lease_epoch);
	IF v_why IS NOT NULL THEN
		PERFORM rv_raise('RV412', format('event %s of run %s: %s',
		    NEW.event_type, NEW.run_id, v_why));
	END IF;
	RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS rv_fence_event ON public.run_events;
CREATE TRIGGER rv_fence_event BEFORE INSERT ON public.run_events
    FOR EACH ROW EXECUTE FUNCTION public.rv_fence_event();

-- ------------------------------------------------------- runs and events

-- Queue a run for <p_video_id>; returns its run id.  A video id that has
-- a current run is refused with RV409, unless <p_replace> and that run is
-- aborted or failed: then the new run replaces it (the old one is kept,
-- replaced_by set, with a run_replaced event).
CREATE OR REPLACE FUNCTION public.rpc_enqueue_run(p_video_id text,
    p_task_type text DEFAULT '', p_spec jsonb DEFAULT NULL,
    p_replace boolean DEFAULT false)
RETURNS uuid LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
	v_task text := coalesce(p_task_type, '');
	v_spec jsonb := coalesce(p_spec, '{}');
	v_id uuid := gen_random_uuid();
	v_old pipeline_runs;
	v_dead boolean;
BEGIN
	IF p_video_id IS NULL OR
	    p_video_id !~ '^[A-Za-z0-9][A-Za-z0-9-]{0,63}$' THEN
		PERFORM rv_raise('P0001', format('"%s" is not a valid video id '
		    '(letters, digits and ''-'', at most 64)',
		    rv_quote(p_video_id)));
	END IF;
	IF octet_length(v_task) > 31 THEN
		PERFORM rv_raise('P0001', format('video %s: task type is '
		    'longer than 31', p_video_id));
	END IF;
	IF octet_length(v_spec::text) > 1048576 THEN
		PERFORM rv_raise('P0001', format('video %s: spec is larger '
		    'than 1048576 bytes', p_video_id));
	END IF;
	IF jsonb_typeof(v_spec) <> 'object' THEN
		PERFORM rv_raise('P0001', format('video %s: spec is not a JSON '
		    'object', p_video_id));
	END IF;
	IF v_spec ? 'video_id' AND v_spec->'video_id' <>
	    to_jsonb(p_video_id) THEN
		PERFORM rv_raise('P0001', format('video %s: the spec''s '
		    'video_id does not match', p_video_id));
	END IF;
	SELECT * INTO v_old FROM pipeline_runs
	WHERE video_id = p_video_id AND replaced_by IS NULL FOR UPDATE;
	IF FOUND THEN
		v_dead := v_old.status IN ('aborted', 'failed');
		IF NOT coalesce(p_replace, false) THEN
			PERFORM rv_raise('RV409', format('video %s is already '
			    'queued as run %s (status %s)%s', p_video_id,
			    v_old.run_id, v_old.status, CASE WHEN v_dead
			    THEN '; it may be replaced by a new run'
			    ELSE '' END));
		ELSIF NOT v_dead THEN
			PERFORM rv_raise('RV409', format('video %s: run %s is '
			    '%s; only an aborted or failed run can be '
			    'replaced', p_video_id, v_old.run_id,
			    v_old.status));
		END IF;
		UPDATE pipeline_runs SET replaced_by = v_id, updated_at = now()
		WHERE run_id = v_old.run_id;
	END IF;
	BEGIN
		INSERT INTO pipeline_runs (run_id, video_id, task_type, status,
		    worker_state, lease_epoch, spec_json)
		VALUES (v_id, p_video_id, v_task, 'running', 'idle', 0,
		    v_spec);
	EXCEPTION WHEN unique_violation THEN
		PERFORM rv_raise('RV409', format('video %s was queued '
		    'meanwhile; nothing queued', p_video_id));
	END;
	PERFORM rv_event(v_id, 'run_enqueued', 'INFO', 'enqueue',
	    jsonb_build_object('video_id', p_video_id, 'task_type', v_task,
	    'replaces', v_old.run_id));
	IF v_old.run_id IS NOT NULL THEN
		PERFORM rv_event(v_old.run_id, 'run_replaced', 'INFO',
		    'enqueue_replace', jsonb_build_object('video_id',
		    p_video_id, 'replaced_by', v_id, 'status',
		    v_old.status));
	END IF;
	RETURN v_id;
END
$$;

-- Amend one segment of the stored spec of a run waiting for approval or
-- aborted (rvctl amend): <p_text> or <p_duration> (approx_duration_sec),
-- exactly one.  The status check, the spec write and an operator_action
-- event (reason_key spec_amended: segment, before, after, operator) are
-- one step under the row lock.  A change to what the segment already
-- says is already_applied; another status is not_possible (both write
-- operator_action_ignored).  Unknown run RV404, unknown segment P0001.
CREATE OR REPLACE FUNCTION public.rpc_amend_run(p_run_id text,
    p_segment_id text, p_text text DEFAULT NULL,
    p_duration double precision DEFAULT NULL, p_operator text DEFAULT NULL)
RETURNS TABLE (result text, message text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
	v_id uuid := rv_run_id(p_run_id);
	v_row pipeline_runs;
	v_idx integer;
	v_seg jsonb;
	v_new jsonb;
	v_before jsonb;
	v_res text := 'applied';
	v_why text;
	v_p jsonb;
BEGIN
	IF p_segment_id IS NULL OR
	    p_segment_id !~ '^[A-Za-z0-9][A-Za-z0-9-]{0,39}$' THEN
		PERFORM rv_raise('P0001', format('amend: "%s" is not a segment '
		    'id', rv_quote(p_segment_id)));
	END IF;
	IF (p_text IS NULL) = (p_duration IS NULL) THEN
		PERFORM rv_raise('P0001', format('amend: give either a text or '
		    'a duration, not %s', CASE WHEN p_text IS NULL
		    THEN 'neither' ELSE 'both' END));
	END IF;
	IF p_text IS NOT NULL AND (p_text = '' OR
	    octet_length(p_text) > 16000) THEN
		PERFORM rv_raise('P0001', 'amend: the text must be 1 to 16000 '
		    'bytes');
	END IF;
	IF p_duration IS NOT NULL AND NOT (p_duration >= 0.5 AND
	    p_duration <= 600) THEN
		PERFORM rv_raise('P0001', 'amend: the duration must be 0.5 to '
		    '600 seconds');
	END IF;
	PERFORM rv_check_name(p_operator, 'operator');
	v_row := rv_lock_run(v_id);
	SELECT e.ord - 1, e.seg INTO v_idx, v_seg
	FROM jsonb_array_elements(CASE WHEN jsonb_typeof(
	    v_row.spec_json->'segments') = 'array'
	    THEN v_row.spec_json->'segments' ELSE '[]' END)
	    WITH ORDINALITY AS e(seg, ord)
	WHERE jsonb_typeof(e.seg) = 'object'
	    AND e.seg->>'segment_id' = p_segment_id
	LIMIT 1;
	IF NOT FOUND THEN
		PERFORM rv_raise('P0001', format('run %s has no segment %s',
		    v_id, p_segment_id));
	END IF;
	v_before := jsonb_build_object('text', coalesce(v_seg->'text',
	    'null'), 'approx_duration_sec', coalesce(
	    v_seg->'approx_duration_sec', 'null'));
	IF v_row.status NOT IN ('waiting_approval', 'aborted') THEN
		v_res := 'not_possible';
		v_why := format('run is %s; only a run waiting for approval '
		    'or aborted can be amended', v_row.status);
	ELSIF p_text IS NOT NULL THEN
		IF v_seg->'text' = to_jsonb(p_text) THEN
			v_res := 'already_applied';
		ELSE
			v_new := jsonb_set(v_seg, '{text}', to_jsonb(p_text));
		END IF;
	ELSE
		IF jsonb_typeof(v_seg->'approx_duration_sec') = 'number' AND
		    (v_seg->>'approx_duration_sec')::double precision =
		    p_duration THEN
			v_res := 'already_applied';
		ELSE
			v_new := jsonb_set(v_seg, '{approx_duration_sec}',
			    to_jsonb(p_duration));
		END IF;
	END IF;
	IF v_res = 'already_applied' THEN
		v_why := 'the segment already says that';
	END IF;
	v_p := jsonb_build_object('operator', p_operator, 'action', 'amend',
	    'segment_id', p_segment_id, 'field', CASE WHEN p_text IS NOT NULL
	    THEN 'text' ELSE 'approx_duration_sec' END, 'status',
	    v_row.status, 'before', v_before, 'result', v_res);
	IF v_res <> 'applied' THEN
		PERFORM rv_event(v_id, 'operator_action_ignored', 'INFO',
		    'spec_amended', v_p || jsonb_build_object('reason', v_why));
		RETURN QUERY SELECT v_res, format('run %s: %s: %s', v_id,
		    CASE WHEN v_res = 'already_applied' THEN 'already applied'
		    ELSE 'cannot amend' END, v_why);
		RETURN;
	END IF;
	IF octet_length(jsonb_set(v_row.spec_json, ARRAY['segments',
	    v_idx::text], v_new)::text) > 1048576 THEN
		PERFORM rv_raise('P0001', format('run %s: the amended spec is '
		    'too large', v_id));
	END IF;
	UPDATE pipeline_runs SET spec_json = jsonb_set(spec_json,
	    ARRAY['segments', v_idx::text], v_new), updated_at = now()
	WHERE run_id = v_id;
	PERFORM rv_event(v_id, 'operator_action', 'WARN', 'spec_amended',
	    v_p || jsonb_build_object('after', jsonb_build_object('text',
	    coalesce(v_new->'text', 'null'), 'approx_duration_sec',
	    coalesce(v_new->'approx_duration_sec', 'null'))));
	RETURN QUERY SELECT 'applied'::text, format('run %s: segment %s '
	    'amended by %s', v_id, p_segment_id, p_operator);
END
$$;

-- The run <p_run_or_video_id> (a run id or a video id) as a JSON object,
-- with its spec under "spec" when <p_with_spec>; null when there is none.
CREATE OR REPLACE FUNCTION public.rpc_get_run(p_run_or_video_id text,
    p_with_spec boolean DEFAULT true)
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
	r pipeline_runs;
BEGIN
	IF NOT rv_is_uuid(p_run_or_video_id) AND (p_run_or_video_id IS NULL OR
	    p_run_or_video_id !~ '^[A-Za-z0-9][A-Za-z0-9-]{0,63}$') THEN
		PERFORM rv_raise('P0001', format('"%s" is not a run id or '
		    'video id', rv_quote(p_run_or_video_id)));
	END IF;
	SELECT * INTO r FROM pipeline_runs p
	WHERE p.video_id = p_run_or_video_id OR (rv_is_uuid(p_run_or_video_id)
	    AND p.run_id = p_run_or_video_id::uuid)
	ORDER BY p.run_id::text = lower(p_run_or_video_id) DESC,
	    p.replaced_by IS NULL DESC, p.created_at DESC, p.seq DESC LIMIT 1;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	RETURN rv_run_json(r, coalesce(p_with_spec, true));
END
$$;

-- Every run, oldest first, without specs, as a JSON array.
CREATE OR REPLACE FUNCTION public.rpc_list_runs()
RETURNS jsonb LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp AS $$
	SELECT coalesce(jsonb_agg(rv_run_json(r, false)
	    ORDER BY r.created_at, r.seq), '[]')
	FROM pipeline_runs r
$$;

-- The events of <p_run_id> (null or "": all), by occurred_at.
CREATE OR REPLACE FUNCTION public.rpc_list_events(p_run_id text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
	v_id uuid;
BEGIN
	IF coalesce(p_run_id, '') <> '' THEN
		v_id := rv_run_id(p_run_id);
	END IF;
	RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object(
	    'event_id', e.event_id, 'run_id', e.run_id,
	    'event_type', e.event_type, 'severity', e.severity,
	    'reason_key', e.reason_key, 'source', e.source,
	    'occurred_at', rv_ts(e.occurred_at), 'payload', e.payload)
	    ORDER BY e.occurred_at, e.id), '[]')
	FROM run_events e WHERE v_id IS NULL OR e.run_id = v_id);
END
$$;

CREATE OR REPLACE FUNCTION public.rpc_now()
RETURNS text LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp AS $$
	SELECT rv_ts(now())
$$;

-- ------------------------------------------------------------- the lease

-- Claim a run for <p_worker_id> under the new <p_lock_token>.  Recovery
-- first: the caller's own unfinished run comes back when it presents the
-- run's current token (<p_prev_lock_token>), when no heartbeat arrived
-- for two heartbeat intervals, or when its lease expired; a live
-- duplicate with the same worker id never gets it.  Otherwise the oldest
-- free run, approved first.  Every claim bumps lease_epoch.  No row when
-- there is nothing to claim.  A lock token is fresh for every claim, so
-- a worker presenting the token it already holds is repeating a request
-- whose answer was lost (HTTP clients retry a request on a connection
-- that died): it gets the same run back, unchanged.
CREATE OR REPLACE FUNCTION public.rpc_claim_next_run(p_worker_id text,
    p_lock_token text, p_lease_minutes integer DEFAULT 15,
    p_task_type text DEFAULT '', p_prev_lock_token text DEFAULT NULL,
    p_heartbeat_interval_sec integer DEFAULT 30)
RETURNS TABLE (run_id uuid, lock_token uuid, lease_epoch bigint,
    is_recovery boolean, video_id text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
	v_lease integer := rv_lease_clamp(p_lease_minutes);
	v_task text := coalesce(p_task_type, '');
	v_hb integer := CASE WHEN coalesce(p_heartbeat_interval_sec, 0) > 0
	    THEN p_heartbeat_interval_sec ELSE 30 END;
	v_prev uuid;
	v_id uuid;
	v_row pipeline_runs;
	v_rec boolean := false;
	v_prev_worker text;
	v_n integer;
BEGIN
	PERFORM rv_check_name(p_worker_id, 'worker id');
	IF NOT rv_is_uuid(p_lock_token) THEN
		PERFORM rv_raise('P0001', format('lock token "%s" is not a '
		    'uuid', rv_quote(p_lock_token)));
	END IF;
	IF octet_length(v_task) > 31 THEN
		PERFORM rv_raise('P0001', format('task type "%s" is too long '
		    '(at most 31)', rv_quote(v_task)));
	END IF;
	IF rv_is_uuid(p_prev_lock_token) THEN
		v_prev := p_prev_lock_token::uuid;
	END IF;

	-- A retried request (its answer was lost) presents the token it
	-- already holds: the same run comes back, unchanged.
	SELECT * INTO v_row FROM pipeline_runs r
	WHERE r.worker_id = p_worker_id AND r.lock_token = p_lock_token::uuid
	    AND NOT rv_terminal(r.status);
	IF FOUND THEN
		run_id := v_row.run_id;
		lock_token := v_row.lock_token;
		lease_epoch := v_row.lease_epoch;
		is_recovery := coalesce((SELECT (e.payload->>'is_recovery')
		    ::boolean FROM run_events e WHERE e.run_id = v_row.run_id
		    AND e.event_type = 'run_claimed' AND (e.payload->>
		    'lease_epoch')::bigint = v_row.lease_epoch
		    ORDER BY e.id DESC LIMIT 1), false);
		video_id := v_row.video_id;
		RETURN NEXT;
		RETURN;
	END IF;

	SELECT * INTO v_row FROM pipeline_runs r
	WHERE r.worker_id = p_worker_id AND r.lock_token IS NOT NULL
	    AND NOT rv_terminal(r.status)
	    AND (r.lease_expires_at IS NULL OR r.lease_expires_at <= now()
		OR r.lock_token = v_prev OR r.last_heartbeat_at IS NULL
		OR r.last_heartbeat_at <
		    now() - make_interval(secs => 2 * v_hb))
	ORDER BY r.created_at, r.seq LIMIT 1
	FOR UPDATE SKIP LOCKED;
	IF FOUND THEN
		v_rec := true;
		v_prev_worker := p_worker_id;
	ELSE
		SELECT * INTO v_row FROM pipeline_runs r
		WHERE r.status IN ('approved', 'running')
		    AND (r.lock_token IS NULL OR r.lease_expires_at IS NULL
			OR r.lease_expires_at <= now())
		    AND (v_task = '' OR r.task_type = v_task)
		ORDER BY (r.status = 'approved') DESC, r.created_at, r.seq
		LIMIT 1
		FOR UPDATE SKIP LOCKED;
		IF NOT FOUND THEN
			RETURN;
		END IF;
		v_prev_worker := v_row.worker_id;
	END IF;
	v_id := v_row.run_id;

	-- The epoch guard makes a double claim impossible even if the row
	-- lock above were lost.
	UPDATE pipeline_runs r SET lock_token = p_lock_token::uuid,
	    lease_epoch = r.lease_epoch + 1, worker_id = p_worker_id,
	    worker_state = 'active', last_heartbeat_at = now(),
	    lease_expires_at = now() + make_interval(mins => v_lease),
	    updated_at = now()
	WHERE r.run_id = v_id AND r.lease_epoch = v_row.lease_epoch
	RETURNING * INTO v_row;
	GET DIAGNOSTICS v_n = ROW_COUNT;
	IF v_n <> 1 THEN
		PERFORM rv_raise('XX000', format('run %s changed while '
		    'claimed', v_id));
	END IF;
	PERFORM rv_event(v_row.run_id, 'run_claimed', 'INFO', 'claim',
	    jsonb_build_object('worker_id', p_worker_id,
	    'lease_epoch', v_row.lease_epoch, 'is_recovery', v_rec,
	    'previous_worker_id', nullif(v_prev_worker, ''),
	    'lease_minutes', v_lease));
	run_id := v_row.run_id;
	lock_token := v_row.lock_token;
	lease_epoch := v_row.lease_epoch;
	is_recovery := v_rec;
	video_id := v_row.video_id;
	RETURN NEXT;
END
$$;

-- Renew the lease of <p_run_id> for its holder.  ok=false when the lock
-- is gone (another token, unlocked, aborted, or a terminal run: status
-- says which).  A pending force_refetch is reported once and cleared.
-- gate_nonce is the open gate, decided_nonce and decision the gate last
-- decided and how (also when ok is false).
CREATE OR REPLACE FUNCTION public.cas_heartbeat_run(p_run_id text,
    p_worker_id text, p_lock_token text, p_lease_minutes integer DEFAULT 15,
    p_latency_ms bigint DEFAULT -1, p_worker_state text DEFAULT NULL)
RETURNS TABLE (ok boolean, status text, force_refetch boolean,
    gate_nonce uuid, decided_nonce uuid, decision text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
	v_id uuid := rv_check_holder(p_run_id, p_worker_id, p_lock_token);
	v_row pipeline_runs;
	v_n integer;
BEGIN
	PERFORM rv_check_state(p_worker_state, true);
	v_row := rv_lock_run(v_id);
	ok := false;
	status := v_row.status;
	force_refetch := false;
	gate_nonce := v_row.gate_nonce;
	decided_nonce := v_row.decided_nonce;
	decision := v_row.gate_decision;
	IF NOT rv_holds(v_row, p_worker_id, p_lock_token) OR
	    rv_terminal(v_row.status) THEN
		RETURN NEXT;
		RETURN;
	END IF;
	UPDATE pipeline_runs r SET
	    lease_expires_at = now() +
		make_interval(mins => rv_lease_clamp(p_lease_minutes)),
	    last_heartbeat_at = now(),
	    heartbeat_latency_ms = CASE WHEN coalesce(p_latency_ms, -1) >= 0
		THEN p_latency_ms ELSE r.heartbeat_latency_ms END,
	    worker_state = coalesce(nullif(p_worker_state, ''),
		r.worker_state),
	    force_refetch = false, updated_at = now()
	WHERE r.run_id = v_id AND r.lock_token = p_lock_token::uuid
	    AND r.worker_id = p_worker_id;
	GET DIAGNOSTICS v_n = ROW_COUNT;
	ok := v_n = 1;
	force_refetch := ok AND v_row.force_refetch;
	RETURN NEXT;
END
$$;

-- Give up the lease of <p_run_id> without changing its status; the run's
-- worker state becomes <p_worker_state> (default idle).  false when the
-- caller's token is not the current one.
CREATE OR REPLACE FUNCTION public.rpc_release_run(p_run_id text,
    p_worker_id text, p_lock_token text, p_worker_state text DEFAULT 'idle')
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
	v_id uuid := rv_check_holder(p_run_id, p_worker_id, p_lock_token);
	v_ws text := coalesce(nullif(p_worker_state, ''), 'idle');
	v_row pipeline_runs;
	v_n integer;
BEGIN
	PERFORM rv_check_state(p_worker_state, true);
	v_row := rv_lock_run(v_id);
	IF NOT rv_holds(v_row, p_worker_id, p_lock_token) THEN
		RETURN false;
	END IF;
	UPDATE pipeline_runs SET lock_token = NULL, lease_expires_at = NULL,
	    worker_state = v_ws, updated_at = now()
	WHERE run_id = v_id AND lock_token = p_lock_token::uuid
	    AND worker_id = p_worker_id;
	GET DIAGNOSTICS v_n = ROW_COUNT;
	IF v_n <> 1 THEN
		RETURN false;
	END IF;
	PERFORM rv_event(v_id, 'run_released', 'INFO', 'release',
	    jsonb_build_object('worker_id', p_worker_id,
	    'lease_epoch', v_row.lease_epoch, 'worker_state', v_ws,
	    'status', v_row.status));
	RETURN true;
END
$$;

-- Set the final <p_status> (done, failed or aborted) and drop the lease
-- in one guarded step.  false when the token is not current or the run
-- is already terminal (acknowledging an operator's abort as aborted is
-- allowed).
CREATE OR REPLACE FUNCTION public.rpc_finish_run(p_run_id text,
    p_worker_id text, p_lock_token text, p_status text,
    p_error text DEFAULT NULL)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
	v_id uuid := rv_check_holder(p_run_id, p_worker_id, p_lock_token);
	v_row pipeline_runs;
	v_n integer;
BEGIN
	IF p_status IS NULL OR NOT rv_terminal(p_status) THEN
		PERFORM rv_raise('P0001', format('run %s: final status "%s" is '
		    'not one of done, failed, aborted', v_id,
		    rv_quote(p_status)));
	END IF;
	IF octet_length(p_error) > 4096 THEN
		PERFORM rv_raise('P0001', format('run %s: error text is longer '
		    'than 4096 bytes', v_id));
	END IF;
	v_row := rv_lock_run(v_id);
	IF NOT rv_holds(v_row, p_worker_id, p_lock_token) THEN
		RETURN false;
	END IF;
	IF rv_terminal(v_row.status) AND (v_row.status <> 'aborted' OR
	    p_status <> 'aborted') THEN
		RETURN false;
	END IF;
	UPDATE pipeline_runs SET status = p_status, error = nullif(p_error, ''),
	    lock_token = NULL, lease_expires_at = NULL, worker_state = 'idle',
	    gate_nonce = NULL, updated_at = now()
	WHERE run_id = v_id AND lock_token = p_lock_token::uuid
	    AND worker_id = p_worker_id;
	GET DIAGNOSTICS v_n = ROW_COUNT;
	IF v_n <> 1 THEN
		RETURN false;
	END IF;
	PERFORM rv_event(v_id, 'run_finished', CASE p_status
	    WHEN 'done' THEN 'INFO' WHEN 'failed' THEN 'ERROR' ELSE 'WARN' END,
	    p_status, jsonb_build_object('worker_id', p_worker_id,
	    'lease_epoch', v_row.lease_epoch, 'status', p_status,
	    'previous_status', v_row.status, 'error', nullif(p_error, '')));
	RETURN true;
END
$$;

-- Open a gate on <p_run_id> for its holder: status waiting_approval,
-- worker state <p_worker_state> (waiting or panic; default waiting), a
-- fresh nonce; the last decision is cleared.  ok=false when the token is
-- not current or the run is terminal.
CREATE OR REPLACE FUNCTION public.rpc_gate_run(p_run_id text,
    p_worker_id text, p_lock_token text, p_reason text,
    p_evidence jsonb DEFAULT NULL, p_worker_state text DEFAULT 'waiting')
RETURNS TABLE (ok boolean, gate_nonce uuid)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
	v_id uuid := rv_check_holder(p_run_id, p_worker_id, p_lock_token);
	v_ev jsonb := coalesce(p_evidence, '{}');
	v_nonce uuid := gen_random_uuid();
	v_ws text := coalesce(nullif(p_worker_state, ''), 'waiting');
	v_row pipeline_runs;
	v_n integer;
BEGIN
	IF coalesce(p_reason, '') = '' OR octet_length(p_reason) > 1000 THEN
		PERFORM rv_raise('P0001', format('run %s: gate reason must '
		    'be 1 to 1000 bytes', v_id));
	END IF;
	IF v_ws NOT IN ('waiting', 'panic') THEN
		PERFORM rv_raise('P0001', format('run %s: a gate''s worker '
		    'state "%s" is not waiting or panic', v_id,
		    rv_quote(v_ws)));
	END IF;
	IF octet_length(v_ev::text) > 262144 THEN
		PERFORM rv_raise('P0001', format('run %s: gate evidence is '
		    'larger than 262144 bytes', v_id));
	END IF;
	v_row := rv_lock_run(v_id);
	ok := false;
	gate_nonce := NULL;
	IF NOT rv_holds(v_row, p_worker_id, p_lock_token) OR
	    rv_terminal(v_row.status) THEN
		RETURN NEXT;
		RETURN;
	END IF;
	UPDATE pipeline_runs r SET status = 'waiting_approval',
	    worker_state = v_ws, gate_nonce = v_nonce,
	    gate_reason = p_reason, gate_evidence = v_ev, gated_at = now(),
	    gate_decision = NULL, decided_nonce = NULL, updated_at = now()
	WHERE r.run_id = v_id AND r.lock_token = p_lock_token::uuid
	    AND r.worker_id = p_worker_id;
	GET DIAGNOSTICS v_n = ROW_COUNT;
	IF v_n <> 1 THEN
		RETURN NEXT;
		RETURN;
	END IF;
	PERFORM rv_event(v_id, 'gate_opened', 'WARN', 'gate',
	    jsonb_build_object('reason', p_reason, 'worker_state', v_ws,
	    'evidence', v_ev, 'nonce', v_nonce, 'worker_id', p_worker_id,
	    'lease_epoch', v_row.lease_epoch,
	    'previous_status', v_row.status));
	ok := true;
	gate_nonce := v_nonce;
	RETURN NEXT;
END
$$;

-- Record the holder's worker state; false when the token is not current.
CREATE OR REPLACE FUNCTION public.rpc_set_worker_state(p_run_id text,
    p_worker_id text, p_lock_token text, p_worker_state text)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
	v_id uuid := rv_check_holder(p_run_id, p_worker_id, p_lock_token);
	v_row pipeline_runs;
	v_n integer;
BEGIN
	PERFORM rv_check_state(p_worker_state, false);
	v_row := rv_lock_run(v_id);
	IF NOT rv_holds(v_row, p_worker_id, p_lock_token) THEN
		RETURN false;
	END IF;
	UPDATE pipeline_runs SET worker_state = p_worker_state,
	    updated_at = now()
	WHERE run_id = v_id AND lock_token = p_lock_token::uuid
	    AND worker_id = p_worker_id;
	GET DIAGNOSTICS v_n = ROW_COUNT;
	RETURN v_n = 1;
END
$$;

-- -------------------------------------------------------------- operator

-- Apply operator <p_action> (approve, refetch, abort, unlock) to
-- <p_run_id> for <p_operator>, compare-and-set on the run's status, gate
-- nonce and lease: result is applied, already_applied or not_possible,
-- message a sentence for the operator.  <p_nonce> names the gate the
-- decision is for, in full or as its first 8 hex digits (Telegram).  A
-- nonce that is not the open gate's is judged by the operator_action
-- events (same nonce and action applied before: already applied;
-- otherwise "no longer possible: that gate is closed").  A decision
-- closes the open gate and records it (decided_nonce, gate_decision =
-- the bare action); an abort also drops the lease in the same step (its
-- epoch fenced, worker state idle).  An unlock is about the lease, not a
-- gate: its nonce is not judged, and it never forces.  Applied calls
-- write operator_action (its nonce: the gate decided, in full), the
-- others operator_action_ignored.
CREATE OR REPLACE FUNCTION public.rpc_operator_action(p_run_id text,
    p_action text, p_operator text, p_nonce text DEFAULT NULL)
RETURNS TABLE (result text, message text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
	v_id uuid := rv_run_id(p_run_id);
	v_nonce text := lower(nullif(p_nonce, ''));
	v_row pipeline_runs;
	v_res text := 'not_possible';
	v_to text;
	v_why text;
	v_term boolean;
	v_verb text;
	v_p jsonb;
	v_n integer;
BEGIN
	IF p_action IS NULL OR p_action NOT IN ('approve', 'refetch', 'abort',
	    'unlock') THEN
		PERFORM rv_raise('P0001', format('action "%s" is not one of '
		    'approve, refetch, abort, unlock', rv_quote(p_action)));
	END IF;
	IF v_nonce IS NOT NULL AND NOT rv_is_uuid(v_nonce) AND
	    v_nonce !~ '^[0-9a-f]{8}$' THEN
		PERFORM rv_raise('P0001', format('nonce "%s" is not a uuid or '
		    'its first 8 hex digits', rv_quote(p_nonce)));
	END IF;
	PERFORM rv_check_name(p_operator, 'operator');
	v_row := rv_lock_run(v_id);
	v_term := rv_terminal(v_row.status);

	IF v_nonce IS NOT NULL AND p_action <> 'unlock' AND
	    (v_row.gate_nonce IS NULL OR NOT (v_nonce = v_row.gate_nonce::text
	    OR (length(v_nonce) = 8 AND
	    left(v_row.gate_nonce::text, 8) = v_nonce))) THEN
		IF EXISTS (SELECT 1 FROM run_events e WHERE e.run_id = v_id
		    AND e.event_type = 'operator_action'
		    AND left(lower(e.payload->>'nonce'), length(v_nonce)) =
			v_nonce
		    AND e.payload->>'action' = p_action) THEN
			v_res := 'already_applied';
			v_why := 'this button was already used';
		ELSE
			v_why := 'no longer possible: that gate is closed';
		END IF;
	ELSE
		IF v_term THEN
			v_why := format('run is %s', v_row.status);
		END IF;
		IF p_action = 'unlock' THEN
			IF v_row.lock_token IS NULL THEN
				v_res := 'already_applied';
				v_why := 'run is not locked';
			ELSIF rv_live(v_row) THEN
				v_why := format('the lease is live (until %s) '
				    'and this unlock never forces; use rvctl '
				    'unlock --force',
				    rv_ts(v_row.lease_expires_at));
			ELSE
				v_res := 'applied';
			END IF;
		ELSIF p_action = 'approve' THEN
			IF v_row.status = 'approved' THEN
				v_res := 'already_applied';
				v_why := 'run is already approved';
			ELSIF v_row.status = 'waiting_approval' THEN
				v_to := 'approved';
			ELSIF NOT v_term THEN
				v_why := format('run is not waiting for '
				    'approval (status %s)', v_row.status);
			END IF;
		ELSIF p_action = 'refetch' THEN
			IF NOT v_term THEN
				IF v_row.force_refetch THEN
					v_res := 'already_applied';
					v_why := 'a refetch is already pending';
				ELSE
					v_to := 'running';
				END IF;
			END IF;
		ELSE
			IF v_row.status = 'aborted' THEN
				v_res := 'already_applied';
				v_why := 'run is already aborted';
			ELSIF NOT v_term THEN
				v_to := 'aborted';
			END IF;
		END IF;
		IF v_to IS NOT NULL THEN
			v_res := 'applied';
		END IF;
	END IF;

	IF v_res = 'applied' AND v_to IS NULL THEN
		PERFORM rv_clear_lock(v_id);
	ELSIF v_res = 'applied' THEN
		UPDATE pipeline_runs r SET status = v_to,
		    force_refetch = (p_action = 'refetch' OR r.force_refetch),
		    decided_nonce = CASE WHEN r.gate_nonce IS NOT NULL
			THEN r.gate_nonce WHEN p_action = 'abort' THEN NULL
			ELSE r.decided_nonce END,
		    gate_decision = CASE WHEN r.gate_nonce IS NOT NULL OR
			p_action = 'abort' THEN p_action
			ELSE r.gate_decision END,
		    gate_nonce = NULL,
		    fenced_epoch = CASE WHEN p_action = 'abort' AND
			r.lock_token IS NOT NULL THEN r.lease_epoch
			ELSE r.fenced_epoch END,
		    lock_token = CASE WHEN p_action = 'abort' THEN NULL
			ELSE r.lock_token END,
		    lease_expires_at = CASE WHEN p_action = 'abort' THEN NULL
			ELSE r.lease_expires_at END,
		    worker_state = CASE WHEN p_action = 'abort' THEN 'idle'
			ELSE r.worker_state END,
		    updated_at = now()
		WHERE r.run_id = v_id AND r.status = v_row.status;
		GET DIAGNOSTICS v_n = ROW_COUNT;
		IF v_n <> 1 THEN
			PERFORM rv_raise('XX000', format('run %s changed while '
			    'locked', v_id));
		END IF;
	END IF;

	v_p := jsonb_build_object('operator', p_operator, 'action', p_action,
	    'nonce', CASE WHEN v_res = 'applied' AND p_action <> 'unlock' AND
		v_row.gate_nonce IS NOT NULL THEN v_row.gate_nonce::text
		ELSE v_nonce END,
	    'result', v_res, 'from_status', v_row.status,
	    'to_status', coalesce(v_to, v_row.status));
	IF v_res <> 'applied' THEN
		v_p := v_p || jsonb_build_object('reason', v_why);
	END IF;
	IF p_action = 'unlock' THEN
		v_p := v_p || jsonb_build_object('previous',
		    rv_lock_snapshot(v_row));
	END IF;
	IF v_res = 'applied' THEN
		PERFORM rv_event(v_id, 'operator_action', CASE p_action
		    WHEN 'abort' THEN 'WARN' ELSE 'INFO' END, p_action, v_p);
		v_verb := CASE p_action WHEN 'approve' THEN 'approved'
		    WHEN 'refetch' THEN 'refetch requested'
		    WHEN 'abort' THEN 'aborted' ELSE 'unlocked' END;
		message := format('run %s: %s by %s', v_id, v_verb,
		    p_operator);
	ELSE
		PERFORM rv_event(v_id, 'operator_action_ignored', 'INFO',
		    p_action, v_p);
		IF v_res = 'already_applied' THEN
			message := format('run %s: already applied (%s); '
			    'nothing done', v_id, v_why);
		ELSE
			message := format('run %s: cannot %s: %s', v_id,
			    p_action, v_why);
		END IF;
	END IF;
	result := v_res;
	RETURN NEXT;
END
$$;

-- Clear the lease of <p_run_id> for operator <p_operator_id> giving
-- <p_reason>.  Without <p_force> a live lease is left alone.  Never
-- changes the status; always writes a manual_unlock event with the lock
-- it found.
CREATE OR REPLACE FUNCTION public.rpc_force_unlock_run(p_run_id text,
    p_operator_id text, p_reason text, p_force boolean DEFAULT false)
RETURNS TABLE (unlocked boolean, message text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
	v_id uuid := rv_run_id(p_run_id);
	v_force boolean := coalesce(p_force, false);
	v_row pipeline_runs;
	v_done boolean;
BEGIN
	PERFORM rv_check_name(p_operator_id, 'operator');
	IF coalesce(p_reason, '') = '' OR octet_length(p_reason) > 1000 THEN
		PERFORM rv_raise('P0001', format('run %s: an unlock needs a '
		    'reason (1 to 1000 bytes)', v_id));
	END IF;
	v_row := rv_lock_run(v_id);
	v_done := NOT rv_live(v_row) OR v_force;
	IF v_done AND rv_clear_lock(v_id) <> 1 THEN
		v_done := false;
	END IF;
	IF NOT v_done THEN
		message := format('run %s: lease is live until %s; use --force',
		    v_id, rv_ts(v_row.lease_expires_at));
	ELSIF v_row.lock_token IS NULL THEN
		message := format('run %s: was not locked', v_id);
	ELSE
		message := format('run %s: unlocked (was held by %s, epoch %s)',
		    v_id, v_row.worker_id, v_row.lease_epoch);
	END IF;
	PERFORM rv_event(v_id, 'manual_unlock', 'WARN', 'manual_unlock',
	    jsonb_build_object('operator', p_operator_id, 'reason', p_reason,
	    'force', v_force, 'unlocked', v_done, 'status', v_row.status,
	    'previous', rv_lock_snapshot(v_row)));
	unlocked := v_done;
	RETURN NEXT;
END
$$;

-- --------------------------------------------------------- credit ledger

-- Book a render intent "<run_id>:<segment_id>:<sha8>" for the holder of
-- <p_lock_token> while the run may spend.  <p_lease_epoch> (0: not
-- checked) must be the run's current epoch, not cleared by an operator,
-- else nothing is booked: {"result": "fenced", "fresh": false,
-- "message"}.  A new key, or a key whose last attempt failed (a new paid
-- attempt: state intent, attempts + 1), is booked: {"result": "done",
-- "fresh": true}; a key booked already (intent or done) answers
-- {"result": "duplicate", "fresh": false, "existing": row}.
CREATE OR REPLACE FUNCTION public.rpc_ledger_intent(p_run_id text,
    p_segment_id text, p_sha8 text, p_lock_token text,
    p_lease_epoch bigint DEFAULT 0, p_credits integer DEFAULT 0,
    p_key text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
	v_id uuid := rv_run_id(p_run_id);
	v_key text;
	v_row pipeline_runs;
	v_l credit_ledger;
	v_why text;
BEGIN
	IF p_segment_id IS NULL OR
	    p_segment_id !~ '^[A-Za-z0-9][A-Za-z0-9-]{0,39}$' THEN
		PERFORM rv_raise('P0001', format('ledger: "%s" is not a '
		    'segment id', rv_quote(p_segment_id)));
	END IF;
	IF p_sha8 IS NULL OR p_sha8 !~ '^[0-9a-f]{8}$' THEN
		PERFORM rv_raise('P0001', format('ledger: "%s" is not a sha8',
		    rv_quote(p_sha8)));
	END IF;
	IF coalesce(p_credits, 0) < 0 THEN
		PERFORM rv_raise('P0001', 'ledger: negative credits');
	END IF;
	v_key := p_run_id || ':' || p_segment_id || ':' || p_sha8;
	IF coalesce(p_key, '') <> '' AND p_key <> v_key THEN
		PERFORM rv_raise('P0001', format('ledger key "%s" is not '
		    '<run_id>:<segment_id>:<sha8>', rv_quote(p_key)));
	END IF;
	v_row := rv_lock_run(v_id);
	v_why := rv_fence_why(v_id, p_lease_epoch);
	IF v_why IS NOT NULL THEN
		RETURN jsonb_build_object('result', 'fenced', 'fresh', false,
		    'message', format('ledger %s: %s', v_key, v_why));
	END IF;
	IF v_row.lock_token IS NULL OR NOT rv_is_uuid(p_lock_token) OR
	    v_row.lock_token <> p_lock_token::uuid THEN
		PERFORM rv_raise('RV412', format('ledger %s: lock lost (the '
		    'caller''s token is not the run''s)', v_key));
	END IF;
	IF v_row.status NOT IN ('running', 'approved') THEN
		PERFORM rv_raise('RV403', format('ledger %s: run is %s; no '
		    'credits may be spent', v_key, v_row.status));
	END IF;
	SELECT * INTO v_l FROM credit_ledger WHERE key = v_key FOR UPDATE;
	IF FOUND AND v_l.state <> 'failed' THEN
		RETURN jsonb_build_object('result', 'duplicate', 'fresh', false,
		    'existing', rv_ledger_json(v_l));
	ELSIF FOUND THEN
		UPDATE credit_ledger SET state = 'intent',
		    attempts = attempts + 1, lease_epoch = v_row.lease_epoch,
		    credits = coalesce(p_credits, 0), output = NULL,
		    updated_at = now()
		WHERE key = v_key;
		RETURN jsonb_build_object('result', 'done', 'fresh', true);
	END IF;
	INSERT INTO credit_ledger (key, run_id, segment_id, sha8, lease_epoch,
	    credits, state)
	VALUES (v_key, v_id, p_segment_id, p_sha8, v_row.lease_epoch,
	    coalesce(p_credits, 0), 'intent')
	ON CONFLICT (key) DO NOTHING;
	IF FOUND THEN
		RETURN jsonb_build_object('result', 'done', 'fresh', true);
	END IF;
	SELECT * INTO v_l FROM credit_ledger WHERE key = v_key;
	RETURN jsonb_build_object('result', 'duplicate', 'fresh', false,
	    'existing', rv_ledger_json(v_l));
END
$$;

-- Record the result of intent <p_key>: done or failed, credits spent,
-- output path relative to the state root, from the holder of lease epoch
-- <p_lease_epoch> (0: not checked).  It lands on a row in intent, and a
-- success also on a row whose attempt failed (a late success ends done);
-- done is never made failed.  Answers {"result": "done"} when recorded,
-- {"result": "duplicate"} when the row has its result already (a replay,
-- or done before), {"result": "fenced", "message"} for a stale epoch.
CREATE OR REPLACE FUNCTION public.rpc_ledger_result(p_key text,
    p_lease_epoch bigint, p_state text, p_credits integer,
    p_output text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
	v_l credit_ledger;
	v_why text;
BEGIN
	IF coalesce(p_key, '') = '' OR octet_length(p_key) >= 128 THEN
		PERFORM rv_raise('P0001', format('ledger key "%s" is empty or '
		    'too long', rv_quote(p_key)));
	END IF;
	IF p_state IS NULL OR p_state NOT IN ('done', 'failed') OR
	    coalesce(p_credits, -1) < 0 THEN
		PERFORM rv_raise('P0001', format('ledger %s: result "%s" with '
		    '%s credits is not done or failed with credits >= 0',
		    p_key, rv_quote(p_state), coalesce(p_credits::text,
		    'null')));
	END IF;
	IF p_output LIKE '/%' OR octet_length(p_output) >= 256 THEN
		PERFORM rv_raise('P0001', format('ledger %s: output must be a '
		    'path relative to the state root, under 256 bytes', p_key));
	END IF;
	SELECT * INTO v_l FROM credit_ledger WHERE key = p_key FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM rv_raise('RV404', format('ledger %s: not found',
		    p_key));
	END IF;
	v_why := rv_fence_why(v_l.run_id, p_lease_epoch);
	IF v_why IS NOT NULL THEN
		RETURN jsonb_build_object('result', 'fenced', 'message',
		    format('ledger %s: %s', p_key, v_why));
	END IF;
	IF v_l.state = 'intent' OR (v_l.state = 'failed' AND
	    p_state = 'done') THEN
		UPDATE credit_ledger SET state = p_state, credits = p_credits,
		    output = nullif(p_output, ''), updated_at = now()
		WHERE key = p_key;
		RETURN jsonb_build_object('result', 'done');
	END IF;
	IF v_l.state <> p_state THEN
		RETURN jsonb_build_object('result', 'duplicate', 'message',
		    format('ledger %s is already %s; a %s result does not '
		    'undo it', p_key, v_l.state, p_state));
	END IF;
	RETURN jsonb_build_object('result', 'duplicate');
END
$$;

-- The ledger rows of <p_run_id> (null or "": all), oldest first.
CREATE OR REPLACE FUNCTION public.rpc_ledger_list(p_run_id text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
	v_id uuid;
BEGIN
	IF coalesce(p_run_id, '') <> '' THEN
		v_id := rv_run_id(p_run_id);
	END IF;
	RETURN (SELECT coalesce(jsonb_agg(rv_ledger_json(l)
	    ORDER BY l.created_at, l.seq), '[]')
	FROM credit_ledger l WHERE v_id IS NULL OR l.run_id = v_id);
END
$$;

-- --------------------------------------------------------------- contract

-- What this database offers, read from the catalog only (it never touches
-- a row): schema version, clock, each RPC's argument names and result,
-- who may execute it, each table's columns and row level security.  The
-- client compares it with what it calls (rvctl check-contract).
CREATE OR REPLACE FUNCTION public.rpc_contract_info()
RETURNS jsonb LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp AS $$
	SELECT jsonb_build_object(
	    'schema_version', 3,
	    'now', rv_ts(now()),
	    'functions', (SELECT coalesce(jsonb_object_agg(p.proname,
		jsonb_build_object(
		'args', pg_get_function_identity_arguments(p.oid),
		'result', pg_get_function_result(p.oid),
		'security_definer', p.prosecdef,
		'search_path_set', coalesce(p.proconfig::text LIKE
		    '%search_path=%', false),
		'service_role', has_function_privilege('service_role', p.oid,
		    'EXECUTE'),
		'anon', has_function_privilege('anon', p.oid, 'EXECUTE'),
		'authenticated', has_function_privilege('authenticated',
		    p.oid, 'EXECUTE'),
		'signatures', (SELECT count(*) FROM pg_proc q
		    WHERE q.pronamespace = p.pronamespace
		    AND q.proname = p.proname))), '{}')
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = 'public' AND (p.proname LIKE 'rpc\_%'
		    OR p.proname LIKE 'cas\_%')),
	    'tables', (SELECT coalesce(jsonb_object_agg(c.relname,
		jsonb_build_object(
		'rls', c.relrowsecurity,
		'anon_select', has_table_privilege('anon', c.oid, 'SELECT'),
		'authenticated_select', has_table_privilege('authenticated',
		    c.oid, 'SELECT'),
		'service_insert', has_table_privilege('service_role', c.oid,
		    'INSERT'),
		'columns', (SELECT jsonb_agg(a.attname ORDER BY a.attnum)
		    FROM pg_attribute a WHERE a.attrelid = c.oid
		    AND a.attnum > 0 AND NOT a.attisdropped))), '{}')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind = 'r'
		AND c.relname IN ('pipeline_runs', 'run_events',
		    'credit_ledger')))
$$;

-- ---------------------------------------------------------------- access

ALTER TABLE public.pipeline_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.run_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.credit_ledger ENABLE ROW LEVEL SECURITY;

REVOKE ALL ON public.pipeline_runs, public.run_events, public.credit_ledger
    FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON public.pipeline_runs, public.credit_ledger TO service_role;
GRANT SELECT, INSERT ON public.run_events TO service_role;

-- The sequences of the identity columns (pipeline_runs.seq, run_events.id,
-- credit_ledger.seq): Supabase's default privileges grant every new
-- sequence in public to anon and authenticated, who could then read how
-- many rows were ever made or move the sequence (nextval, setval).  Nobody
-- but the owner needs them: an insert into an identity column takes its
-- value without any privilege on the sequence.
DO $$
DECLARE
	s regclass;
BEGIN
	FOR s IN
		SELECT d.objid::regclass
		FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
		    AND c.relkind = 'S'
		WHERE d.refobjid IN ('public.pipeline_runs'::regclass,
		    'public.run_events'::regclass,
		    'public.credit_ledger'::regclass)
		AND d.deptype IN ('a', 'i')
	LOOP
		EXECUTE format('REVOKE ALL ON SEQUENCE %s FROM PUBLIC, anon, '
		    'authenticated', s);
	END LOOP;
END
$$;

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['pipeline_runs', 'run_events',
	    'credit_ledger']
	LOOP
		EXECUTE format('DROP POLICY IF EXISTS rv_deny_clients ON '
		    'public.%I', t);
		EXECUTE format('CREATE POLICY rv_deny_clients ON public.%I AS '
		    'RESTRICTIVE FOR ALL TO anon, authenticated USING (false) '
		    'WITH CHECK (false)', t);
		EXECUTE format('DROP POLICY IF EXISTS rv_service ON '
		    'public.%I', t);
		EXECUTE format('CREATE POLICY rv_service ON public.%I FOR ALL '
		    'TO service_role USING (true) WITH CHECK (true)', t);
	END LOOP;
END
$$;

-- RPCs: service_role only.  Helpers: nobody (the RPCs run as owner).
DO $$
DECLARE
	f record;
BEGIN
	FOR f IN
		SELECT p.oid::regprocedure AS sig, p.proname
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = 'public' AND (p.proname LIKE 'rpc\_%'
		    OR p.proname LIKE 'cas\_%' OR p.proname LIKE 'rv\_%')
	LOOP
		EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC, anon, '
		    'authenticated, service_role', f.sig);
		IF f.proname NOT LIKE 'rv\_%' THEN
			EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO '
			    'service_role', f.sig);
		END IF;
	END LOOP;
END
$$;
