-- SPDX-License-Identifier: ISC
--
-- 08_fencing_abort.sql: epoch fencing (SPEC section 2: a write stamped
-- with a lease epoch that is not the run's current one, or whose lock an
-- operator cleared, is refused and not written), gate decisions by nonce
-- (in full or its first 8 hex digits; a closed or replaced gate's button
-- is "no longer possible"), the abort in one step (status aborted, lock
-- dropped, worker state idle, gate closed and recorded) and an unlock
-- through rpc_operator_action that never forces.
BEGIN;
SELECT plan(32);
UPDATE pipeline_runs SET status = 'aborted';

-- ---- events
SELECT rpc_enqueue_run('FN-A', 'fence') AS run_a \gset
SELECT gen_random_uuid() AS t1 \gset
SELECT lease_epoch AS e1 FROM rpc_claim_next_run('fence-1', :'t1', 15,
    'fence') \gset
SELECT is(:'e1'::int, 1, 'first claim: epoch 1');
SELECT gen_random_uuid() AS ev1 \gset
SELECT lives_ok($$INSERT INTO run_events (event_id, run_id, event_type,
    severity, lease_epoch) VALUES ('$$ || :'ev1' || $$', '$$ || :'run_a' ||
    $$', 'render_done', 'INFO', 1)$$, 'an event of the current epoch');
SELECT is((SELECT rv_clear_lock(:'run_a')), 1,
    'an operator clears the lock');
SELECT throws_ok($$INSERT INTO run_events (event_id, run_id, event_type,
    severity, lease_epoch) VALUES (gen_random_uuid(), '$$ || :'run_a' ||
    $$', 'render_done', 'INFO', 1)$$, 'RV412',
    'event render_done of run ' || :'run_a' ||
    ': stale epoch 1: an operator cleared its lock',
    'the unlocked epoch is fenced before anyone claims again');
SELECT gen_random_uuid() AS t2 \gset
SELECT lease_epoch AS e2 FROM rpc_claim_next_run('fence-2', :'t2', 15,
    'fence') \gset
SELECT is(:'e2'::int, 2, 'claimed again: epoch 2');
SELECT throws_ok($$INSERT INTO run_events (event_id, run_id, event_type,
    severity, lease_epoch) VALUES (gen_random_uuid(), '$$ || :'run_a' ||
    $$', 'render_done', 'INFO', 1)$$, 'RV412',
    'event render_done of run ' || :'run_a' ||
    ': stale epoch 1, run is at 2', 'an event of epoch 1 in epoch 2');
SELECT throws_ok($$INSERT INTO run_events (event_id, run_id, event_type,
    severity, lease_epoch) VALUES ('$$ || :'ev1' || $$', '$$ || :'run_a' ||
    $$', 'render_done', 'INFO', 1)$$, '23505', NULL,
    'a replayed event_id is a duplicate, not fenced');
SELECT lives_ok($$INSERT INTO run_events (event_id, run_id, event_type,
    severity, lease_epoch) VALUES (gen_random_uuid(), '$$ || :'run_a' ||
    $$', 'render_done', 'INFO', 2)$$, 'an event of the new epoch');
SELECT lives_ok($$INSERT INTO run_events (event_id, run_id, event_type,
    severity) VALUES (gen_random_uuid(), '$$ || :'run_a' ||
    $$', 'note', 'INFO')$$, 'an event without an epoch is not fenced');
SELECT is((SELECT count(*)::int FROM run_events WHERE run_id = :'run_a'
    AND event_type = 'render_done'), 2,
    'the fenced events were not written');

-- ---- ledger
SELECT is(rpc_ledger_intent(:'run_a', 'intro', '0123abcd', :'t2', 1, 5)
    ->>'result', 'fenced', 'an intent of epoch 1 is fenced');
SELECT is((SELECT count(*)::int FROM credit_ledger WHERE run_id = :'run_a'),
    0, 'and not booked');
SELECT is(rpc_ledger_intent(:'run_a', 'intro', '0123abcd', :'t2', 2, 5)
    ->>'result', 'done', 'the holder of epoch 2 books');
SELECT is(rpc_ledger_result(:'run_a' || ':intro:0123abcd', 1, 'done', 5)
    ->>'result', 'fenced', 'a result of epoch 1 is fenced');
SELECT is((SELECT state FROM credit_ledger WHERE run_id = :'run_a'),
    'intent', 'and not written');

-- ---- decisions by nonce
SELECT gate_nonce AS n1 FROM rpc_gate_run(:'run_a', 'fence-2', :'t2',
    'voltage conflict', p_worker_state => 'panic') \gset
SELECT results_eq($$SELECT worker_state, decided_nonce, gate_decision
    FROM pipeline_runs WHERE run_id = '$$ || :'run_a' || $$'$$,
    $$VALUES ('panic'::text, NULL::uuid, NULL::text)$$,
    'a gate with worker state panic');
SELECT throws_ok($$SELECT * FROM rpc_gate_run('$$ || :'run_a' ||
    $$', 'fence-2', '$$ || :'t2' || $$', 'x', NULL, 'active')$$, 'P0001',
    NULL, 'a gate''s worker state is waiting or panic');
SELECT results_eq($$SELECT ok, gate_nonce, decided_nonce, decision FROM
    cas_heartbeat_run('$$ || :'run_a' || $$', 'fence-2', '$$ || :'t2' ||
    $$')$$, $$VALUES (true, '$$ || :'n1' || $$'::uuid, NULL::uuid,
    NULL::text)$$, 'the heartbeat names the open gate');
SELECT is((SELECT result FROM rpc_operator_action(:'run_a', 'approve',
    'tg-alice', left(:'n1', 8))), 'applied',
    'approve by the first 8 hex digits of the nonce');
SELECT results_eq($$SELECT ok, gate_nonce, decided_nonce, decision FROM
    cas_heartbeat_run('$$ || :'run_a' || $$', 'fence-2', '$$ || :'t2' ||
    $$')$$, $$VALUES (true, NULL::uuid, '$$ || :'n1' || $$'::uuid,
    'approve'::text)$$, 'the heartbeat names the decision and its gate');
SELECT is((SELECT result FROM rpc_operator_action(:'run_a', 'approve',
    'tg-alice', :'n1')), 'already_applied', 'the same button, in full');
SELECT gate_nonce AS n2 FROM rpc_gate_run(:'run_a', 'fence-2', :'t2',
    'second look') \gset
SELECT results_eq($$SELECT decided_nonce, gate_decision FROM pipeline_runs
    WHERE run_id = '$$ || :'run_a' || $$'$$,
    $$VALUES (NULL::uuid, NULL::text)$$, 'a new gate clears the decision');
SELECT is((SELECT message FROM rpc_operator_action(:'run_a', 'abort',
    'tg-bob', left(:'n1', 8))), 'run ' || :'run_a' ||
    ': cannot abort: no longer possible: that gate is closed',
    'a button of the replaced gate');
SELECT is((SELECT status FROM pipeline_runs WHERE run_id = :'run_a'),
    'waiting_approval', 'and it changed nothing');

-- ---- unlock through rpc_operator_action never forces
SELECT results_eq($$SELECT result, message LIKE '%live%' AND message LIKE
    '%rvctl unlock --force' FROM rpc_operator_action('$$ || :'run_a' ||
    $$', 'unlock', 'tg-bob', '$$ || left(:'n2', 8) || $$')$$,
    $$VALUES ('not_possible'::text, true)$$,
    'an unlock of a live lease is refused and says so');
SELECT is((SELECT lock_token::text FROM pipeline_runs WHERE run_id =
    :'run_a'), :'t2', 'the live lease is untouched');

-- ---- abort: one step
SELECT is((SELECT result FROM rpc_operator_action(:'run_a', 'abort',
    'tg-bob', :'n2')), 'applied', 'abort the open gate');
SELECT results_eq($$SELECT status, lock_token, lease_expires_at,
    worker_state, gate_nonce, decided_nonce, gate_decision FROM
    pipeline_runs WHERE run_id = '$$ || :'run_a' || $$'$$,
    $$VALUES ('aborted'::text, NULL::uuid, NULL::timestamptz, 'idle'::text,
    NULL::uuid, '$$ || :'n2' || $$'::uuid, 'abort'::text)$$,
    'aborted, lock dropped, idle, the gate closed and recorded');
SELECT results_eq($$SELECT ok, status, decision FROM cas_heartbeat_run(
    '$$ || :'run_a' || $$', 'fence-2', '$$ || :'t2' || $$')$$,
    $$VALUES (false, 'aborted'::text, 'abort'::text)$$,
    'the holder''s next heartbeat: ok=false, status aborted');
SELECT throws_ok($$INSERT INTO run_events (event_id, run_id, event_type,
    severity, lease_epoch) VALUES (gen_random_uuid(), '$$ || :'run_a' ||
    $$', 'render_done', 'INFO', 2)$$, 'RV412', NULL,
    'nothing more is written for the aborted epoch');
SELECT is(rpc_ledger_result(:'run_a' || ':intro:0123abcd', 2, 'done', 5)
    ->>'result', 'fenced', 'not even a ledger result');
SELECT is((SELECT result FROM rpc_operator_action(:'run_a', 'abort',
    'tg-bob', left(:'n2', 8))), 'already_applied',
    'the abort button again: already applied');

SELECT * FROM finish();
ROLLBACK;
