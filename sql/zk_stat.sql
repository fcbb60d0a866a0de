--
-- zk_stat: ZooKeeper's Stat rules (DataTree/DataNode).
--   * a create sets czxid = mzxid = pzxid, ctime = mtime, all versions 0;
--   * only a set bumps version and mzxid/mtime, even with identical bytes;
--   * only a set_acl bumps aversion (and not mzxid);
--   * a child create or delete bumps the parent's pzxid and cversion, not its
--     mzxid or version;
--   * cversion = creates + deletes of children; a sequential suffix is the
--     parent's count of child creates, %010d;
--   * ephemeral_owner is the session for ephemerals, 0 for everything else.
-- zxids and times are compared, never printed.
--
\set SHOW_CONTEXT never
\set VERBOSITY default

SELECT clock_timestamp() AS t0 \gset
SELECT zk_create('/stat');
SELECT zk_create('/stat/n', 'abc');
SELECT version, cversion, aversion, ephemeral_owner, data_length, num_children,
       mzxid = czxid AS mzxid_eq_czxid, pzxid = czxid AS pzxid_eq_czxid,
       mtime = ctime AS mtime_eq_ctime,
       ctime BETWEEN :'t0'::timestamptz - interval '1 second'
                 AND clock_timestamp() + interval '1 second' AS ctime_is_now
  FROM zk_exists('/stat/n');
-- a zxid is (epoch << 32) | counter
SELECT (czxid & x'ffffffff'::bigint) > 0 AS has_counter FROM zk_exists('/stat/n');
-- later writes get larger zxids
SELECT (zk_exists('/stat/n')).czxid > (zk_exists('/stat')).czxid AS increasing;

CREATE TEMP TABLE snap AS SELECT 'n0'::text AS tag, * FROM zk_exists('/stat/n');

--
-- set with identical bytes still bumps version and mzxid
--
SELECT s.version, s.data_length,
       s.mzxid > n0.mzxid AS mzxid_moved, s.czxid = n0.czxid AS czxid_same,
       s.pzxid = n0.pzxid AS pzxid_same, s.cversion, s.aversion,
       s.mtime >= n0.mtime AS mtime_not_before, s.ctime = n0.ctime AS ctime_same
  FROM zk_set('/stat/n', 'abc') s, snap n0 WHERE n0.tag = 'n0';
SELECT convert_from(data, 'UTF8') AS data FROM zk_get('/stat/n');
INSERT INTO snap SELECT 'n1', * FROM zk_exists('/stat/n');
SELECT s.version, s.mzxid > n1.mzxid AS mzxid_moved
  FROM zk_set('/stat/n', 'abc', 1) s, snap n1 WHERE n1.tag = 'n1';
SELECT s.version, s.data_length FROM zk_set('/stat/n', 'longer data') s;
SELECT s.version, s.data_length FROM zk_set('/stat/n', '') s;
INSERT INTO snap SELECT 'n2', * FROM zk_exists('/stat/n');

--
-- set_acl bumps aversion only
--
SELECT s.aversion, s.version, s.cversion, s.mzxid = n2.mzxid AS mzxid_same,
       s.mtime = n2.mtime AS mtime_same, s.pzxid = n2.pzxid AS pzxid_same
  FROM zk_set_acl('/stat/n', ARRAY['world:anyone:cdrwa']) s, snap n2 WHERE n2.tag = 'n2';
SELECT s.aversion FROM zk_set_acl('/stat/n', ARRAY['world:anyone:cdrwa'], 1) s;
SELECT aversion, version FROM zk_exists('/stat/n');

--
-- children: pzxid and cversion of the parent move, its mzxid and version do not
--
INSERT INTO snap SELECT 'n3', * FROM zk_exists('/stat/n');
SELECT zk_create('/stat/n/c1', 'x');
SELECT p.cversion, p.num_children, p.version, p.aversion,
       p.mzxid = n3.mzxid AS mzxid_same, p.mtime = n3.mtime AS mtime_same,
       p.pzxid = (zk_exists('/stat/n/c1')).czxid AS pzxid_is_child_czxid
  FROM zk_exists('/stat/n') p, snap n3 WHERE n3.tag = 'n3';
-- the child's own stat
SELECT version, cversion, aversion, num_children, ephemeral_owner,
       pzxid = czxid AS pzxid_eq_czxid
  FROM zk_exists('/stat/n/c1');
-- a set of the child changes nothing on the parent
INSERT INTO snap SELECT 'n4', * FROM zk_exists('/stat/n');
SELECT s.version FROM zk_set('/stat/n/c1', 'y') s;
SELECT p = n4 AS parent_unchanged
  FROM zk_exists('/stat/n') p,
       (SELECT czxid, mzxid, ctime, mtime, version, cversion, aversion,
               ephemeral_owner, data_length, num_children, pzxid
          FROM snap WHERE tag = 'n4') n4;
-- nor does a grandchild (only the direct parent changes)
SELECT zk_create('/stat/n/c1/g');
SELECT p.cversion, p.num_children, p.pzxid = n4.pzxid AS pzxid_same
  FROM zk_exists('/stat/n') p, snap n4 WHERE n4.tag = 'n4';
SELECT cversion, num_children, pzxid = (zk_exists('/stat/n/c1/g')).czxid AS pzxid_is_g
  FROM zk_exists('/stat/n/c1');
SELECT zk_delete('/stat/n/c1/g');
SELECT cversion, num_children, pzxid > (zk_exists('/stat/n/c1')).mzxid AS pzxid_moved
  FROM zk_exists('/stat/n/c1');
-- delete of a child: cversion counts it too, pzxid moves past the child's zxids
INSERT INTO snap SELECT 'c1', * FROM zk_exists('/stat/n/c1');
SELECT zk_delete('/stat/n/c1');
SELECT p.cversion, p.num_children, p.version,
       p.pzxid > c1.mzxid AS pzxid_moved, p.mzxid = n4.mzxid AS mzxid_same
  FROM zk_exists('/stat/n') p, snap c1, snap n4 WHERE c1.tag = 'c1' AND n4.tag = 'n4';

--
-- cversion = creates + deletes; the sequential suffix counts creates only:
-- two children created and deleted give cversion 4 and then ...0000000002.
--
SELECT zk_create('/stat/cv');
SELECT zk_create('/stat/cv/a');
SELECT zk_create('/stat/cv/b');
SELECT cversion, num_children FROM zk_exists('/stat/cv');
SELECT zk_delete('/stat/cv/a');
SELECT zk_delete('/stat/cv/b');
SELECT cversion, num_children FROM zk_exists('/stat/cv');
SELECT zk_create('/stat/cv/s-', NULL, 'persistent_sequential');
SELECT cversion, num_children FROM zk_exists('/stat/cv');
-- every mode shares the parent's counter
SELECT zk_create('/stat/cv/e-', NULL, 'ephemeral_sequential');
SELECT zk_create('/stat/cv/t-', NULL, 'persistent_sequential_ttl', NULL, 3600000);
SELECT zk_create('/stat/cv/plain');
SELECT zk_create('/stat/cv/', NULL, 'persistent_sequential');
SELECT * FROM zk_get_children('/stat/cv');
SELECT cversion, num_children FROM zk_exists('/stat/cv');
-- failed creates do not count
SELECT zk_test_code($$SELECT zk_create('/stat/cv/plain')$$) AS exists_already;
SELECT zk_test_code($$SELECT zk_create('/stat/cv/zz', NULL, 'persistent_ttl')$$) AS bad_ttl;
SELECT zk_test_code($$SELECT zk_create('/stat/cv/zz', NULL, 'persistent', '{world:nobody:r}')$$) AS bad_acl;
SELECT zk_test_code($$SELECT zk_create('/stat/cv/e-0000000003/x')$$) AS under_ephemeral;
SELECT cversion, num_children FROM zk_exists('/stat/cv');
SELECT zk_create('/stat/cv/s-', NULL, 'persistent_sequential');
-- the suffix is not skipped past a node that has that name already:
-- ZooKeeper refuses the create with NODEEXISTS, and the counter stays
SELECT zk_create('/stat/collide');
SELECT zk_create('/stat/collide/s-0000000001');
SELECT zk_test_sqlstate($$SELECT zk_create('/stat/collide/s-', NULL, 'persistent_sequential')$$);
SELECT zk_test_code($$SELECT zk_create('/stat/collide/s-', NULL, 'persistent_sequential')$$) AS again;
SELECT zk_create('/stat/collide/t-', NULL, 'persistent_sequential');
SELECT cversion, num_children FROM zk_exists('/stat/collide');
-- a deleted and re-created node starts over
SELECT zk_create('/stat/re', 'one');
SELECT s.version FROM zk_set('/stat/re', 'two') s;
INSERT INTO snap SELECT 're', * FROM zk_exists('/stat/re');
SELECT zk_delete('/stat/re');
SELECT zk_create('/stat/re', 'three');
SELECT s.version, s.czxid > re.mzxid AS new_czxid, s.mzxid = s.czxid AS mzxid_eq_czxid
  FROM zk_exists('/stat/re') s, snap re WHERE re.tag = 're';

-- the suffix is %010d: it keeps ten digits past 9, 99, ...
SELECT zk_create('/stat/wide');
SELECT count(zk_create('/stat/wide/x')) FROM generate_series(1, 1);
SELECT count(zk_create('/stat/wide/k' || i)) FROM generate_series(1, 9) i;
SELECT zk_create('/stat/wide/q-', NULL, 'persistent_sequential');
SELECT count(zk_create('/stat/wide/m' || i)) FROM generate_series(1, 89) i;
SELECT zk_create('/stat/wide/q-', NULL, 'persistent_sequential');
SELECT cversion, num_children FROM zk_exists('/stat/wide');

--
-- ephemeral_owner: this session for ephemerals, 0 for the rest
--
SELECT zk_create('/stat/modes');
SELECT m, zk_create('/stat/modes/' || m, 'd', m,
                    NULL, CASE WHEN m LIKE '%ttl' THEN 3600000 END) AS created
  FROM unnest(ARRAY['persistent', 'ephemeral', 'persistent_sequential',
                    'ephemeral_sequential', 'container', 'persistent_ttl',
                    'persistent_sequential_ttl']) WITH ORDINALITY AS t(m, o)
 ORDER BY o;
SELECT c AS child,
       s.ephemeral_owner = zk_session_id() AS owner_is_session,
       s.ephemeral_owner = 0 AS owner_is_0,
       s.version, s.cversion, s.aversion, s.data_length, s.num_children,
       s.mzxid = s.czxid AND s.pzxid = s.czxid AS zxids_equal
  FROM zk_get_children('/stat/modes') c, LATERAL zk_exists('/stat/modes/' || c) s
 ORDER BY c COLLATE "C";
SELECT zk_count_children('/stat/modes') AS count, num_children, cversion
  FROM zk_exists('/stat/modes');

--
-- A failed write consumes a zxid (an error txn), so zxids seen by the
-- client have a gap there.
--
SELECT zk_create('/stat/gap1');
SELECT zk_test_code($$SELECT zk_create('/stat/gap1')$$) AS fails;
SELECT zk_create('/stat/gap2');
SELECT (zk_exists('/stat/gap2')).czxid - (zk_exists('/stat/gap1')).czxid >= 2 AS gap;

--
-- num_children and data_length follow the node
--
SELECT zk_create('/stat/len', convert_to('héllo', 'UTF8'));
SELECT data_length, octet_length(data) AS bytes FROM zk_get('/stat/len');
SELECT s.data_length FROM zk_set('/stat/len', '\x00000000'::bytea) s;
SELECT data_length, octet_length(data) AS bytes FROM zk_get('/stat/len');
