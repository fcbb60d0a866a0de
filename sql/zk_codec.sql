-- The request and txn decoders face the network: random valid records
-- survive a round trip, and mutated ones are refused or decode to
-- well-formed records, never crash.
SELECT zkpg.fuzz_codec(20000, 42) > 0 AS some_mutants_decode;
SELECT zkpg.fuzz_codec(20000, 7) > 0 AS some_mutants_decode;
-- bad input reaches no log: the log does not grow on refused calls
SELECT last_logged_zxid AS before FROM zkpg.status \gset
SELECT zk_create('bad') IS NULL;
SELECT zk_create('/x', NULL, 'nomode') IS NULL;
SELECT zk_set('/x', 'v', -2) IS NULL;
SELECT zk_create('/x', NULL, 'persistent', ARRAY['world:nobody:r']) IS NULL;
SELECT zk_create('/x', NULL, 'persistent', NULL, 1000) IS NULL;
SELECT last_logged_zxid = :before AS log_unchanged FROM zkpg.status;
