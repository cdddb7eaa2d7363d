-- SPDX-License-Identifier: ISC
--
-- 06_unlock.sql: rpc_force_unlock_run.  The operator needs at least 3
-- characters and a reason; without force only an expired or empty lease
-- is cleared; the status never changes; every call, refused or not,
-- writes a manual_unlock event with the previous lock snapshot.
BEGIN;
SELECT plan(21);
UPDATE pipeline_runs SET status = 'aborted';

SELECT rpc_enqueue_run('UL-A', 'ul') AS run_a \gset
SELECT gen_random_uuid() AS t \gset
SELECT run_id AS got FROM rpc_claim_next_run('ul-worker', :'t', 15, 'ul')
\gset

SELECT throws_ok($$SELECT * FROM rpc_force_unlock_run('$$ || :'run_a' ||
    $$', 'ab', 'why')$$, 'P0001',
    'operator "ab" is too short (at least 3 characters)',
    'an operator under 3 characters is refused');
SELECT throws_ok($$SELECT * FROM rpc_force_unlock_run('$$ || :'run_a' ||
    $$', 'operator-1', '')$$, 'P0001', NULL, 'an empty reason is refused');
SELECT throws_ok($$SELECT * FROM rpc_force_unlock_run(
    gen_random_uuid()::text, 'operator-1', 'why')$$, 'RV404', NULL,
    'an unknown run');
SELECT is((SELECT count(*)::int FROM run_events WHERE run_id = :'run_a'
    AND event_type = 'manual_unlock'), 0, 'refused arguments write nothing');

-- A live lease without force: refused, recorded.
SELECT results_eq($$SELECT unlocked, message LIKE '%lease is live until %; '
    || 'use --force' FROM rpc_force_unlock_run('$$ || :'run_a' || $$',
    'operator-1', 'stuck?')$$, $$VALUES (false, true)$$,
    'a live lease is not cleared without force');
SELECT results_eq($$SELECT lock_token::text, status, lease_epoch FROM
    pipeline_runs WHERE run_id = '$$ || :'run_a' || $$'$$,
    $$VALUES ('$$ || :'t' || $$'::text, 'running'::text, 1::bigint)$$,
    'the refused unlock changed nothing');
SELECT results_eq($$SELECT severity, (payload->>'unlocked')::boolean,
    (payload->>'force')::boolean, payload->>'operator', payload->>'reason',
    payload->'previous'->>'lock_token', (payload->'previous'->>'live')
    ::boolean FROM run_events WHERE run_id = '$$ || :'run_a' || $$'
    AND event_type = 'manual_unlock'$$,
    $$VALUES ('WARN'::text, false, false, 'operator-1'::text,
    'stuck?'::text, '$$ || :'t' || $$'::text, true)$$,
    'the refusal is recorded with the lock it found');

-- With force.
SELECT results_eq($$SELECT * FROM rpc_force_unlock_run('$$ || :'run_a' ||
    $$', 'operator-1', 'worker gone', true)$$,
    $$VALUES (true, 'run $$ || :'run_a' ||
    $$: unlocked (was held by ul-worker, epoch 1)'::text)$$,
    'force clears a live lease');
SELECT results_eq($$SELECT lock_token, lease_expires_at, worker_state,
    status, worker_id FROM pipeline_runs
    WHERE run_id = '$$ || :'run_a' || $$'$$,
    $$VALUES (NULL::uuid, NULL::timestamptz, 'idle'::text, 'running'::text,
    'ul-worker'::text)$$,
    'lock cleared, status kept, worker state idle');
SELECT results_eq($$SELECT payload->'previous'->>'worker_id',
    payload->'previous'->>'lock_token',
    (payload->'previous'->>'lease_epoch')::int,
    payload->'previous'->>'lease_expires_at' IS NOT NULL,
    (payload->>'force')::boolean, (payload->>'unlocked')::boolean,
    payload->>'status' FROM run_events
    WHERE run_id = '$$ || :'run_a' || $$' AND event_type = 'manual_unlock'
    ORDER BY id DESC LIMIT 1$$,
    $$VALUES ('ul-worker'::text, '$$ || :'t' || $$'::text, 1, true, true,
    true, 'running'::text)$$,
    'manual_unlock event with the previous lock snapshot');
SELECT is((SELECT ok FROM cas_heartbeat_run(:'run_a', 'ul-worker', :'t')),
    false, 'the unlocked holder can no longer renew');
SELECT * FROM rpc_claim_next_run('ul-worker-2', gen_random_uuid()::text, 15,
    'ul') \gset c_
SELECT ok(:'c_run_id' = :'run_a' AND :'c_lease_epoch' = '2' AND
    NOT :'c_is_recovery'::boolean, 'another worker claims it, epoch 2');

-- Expired and empty leases need no force.
UPDATE pipeline_runs SET lease_expires_at = now() - interval '1 second'
WHERE run_id = :'run_a';
SELECT is((SELECT unlocked FROM rpc_force_unlock_run(:'run_a', 'operator-1',
    'expired')), true, 'an expired lease is cleared without force');
SELECT results_eq($$SELECT * FROM rpc_force_unlock_run('$$ || :'run_a' ||
    $$', 'operator-1', 'again')$$, $$VALUES (true, 'run $$ || :'run_a' ||
    $$: was not locked'::text)$$, 'an empty lease is cleared (nothing to do)');
SELECT is((SELECT count(*)::int FROM run_events WHERE run_id = :'run_a'
    AND event_type = 'manual_unlock'), 4, 'every unlock call is recorded');
SELECT is((SELECT payload->'previous'->>'lock_token' FROM run_events
    WHERE run_id = :'run_a' AND event_type = 'manual_unlock'
    ORDER BY id DESC LIMIT 1), NULL, 'the snapshot of an empty lease');

-- Never a status change, also on terminal or gated runs.
UPDATE pipeline_runs SET status = 'done' WHERE run_id = :'run_a';
SELECT rpc_enqueue_run('UL-B', 'ul') AS run_b \gset
SELECT gen_random_uuid() AS tb \gset
SELECT run_id AS gotb FROM rpc_claim_next_run('ul-worker-3', :'tb', 15, 'ul')
\gset
SELECT is((SELECT ok FROM rpc_gate_run(:'run_b', 'ul-worker-3', :'tb',
    'check')), true, 'gated');
SELECT is((SELECT unlocked FROM rpc_force_unlock_run(:'run_b', 'operator-1',
    'gated and stuck', true)), true, 'force unlock of a gated run');
SELECT results_eq($$SELECT status, gate_nonce IS NOT NULL FROM pipeline_runs
    WHERE run_id = '$$ || :'run_b' || $$'$$,
    $$VALUES ('waiting_approval'::text, true)$$,
    'still waiting for approval with its gate');
SELECT is_empty($$SELECT * FROM rpc_claim_next_run('ul-worker-4',
    gen_random_uuid()::text, 15, 'ul')$$,
    'an unlocked gated run is not claimable until approved');
UPDATE pipeline_runs SET status = 'done' WHERE run_id = :'run_b';
SELECT is((SELECT status FROM pipeline_runs, rpc_force_unlock_run(
    :'run_b', 'operator-1', 'done run', true) WHERE run_id = :'run_b'),
    'done', 'a done run stays done');

SELECT * FROM finish();
ROLLBACK;
