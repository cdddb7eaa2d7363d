-- SPDX-License-Identifier: ISC
--
-- 01_schema.sql: the shape and the access rules of the migration: tables,
-- the unique event_id, one signature per RPC, SECURITY DEFINER with a
-- fixed search_path, EXECUTE for service_role only, row level security
-- denying anon and authenticated, runs changed only through the RPCs, and
-- that re-applying the migration (done by the runner before this file,
-- over a stale overload and a queued run) kept the data and dropped the
-- stale signature.
BEGIN;
SELECT plan(51);

SELECT has_table('public', 'pipeline_runs', 'pipeline_runs exists');
SELECT has_table('public', 'run_events', 'run_events exists');
SELECT has_table('public', 'credit_ledger', 'credit_ledger exists');
SELECT col_is_pk('public', 'pipeline_runs', 'run_id', 'runs keyed by run_id');
SELECT is((SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
    WHERE i.indexrelid = 'public.pipeline_runs_video'::regclass),
    'CREATE UNIQUE INDEX pipeline_runs_video ON public.pipeline_runs '
    'USING btree (video_id) WHERE (replaced_by IS NULL)',
    'one current run per video_id (replaced runs are kept)');
SELECT col_is_unique('public', 'run_events', 'event_id',
    'event_id is unique');
SELECT col_is_pk('public', 'credit_ledger', 'key', 'ledger keyed by key');
SELECT col_type_is('public', 'pipeline_runs', 'lease_expires_at',
    'timestamp with time zone', 'lease expiry is a timestamptz');

-- Every RPC: exactly one signature, SECURITY DEFINER, search_path set,
-- executable by service_role and by nobody else.
CREATE TEMP TABLE rpcs (name text) ON COMMIT DROP;
INSERT INTO rpcs VALUES ('rpc_enqueue_run'), ('rpc_claim_next_run'),
    ('cas_heartbeat_run'), ('rpc_release_run'), ('rpc_finish_run'),
    ('rpc_gate_run'), ('rpc_operator_action'), ('rpc_force_unlock_run'),
    ('rpc_set_worker_state'), ('rpc_get_run'), ('rpc_list_runs'),
    ('rpc_list_events'), ('rpc_ledger_intent'), ('rpc_ledger_result'),
    ('rpc_ledger_list'), ('rpc_now'), ('rpc_contract_info'),
    ('rpc_amend_run');

SELECT is((SELECT count(*)::int FROM rpcs r JOIN pg_proc p
    ON p.proname = r.name AND p.pronamespace = 'public'::regnamespace), 18,
    'every RPC exists with exactly one signature');
SELECT is((SELECT count(*)::int FROM rpcs r JOIN pg_proc p
    ON p.proname = r.name AND p.pronamespace = 'public'::regnamespace
    WHERE p.prosecdef), 18, 'every RPC is SECURITY DEFINER');
SELECT is((SELECT count(*)::int FROM rpcs r JOIN pg_proc p
    ON p.proname = r.name AND p.pronamespace = 'public'::regnamespace
    WHERE 'search_path=public, pg_temp' = ANY (p.proconfig)), 18,
    'every RPC sets search_path = public, pg_temp');
SELECT is((SELECT count(*)::int FROM rpcs r JOIN pg_proc p
    ON p.proname = r.name AND p.pronamespace = 'public'::regnamespace
    WHERE has_function_privilege('service_role', p.oid, 'EXECUTE')), 18,
    'service_role may execute every RPC');
SELECT is((SELECT count(*)::int FROM rpcs r JOIN pg_proc p
    ON p.proname = r.name AND p.pronamespace = 'public'::regnamespace
    WHERE has_function_privilege('anon', p.oid, 'EXECUTE')
    OR has_function_privilege('authenticated', p.oid, 'EXECUTE')
    OR has_function_privilege('public', p.oid, 'EXECUTE')), 0,
    'anon, authenticated and PUBLIC may execute no RPC');
SELECT is((SELECT count(*)::int FROM pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'rv\_%'
    AND (has_function_privilege('service_role', p.oid, 'EXECUTE')
    OR has_function_privilege('anon', p.oid, 'EXECUTE'))), 0,
    'internal rv_* helpers are not callable through the API');

SELECT function_returns('public', 'rpc_claim_next_run',
    ARRAY['text', 'text', 'integer', 'text', 'text', 'integer'], 'setof record',
    'rpc_claim_next_run returns rows');
SELECT is(pg_get_function_result('public.rpc_claim_next_run(text, text, '
    'integer, text, text, integer)'::regprocedure),
    'TABLE(run_id uuid, lock_token uuid, lease_epoch bigint, '
    'is_recovery boolean, video_id text)', 'claim row shape');
SELECT is(pg_get_function_result('public.cas_heartbeat_run(text, text, '
    'text, integer, bigint, text)'::regprocedure),
    'TABLE(ok boolean, status text, force_refetch boolean, gate_nonce uuid, decided_nonce uuid, decision text)',
    'heartbeat row shape');
SELECT is(pg_get_function_identity_arguments(
    'public.rpc_claim_next_run(text, text, integer, text, text, integer)'
    ::regprocedure), 'p_worker_id text, p_lock_token text, p_lease_minutes '
    'integer, p_task_type text, p_prev_lock_token text, '
    'p_heartbeat_interval_sec integer', 'claim argument names (SPEC 2)');
SELECT is(pg_get_function_identity_arguments(
    'public.cas_heartbeat_run(text, text, text, integer, bigint, text)'
    ::regprocedure), 'p_run_id text, p_worker_id text, p_lock_token text, '
    'p_lease_minutes integer, p_latency_ms bigint, p_worker_state text',
    'heartbeat argument names (SPEC 2)');
SELECT is(pg_get_function_identity_arguments(
    'public.rpc_finish_run(text, text, text, text, text)'::regprocedure),
    'p_run_id text, p_worker_id text, p_lock_token text, p_status text, '
    'p_error text', 'finish argument names (SPEC 2)');
SELECT is(pg_get_function_identity_arguments(
    'public.rpc_operator_action(text, text, text, text)'::regprocedure),
    'p_run_id text, p_action text, p_operator text, p_nonce text',
    'operator action argument names (SPEC 2)');
SELECT is(pg_get_function_identity_arguments(
    'public.rpc_force_unlock_run(text, text, text, boolean)'::regprocedure),
    'p_run_id text, p_operator_id text, p_reason text, p_force boolean',
    'force unlock argument names (SPEC 2)');

-- Row level security.
SELECT ok((SELECT bool_and(relrowsecurity) FROM pg_class
    WHERE oid IN ('public.pipeline_runs'::regclass,
    'public.run_events'::regclass, 'public.credit_ledger'::regclass)),
    'row level security is enabled on every table');
SELECT policies_are('public', 'pipeline_runs',
    ARRAY['rv_deny_clients', 'rv_service'], 'pipeline_runs policies');
SELECT policy_roles_are('public', 'run_events', 'rv_deny_clients',
    ARRAY['anon', 'authenticated'], 'the deny policy names the clients');
SELECT table_privs_are('public', 'pipeline_runs', 'anon', ARRAY[]::text[],
    'anon has no privilege on pipeline_runs');
SELECT table_privs_are('public', 'run_events', 'authenticated',
    ARRAY[]::text[], 'authenticated has no privilege on run_events');
SELECT table_privs_are('public', 'pipeline_runs', 'service_role',
    ARRAY['SELECT'], 'service_role only reads pipeline_runs');
SELECT table_privs_are('public', 'run_events', 'service_role',
    ARRAY['INSERT', 'SELECT'], 'service_role reads and appends run_events');
SELECT table_privs_are('public', 'credit_ledger', 'service_role',
    ARRAY['SELECT'], 'service_role only reads credit_ledger');

-- The same, as the roles themselves.
SET LOCAL ROLE anon;
SELECT throws_ok($$SELECT rpc_now()$$, '42501', NULL,
    'anon cannot call an RPC');
SELECT throws_ok($$SELECT * FROM rpc_claim_next_run('worker-anon',
    gen_random_uuid()::text)$$, '42501', NULL, 'anon cannot claim');
SELECT throws_ok($$SELECT count(*) FROM pipeline_runs$$, '42501', NULL,
    'anon cannot read runs');
SELECT throws_ok($$INSERT INTO run_events (event_id, event_type, severity)
    VALUES (gen_random_uuid(), 'x', 'INFO')$$, '42501', NULL,
    'anon cannot insert events');
RESET ROLE;
SET LOCAL ROLE authenticated;
SELECT throws_ok($$SELECT rpc_list_runs()$$, '42501', NULL,
    'authenticated cannot call an RPC');
SELECT throws_ok($$SELECT count(*) FROM credit_ledger$$, '42501', NULL,
    'authenticated cannot read the ledger');
RESET ROLE;
SET LOCAL ROLE service_role;
SELECT lives_ok($$SELECT rpc_now()$$, 'service_role calls an RPC');
SELECT lives_ok($$SELECT count(*) FROM pipeline_runs$$,
    'service_role reads runs');
SELECT throws_ok($$UPDATE pipeline_runs SET status = 'done'$$, '42501',
    NULL, 'service_role cannot PATCH a run around the RPCs');
SELECT throws_ok($$DELETE FROM run_events$$, '42501', NULL,
    'service_role cannot delete events');
SELECT throws_ok($$SELECT rv_clear_lock(gen_random_uuid())$$, '42501', NULL,
    'service_role cannot call an internal helper');
SELECT lives_ok($$INSERT INTO run_events (event_id, event_type, severity)
    VALUES ('11111111-2222-3333-4444-555555555555', 'schema_test', 'INFO')$$,
    'service_role appends an event');
SELECT throws_ok($$INSERT INTO run_events (event_id, event_type, severity)
    VALUES ('11111111-2222-3333-4444-555555555555', 'schema_test', 'INFO')$$,
    '23505', NULL, 'a duplicate event_id is a unique violation (409)');
SELECT throws_ok($$INSERT INTO run_events (event_id, event_type, severity)
    VALUES (gen_random_uuid(), 'schema_test', 'NOTICE')$$, '23514', NULL,
    'severity NOTICE is refused');
SELECT throws_ok($$INSERT INTO run_events (event_id, event_type, severity,
    payload) VALUES (gen_random_uuid(), 'schema_test', 'INFO', '[1]')$$,
    '23514', NULL, 'a payload that is not an object is refused');
RESET ROLE;

-- Re-applying the migration (the runner did it) kept the data and left
-- one signature per name.
SELECT is((SELECT status FROM pipeline_runs WHERE video_id = 'CANARY-1'),
    'running', 'a run queued before re-applying the migration survived');
SELECT is((SELECT count(*)::int FROM pg_proc
    WHERE proname = 'rpc_claim_next_run'), 1,
    'a stale overload was dropped by the migration');
SELECT is((SELECT count(*)::int FROM pg_policy
    WHERE polrelid = 'public.pipeline_runs'::regclass), 2,
    'policies were not duplicated');
SELECT is(rpc_contract_info()->'functions'->'rpc_claim_next_run'->>'signatures',
    '1', 'rpc_contract_info reports one signature');
SELECT is((rpc_contract_info()->'tables'->'run_events'->>'service_insert')
    ::boolean, true, 'rpc_contract_info reports the event insert grant');
SELECT is((SELECT count(*)::int FROM pipeline_runs), (SELECT count(*)::int
    FROM pipeline_runs WHERE rpc_contract_info() IS NOT NULL),
    'rpc_contract_info reads only the catalog');

SELECT * FROM finish();
ROLLBACK;
