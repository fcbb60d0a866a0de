--
-- zk_trust_limits: a logged txn always applies.  An ordinary role tries to
-- get a txn logged that a learner's decoder or the applier would refuse
-- (which would stop every write for good): an "auth" ACL that expands past
-- the 64 entries a txn may carry, entries past the byte limit, more
-- identities than a session may add.  Each is refused where it enters, with
-- its SQLSTATE, nothing reaches the log, and the server goes on serving.
-- Then the property test: random requests, valid and not, through every
-- stage of the pipeline on a scratch tree; no logged txn fails to apply.
--
\set SHOW_CONTEXT never
\set VERBOSITY default

SELECT zk_create('/trust_lim');
CREATE ROLE regress_zk_wedge;
SET ROLE regress_zk_wedge;
SELECT zk_session_id() IS NOT NULL AS has_session;
SELECT last_logged_zxid AS before FROM zkpg.status \gset

-- identities: at most 32 per session, and bounded in length
SELECT count(*) AS added
  FROM (SELECT zk_add_auth('digest', 'user' || i || ':pw') FROM generate_series(1, 32) i) s;
SELECT zk_test_sqlstate($$SELECT zk_add_auth('digest', 'user33:pw')$$) AS thirty_third;
SELECT zk_test_sqlstate(format('SELECT zk_add_auth(''digest'', %L)', repeat('u', 257) || ':pw'))
       AS long_user;
SELECT zk_test_sqlstate(format('SELECT zk_add_auth(''digest'', %L)', 'u:' || repeat('p', 1025)))
       AS long_password;

-- "auth" expands to the 32 identities: with 33 more entries, 65 > 64
SELECT zk_test_sqlstate(format('SELECT zk_create(%L, NULL, %L, %L)', '/trust_lim/wedge', 'persistent',
         ARRAY['auth::r'] || ARRAY(SELECT 'ip:10.0.0.' || i || ':r' FROM generate_series(1, 33) i)))
       AS expands_past_64;
SELECT zk_test_sqlstate(format('SELECT zk_set_acl(%L, %L)', '/trust_lim',
         ARRAY['auth::r'] || ARRAY(SELECT 'ip:10.0.0.' || i || ':r' FROM generate_series(1, 33) i)))
       AS set_acl_expands_past_64;
SELECT zk_test_sqlstate(format('SELECT * FROM zk_multi(zk_op_create(%L), zk_op_create(%L, NULL, %L, %L))',
         '/trust_lim/m1', '/trust_lim/m2', 'persistent',
         ARRAY['auth::r'] || ARRAY(SELECT 'ip:10.0.0.' || i || ':r' FROM generate_series(1, 33) i)))
       AS multi_expands_past_64;
SELECT zk_exists('/trust_lim/m1') IS NULL AS multi_applied_nothing;
-- an entry past 4096 bytes
SELECT zk_test_sqlstate(format('SELECT zk_create(%L, NULL, %L, %L)', '/trust_lim/long', 'persistent',
         ARRAY['digest:' || repeat('u', 4100) || ':h:r']))
       AS long_entry;
-- nothing refused reached the log
SELECT last_logged_zxid = :before AS log_unchanged FROM zkpg.status;

-- 32 identities and 32 more entries: 64, the most a txn carries
SELECT zk_create('/trust_lim/full', NULL, 'persistent',
                 ARRAY['auth::r'] || ARRAY(SELECT 'ip:10.0.0.' || i || ':r' FROM generate_series(1, 32) i));
SELECT cardinality(zk_get_acl('/trust_lim/full')) AS entries;
RESET ROLE;

-- the server still serves: the applier went on past everything logged
SELECT zk_create('/trust_lim/after', 'after');
SELECT convert_from(data, 'UTF8') AS data FROM zk_get('/trust_lim/after');
SELECT state IN ('standalone', 'leading', 'following', 'coordinating', 'participating') AS serving
  FROM zkpg.status;
DROP ROLE regress_zk_wedge;

--
-- The property: every request the entry check accepts decodes at the
-- leader, becomes a txn (or an error txn) that decodes at a learner, and
-- applies.  Both outcomes of each stage occur.
--
SELECT requests, refused > 0 AS some_refused, logged > 0 AS some_logged,
       error_txns > 0 AS some_error_txns, logged > error_txns AS some_applied_changes,
       apply_failures, first_failure
  FROM zkpg.check_pipeline(10000, 1);
SELECT requests, apply_failures, first_failure FROM zkpg.check_pipeline(10000, 2);
SELECT requests, apply_failures, first_failure FROM zkpg.check_pipeline(10000, 3);
