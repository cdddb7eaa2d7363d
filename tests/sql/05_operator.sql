-- SPDX-License-Identifier: ISC
--
-- 05_operator.sql: rpc_operator_action, a compare-and-set on the run's
-- status, gate nonce and lease.  A repeated click is answered "already
-- applied" and never applied twice; a button of a closed gate does
-- nothing; every call writes an event naming the operator.
BEGIN;
SELECT plan(33);
UPDATE pipeline_runs SET status = 'aborted';

SELECT rpc_enqueue_run('OP-A', 'op') AS run_a \gset
SELECT gen_random_uuid() AS t \gset
SELECT run_id AS got FROM rpc_claim_next_run('op-worker', :'t', 15, 'op')
\gset
SELECT gate_nonce AS n FROM rpc_gate_run(:'run_a', 'op-worker', :'t',
    'price conflict') \gset

SELECT throws_ok($$SELECT * FROM rpc_operator_action('$$ || :'run_a' || $$',
    'delete', 'operator-1')$$, 'P0001', NULL, 'action delete is refused');
SELECT throws_ok($$SELECT * FROM rpc_operator_action('$$ || :'run_a' || $$',
    'approve', 'op')$$, 'P0001',
    'operator "op" is too short (at least 3 characters)',
    'an operator name under 3 characters is refused');
SELECT throws_ok($$SELECT * FROM rpc_operator_action('$$ || :'run_a' || $$',
    'approve', 'operator-1', 'nonce')$$, 'P0001', NULL,
    'a nonce must be a uuid');
SELECT throws_ok($$SELECT * FROM rpc_operator_action(
    gen_random_uuid()::text, 'approve', 'operator-1')$$, 'RV404', NULL,
    'an unknown run');

-- The button pressed twice, then the other buttons of the same gate.
SELECT results_eq($$SELECT * FROM rpc_operator_action('$$ || :'run_a' || $$',
    'approve', 'alice', '$$ || :'n' || $$')$$,
    $$VALUES ('applied'::text, 'run $$ || :'run_a' ||
    $$: approved by alice'::text)$$, 'approve with the gate''s nonce');
SELECT results_eq($$SELECT status, gate_nonce, gate_decision FROM
    pipeline_runs WHERE run_id = '$$ || :'run_a' || $$'$$,
    $$VALUES ('approved'::text, NULL::uuid, 'approve'::text)$$,
    'approved; the gate is closed and the decision recorded');
SELECT results_eq($$SELECT * FROM rpc_operator_action('$$ || :'run_a' || $$',
    'approve', 'alice', '$$ || :'n' || $$')$$,
    $$VALUES ('already_applied'::text, 'run $$ || :'run_a' ||
    $$: already applied (this button was already used); nothing done'::text)$$,
    'the same button again: already applied');
SELECT results_eq($$SELECT result FROM rpc_operator_action(
    '$$ || :'run_a' || $$', 'abort', 'bob', '$$ || :'n' || $$')$$,
    $$VALUES ('not_possible'::text)$$,
    'another button of the decided gate: not possible');
SELECT results_eq($$SELECT result FROM rpc_operator_action(
    '$$ || :'run_a' || $$', 'approve', 'bob', gen_random_uuid()::text)$$,
    $$VALUES ('not_possible'::text)$$, 'an unknown nonce: not possible');
SELECT is((SELECT status FROM pipeline_runs WHERE run_id = :'run_a'),
    'approved', 'the stale buttons changed nothing');
SELECT results_eq($$SELECT payload->>'operator', payload->>'nonce',
    payload->>'from_status', payload->>'to_status' FROM run_events
    WHERE run_id = '$$ || :'run_a' || $$' AND event_type =
    'operator_action'$$, $$VALUES ('alice'::text, '$$ || :'n' ||
    $$'::text, 'waiting_approval'::text, 'approved'::text)$$,
    'exactly one operator_action event, naming the operator and nonce');
SELECT is((SELECT count(*)::int FROM run_events WHERE run_id = :'run_a'
    AND event_type = 'operator_action_ignored'), 3,
    'every ignored click is recorded');
SELECT is((SELECT payload->>'operator' FROM run_events
    WHERE run_id = :'run_a' AND event_type = 'operator_action_ignored'
    ORDER BY id DESC LIMIT 1), 'bob', 'ignored clicks name the operator');

-- Without nonces (rvctl): the SQLite backend's sequence.
SELECT rpc_enqueue_run('OP-B', 'op') AS run_b \gset
SELECT gen_random_uuid() AS tb \gset
SELECT run_id AS gotb FROM rpc_claim_next_run('op-worker-2', :'tb', 15, 'op')
\gset
SELECT gate_nonce AS nb FROM rpc_gate_run(:'run_b', 'op-worker-2', :'tb',
    'check') \gset
CREATE TEMP TABLE steps (i int, action text, want text) ON COMMIT DROP;
INSERT INTO steps VALUES (1, 'approve', 'applied'),
    (2, 'approve', 'already_applied'), (3, 'approve', 'already_applied'),
    (4, 'refetch', 'applied'), (5, 'refetch', 'already_applied'),
    (6, 'unlock', 'applied'), (7, 'unlock', 'already_applied'),
    (8, 'abort', 'applied'), (9, 'abort', 'already_applied'),
    (10, 'approve', 'not_possible'), (11, 'refetch', 'not_possible');
CREATE TEMP TABLE got (i int, result text, message text) ON COMMIT DROP;
DO $$
DECLARE
	s record;
	r record;
BEGIN
	FOR s IN SELECT * FROM steps ORDER BY i LOOP
		IF s.action = 'unlock' THEN
			UPDATE pipeline_runs SET lease_expires_at =
			    now() - interval '1 second'
			WHERE video_id = 'OP-B';
		END IF;
		SELECT * INTO r FROM rpc_operator_action((SELECT run_id::text
		    FROM pipeline_runs WHERE video_id = 'OP-B'), s.action,
		    'bob');
		INSERT INTO got VALUES (s.i, r.result, r.message);
	END LOOP;
END
$$;
SELECT results_eq($$SELECT i, result FROM got ORDER BY i$$,
    $$SELECT i, want FROM steps ORDER BY i$$,
    'approve, refetch, unlock, abort: each applied once, then answered');
SELECT is((SELECT message FROM got WHERE i = 10), 'run ' || :'run_b' ||
    ': cannot approve: run is aborted', 'a refusal says why');
SELECT is((SELECT message FROM got WHERE i = 5), 'run ' || :'run_b' ||
    ': already applied (a refetch is already pending); nothing done',
    'a repeated refetch says it is pending');
SELECT results_eq($$SELECT payload->>'action', count(*)::int FROM run_events
    WHERE run_id = '$$ || :'run_b' || $$' AND event_type =
    'operator_action' GROUP BY 1 ORDER BY 1$$,
    $$VALUES ('abort'::text, 1), ('approve', 1), ('refetch', 1),
    ('unlock', 1)$$, 'each action recorded as applied exactly once');
SELECT is((SELECT count(*)::int FROM run_events WHERE run_id = :'run_b'
    AND event_type = 'operator_action_ignored'), 7,
    'seven ignored clicks recorded');
SELECT is((SELECT severity FROM run_events WHERE run_id = :'run_b'
    AND event_type = 'operator_action' AND payload->>'action' = 'abort'),
    'WARN', 'an abort is a warning');
SELECT results_eq($$SELECT status, lock_token FROM pipeline_runs
    WHERE run_id = '$$ || :'run_b' || $$'$$,
    $$VALUES ('aborted'::text, NULL::uuid)$$,
    'the unlock cleared the expired lease and kept the status');
SELECT ok((SELECT payload->'previous'->>'lock_token' = :'tb' FROM run_events
    WHERE run_id = :'run_b' AND event_type = 'operator_action'
    AND payload->>'action' = 'unlock'),
    'the unlock event carries the previous lock');

-- Refetch on a gated run: running, force_refetch, gate closed.
SELECT rpc_enqueue_run('OP-C', 'op') AS run_c \gset
SELECT gen_random_uuid() AS tc \gset
SELECT run_id AS gotc FROM rpc_claim_next_run('op-worker-3', :'tc', 15, 'op')
\gset
SELECT gate_nonce AS nc FROM rpc_gate_run(:'run_c', 'op-worker-3', :'tc',
    'check') \gset
SELECT is((SELECT result FROM rpc_operator_action(:'run_c', 'refetch',
    'carol', :'nc')), 'applied', 'refetch a gate');
SELECT results_eq($$SELECT status, force_refetch, gate_nonce,
    gate_decision FROM pipeline_runs WHERE run_id = '$$ || :'run_c' || $$'$$,
    $$VALUES ('running'::text, true, NULL::uuid, 'refetch'::text)$$,
    'refetch: running, force_refetch set, gate closed');

-- Approve needs an open gate; unlock needs an expired lease.
SELECT rpc_enqueue_run('OP-D', 'op') AS run_d \gset
SELECT gen_random_uuid() AS td \gset
SELECT run_id AS gotd FROM rpc_claim_next_run('op-worker-4', :'td', 15, 'op')
\gset
SELECT is((SELECT message FROM rpc_operator_action(:'run_d', 'approve',
    'carol')), 'run ' || :'run_d' || ': cannot approve: run is not waiting '
    'for approval (status running)', 'approve without a gate: not possible');
SELECT is((SELECT result FROM rpc_operator_action(:'run_d', 'unlock',
    'carol')), 'not_possible', 'unlock of a live lease: not possible');
SELECT ok((SELECT message LIKE '%use rvctl unlock --force' FROM
    rpc_operator_action(:'run_d', 'unlock', 'carol')),
    'and it points at the forced unlock');
SELECT is((SELECT lock_token::text FROM pipeline_runs
    WHERE run_id = :'run_d'), :'td'::text, 'the live lease is untouched');
SELECT is((SELECT result FROM rpc_operator_action(:'run_d', 'abort',
    'carol')), 'applied', 'abort a running run');
SELECT results_eq($$SELECT ok, status FROM cas_heartbeat_run(
    '$$ || :'run_d' || $$', 'op-worker-4', '$$ || :'td' || $$')$$,
    $$VALUES (false, 'aborted'::text)$$,
    'the holder learns the abort from its heartbeat');
SELECT is(rpc_finish_run(:'run_d', 'op-worker-4', :'td', 'done'), false,
    'and cannot overwrite it');
SELECT is((SELECT result FROM rpc_operator_action(:'run_d', 'refetch',
    'carol')), 'not_possible', 'refetch of an aborted run: not possible');
SELECT is((SELECT result FROM rpc_operator_action(:'run_d', 'approve',
    'carol')), 'not_possible', 'approve of an aborted run: not possible');
SELECT rpc_enqueue_run('OP-E', 'op') AS run_e \gset
UPDATE pipeline_runs SET status = 'done' WHERE run_id = :'run_e';
SELECT is((SELECT message FROM rpc_operator_action(:'run_e', 'abort',
    'carol')), 'run ' || :'run_e' || ': cannot abort: run is done',
    'abort of a done run: not possible');

SELECT * FROM finish();
ROLLBACK;
