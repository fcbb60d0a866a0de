--
-- zk_reads: reads see this server's latest applied state whatever the
-- caller's transaction and isolation level; writes are not part of the
-- caller's transaction (a ROLLBACK does not undo them); the session is the
-- connection, so its ephemerals go when the connection ends.
--
\set SHOW_CONTEXT never
\set VERBOSITY default

SELECT zk_create('/reads');
SELECT zk_create('/reads/a', 'one');

--
-- REPEATABLE READ: the snapshot is taken by the first read, but later
-- reads still see the caller's own later writes.
--
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT convert_from(data, 'UTF8') AS data, version FROM zk_get('/reads/a');
SELECT * FROM zk_get_children('/reads');
SELECT zk_create('/reads/b', 'two');
SELECT convert_from(data, 'UTF8') AS data, version FROM zk_get('/reads/b');
SELECT zk_exists('/reads/b') IS NOT NULL AS b_exists;
SELECT * FROM zk_get_children('/reads');
SELECT zk_count_children('/reads');
SELECT cversion, num_children FROM zk_exists('/reads');
SELECT s.version FROM zk_set('/reads/a', 'uno') s;
SELECT convert_from(data, 'UTF8') AS data, version FROM zk_get('/reads/a');
SELECT (zk_exists('/reads/a')).version;
SELECT zk_set_acl('/reads/b', '{world:anyone:cdr}') IS NOT NULL AS acl_set;
SELECT zk_get_acl('/reads/b');
SELECT zk_create('/reads/c', NULL, 'ephemeral');
SELECT * FROM zk_get_ephemerals('/reads');
SELECT zk_delete('/reads/c');
SELECT zk_exists('/reads/c') IS NULL AS c_gone;
SELECT * FROM zk_get_ephemerals('/reads');
SELECT * FROM zk_get_children('/reads');
ROLLBACK;
-- nothing was undone
SELECT * FROM zk_get_children('/reads');
SELECT convert_from(data, 'UTF8') AS data, version FROM zk_get('/reads/a');
SELECT zk_get_acl('/reads/b');

-- SERIALIZABLE, and a transaction that fails after the write
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT count(*) FROM zk_get_children('/reads');
SELECT zk_create('/reads/d', 'three');
SELECT convert_from(data, 'UTF8') AS data FROM zk_get('/reads/d');
SELECT 1 / 0;
ROLLBACK;
SELECT convert_from(data, 'UTF8') AS data FROM zk_get('/reads/d');

-- a rolled-back savepoint does not undo the write either
BEGIN;
SAVEPOINT s1;
SELECT zk_create('/reads/e');
ROLLBACK TO SAVEPOINT s1;
SELECT zk_exists('/reads/e') IS NOT NULL AS e_exists;
COMMIT;
SELECT zk_exists('/reads/e') IS NOT NULL AS e_exists;

-- a delete in a REPEATABLE READ transaction is seen at once
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT zk_exists('/reads/e') IS NOT NULL AS e_exists;
SELECT zk_delete('/reads/e');
SELECT zk_exists('/reads/e') IS NULL AS e_gone;
SELECT zk_test_sqlstate($$SELECT * FROM zk_get('/reads/e')$$);
COMMIT;

-- a multi inside REPEATABLE READ
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM zk_get_children('/reads');
SELECT count(*) FROM zk_multi(zk_op_create('/reads/m', NULL, 'persistent', NULL),
                              zk_op_set('/reads/a', 'multi', -1));
SELECT convert_from(data, 'UTF8') AS data, version FROM zk_get('/reads/a');
SELECT zk_exists('/reads/m') IS NOT NULL AS m_exists;
ROLLBACK;
SELECT zk_exists('/reads/m') IS NOT NULL AS m_exists;

-- within one plpgsql block, every statement sees the previous write
DO $$
DECLARE
    v integer;
BEGIN
    PERFORM zk_create('/reads/f', 'x');
    IF zk_exists('/reads/f') IS NULL THEN
        RAISE EXCEPTION 'own create not visible';
    END IF;
    FOR i IN 1..5 LOOP
        PERFORM zk_set('/reads/f', convert_to(i::text, 'UTF8'));
        SELECT version INTO v FROM zk_get('/reads/f');
        IF v <> i THEN
            RAISE EXCEPTION 'read version % after set number %', v, i;
        END IF;
    END LOOP;
    PERFORM zk_delete('/reads/f');
    IF zk_exists('/reads/f') IS NOT NULL THEN
        RAISE EXCEPTION 'own delete not visible';
    END IF;
    RAISE NOTICE 'all visible';
END
$$;

--
-- zk_get_ephemerals: this session's ephemerals whose path starts with the
-- prefix as a plain string (not a LIKE pattern, not a path boundary).
--
SELECT zk_create('/reads/ep');
SELECT zk_create('/reads/ep/a', NULL, 'ephemeral');
SELECT zk_create('/reads/epx');
SELECT zk_create('/reads/epx/b', NULL, 'ephemeral');
SELECT zk_create('/reads/e_p', NULL, 'ephemeral');
SELECT zk_create('/reads/ep/persistent');
SELECT zk_create('/reads/ep/container', NULL, 'container');
SELECT zk_create('/reads/ep/ttl', NULL, 'persistent_ttl', NULL, 3600000);
SELECT prefix, array(SELECT e FROM zk_get_ephemerals(prefix) e ORDER BY e COLLATE "C") AS ephemerals
  FROM unnest(ARRAY['/reads/ep', '/reads/e_', '/reads/e%', '/reads/e', '/reads',
                    '/reads/ep/a', '/reads/ep/ab', '/nothing', '/']) WITH ORDINALITY AS t(prefix, o)
 ORDER BY o;
-- the prefix is still a path: ZooKeeper's client validates it (ZK008)
SELECT prefix, zk_test_code(format('SELECT zk_get_ephemerals(%L)', prefix)) AS result
  FROM unnest(ARRAY['/reads/ep/', 'reads', '/reads//ep']) AS prefix;
SELECT array(SELECT e FROM zk_get_ephemerals() e ORDER BY e COLLATE "C") AS default_prefix;

--
-- The session is the connection: a reconnect is a new session, and the old
-- session's ephemerals are deleted when its backend exits.
--
SELECT zk_session_id() AS old_session \gset
SELECT zk_create('/reads/eph', NULL, 'ephemeral');
SELECT zk_create('/reads/eseq-', NULL, 'ephemeral_sequential');
SELECT count(*) FROM zk_get_ephemerals('/reads');
SELECT current_database() AS regress_db \gset
\c :regress_db
\set SHOW_CONTEXT never
SELECT zk_session_id() <> :old_session AS new_session;
SELECT count(*) FROM zk_get_ephemerals('/');
-- wait (up to 60 s) for the old session's close to be applied
DO $$
BEGIN
    FOR i IN 1..600 LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM zk_get_children('/reads') c
                              WHERE c IN ('eph', 'e_p') OR c LIKE 'eseq-%');
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
SELECT zk_exists('/reads/eph') IS NULL AS eph_gone;
SELECT * FROM zk_get_children('/reads');
