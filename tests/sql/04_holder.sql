-- SPDX-License-Identifier: ISC
--
-- 04_holder.sql: the calls of a lease holder, each guarded by its lock
-- token and worker id: heartbeat (renewal, ok=false when the lock is
-- gone, force_refetch once), release, finish (terminal states, the
-- operator's abort wins), gate (fresh nonce), set_worker_state.  A
-- stale token changes nothing.
BEGIN;
SELECT plan(46);
UPDATE pipeline_runs SET status = 'aborted';

SELECT rpc_enqueue_run('HD-A', 'hold') AS run_a \gset
SELECT gen_random_uuid() AS t \gset
SELECT gen_random_uuid() AS stale \gset
SELECT run_id AS got FROM rpc_claim_next_run('holder-1', :'t', 15, 'hold')
\gset
UPDATE pipeline_runs SET last_heartbeat_at = now() - interval '20 seconds',
    lease_expires_at = now() + interval '1 minute' WHERE run_id = :'run_a';

-- Heartbeat.
SELECT results_eq($$SELECT ok, status, force_refetch FROM cas_heartbeat_run(
    '$$ || :'run_a' || $$', 'holder-1', '$$ || :'t' || $$', 15, 42,
    'active')$$, $$VALUES (true, 'running'::text, false)$$,
    'the holder renews');
SELECT results_eq($$SELECT heartbeat_latency_ms, last_heartbeat_at = now(),
    lease_expires_at - now() FROM pipeline_runs
    WHERE run_id = '$$ || :'run_a' || $$'$$,
    $$VALUES (42::bigint, true, interval '15 minutes')$$,
    'renewal records latency and heartbeat and extends the lease (now())');
SELECT is((SELECT ok FROM cas_heartbeat_run(:'run_a', 'holder-1', :'t', 15,
    -1)), true, 'a negative latency is accepted');
SELECT is((SELECT heartbeat_latency_ms FROM pipeline_runs
    WHERE run_id = :'run_a'), 42::bigint, 'and keeps the last latency');
SELECT is((SELECT ok FROM cas_heartbeat_run(:'run_a', 'holder-1', :'stale')),
    false, 'a stale token does not renew');
SELECT is((SELECT ok FROM cas_heartbeat_run(:'run_a', 'holder-2', :'t')),
    false, 'another worker id with the token does not renew');
SELECT is((SELECT ok FROM cas_heartbeat_run(:'run_a', 'holder-1',
    'not-a-uuid')), false, 'a malformed token does not renew');
SELECT throws_ok($$SELECT * FROM cas_heartbeat_run(gen_random_uuid()::text,
    'holder-1', gen_random_uuid()::text)$$, 'RV404', NULL,
    'heartbeat of an unknown run');
SELECT throws_ok($$SELECT * FROM cas_heartbeat_run('../etc', 'holder-1',
    gen_random_uuid()::text)$$, 'P0001', '"../etc" is not a run id',
    'a run id must be a uuid');
SELECT throws_ok($$SELECT * FROM cas_heartbeat_run('$$ || :'run_a' || $$',
    'holder-1', '$$ || :'t' || $$', 15, 1, 'sleeping')$$, 'P0001',
    'worker state "sleeping" is not one of active, waiting, panic, idle',
    'an unknown worker state is an error');
SELECT throws_ok($$SELECT * FROM cas_heartbeat_run('$$ || :'run_a' || $$',
    'holder-1', '')$$, 'P0001', NULL, 'an empty lock token is an error');

-- force_refetch is reported once, then cleared.
SELECT is((SELECT result FROM rpc_operator_action(:'run_a', 'refetch',
    'operator-1')), 'applied', 'refetch requested');
SELECT results_eq($$SELECT ok, force_refetch FROM cas_heartbeat_run(
    '$$ || :'run_a' || $$', 'holder-1', '$$ || :'t' || $$')$$,
    $$VALUES (true, true)$$, 'the next heartbeat reports the refetch');
SELECT results_eq($$SELECT ok, force_refetch FROM cas_heartbeat_run(
    '$$ || :'run_a' || $$', 'holder-1', '$$ || :'t' || $$')$$,
    $$VALUES (true, false)$$, 'and the one after does not');

-- set_worker_state.
SELECT is(rpc_set_worker_state(:'run_a', 'holder-1', :'t', 'panic'), true,
    'the holder sets panic');
SELECT is((SELECT worker_state FROM pipeline_runs WHERE run_id = :'run_a'),
    'panic', 'stored');
SELECT is(rpc_set_worker_state(:'run_a', 'holder-1', :'stale', 'idle'),
    false, 'a stale token cannot set the state');
SELECT throws_ok($$SELECT rpc_set_worker_state('$$ || :'run_a' || $$',
    'holder-1', '$$ || :'t' || $$', 'asleep')$$, 'P0001', NULL,
    'worker state asleep is refused');
SELECT throws_ok($$SELECT rpc_set_worker_state('$$ || :'run_a' || $$',
    'holder-1', '$$ || :'t' || $$', '')$$, 'P0001', NULL,
    'an empty worker state is refused');

-- Gate.
SELECT results_eq($$SELECT ok, gate_nonce FROM rpc_gate_run(
    '$$ || :'run_a' || $$', 'holder-1', '$$ || :'stale' || $$', 'x')$$,
    $$VALUES (false, NULL::uuid)$$, 'a stale token opens no gate');
SELECT throws_ok($$SELECT * FROM rpc_gate_run('$$ || :'run_a' || $$',
    'holder-1', '$$ || :'t' || $$', '')$$, 'P0001', NULL,
    'a gate needs a reason');
SELECT gate_nonce AS n1 FROM rpc_gate_run(:'run_a', 'holder-1', :'t',
    'price conflict', '{"price": ["19.99", "24.99"]}') \gset
SELECT results_eq($$SELECT status, worker_state, gate_nonce::text,
    gate_reason, gated_at = now() FROM pipeline_runs
    WHERE run_id = '$$ || :'run_a' || $$'$$,
    $$VALUES ('waiting_approval'::text, 'waiting'::text,
    '$$ || :'n1' || $$'::text, 'price conflict'::text, true)$$,
    'a gate: waiting_approval, waiting, nonce, reason, time');
SELECT results_eq($$SELECT severity, payload->>'nonce',
    payload->'evidence'->'price'->>1 FROM run_events
    WHERE run_id = '$$ || :'run_a' || $$' AND event_type = 'gate_opened'$$,
    $$VALUES ('WARN'::text, '$$ || :'n1' || $$'::text, '24.99'::text)$$,
    'gate_opened event with nonce and evidence');
SELECT gate_nonce AS n2 FROM rpc_gate_run(:'run_a', 'holder-1', :'t',
    'again') \gset
SELECT isnt(:'n2'::text, :'n1'::text, 'every gate gets a fresh nonce');
SELECT results_eq($$SELECT ok, status FROM cas_heartbeat_run(
    '$$ || :'run_a' || $$', 'holder-1', '$$ || :'t' || $$')$$,
    $$VALUES (true, 'waiting_approval'::text)$$,
    'the heartbeat tells the holder it is gated');

-- Finish.
SELECT is(rpc_finish_run(:'run_a', 'holder-1', :'stale', 'done'), false,
    'a stale token cannot finish');
SELECT throws_ok($$SELECT rpc_finish_run('$$ || :'run_a' || $$', 'holder-1',
    '$$ || :'t' || $$', 'paused')$$, 'P0001', NULL,
    'final status paused is refused');
SELECT throws_ok($$SELECT rpc_finish_run('$$ || :'run_a' || $$', 'holder-1',
    '$$ || :'t' || $$', 'failed', repeat('e', 4097))$$, 'P0001', NULL,
    'an error text over 4096 bytes is refused');
SELECT is((SELECT result FROM rpc_operator_action(:'run_a', 'abort',
    'operator-1')), 'applied', 'the operator aborts');
SELECT results_eq($$SELECT ok, status FROM cas_heartbeat_run(
    '$$ || :'run_a' || $$', 'holder-1', '$$ || :'t' || $$')$$,
    $$VALUES (false, 'aborted'::text)$$,
    'a heartbeat on an aborted run: ok=false, status aborted');
SELECT is(rpc_finish_run(:'run_a', 'holder-1', :'t', 'done'), false,
    'done never overwrites the operator''s abort');
SELECT is((SELECT status FROM pipeline_runs WHERE run_id = :'run_a'),
    'aborted', 'still aborted');
SELECT is(rpc_finish_run(:'run_a', 'holder-1', :'t', 'aborted', 'operator'),
    false, 'the abort took the lock: the holder has nothing to finish');
SELECT results_eq($$SELECT status, lock_token, lease_expires_at,
    worker_state, gate_nonce FROM pipeline_runs
    WHERE run_id = '$$ || :'run_a' || $$'$$,
    $$VALUES ('aborted'::text, NULL::uuid, NULL::timestamptz, 'idle'::text,
    NULL::uuid)$$, 'the abort released the lease and closed the gate');
SELECT is(rpc_finish_run(:'run_a', 'holder-1', :'t', 'aborted'), false,
    'a finished run cannot be finished again');

SELECT rpc_enqueue_run('HD-B', 'hold') AS run_b \gset
SELECT gen_random_uuid() AS tb \gset
SELECT run_id AS gotb FROM rpc_claim_next_run('holder-3', :'tb', 15, 'hold')
\gset
SELECT is(rpc_finish_run(:'run_b', 'holder-3', :'tb', 'done'), true,
    'finish done');
SELECT results_eq($$SELECT severity, reason_key, payload->>'status',
    payload->>'previous_status' FROM run_events
    WHERE run_id = '$$ || :'run_b' || $$' AND event_type = 'run_finished'$$,
    $$VALUES ('INFO'::text, 'done'::text, 'done'::text, 'running'::text)$$,
    'one run_finished event');
SELECT is(rpc_finish_run(:'run_b', 'holder-3', :'tb', 'failed', 'late'),
    false, 'done is final');
SELECT is((SELECT ok FROM cas_heartbeat_run(:'run_b', 'holder-3', :'tb')),
    false, 'a done run does not renew');

-- Release.
SELECT rpc_enqueue_run('HD-C', 'hold') AS run_c \gset
SELECT gen_random_uuid() AS tc \gset
SELECT run_id AS gotc FROM rpc_claim_next_run('holder-4', :'tc', 15, 'hold')
\gset
SELECT is(rpc_release_run(:'run_c', 'holder-4', :'stale'), false,
    'a stale token cannot release');
SELECT is(rpc_release_run(:'run_c', 'holder-4', :'tc', 'waiting'), true,
    'the holder releases');
SELECT results_eq($$SELECT status, lock_token, worker_state FROM
    pipeline_runs WHERE run_id = '$$ || :'run_c' || $$'$$,
    $$VALUES ('running'::text, NULL::uuid, 'waiting'::text)$$,
    'release keeps the status, drops the lock, records the state');
SELECT is((SELECT count(*)::int FROM run_events WHERE run_id = :'run_c'
    AND event_type = 'run_released'), 1, 'one run_released event');
SELECT is(rpc_release_run(:'run_c', 'holder-4', :'tc'), false,
    'releasing twice does nothing');
SELECT * FROM rpc_claim_next_run('holder-5', gen_random_uuid()::text, 15,
    'hold') \gset rc_
SELECT ok(:'rc_run_id' = :'run_c' AND :'rc_lease_epoch' = '2',
    'a released run is claimable, epoch 2');
SELECT is(rpc_set_worker_state(:'run_c', 'holder-4', :'tc', 'active'), false,
    'the previous holder can write nothing');

SELECT * FROM finish();
ROLLBACK;
