-- SPDX-License-Identifier: ISC
--
-- 07_ledger_events.sql: the credit ledger (an intent only by the current
-- holder and epoch while the run may spend; a failed attempt paid again
-- counts one more attempt; a result lands once, a late success after a
-- failure ends done, done is never undone) and the read
-- calls: events by occurred_at, runs and their ages by the database
-- clock, rpc_now.
BEGIN;
SELECT plan(34);
UPDATE pipeline_runs SET status = 'aborted';

SELECT rpc_enqueue_run('LG-A', 'lg') AS run_a \gset
SELECT gen_random_uuid() AS t \gset
SELECT run_id AS got FROM rpc_claim_next_run('lg-worker', :'t', 15, 'lg')
\gset
SELECT is(rpc_ledger_intent(:'run_a', 'intro', '0123abcd', :'t', 1, 5),
    '{"fresh": true, "result": "done"}'::jsonb,
    'the holder books an intent');
SELECT is(rpc_ledger_intent(:'run_a', 'intro', '0123abcd', :'t', 1, 5)
    ->'existing'->>'state', 'intent', 'booking again returns the row');
SELECT is((rpc_ledger_intent(:'run_a', 'intro', '0123abcd', :'t', 0, 9)
    ->>'fresh')::boolean, false, 'and never books twice');
SELECT throws_ok($$SELECT rpc_ledger_intent('$$ || :'run_a' || $$',
    'outro', '0123abcd', gen_random_uuid()::text)$$, 'RV412', NULL,
    'a stale token books nothing (lock lost)');
SELECT is(rpc_ledger_intent(:'run_a', 'outro', '0123abcd', :'t', 7)
    - 'message', '{"fresh": false, "result": "fenced"}'::jsonb,
    'another epoch books nothing (fenced)');
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

SELECT is(rpc_ledger_result(:'run_a' || ':intro:0123abcd', 1, 'done', 5,
    'video/final/V_x.mp4')->>'result', 'done', 'the result is recorded');
SELECT is(rpc_ledger_result(:'run_a' || ':intro:0123abcd', 1, 'done', 5,
    'video/final/V_x.mp4')->>'result', 'duplicate',
    'repeating it is harmless');
SELECT is(rpc_ledger_result(:'run_a' || ':intro:0123abcd', 1, 'failed',
    0)->>'result', 'duplicate', 'a failure never undoes done');
SELECT throws_ok($$SELECT rpc_ledger_result('no-such-key', 0, 'done', 1)$$,
    'RV404', NULL, 'an unknown key');
SELECT throws_ok($$SELECT rpc_ledger_result('$$ || :'run_a' ||
    $$:intro:0123abcd', 1, 'done', 1, '/etc/passwd')$$, 'P0001', NULL,
    'an absolute output path is refused');
SELECT is(rpc_ledger_list(:'run_a')->0->>'output', 'video/final/V_x.mp4',
    'the ledger lists the row');

-- A failed attempt paid again, then a late success.
SELECT is(rpc_ledger_intent(:'run_a', 'outro', '0123abcd', :'t', 1, 5)
    ->>'result', 'done', 'a second key is booked');
SELECT is(rpc_ledger_result(:'run_a' || ':outro:0123abcd', 1, 'failed',
    5)->>'result', 'done', 'its first attempt failed');
SELECT is(rpc_ledger_intent(:'run_a', 'outro', '0123abcd', :'t', 1, 5),
    '{"fresh": true, "result": "done"}'::jsonb,
    'an intent after a failure is a new paid attempt');
SELECT results_eq($$SELECT state, attempts FROM credit_ledger
    WHERE key = '$$ || :'run_a' || $$:outro:0123abcd'$$,
    $$VALUES ('intent'::text, 2)$$, 'state intent, two attempts');
SELECT is(rpc_ledger_result(:'run_a' || ':outro:0123abcd', 1, 'failed',
    5)->>'result', 'done', 'the second attempt failed too');
SELECT is(rpc_ledger_result(:'run_a' || ':outro:0123abcd', 1, 'done', 5,
    'video/final/V_o.mp4')->>'result', 'done',
    'a late success after a failure');
SELECT results_eq($$SELECT state, attempts, output FROM credit_ledger
    WHERE key = '$$ || :'run_a' || $$:outro:0123abcd'$$,
    $$VALUES ('done'::text, 2, 'video/final/V_o.mp4'::text)$$,
    'it ends done with every paid attempt counted');
SELECT is((rpc_ledger_list(:'run_a')->1->>'attempts')::int, 2,
    'the ledger lists the attempts');

SELECT is((SELECT result FROM rpc_operator_action(:'run_a', 'abort',
    'operator-1')), 'applied', 'aborted');
SELECT is(rpc_ledger_intent(:'run_a', 'extra', '0123abcd', :'t', 1)
    ->>'result', 'fenced', 'the aborted epoch books nothing');
SELECT throws_ok($$SELECT rpc_ledger_intent('$$ || :'run_a' || $$',
    'extra', '0123abcd', '$$ || :'t' || $$', 0)$$, 'RV412', NULL,
    'an aborted run has no holder: lock lost');

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
