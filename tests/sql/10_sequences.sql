-- SPDX-License-Identifier: ISC
--
-- 10_sequences.sql: the sequences behind the tables' identity columns
-- (pipeline_runs.seq, run_events.id, credit_ledger.seq) are out of reach
-- of the API roles.  On Supabase the public schema's default privileges
-- grant every new sequence to anon and authenticated (tests/lib/pg_cluster
-- sets the same defaults); a client holding the anon key could otherwise
-- read them (SELECT: how many runs and events exist) or move them
-- (nextval, setval).
BEGIN;
SELECT plan(4);

CREATE TEMP TABLE seqs ON COMMIT DROP AS
SELECT d.objid::regclass AS seq
FROM pg_depend d JOIN pg_class c ON c.oid = d.objid AND c.relkind = 'S'
WHERE d.refobjid IN ('public.pipeline_runs'::regclass,
    'public.run_events'::regclass, 'public.credit_ledger'::regclass)
AND d.deptype IN ('a', 'i');

SELECT is((SELECT count(*)::int FROM seqs), 3,
    'the three tables have one identity sequence each');
SELECT is((SELECT count(*)::int FROM seqs, unnest(ARRAY['USAGE', 'SELECT',
    'UPDATE']) AS p(priv) WHERE has_sequence_privilege('anon', seq, priv)),
    0, 'anon has no privilege on the sequences');
SELECT is((SELECT count(*)::int FROM seqs, unnest(ARRAY['USAGE', 'SELECT',
    'UPDATE']) AS p(priv)
    WHERE has_sequence_privilege('authenticated', seq, priv)),
    0, 'authenticated has no privilege on the sequences');
SELECT is((SELECT count(*)::int FROM seqs, pg_class c,
    aclexplode(c.relacl) a
    WHERE c.oid = seq AND a.grantee = 0), 0,
    'PUBLIC has no privilege on the sequences');

SELECT * FROM finish();
ROLLBACK;
