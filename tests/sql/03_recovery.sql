-- SPDX-License-Identifier: ISC
--
-- 03_recovery.sql: recovery first.  A worker's own unfinished run comes
-- back to it only with the run's current token (from its checkpoint),
-- after two silent heartbeat intervals, or once its lease expired; a live
-- duplicate with the same worker id never gets it.  Every recovery is a
-- new claim: new token, epoch + 1, the old token dead.
BEGIN;
SELECT plan(30);
UPDATE pipeline_runs SET status = 'aborted';

SELECT rpc_enqueue_run('RC-A', 'rec') AS run_a \gset
UPDATE pipeline_runs SET created_at = now() - interval '1 minute'
WHERE run_id = :'run_a';
SELECT gen_random_uuid() AS t1 \gset
SELECT run_id AS got FROM rpc_claim_next_run('dup-worker', :'t1', 15, 'rec')
\gset
SELECT is(:'got'::text, :'run_a'::text, 'first claim');

-- The live duplicate: same worker id, no token or a wrong one.
SELECT is_empty($$SELECT * FROM rpc_claim_next_run('dup-worker',
    gen_random_uuid()::text, 15, 'rec')$$,
    'a duplicate without the token gets nothing');
SELECT is_empty($$SELECT * FROM rpc_claim_next_run('dup-worker',
    gen_random_uuid()::text, 15, 'rec', gen_random_uuid()::text)$$,
    'a duplicate with a wrong token gets nothing');
SELECT is_empty($$SELECT * FROM rpc_claim_next_run('other-worker',
    gen_random_uuid()::text, 15, 'rec', '$$ || :'t1' || $$')$$,
    'another worker id with the right token gets nothing');
SELECT rpc_enqueue_run('RC-B', 'rec') AS run_b \gset
SELECT * FROM rpc_claim_next_run('dup-worker', gen_random_uuid()::text, 15,
    'rec') \gset d_
SELECT ok(:'d_run_id' = :'run_b' AND NOT :'d_is_recovery'::boolean,
    'the duplicate gets the other queued run, not the live one');
SELECT results_eq($$SELECT lock_token::text, lease_epoch FROM pipeline_runs
    WHERE run_id = '$$ || :'run_a' || $$'$$,
    $$VALUES ('$$ || :'t1' || $$'::text, 1::bigint)$$,
    'the live holder keeps its run');
SELECT is((SELECT ok FROM cas_heartbeat_run(:'run_a', 'dup-worker', :'t1')),
    true, 'the live holder still renews');

-- Recovery with the checkpoint's token.
SELECT gen_random_uuid() AS t2 \gset
SELECT * FROM rpc_claim_next_run('dup-worker', :'t2', 15, 'rec', :'t1')
\gset r_
SELECT ok(:'r_run_id' = :'run_a' AND :'r_is_recovery'::boolean,
    'the token brings the own run back as a recovery');
SELECT ok(:'r_lease_epoch' = '2' AND :'r_lock_token' = :'t2',
    'a recovery bumps the epoch and takes the new token');
SELECT is((SELECT lock_token::text FROM pipeline_runs
    WHERE run_id = :'run_a'), :'t2'::text, 'the stored token is the new one');
SELECT is((SELECT ok FROM cas_heartbeat_run(:'run_a', 'dup-worker', :'t1')),
    false, 'the old token no longer renews');
SELECT is((SELECT ok FROM cas_heartbeat_run(:'run_a', 'dup-worker', :'t2')),
    true, 'the new token renews');
SELECT results_eq($$SELECT (payload->>'is_recovery')::boolean,
    payload->>'previous_worker_id' FROM run_events
    WHERE run_id = '$$ || :'run_a' || $$' AND event_type = 'run_claimed'
    AND (payload->>'lease_epoch')::int = 2$$,
    $$VALUES (true, 'dup-worker'::text)$$,
    'the claim event says recovery and names the worker');
SELECT is_empty($$SELECT * FROM rpc_claim_next_run('dup-worker',
    gen_random_uuid()::text, 15, 'rec', '$$ || :'t1' || $$')$$,
    'a token that was replaced recovers nothing');

-- Two silent heartbeat intervals (the interval is the caller's).
UPDATE pipeline_runs SET last_heartbeat_at = now() - interval '61 seconds'
WHERE run_id = :'run_a';
SELECT is_empty($$SELECT * FROM rpc_claim_next_run('dup-worker',
    gen_random_uuid()::text, 15, 'rec', NULL, 31)$$,
    '61 s of silence is not 2 intervals of 31 s');
SELECT gen_random_uuid() AS t3 \gset
SELECT * FROM rpc_claim_next_run('dup-worker', :'t3', 15, 'rec', NULL, 30)
\gset s_
SELECT ok(:'s_run_id' = :'run_a' AND :'s_is_recovery'::boolean AND
    :'s_lease_epoch' = '3',
    '61 s of silence is 2 intervals of 30 s: recovered');
SELECT is((SELECT ok FROM cas_heartbeat_run(:'run_a', 'dup-worker', :'t2')),
    false, 'the silent holder''s token is dead');
UPDATE pipeline_runs SET last_heartbeat_at = now() - interval '61 seconds'
WHERE run_id = :'run_a';
SELECT * FROM rpc_claim_next_run('dup-worker', gen_random_uuid()::text, 15,
    'rec', NULL, 0) \gset z_
SELECT ok(:'z_run_id' = :'run_a' AND :'z_lease_epoch' = '4',
    'an interval of 0 means the default 30 s');
UPDATE pipeline_runs SET last_heartbeat_at = NULL WHERE run_id = :'run_a';
SELECT * FROM rpc_claim_next_run('dup-worker', gen_random_uuid()::text, 15,
    'rec') \gset n_
SELECT ok(:'n_run_id' = :'run_a' AND :'n_is_recovery'::boolean,
    'a run never heartbeated is recovered');

-- An expired lease comes back to its worker first.
UPDATE pipeline_runs SET lease_expires_at = now() - interval '1 second'
WHERE run_id = :'run_a';
SELECT rpc_enqueue_run('RC-C', 'rec') AS run_c \gset
UPDATE pipeline_runs SET created_at = now() - interval '1 hour',
    status = 'approved' WHERE run_id = :'run_c';
SELECT * FROM rpc_claim_next_run('dup-worker', gen_random_uuid()::text, 15,
    'rec') \gset e_
SELECT ok(:'e_run_id' = :'run_a' AND :'e_is_recovery'::boolean,
    'an expired own run is recovered before an older approved run');

-- A gated run is recovered by its worker and stays gated.
SELECT gen_random_uuid() AS tg \gset
SELECT run_id AS got_c FROM rpc_claim_next_run('gate-worker', :'tg', 15,
    'rec') \gset
SELECT is(:'got_c'::text, :'run_c'::text, 'the approved run is claimed');
SELECT is((SELECT ok FROM rpc_gate_run(:'run_c', 'gate-worker', :'tg',
    'check')), true, 'gated');
SELECT * FROM rpc_claim_next_run('gate-worker', gen_random_uuid()::text, 15,
    'rec', :'tg') \gset g_
SELECT ok(:'g_run_id' = :'run_c' AND :'g_is_recovery'::boolean,
    'a gated run is recovered with its token');
SELECT is((SELECT status FROM pipeline_runs WHERE run_id = :'run_c'),
    'waiting_approval', 'recovery does not change the status');

-- A retried claim (same worker, same token) gets the same run, unchanged.
SELECT rpc_enqueue_run('RC-R', 'retry') AS run_r \gset
SELECT gen_random_uuid() AS tr \gset
SELECT * FROM rpc_claim_next_run('retry-worker', :'tr', 15, 'retry') \gset x_
SELECT rpc_enqueue_run('RC-S', 'retry') AS run_s \gset
SELECT * FROM rpc_claim_next_run('retry-worker', :'tr', 15, 'retry') \gset y_
SELECT ok(:'y_run_id' = :'run_r' AND :'y_lease_epoch' = :'x_lease_epoch' AND
    :'y_lock_token' = :'tr', 'a retried claim returns the same run');
SELECT is((SELECT count(*)::int FROM run_events WHERE run_id = :'run_r'
    AND event_type = 'run_claimed'), 1, 'a retried claim is not a new claim');
SELECT is((SELECT lease_epoch FROM pipeline_runs WHERE run_id = :'run_s'),
    0::bigint, 'and takes no other run');

-- A run aborted under its holder is never recovered.
SELECT gen_random_uuid() AS tb \gset
UPDATE pipeline_runs SET lock_token = :'tb', worker_id = 'abort-worker',
    lease_expires_at = now() + interval '10 minutes',
    last_heartbeat_at = now() WHERE run_id = :'run_b';
SELECT is((SELECT result FROM rpc_operator_action(:'run_b', 'abort',
    'operator-1')), 'applied', 'the operator aborts the held run');
SELECT is_empty($$SELECT * FROM rpc_claim_next_run('abort-worker',
    gen_random_uuid()::text, 15, 'rec', '$$ || :'tb' || $$')$$,
    'an aborted run is not recovered, even with its token');
SELECT is((SELECT lease_epoch FROM pipeline_runs WHERE run_id = :'run_b'),
    1::bigint, 'the aborted run kept its epoch');

SELECT * FROM finish();
ROLLBACK;
