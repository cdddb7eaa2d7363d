-- SPDX-License-Identifier: ISC
--
-- 09_amend_replace.sql: one current run per video id (SPEC section 2: a
-- run queued with p_replace reuses the video id of an aborted or failed
-- run, never of an active or done one; the replaced run is kept) and
-- rpc_amend_run (rvctl amend: one segment of a gated or aborted run's
-- spec, with an operator_action event holding before and after; nothing
-- else is amendable and a refused amend changes nothing).
BEGIN;
SELECT plan(22);

-- ---- enqueue with p_replace
SELECT rpc_enqueue_run('RP-A', 'replace') AS run_a \gset
SELECT throws_ok($$SELECT rpc_enqueue_run('RP-A', 'replace', NULL, true)$$,
    'RV409', 'video RP-A: run ' || :'run_a' || ' is running; only an '
    'aborted or failed run can be replaced',
    'no replace while the run is active');
SELECT throws_ok($$SELECT rpc_enqueue_run('RP-A', 'replace')$$, 'RV409',
    'video RP-A is already queued as run ' || :'run_a' ||
    ' (status running)', 'a plain enqueue of a queued video id');
SELECT is((SELECT result FROM rpc_operator_action(:'run_a', 'abort',
    'op-night')), 'applied', 'abort');
SELECT throws_ok($$SELECT rpc_enqueue_run('RP-A', 'replace')$$, 'RV409',
    'video RP-A is already queued as run ' || :'run_a' ||
    ' (status aborted); it may be replaced by a new run',
    'a plain enqueue of an aborted video id says it may be replaced');
SELECT rpc_enqueue_run('RP-A', 'replace', NULL, true) AS run_b \gset
SELECT isnt(:'run_b'::text, :'run_a'::text, 'replace queues a new run');
SELECT is(rpc_get_run('RP-A', false)->>'run_id', :'run_b',
    'the video id names the new run');
SELECT is((SELECT replaced_by::text FROM pipeline_runs
    WHERE run_id = :'run_a'), :'run_b', 'the old run is kept, replaced');
SELECT is((SELECT count(*)::int FROM run_events WHERE run_id = :'run_a'
    AND event_type = 'run_replaced'), 1, 'a run_replaced event');
SELECT throws_ok($$SELECT rpc_enqueue_run('RP-A', 'replace', NULL, true)$$,
    'RV409', NULL, 'the new run is active: no second replace');
SELECT throws_ok($$INSERT INTO pipeline_runs (run_id, video_id)
    VALUES (gen_random_uuid(), 'RP-A')$$, '23505', NULL,
    'the table itself holds one current run per video id');

-- ---- amend
SELECT rpc_enqueue_run('AM-A', 'amend', '{"video_id": "AM-A", "segments":
    [{"segment_id": "intro", "text": "Hello there.",
    "approx_duration_sec": 3}, {"segment_id": "outro", "text": "Bye.",
    "approx_duration_sec": 2}]}') AS run_m \gset
SELECT is((SELECT result FROM rpc_amend_run(:'run_m', 'intro', 'New.',
    NULL, 'op-night')), 'not_possible', 'a queued run is not amendable');
SELECT gen_random_uuid() AS tm \gset
SELECT run_id FROM rpc_claim_next_run('amend-1', :'tm', 15, 'amend') \gset
SELECT ok((SELECT ok FROM rpc_gate_run(:'run_m', 'amend-1', :'tm',
    'panic_voice_contract_drift', NULL, 'panic')), 'gated');
SELECT throws_ok($$SELECT * FROM rpc_amend_run('$$ || :'run_m' ||
    $$', 'middle', 'x', NULL, 'op-night')$$, 'P0001',
    'run ' || :'run_m' || ' has no segment middle', 'unknown segment');
SELECT throws_ok($$SELECT * FROM rpc_amend_run('$$ || :'run_m' ||
    $$', 'intro', 'x', 4, 'op-night')$$, 'P0001', NULL,
    'text and duration together');
SELECT throws_ok($$SELECT * FROM rpc_amend_run('$$ || :'run_m' ||
    $$', 'intro', NULL, 700, 'op-night')$$, 'P0001', NULL,
    'a duration out of range');
SELECT throws_ok($$SELECT * FROM rpc_amend_run('$$ || :'run_m' ||
    $$', 'intro', 'x', NULL, 'op')$$, 'P0001', NULL,
    'an operator shorter than 3 characters');
SELECT throws_ok($$SELECT * FROM rpc_amend_run(gen_random_uuid()::text,
    'intro', 'x', NULL, 'op-night')$$, 'RV404', NULL, 'unknown run');
SELECT is((SELECT result FROM rpc_amend_run(:'run_m', 'intro', 'New.',
    NULL, 'op-night')), 'applied', 'amend the text of a gated run');
SELECT is((SELECT spec_json->'segments' FROM pipeline_runs
    WHERE run_id = :'run_m'), '[{"segment_id": "intro", "text": "New.",
    "approx_duration_sec": 3}, {"segment_id": "outro", "text": "Bye.",
    "approx_duration_sec": 2}]'::jsonb, 'only that segment changed');
SELECT is((SELECT payload - 'status' - 'result' FROM run_events
    WHERE run_id = :'run_m' AND event_type = 'operator_action'
    AND reason_key = 'spec_amended'), '{"operator": "op-night", "action":
    "amend", "segment_id": "intro", "field": "text", "before": {"text":
    "Hello there.", "approx_duration_sec": 3}, "after": {"text": "New.",
    "approx_duration_sec": 3}}'::jsonb, 'the event: before, after, operator');
SELECT is((SELECT result FROM rpc_amend_run(:'run_m', 'intro', 'New.',
    NULL, 'op-night')), 'already_applied', 'the same amend again');
SELECT is((SELECT result FROM rpc_amend_run(:'run_m', 'outro', NULL, 2.5,
    'op-night')), 'applied', 'amend the duration');

SELECT * FROM finish();
ROLLBACK;
