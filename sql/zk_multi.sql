--
-- zk_multi: all or nothing, one zxid.  Later ops see the effects of earlier
-- ones; a failing multi applies nothing and reports the failing op's SQLSTATE
-- with its 1-based index in the message; bad input (path, mode, version, ACL,
-- data size) is refused before anything happens, whichever op carries it.
--
\set SHOW_CONTEXT never
\set VERBOSITY default

SELECT zk_create('/multi');

-- an empty multi is fine and returns nothing
SELECT * FROM zk_multi(VARIADIC ARRAY[]::zk_op[]);

--
-- A successful multi: one row per op, in order, one zxid for all.
--
CREATE TEMP TABLE r1 AS
SELECT * FROM zk_multi(
    zk_op_create('/multi/a', 'a', 'persistent', NULL),
    zk_op_create('/multi/a/b', 'b', 'persistent', NULL),
    zk_op_set('/multi/a', 'a2', -1),
    zk_op_set('/multi/a', 'a3', 1),
    zk_op_check('/multi/a', 2),
    zk_op_check('/multi/a/b', -1),
    zk_op_create('/multi/s-', NULL, 'persistent_sequential', NULL),
    zk_op_create('/multi/s-', NULL, 'persistent_sequential', NULL),
    zk_op_create('/multi/e', 'e', 'ephemeral', NULL),
    zk_op_create('/multi/tmp', NULL, 'persistent', NULL),
    zk_op_delete('/multi/tmp', 0));
SELECT op_index, op, path, (stat).version, (stat).data_length, (stat).num_children,
       (stat).ephemeral_owner = zk_session_id() AS own_ephemeral
  FROM r1 ORDER BY op_index;
-- the returned stats carry one zxid
SELECT count(DISTINCT z) AS zxids
  FROM (SELECT (stat).czxid FROM r1 WHERE (stat).czxid IS NOT NULL AND (stat).version = 0
        UNION ALL
        SELECT (stat).mzxid FROM r1 WHERE stat IS NOT NULL) t(z);
-- and so does the tree: created and set in the same txn, czxid = mzxid
SELECT a.version, convert_from(g.data, 'UTF8') AS data,
       a.czxid = a.mzxid AS a_czxid_eq_mzxid,
       a.czxid = (zk_exists('/multi/a/b')).czxid AS b_same,
       a.czxid = (zk_exists('/multi/s-0000000002')).czxid AS s_same,
       a.czxid = (zk_exists('/multi/e')).czxid AS e_same,
       a.czxid = (zk_exists('/multi')).pzxid AS parent_pzxid,
       a.pzxid = a.czxid AS a_pzxid
  FROM zk_exists('/multi/a') a, zk_get('/multi/a') g;
-- the parent saw 5 creates and 1 delete: 4 children, cversion 6
SELECT * FROM zk_get_children('/multi');
SELECT cversion, num_children FROM zk_exists('/multi');
SELECT zk_exists('/multi/tmp') IS NULL AS tmp_gone;
SELECT ephemeral_owner = zk_session_id() AS mine FROM zk_exists('/multi/e');
SELECT * FROM zk_get_ephemerals('/multi');
-- stats agree with the tree afterwards for the last op on each node
SELECT r.stat = zk_exists('/multi/a/b') AS b_stat_matches FROM r1 r WHERE op_index = 2;

--
-- Failing multis change nothing.  Snapshot the subtree, run each failing
-- multi, and compare after every one.
--
CREATE TEMP TABLE multi_before AS
SELECT c AS child, s.* FROM zk_get_children('/multi') c, LATERAL zk_exists('/multi/' || c) s
UNION ALL
SELECT '/', s.* FROM zk_exists('/multi') s
UNION ALL
SELECT 'a/b', s.* FROM zk_exists('/multi/a/b') s;
CREATE FUNCTION multi_unchanged() RETURNS boolean LANGUAGE sql AS $$
    SELECT NOT EXISTS (
        (SELECT c, s.* FROM zk_get_children('/multi') c, LATERAL zk_exists('/multi/' || c) s
         UNION ALL
         SELECT '/', s.* FROM zk_exists('/multi') s
         UNION ALL
         SELECT 'a/b', s.* FROM zk_exists('/multi/a/b') s)
        EXCEPT ALL
        SELECT * FROM multi_before)
    AND (SELECT count(*) FROM multi_before) =
        (SELECT count(*) + 2 FROM zk_get_children('/multi'))
    AND convert_from((SELECT data FROM zk_get('/multi/a')), 'UTF8') = 'a3'
$$;
SELECT multi_unchanged();

CREATE TEMP TABLE failing (ord serial, label text, stmt text);
INSERT INTO failing (label, stmt) VALUES
    ('check: wrong version (4)', $$SELECT * FROM zk_multi(
        zk_op_create('/multi/x', NULL, 'persistent', NULL),
        zk_op_set('/multi/a', 'zzz', -1),
        zk_op_delete('/multi/a/b', -1),
        zk_op_check('/multi/a', 0))$$),
    ('check: no node (2)', $$SELECT * FROM zk_multi(
        zk_op_create('/multi/x', NULL, 'persistent', NULL),
        zk_op_check('/multi/nothing', -1))$$),
    ('create: exists (2)', $$SELECT * FROM zk_multi(
        zk_op_set('/multi/a', 'zzz', -1),
        zk_op_create('/multi/a', NULL, 'persistent', NULL))$$),
    ('create: same path twice (2)', $$SELECT * FROM zk_multi(
        zk_op_create('/multi/x', NULL, 'persistent', NULL),
        zk_op_create('/multi/x', NULL, 'persistent', NULL))$$),
    ('create: no parent (3)', $$SELECT * FROM zk_multi(
        zk_op_create('/multi/x', NULL, 'persistent', NULL),
        zk_op_create('/multi/x/y', NULL, 'persistent', NULL),
        zk_op_create('/multi/nothing/y', NULL, 'persistent', NULL))$$),
    ('create: parent deleted earlier (3)', $$SELECT * FROM zk_multi(
        zk_op_delete('/multi/a/b', -1),
        zk_op_delete('/multi/a', -1),
        zk_op_create('/multi/a/c', NULL, 'persistent', NULL))$$),
    ('create: under an ephemeral made earlier (2)', $$SELECT * FROM zk_multi(
        zk_op_create('/multi/x', NULL, 'ephemeral', NULL),
        zk_op_create('/multi/x/y', NULL, 'persistent', NULL))$$),
    ('create: under an existing ephemeral (1)', $$SELECT * FROM zk_multi(
        zk_op_create('/multi/e/y', NULL, 'persistent', NULL))$$),
    ('set: wrong version (2)', $$SELECT * FROM zk_multi(
        zk_op_create('/multi/x', NULL, 'persistent', NULL),
        zk_op_set('/multi/a', 'zzz', 0))$$),
    ('set: version moved by an earlier set (3)', $$SELECT * FROM zk_multi(
        zk_op_set('/multi/a', 'zzz', 2),
        zk_op_set('/multi/a', 'zzz', 3),
        zk_op_set('/multi/a', 'zzz', 3))$$),
    ('set: no node (2)', $$SELECT * FROM zk_multi(
        zk_op_create('/multi/x', NULL, 'persistent', NULL),
        zk_op_set('/multi/nothing', 'zzz', -1))$$),
    ('delete: not empty (1)', $$SELECT * FROM zk_multi(
        zk_op_delete('/multi/a', -1),
        zk_op_create('/multi/x', NULL, 'persistent', NULL))$$),
    ('delete: wrong version (2)', $$SELECT * FROM zk_multi(
        zk_op_delete('/multi/a/b', -1),
        zk_op_delete('/multi/a', 0))$$),
    ('delete: wrong version before not empty (1)', $$SELECT * FROM zk_multi(
        zk_op_delete('/multi/a', 0))$$),
    ('delete: no node (2)', $$SELECT * FROM zk_multi(
        zk_op_create('/multi/x', NULL, 'persistent', NULL),
        zk_op_delete('/multi/nothing', -1))$$),
    ('delete: twice (3)', $$SELECT * FROM zk_multi(
        zk_op_create('/multi/x', NULL, 'persistent', NULL),
        zk_op_delete('/multi/a/b', -1),
        zk_op_delete('/multi/a/b', -1))$$),
    ('delete: protected /zookeeper (2)', $$SELECT * FROM zk_multi(
        zk_op_create('/multi/x', NULL, 'persistent', NULL),
        zk_op_delete('/zookeeper', -1))$$),
    ('bad path (2)', $$SELECT * FROM zk_multi(
        zk_op_create('/multi/x', NULL, 'persistent', NULL),
        zk_op_create('/multi//y', NULL, 'persistent', NULL))$$),
    ('bad path after a failing op (2)', $$SELECT * FROM zk_multi(
        zk_op_check('/multi/nothing', -1),
        zk_op_set('/multi/a/', 'zzz', -1))$$),
    ('bad mode (2)', $$SELECT * FROM zk_multi(
        zk_op_create('/multi/x', NULL, 'persistent', NULL),
        zk_op_create('/multi/y', NULL, 'bogus', NULL))$$),
    ('TTL mode without a TTL (2)', $$SELECT * FROM zk_multi(
        zk_op_create('/multi/x', NULL, 'persistent', NULL),
        zk_op_create('/multi/y', NULL, 'persistent_ttl', NULL))$$),
    ('version < -1 (2)', $$SELECT * FROM zk_multi(
        zk_op_create('/multi/x', NULL, 'persistent', NULL),
        zk_op_set('/multi/a', 'zzz', -2))$$),
    ('delete version < -1 (2)', $$SELECT * FROM zk_multi(
        zk_op_create('/multi/x', NULL, 'persistent', NULL),
        zk_op_delete('/multi/a/b', -2))$$),
    ('check version < -1 (2)', $$SELECT * FROM zk_multi(
        zk_op_create('/multi/x', NULL, 'persistent', NULL),
        zk_op_check('/multi/a', -5))$$),
    ('data over 1 MiB (2)', $$SELECT * FROM zk_multi(
        zk_op_create('/multi/x', NULL, 'persistent', NULL),
        zk_op_set('/multi/a', convert_to(repeat('x', 1048577), 'UTF8'), -1))$$),
    ('bad ACL (2)', $$SELECT * FROM zk_multi(
        zk_op_create('/multi/x', NULL, 'persistent', NULL),
        zk_op_create('/multi/y', NULL, 'persistent', ARRAY['world:anyone:xyz']))$$),
    ('NULL path (2)', $$SELECT * FROM zk_multi(
        zk_op_create('/multi/x', NULL, 'persistent', NULL),
        zk_op_create(NULL, NULL, 'persistent', NULL))$$),
    ('NULL op (2)', $$SELECT * FROM zk_multi(
        zk_op_create('/multi/x', NULL, 'persistent', NULL),
        NULL::zk_op)$$),
    ('last of 100 fails (100)', $$SELECT * FROM zk_multi(VARIADIC
        array(SELECT zk_op_create('/multi/x' || i, NULL, 'persistent', NULL)
                FROM generate_series(1, 99) i)
        || zk_op_check('/multi/nothing', -1))$$);
SELECT ord, label, zk_test_sqlstate(stmt) AS result, multi_unchanged() AS unchanged
  FROM failing ORDER BY ord;
SELECT count(*) FROM zk_get_children('/multi');
SELECT zk_count_children('/multi');

--
-- Later ops see earlier ones: delete a child then its parent, create and
-- delete the same node, re-create what was deleted.
--
SELECT op_index, op, path FROM zk_multi(
    zk_op_delete('/multi/a/b', 0),
    zk_op_delete('/multi/a', 2),
    zk_op_create('/multi/a', 'new', 'persistent', NULL),
    zk_op_create('/multi/a/b', NULL, 'persistent', NULL),
    zk_op_delete('/multi/a/b', -1),
    zk_op_create('/multi/s-', NULL, 'persistent_sequential', NULL));
SELECT version, cversion, num_children, convert_from(data, 'UTF8') AS data
  FROM zk_get('/multi/a');
-- /multi: cversion 6 + 1 delete + 2 creates = 9; 6 creates came before the
-- new sequential child, so it is ...0000000006
SELECT cversion, num_children FROM zk_exists('/multi');
SELECT * FROM zk_get_children('/multi');

-- a multi of checks only succeeds and changes nothing
SELECT op_index, op, path, stat IS NULL AS no_stat FROM zk_multi(
    zk_op_check('/multi/a', 0), zk_op_check('/multi', -1));
SELECT version FROM zk_exists('/multi/a');

-- ACL and data in zk_op_create
SELECT op_index, path FROM zk_multi(
    zk_op_create('/multi/acl', '\x0001'::bytea, 'persistent', ARRAY['world:anyone:cdr']));
SELECT zk_get_acl('/multi/acl'), (SELECT data FROM zk_get('/multi/acl'));

-- a large multi: 100 creates with one zxid
SELECT zk_create('/multi/many');
SELECT count(*) FROM zk_multi(VARIADIC
    array(SELECT zk_op_create('/multi/many/n' || i, NULL, 'persistent', NULL)
            FROM generate_series(1, 100) i));
SELECT count(*) AS children, count(DISTINCT s.czxid) AS zxids
  FROM zk_get_children('/multi/many') c, LATERAL zk_exists('/multi/many/' || c) s;
SELECT cversion, num_children, pzxid = (zk_exists('/multi/many/n1')).czxid AS pzxid
  FROM zk_exists('/multi/many');
-- and 100 deletes
SELECT count(*) FROM zk_multi(VARIADIC
    array(SELECT zk_op_delete('/multi/many/n' || i, 0) FROM generate_series(1, 100) i));
SELECT cversion, num_children FROM zk_exists('/multi/many');
