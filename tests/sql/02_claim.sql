-- SPDX-License-Identifier: ISC
--
-- 02_claim.sql: rpc_claim_next_run outside recovery: argument checks,
-- claim order (approved first, then oldest), task types, lease clamping
-- (1..30 minutes, for claims and heartbeats), the epoch bump and the
-- run_claimed event, expired leases, and what is never claimable (a live
-- lease, a gated run, a terminal run).
BEGIN;
SELECT plan(36);
-- Runs queued before this file (the runner's canary) stay out of the way.
UPDATE pipeline_runs SET status = 'aborted';

SELECT throws_ok($$SELECT * FROM rpc_claim_next_run('ab',
    gen_random_uuid()::text)$$, 'P0001',
    'worker id "ab" is too short (at least 3 characters)',
    'a worker id under 3 characters is an error');
SELECT throws_ok($$SELECT * FROM rpc_claim_next_run(NULL,
    gen_random_uuid()::text)$$, 'P0001', NULL, 'a null worker id is an error');
SELECT throws_ok($$SELECT * FROM rpc_claim_next_run(repeat('w', 65),
    gen_random_uuid()::text)$$, 'P0001', NULL,
    'a 65-character worker id is an error');
SELECT throws_ok($$SELECT * FROM rpc_claim_next_run('worker 1',
    gen_random_uuid()::text)$$, 'P0001', NULL,
    'a worker id with a space is an error');
SELECT throws_ok($$SELECT * FROM rpc_claim_next_run('worker-1',
    'not-a-uuid')$$, 'P0001', 'lock token "not-a-uuid" is not a uuid',
    'a lock token must be a uuid');
SELECT throws_ok($$SELECT * FROM rpc_claim_next_run('worker-1',
    gen_random_uuid()::text, 15, repeat('t', 32))$$, 'P0001', NULL,
    'a task type over 31 bytes is an error');
SELECT is_empty($$SELECT * FROM rpc_claim_next_run('worker-1',
    gen_random_uuid()::text, 15, 'claim-empty')$$,
    'an empty queue gives no row');

-- Order: oldest first; an approved run before older running ones.
SELECT rpc_enqueue_run('CL-A', 'claim-order') AS run_a \gset
UPDATE pipeline_runs SET created_at = now() - interval '3 minutes'
WHERE run_id = :'run_a';
SELECT rpc_enqueue_run('CL-B', 'claim-order') AS run_b \gset
UPDATE pipeline_runs SET created_at = now() - interval '2 minutes'
WHERE run_id = :'run_b';
SELECT rpc_enqueue_run('CL-C', 'claim-order') AS run_c \gset
UPDATE pipeline_runs SET created_at = now() - interval '1 minute',
    status = 'approved' WHERE run_id = :'run_c';
SELECT rpc_enqueue_run('CL-D', 'claim-other') AS run_d \gset

SELECT gen_random_uuid() AS t1 \gset
SELECT * FROM rpc_claim_next_run('worker-1', :'t1', 15, 'claim-order')
\gset c1_
SELECT is(:'c1_run_id'::text, :'run_c'::text,
    'the approved run is claimed first');
SELECT ok(:'c1_lease_epoch' = '1' AND NOT :'c1_is_recovery'::boolean,
    'first claim: epoch 1, not a recovery');
SELECT is(:'c1_lock_token'::text, :'t1'::text,
    'the claim carries the caller''s token');
SELECT is(:'c1_video_id'::text, 'CL-C'::text, 'the claim carries the video id');
SELECT results_eq($$SELECT status, worker_id, worker_state,
    lock_token::text, lease_epoch FROM pipeline_runs
    WHERE run_id = '$$ || :'run_c' || $$'$$,
    $$VALUES ('approved'::text, 'worker-1'::text, 'active'::text,
    '$$ || :'t1' || $$'::text, 1::bigint)$$,
    'the claimed row holds the worker, its token and state active');

SELECT * FROM rpc_claim_next_run('worker-2', gen_random_uuid()::text, 15,
    'claim-order') \gset c2_
SELECT is(:'c2_run_id'::text, :'run_a'::text, 'then the oldest running run');
SELECT * FROM rpc_claim_next_run('worker-3', gen_random_uuid()::text, 15,
    'claim-order') \gset c3_
SELECT is(:'c3_run_id'::text, :'run_b'::text, 'then the next oldest');
SELECT is_empty($$SELECT * FROM rpc_claim_next_run('worker-4',
    gen_random_uuid()::text, 15, 'claim-order')$$,
    'live leases are never claimed');
SELECT * FROM rpc_claim_next_run('worker-4', gen_random_uuid()::text, 15, '')
\gset c4_
SELECT is(:'c4_run_id'::text, :'run_d'::text,
    'task type "" takes any task type');

-- The claim event.
SELECT results_eq($$SELECT severity, source, payload->>'worker_id',
    (payload->>'lease_epoch')::int, (payload->>'is_recovery')::boolean,
    (payload->>'lease_minutes')::int FROM run_events
    WHERE run_id = '$$ || :'run_c' || $$' AND event_type = 'run_claimed'$$,
    $$VALUES ('INFO'::text, 'store'::text, 'worker-1'::text, 1, false, 15)$$,
    'a claim writes one run_claimed event');

-- Lease clamping, by the database clock.
SELECT rpc_enqueue_run('CL-E', 'clamp') AS run_e \gset
SELECT rpc_enqueue_run('CL-F', 'clamp') AS run_f \gset
UPDATE pipeline_runs SET created_at = now() - interval '1 minute'
WHERE run_id = :'run_e';
SELECT gen_random_uuid() AS te \gset
SELECT run_id AS got_e FROM rpc_claim_next_run('worker-5', :'te', 100,
    'clamp') \gset
SELECT is(:'got_e'::text, :'run_e'::text, 'clamp run claimed');
SELECT is((SELECT lease_expires_at - now() FROM pipeline_runs
    WHERE run_id = :'run_e'), interval '30 minutes',
    'a 100-minute lease is clamped to 30');
SELECT run_id AS got_f FROM rpc_claim_next_run('worker-6',
    gen_random_uuid()::text, 0, 'clamp') \gset
SELECT is((SELECT lease_expires_at - now() FROM pipeline_runs
    WHERE run_id = :'run_f'), interval '1 minute',
    'a 0-minute lease is clamped to 1');
SELECT is((SELECT (payload->>'lease_minutes')::int FROM run_events
    WHERE run_id = :'run_f' AND event_type = 'run_claimed'), 1,
    'the event records the clamped lease');
SELECT is((SELECT ok FROM cas_heartbeat_run(:'run_e', 'worker-5', :'te',
    1000)), true, 'heartbeat with a 1000-minute lease');
SELECT is((SELECT lease_expires_at - now() FROM pipeline_runs
    WHERE run_id = :'run_e'), interval '30 minutes',
    'a heartbeat lease is clamped to 30');
SELECT is((SELECT ok FROM cas_heartbeat_run(:'run_e', 'worker-5', :'te',
    -5)), true, 'heartbeat with a negative lease');
SELECT is((SELECT lease_expires_at - now() FROM pipeline_runs
    WHERE run_id = :'run_e'), interval '1 minute',
    'a negative heartbeat lease is clamped to 1');
SELECT is(rv_lease_clamp(NULL), 15, 'a null lease means the default 15');

-- An expired lease is free for anyone; the epoch goes on.
UPDATE pipeline_runs SET lease_expires_at = now() - interval '1 second'
WHERE run_id = :'run_e';
SELECT * FROM rpc_claim_next_run('worker-7', gen_random_uuid()::text, 15,
    'clamp') \gset c7_
SELECT ok(:'c7_run_id' = :'run_e' AND :'c7_lease_epoch' = '2' AND
    NOT :'c7_is_recovery'::boolean,
    'an expired lease is claimed by another worker with epoch 2');
SELECT is((SELECT payload->>'previous_worker_id' FROM run_events
    WHERE run_id = :'run_e' AND event_type = 'run_claimed'
    AND (payload->>'lease_epoch')::int = 2), 'worker-5',
    'the event names the previous worker');
SELECT is((SELECT ok FROM cas_heartbeat_run(:'run_e', 'worker-5', :'te')),
    false, 'the previous holder''s token no longer renews');

-- Never claimable: gated, terminal.
SELECT rpc_enqueue_run('CL-G', 'never') AS run_g \gset
SELECT gen_random_uuid() AS tg \gset
SELECT run_id AS got_g FROM rpc_claim_next_run('worker-8', :'tg', 15,
    'never') \gset
SELECT is((SELECT ok FROM rpc_gate_run(:'run_g', 'worker-8', :'tg',
    'price conflict')), true, 'gate opened');
UPDATE pipeline_runs SET lease_expires_at = now() - interval '1 second'
WHERE run_id = :'run_g';
SELECT is_empty($$SELECT * FROM rpc_claim_next_run('worker-9',
    gen_random_uuid()::text, 15, 'never')$$,
    'a gated run is not claimed by another worker, even expired');
SELECT rpc_enqueue_run('CL-H', 'never') AS run_h \gset
UPDATE pipeline_runs SET status = 'done' WHERE run_id = :'run_h';
SELECT rpc_enqueue_run('CL-I', 'never') AS run_i \gset
UPDATE pipeline_runs SET status = 'aborted' WHERE run_id = :'run_i';
SELECT rpc_enqueue_run('CL-J', 'never') AS run_j \gset
UPDATE pipeline_runs SET status = 'failed' WHERE run_id = :'run_j';
SELECT is_empty($$SELECT * FROM rpc_claim_next_run('worker-9',
    gen_random_uuid()::text, 15, 'never')$$,
    'done, aborted and failed runs are never claimed');
SELECT is((SELECT count(*)::int FROM run_events WHERE run_id IN
    (:'run_h', :'run_i', :'run_j') AND event_type = 'run_claimed'), 0,
    'no claim event for terminal runs');

-- Enqueue rules.
SELECT throws_ok($$SELECT rpc_enqueue_run('CL-A', 'x')$$, 'RV409', NULL,
    'a video is queued once');
SELECT throws_ok($$SELECT rpc_enqueue_run('a_b')$$, 'P0001', NULL,
    'video id a_b is refused');
SELECT throws_ok($$SELECT rpc_enqueue_run('CL-K', '', '{"video_id":
    "OTHER"}')$$, 'P0001', 'video CL-K: the spec''s video_id does not match',
    'a spec for another video is refused');

SELECT * FROM finish();
ROLLBACK;
