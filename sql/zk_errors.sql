--
-- zk_errors: every error of the foundation, with its SQLSTATE:
--   ZK008 BADARGUMENTS  bad mode, TTL, version, NULL argument, data size,
--                       protected paths
--   ZK101 NONODE, ZK103 BADVERSION, ZK108 NOCHILDRENFOREPHEMERALS,
--   ZK110 NODEEXISTS, ZK111 NOTEMPTY, ZK114 INVALIDACL
-- and that a failed call leaves the tree as it was.  Last, zk_* calls outside
-- zkpg.database.
--
\set SHOW_CONTEXT never
\set VERBOSITY default

SELECT zk_create('/errors');
SELECT zk_create('/errors/node', 'data');
SELECT zk_create('/errors/node/child');

--
-- ZK101 NONODE
--
SELECT zk_test_sqlstate($$SELECT * FROM zk_get('/errors/none')$$);
SELECT zk_exists('/errors/none') IS NULL AS exists_is_null;
SELECT zk_test_sqlstate($$SELECT zk_set('/errors/none', 'x')$$);
SELECT zk_test_sqlstate($$SELECT zk_set('/errors/none', 'x', 0)$$);
SELECT zk_test_sqlstate($$SELECT zk_delete('/errors/none')$$);
SELECT zk_test_sqlstate($$SELECT zk_delete('/errors/none', 3)$$);
SELECT zk_test_sqlstate($$SELECT zk_get_children('/errors/none')$$);
SELECT zk_test_sqlstate($$SELECT zk_get_acl('/errors/none')$$);
SELECT zk_test_sqlstate($$SELECT zk_set_acl('/errors/none', '{world:anyone:r}')$$);
SELECT zk_test_sqlstate($$SELECT zk_count_children('/errors/none')$$);
SELECT zk_test_sqlstate($$SELECT zk_create('/errors/none/child')$$);
SELECT zk_test_sqlstate($$SELECT zk_create('/errors/none/child/grandchild')$$);
SELECT zk_test_sqlstate($$SELECT zk_create('/errors/none/s-', NULL, 'persistent_sequential')$$);
SELECT zk_test_sqlstate($$SELECT zk_create('/errors/none/e', NULL, 'ephemeral')$$);
SELECT zk_exists('/errors/none') IS NULL AS still_absent;

--
-- ZK110 NODEEXISTS, in every mode; / and /zookeeper exist too
--
SELECT mode, zk_test_code(format('SELECT zk_create(%L, NULL, %L, NULL, %s)', '/errors/node', mode,
                                 CASE WHEN mode LIKE '%ttl' THEN '1000' ELSE 'NULL' END)) AS result
  FROM unnest(ARRAY['persistent', 'ephemeral', 'container', 'persistent_ttl']) AS mode;
SELECT zk_test_sqlstate($$SELECT zk_create('/errors/node')$$);
SELECT zk_test_sqlstate($$SELECT zk_create('/')$$);
SELECT zk_test_sqlstate($$SELECT zk_create('/zookeeper')$$);
SELECT zk_test_sqlstate($$SELECT zk_create('/zookeeper/quota')$$);
SELECT convert_from(data, 'UTF8') AS data, version, num_children FROM zk_get('/errors/node');

--
-- ZK111 NOTEMPTY; a version check comes first (ZK103), as in ZooKeeper
--
SELECT zk_test_sqlstate($$SELECT zk_delete('/errors/node')$$);
SELECT zk_test_sqlstate($$SELECT zk_delete('/errors/node', 0)$$);
SELECT zk_test_sqlstate($$SELECT zk_delete('/errors/node', 7)$$);
SELECT zk_create('/errors/withephem');
SELECT zk_create('/errors/withephem/e', NULL, 'ephemeral');
SELECT zk_test_sqlstate($$SELECT zk_delete('/errors/withephem')$$);

--
-- ZK103 BADVERSION
--
SELECT zk_test_sqlstate($$SELECT zk_set('/errors/node', 'x', 1)$$);
SELECT zk_test_sqlstate($$SELECT zk_set('/errors/node', 'x', 2147483647)$$);
SELECT zk_test_sqlstate($$SELECT zk_delete('/errors/node/child', 1)$$);
SELECT zk_test_sqlstate($$SELECT zk_set_acl('/errors/node', '{world:anyone:cdrwa}', 1)$$);
SELECT convert_from(data, 'UTF8') AS data, version, aversion FROM zk_get('/errors/node');
SELECT zk_exists('/errors/node/child') IS NOT NULL AS child_stays;
-- the right versions work
SELECT s.version FROM zk_set('/errors/node', 'x', 0) s;
SELECT s.aversion FROM zk_set_acl('/errors/node', '{world:anyone:cdrwa}', 0) s;
SELECT zk_delete('/errors/node/child', 0);

--
-- ZK108 NOCHILDRENFOREPHEMERALS, whatever the child's mode
--
SELECT zk_create('/errors/eph', NULL, 'ephemeral');
SELECT zk_create('/errors/eseq-', NULL, 'ephemeral_sequential');
SELECT mode, zk_test_code(format('SELECT zk_create(%L, NULL, %L, NULL, %s)', '/errors/eph/c', mode,
                                 CASE WHEN mode LIKE '%ttl' THEN '1000' ELSE 'NULL' END)) AS under_ephemeral,
       zk_test_code(format('SELECT zk_create(%L, NULL, %L, NULL, %s)', '/errors/eseq-0000000003/c', mode,
                           CASE WHEN mode LIKE '%ttl' THEN '1000' ELSE 'NULL' END)) AS under_ephemeral_seq
  FROM unnest(ARRAY['persistent', 'ephemeral', 'persistent_sequential', 'ephemeral_sequential',
                    'container', 'persistent_ttl', 'persistent_sequential_ttl']) WITH ORDINALITY AS t(mode, o)
 ORDER BY o;
SELECT zk_test_sqlstate($$SELECT zk_create('/errors/eph/c')$$);
SELECT num_children, cversion FROM zk_exists('/errors/eph');
SELECT * FROM zk_get_children('/errors/eph');

--
-- ZK008: deleting the protected nodes
--
SELECT p, zk_test_sqlstate(format('SELECT zk_delete(%L)', p)) AS any_version,
       zk_test_code(format('SELECT zk_delete(%L, 0)', p)) AS version_0
  FROM unnest(ARRAY['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config']) AS p;
SELECT zk_exists('/') IS NOT NULL AS root, zk_exists('/zookeeper') IS NOT NULL AS zookeeper,
       zk_exists('/zookeeper/quota') IS NOT NULL AS quota,
       zk_exists('/zookeeper/config') IS NOT NULL AS config;

--
-- ZK008: modes
--
SELECT zk_test_sqlstate($$SELECT zk_create('/errors/m', NULL, 'bogus')$$);
SELECT m, zk_test_code(format('SELECT zk_create(%L, NULL, %L)', '/errors/m', m)) AS result
  FROM unnest(ARRAY['', 'persistent ', 'ephemeral_ttl', 'container_sequential', 'sequential', 'ttl']) AS m;
SELECT zk_test_code($$SELECT zk_create('/errors/m', NULL, NULL)$$) AS null_mode;
SELECT zk_exists('/errors/m') IS NULL AS absent;

--
-- ZK008: TTLs.  A TTL mode needs 0 < ttl_ms <= 2^40 - 1; other modes take none.
--
SELECT zk_create('/errors/ttl');
SELECT mode, ttl,
       zk_test_code(format('SELECT zk_create(%L, NULL, %L, NULL, %s)',
                           '/errors/ttl/' || replace(mode, '_', '-') || '-' || coalesce(ttl::text, 'null'),
                           mode, coalesce(ttl::text, 'NULL'))) AS result
  FROM (VALUES ('persistent_ttl', NULL::bigint), ('persistent_ttl', 0), ('persistent_ttl', -1),
               ('persistent_ttl', -1000), ('persistent_ttl', 1099511627776),
               ('persistent_ttl', 9223372036854775807), ('persistent_ttl', 1099511627775),
               ('persistent_sequential_ttl', NULL), ('persistent_sequential_ttl', 0),
               ('persistent_sequential_ttl', 1099511627776), ('persistent_sequential_ttl', 1099511627775),
               ('persistent', 1000), ('persistent', 0), ('persistent_sequential', 1000),
               ('ephemeral', 1000), ('ephemeral_sequential', 1000), ('container', 1000),
               ('container', 0)) AS t(mode, ttl);
SELECT * FROM zk_get_children('/errors/ttl');
-- the smallest TTL is accepted (the node may expire at once, so only the call is checked)
SELECT zk_create('/errors/ttl1', NULL, 'persistent_ttl', NULL, 1);

--
-- ZK008: versions below -1
--
SELECT zk_test_sqlstate($$SELECT zk_set('/errors/node', 'y', -2)$$);
SELECT f, v, zk_test_code(format(f, v)) AS result
  FROM unnest(ARRAY['SELECT zk_set(''/errors/node'', ''y'', %s)',
                    'SELECT zk_delete(''/errors/node'', %s)',
                    'SELECT zk_set_acl(''/errors/node'', ''{world:anyone:r}'', %s)',
                    'SELECT zk_set(''/errors/none'', ''y'', %s)',
                    'SELECT zk_delete(''/errors/none'', %s)']) AS f,
       unnest(ARRAY['-2', '-2147483648']) AS v
 ORDER BY f COLLATE "C", v COLLATE "C";
SELECT convert_from(data, 'UTF8') AS data, version, aversion FROM zk_get('/errors/node');
SELECT zk_get_acl('/errors/node');

--
-- NULL arguments: a NULL path (or mode, version, ACL to set) is refused;
-- NULL data is stored as empty, a NULL ACL on create means world:anyone:cdrwa.
--
SELECT stmt, zk_test_code(stmt) AS result
  FROM unnest(ARRAY[
    'SELECT zk_create(NULL)',
    'SELECT zk_create(NULL, ''x'', ''persistent'')',
    'SELECT * FROM zk_get(NULL)',
    'SELECT zk_exists(NULL)',
    'SELECT zk_set(NULL, ''x'')',
    'SELECT zk_set(''/errors/node'', ''x'', NULL)',
    'SELECT zk_delete(NULL)',
    'SELECT zk_delete(''/errors/node'', NULL)',
    'SELECT zk_get_children(NULL)',
    'SELECT zk_get_acl(NULL)',
    'SELECT zk_set_acl(NULL, ''{world:anyone:cdrwa}'')',
    'SELECT zk_set_acl(''/errors/node'', NULL)',
    'SELECT zk_set_acl(''/errors/node'', ''{world:anyone:cdrwa}'', NULL)',
    'SELECT zk_count_children(NULL)',
    'SELECT zk_sync(NULL)']) WITH ORDINALITY AS t(stmt, o)
 ORDER BY o;
SELECT convert_from(data, 'UTF8') AS data, version, aversion FROM zk_get('/errors/node');
SELECT zk_create('/errors/nulls', NULL, 'persistent', NULL, NULL);
SELECT data, data_length, zk_get_acl('/errors/nulls') FROM zk_get('/errors/nulls');
SELECT s.data_length, s.version FROM zk_set('/errors/nulls', NULL, 0) s;

--
-- ZK008: data over zkpg.max_data_bytes (1 MiB); exactly 1 MiB is fine
--
SELECT zk_create('/errors/big', convert_to(repeat('x', 1048576), 'UTF8'));
SELECT data_length, md5(data) = md5(repeat('x', 1048576)) AS same FROM zk_get('/errors/big');
SELECT zk_test_sqlstate($$SELECT zk_set('/errors/big', convert_to(repeat('y', 1048577), 'UTF8'))$$);
SELECT zk_test_sqlstate($$SELECT zk_create('/errors/big2', convert_to(repeat('y', 1048577), 'UTF8'))$$);
SELECT zk_test_code($$SELECT zk_create('/errors/big3', convert_to(repeat('y', 4194304), 'UTF8'))$$) AS four_mib;
SELECT version, data_length FROM zk_exists('/errors/big');
SELECT zk_exists('/errors/big2') IS NULL AS big2_absent;
SELECT s.version, s.data_length FROM zk_set('/errors/big', convert_to(repeat('z', 1048576), 'UTF8'), 0) s;
SELECT zk_delete('/errors/big');

--
-- ZK114 INVALIDACL: malformed entries, schemes, ids and perms, an empty
-- list; on create and on set_acl alike, and nothing changes.
--
SELECT zk_create('/errors/acl');
CREATE TEMP TABLE bad_acl (ord serial, label text, acl text[]);
INSERT INTO bad_acl (label, acl) VALUES
    ('empty list', '{}'),
    ('NULL entry', ARRAY[NULL]::text[]),
    ('NULL among good ones', ARRAY['world:anyone:r', NULL]),
    ('empty entry', ARRAY['']),
    ('no perms', ARRAY['world:anyone']),
    ('only a scheme', ARRAY['world']),
    ('empty scheme', ARRAY[':anyone:r']),
    ('unknown perm', ARRAY['world:anyone:rx']),
    ('upper-case perm', ARRAY['world:anyone:R']),
    ('unknown scheme', ARRAY['foo:bar:r']),
    ('world but not anyone', ARRAY['world:nobody:r']),
    ('world, empty id', ARRAY['world::r']),
    ('ip: mask too long', ARRAY['ip:10.0.0.0/33:r']),
    ('ip: bad address', ARRAY['ip:300.1.1.1:r']),
    ('ip: not an address', ARRAY['ip:localhost:r']),
    ('ip: empty', ARRAY['ip::r']),
    ('digest: no hash', ARRAY['digest:bob:r']),
    ('pg: empty role', ARRAY['pg::r']),
    ('auth: no identity added', ARRAY['auth::cdrwa']),
    ('a good entry and a bad one', ARRAY['world:anyone:cdrwa', 'foo:bar:r']);
SELECT ord, label,
       zk_test_code(format('SELECT zk_create(%L, NULL, %L, %L)', '/errors/acl/c' || ord, 'persistent', acl)) AS "create",
       zk_test_code(format('SELECT zk_set_acl(%L, %L)', '/errors/acl', acl)) AS set_acl,
       zk_test_code(format('SELECT zk_set_acl(%L, %L)', '/errors/none', acl)) AS set_acl_no_node,
       zk_test_code(format('SELECT zk_create(%L, NULL, %L, %L)', '/errors/none/c', 'persistent', acl)) AS create_no_parent
  FROM bad_acl ORDER BY ord;
SELECT zk_test_sqlstate($$SELECT zk_create('/errors/acl/x', NULL, 'persistent', '{foo:bar:r}')$$);
SELECT * FROM zk_get_children('/errors/acl');
SELECT aversion, zk_get_acl('/errors/acl') FROM zk_exists('/errors/acl');
-- well-formed entries of every scheme are accepted and stored
SELECT zk_create('/errors/acl/good', NULL, 'persistent',
                 ARRAY['world:anyone:cdrwa', 'ip:192.168.0.0/16:r', 'ip:127.0.0.1/32:rw',
                       'digest:alice:8y0lhh/7xkdEiwhX7vo9i+/Nmzc=:cdrwa', 'pg:pg_monitor:r']);
SELECT zk_get_acl('/errors/acl/good');

--
-- zk_* calls work only in zkpg.database: elsewhere a clear error.
--
SELECT current_database() AS regress_db \gset
CREATE DATABASE regress_zkpg_other;
\c regress_zkpg_other
\set SHOW_CONTEXT never
DO $$
BEGIN
    BEGIN
        CREATE EXTENSION zkpg;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'CREATE EXTENSION refused: %', SQLERRM;
        RETURN;
    END;
    BEGIN
        PERFORM zk_exists('/');
        RAISE NOTICE 'zk_exists worked outside zkpg.database';
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'zk_exists refused: % %', SQLSTATE, SQLERRM;
    END;
    BEGIN
        PERFORM zk_create('/errors/elsewhere');
        RAISE NOTICE 'zk_create worked outside zkpg.database';
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'zk_create refused: % %', SQLSTATE, SQLERRM;
    END;
END
$$;
\c :regress_db
DROP DATABASE regress_zkpg_other;
SELECT zk_exists('/errors/elsewhere') IS NULL AS not_created;
