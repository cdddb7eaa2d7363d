-- SPDX-License-Identifier: ISC
--
-- 07_ledger_events.sql: the credit ledger (an intent only by the current
-- holder and epoch while the run may spend; a result once) and the read
-- calls: events by occurred_at, runs and their ages by the database
-- clock, rpc_now.
BEGIN;
SELECT plan(25);
UPDATE pipeline_runs SET status = 'aborted';

SELECT rpc_enqueue_run('LG-A', 'lg') AS run_a \gset
SELECT gen_random_uuid() AS t \gset
SELECT run_id AS got FROM rpc_claim_next_run('lg-worker', :'t', 15, 'lg')
\gset
SELECT is(rpc_ledger_intent(:'run_a', 'intro', '0123abcd', :'t', 1, 5),
    '{"fresh": true}'::jsonb, 'the holder books an intent');
SELECT is(rpc_ledger_intent(:'run_a', 'intro', '0123abcd', :'t', 1, 5)
    ->'existing'->>'state', 'intent', 'booking again returns the row');
SELECT is((rpc_ledger_intent(:'run_a', 'intro', '0123abcd', :'t', 0, 9)
    ->>'fresh')::boolean, false, 'and never books twice');
SELECT throws_ok($$SELECT rpc_ledger_intent('$$ || :'run_a' || $$',
    'outro', '0123abcd', gen_random_uuid()::text)$$, 'RV412', NULL,
    'a stale token books nothing (lock lost)');
SELECT throws_ok($$SELECT rpc_ledger_intent('$$ || :'run_a' || $$',
    'outro', '0123abcd', '$$ || :'t' || $$', 7)$$, 'RV412', NULL,
    'another epoch books nothing (lock lost)');
SELECT throws_ok($$SELECT rpc_ledger_intent('$$ || :'run_a' || $$',
    'a_b', '0123abcd', '$$ || :'t' || $$')$$, 'P0001', NULL,
    'segment id a_b is refused');
SELECT throws_ok($$SELECT rpc_ledger_intent('$$ || :'run_a' || $$',
    'outro', '0123ABCD', '$$ || :'t' || $$')$$, 'P0001', NULL,
    'an upper-case sha8 is refused');
SELECT throws_ok($$SELECT rpc_ledger_intent('$$ || :'run_a' || $$',
    'outro', '0123abcd', '$$ || :'t' || $$', 1, 1, 'wrong:key')$$, 'P0001',
    NULL, 'a key that is not run:segment:sha8 is refused');
SELECT throws_ok($$SELECT rpc_ledger_intent('$$ || :'run_a' || $$',
    'outro', '0123abcd', '$$ || :'t' || $$', 1, -1)$$, 'P0001', NULL,
    'negative credits are refused');

SELECT is(rpc_ledger_result(:'run_a' || ':intro:0123abcd', 'done', 5,
    'video/final/V_x.mp4'), true, 'the result is recorded');
SELECT is(rpc_ledger_result(:'run_a' || ':intro:0123abcd', 'done', 5,
    'video/final/V_x.mp4'), true, 'repeating it is harmless');
SELECT throws_ok($$SELECT rpc_ledger_result('$$ || :'run_a' ||
    $$:intro:0123abcd', 'failed', 0)$$, 'RV409', NULL,
    'a different result is refused');
SELECT throws_ok($$SELECT rpc_ledger_result('no-such-key', 'done', 1)$$,
    'RV404', NULL, 'an unknown key');
SELECT throws_ok($$SELECT rpc_ledger_result('$$ || :'run_a' ||
    $$:intro:0123abcd', 'done', 1, '/etc/passwd')$$, 'P0001', NULL,
    'an absolute output path is refused');
SELECT is(rpc_ledger_list(:'run_a')->0->>'output', 'video/final/V_x.mp4',
    'the ledger lists the row');

SELECT is((SELECT result FROM rpc_operator_action(:'run_a', 'abort',
    'operator-1')), 'applied', 'aborted');
SELECT throws_ok($$SELECT rpc_ledger_intent('$$ || :'run_a' || $$',
    'outro', '0123abcd', '$$ || :'t' || $$', 1)$$, 'RV403', NULL,
    'an aborted run may not spend');

-- Events and reads.
SELECT lives_ok($$INSERT INTO run_events (event_id, run_id, event_type,
    severity, occurred_at) VALUES (gen_random_uuid(), '$$ || :'run_a' || $$',
    'old_event', 'DEBUG', '2020-01-02T03:04:05Z')$$, 'an old event');
SELECT is(rpc_list_events(:'run_a')->0->>'occurred_at',
    '2020-01-02T03:04:05.000Z', 'events come ordered by occurred_at');
SELECT is(jsonb_typeof(rpc_list_events(:'run_a')->0->'payload'), 'object',
    'payloads are objects');
SELECT ok(jsonb_array_length(rpc_list_events(NULL)) >=
    jsonb_array_length(rpc_list_events(:'run_a')), 'all events');
SELECT results_eq($$SELECT r->>'status', (r->>'lease_epoch')::int,
    r->'spec' = '{}'::jsonb, (r->>'age_sec')::float >= 0
    FROM rpc_get_run('LG-A') AS r$$,
    $$VALUES ('aborted'::text, 1, true, true)$$, 'a run by its video id');
SELECT is(rpc_get_run(gen_random_uuid()::text), NULL, 'an unknown run: null');
SELECT throws_ok($$SELECT rpc_get_run('../x')$$, 'P0001', NULL,
    'a bad id is refused');
SELECT is(rpc_now(), rv_ts(now()), 'rpc_now is the database clock');

SELECT * FROM finish();
ROLLBACK;
