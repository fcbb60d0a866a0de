--
-- zk_security: an unprivileged role uses the zk_* API, but cannot read or
-- write the tables of schema zkpg, nor call its internal functions; the
-- world:anyone ACLs bind it (ZK102 NOAUTH) while a superuser bypasses them.
--
\set SHOW_CONTEXT never
\set VERBOSITY default

SELECT zk_create('/security');
SELECT zk_create('/security/ro', 'r', 'persistent', ARRAY['world:anyone:r']);
SELECT zk_create('/security/ro2', 'r', 'persistent', ARRAY['world:anyone:r']);
SELECT zk_create('/security/noread', 'w', 'persistent', ARRAY['world:anyone:cdwa']);
SELECT zk_create('/security/noread/child');
SELECT zk_create('/security/nodelete', NULL, 'persistent', ARRAY['world:anyone:crwa']);
SELECT zk_create('/security/nodelete/child');
SELECT zk_create('/security/nocreate', NULL, 'persistent', ARRAY['world:anyone:drwa']);
SELECT zk_create('/security/noadmin', NULL, 'persistent', ARRAY['world:anyone:cdrw']);
SELECT zk_create('/security/digest', 'secret', 'persistent',
                 ARRAY['world:anyone:r', 'digest:bob:fyVmFCwVbTJYrznoSu1koqYEYF0=:cdrwa']);
SELECT zk_create('/security/digestonly', 'secret', 'persistent',
                 ARRAY['digest:bob:fyVmFCwVbTJYrznoSu1koqYEYF0=:cdrwa']);

CREATE ROLE regress_zkpg_user;
SET ROLE regress_zkpg_user;
SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user;

--
-- The API works for an ordinary role.
--
SELECT zk_session_id() <> 0 AS has_session;
SELECT zk_create('/security/user', 'u');
SELECT convert_from(data, 'UTF8') AS data, version FROM zk_get('/security/user');
SELECT s.version FROM zk_set('/security/user', 'v') s;
SELECT zk_exists('/security/user') IS NOT NULL AS exists;
SELECT * FROM zk_get_children('/security');
SELECT zk_count_children('/security');
SELECT zk_get_acl('/security/user');
SELECT s.aversion FROM zk_set_acl('/security/user', '{world:anyone:cdrwa}') s;
SELECT zk_create('/security/user/e', NULL, 'ephemeral');
SELECT ephemeral_owner = zk_session_id() AS mine FROM zk_exists('/security/user/e');
SELECT * FROM zk_get_ephemerals('/security');
SELECT op_index, path FROM zk_multi(zk_op_create('/security/user/m', NULL, 'persistent', NULL),
                                    zk_op_check('/security/user', 1));
SELECT zk_sync('/security');
SELECT zk_delete('/security/user/m');
SELECT zk_delete('/security/user/e');

--
-- world:anyone ACLs bind it: CREATE/DELETE on the parent, READ for
-- get/exists/get_children/count, WRITE for set, ADMIN for set_acl, READ or
-- ADMIN for get_acl.
--
SELECT ord, stmt, zk_test_code(stmt) AS result
  FROM unnest(ARRAY[
    'SELECT * FROM zk_get(''/security/ro'')',
    'SELECT zk_set(''/security/ro'', ''x'')',
    'SELECT zk_create(''/security/ro/c'')',
    'SELECT zk_set_acl(''/security/ro'', ''{world:anyone:cdrwa}'')',
    'SELECT zk_get_acl(''/security/ro'')',
    'SELECT * FROM zk_get(''/security/noread'')',
    'SELECT zk_exists(''/security/noread'')',
    'SELECT zk_get_children(''/security/noread'')',
    'SELECT zk_count_children(''/security/noread'')',
    'SELECT zk_get_acl(''/security/noread'')',
    'SELECT zk_set(''/security/noread'', ''w2'')',
    'SELECT zk_delete(''/security/nodelete/child'')',
    'SELECT zk_create(''/security/nocreate/c'')',
    'SELECT zk_create(''/security/nocreate/s-'', NULL, ''persistent_sequential'')',
    'SELECT zk_set_acl(''/security/noadmin'', ''{world:anyone:cdrwa}'')',
    'SELECT * FROM zk_get(''/security/digestonly'')',
    'SELECT zk_exists(''/security/digestonly'')',
    'SELECT zk_get_acl(''/security/digestonly'')',
    'SELECT zk_set(''/security/digestonly'', ''x'')',
    'SELECT * FROM zk_multi(zk_op_create(''/security/x'', NULL, ''persistent'', NULL),
                            zk_op_set(''/security/ro'', ''x'', -1))'
    ]) WITH ORDINALITY AS t(stmt, ord)
 ORDER BY ord;
SELECT zk_test_sqlstate($$SELECT zk_set('/security/ro', 'x')$$);
SELECT zk_test_sqlstate($$SELECT * FROM zk_multi(zk_op_create('/security/x', NULL, 'persistent', NULL),
                                                 zk_op_set('/security/ro', 'x', -1))$$);
SELECT zk_exists('/security/x') IS NULL AS multi_applied_nothing;
-- an absent node needs no permission
SELECT zk_exists('/security/noread/none') IS NULL AS absent;
-- without ADMIN, get_acl hides digest hashes (ZooKeeper 3.8 FinalRequestProcessor)
SELECT zk_get_acl('/security/digest');
-- deleting needs DELETE on the parent only, not any permission on the node
SELECT zk_delete('/security/ro2');
SELECT zk_exists('/security/ro2') IS NULL AS ro2_gone;

--
-- The tables of schema zkpg: no read, no write.  Each attempt runs in a
-- subtransaction that is rolled back even if it succeeds.
--
SELECT count(*) > 0 AS has_tables FROM pg_tables WHERE schemaname = 'zkpg';
DO $$
DECLARE
    t record;
    op text;
    col text;
    stmt text;
    bad text[] := '{}';
    n integer := 0;
BEGIN
    FOR t IN SELECT c.relname, c.relkind
               FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
              WHERE s.nspname = 'zkpg' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
              ORDER BY c.relname
    LOOP
        SELECT quote_ident(a.attname) INTO col
          FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
               JOIN pg_namespace s ON s.oid = c.relnamespace
         WHERE s.nspname = 'zkpg' AND c.relname = t.relname AND a.attnum > 0
           AND NOT a.attisdropped
         ORDER BY a.attnum LIMIT 1;
        FOREACH op IN ARRAY ARRAY['select', 'insert', 'update', 'delete', 'truncate'] LOOP
            -- the views are for everybody to read; writing them fails one way
            -- or another (not auto-updatable, or no privilege)
            CONTINUE WHEN t.relkind = 'v' AND op IN ('select', 'truncate');
            stmt := CASE op
                WHEN 'select' THEN format('SELECT * FROM zkpg.%I LIMIT 1', t.relname)
                WHEN 'insert' THEN format('INSERT INTO zkpg.%I DEFAULT VALUES', t.relname)
                WHEN 'update' THEN format('UPDATE zkpg.%I SET %s = %s', t.relname, col, col)
                WHEN 'delete' THEN format('DELETE FROM zkpg.%I', t.relname)
                WHEN 'truncate' THEN format('TRUNCATE zkpg.%I', t.relname)
            END;
            n := n + 1;
            BEGIN
                EXECUTE stmt;
                RAISE EXCEPTION USING ERRCODE = 'ZZ999', MESSAGE = 'allowed';
            EXCEPTION
                WHEN insufficient_privilege THEN
                    NULL;
                WHEN OTHERS THEN
                    IF t.relkind <> 'v' OR SQLSTATE = 'ZZ999' THEN
                        bad := bad || format('%s %s (%s %s)', op, t.relname, SQLSTATE, SQLERRM);
                    END IF;
            END;
        END LOOP;
    END LOOP;
    IF n = 0 THEN
        RAISE NOTICE 'no tables found in schema zkpg';
    ELSIF cardinality(bad) = 0 THEN
        RAISE NOTICE 'every read and write of the tables in schema zkpg was denied';
    ELSE
        RAISE NOTICE 'not denied: %', array_to_string(bad, '; ');
    END IF;
END
$$;
-- the status view is for everybody
SELECT replication = current_setting('zkpg.replication') AS shows_replication,
       (myid = 0 AND state = 'standalone') OR
       (myid > 0 AND state IN ('leading', 'following', 'coordinating', 'participating'))
       AS serving_state
  FROM zkpg.status;
-- the tree is intact
SELECT zk_count_children('/security');
SELECT convert_from(data, 'UTF8') AS data FROM zk_get('/security/user');
RESET ROLE;
-- what the role did and did not change
SELECT convert_from(data, 'UTF8') AS data, version FROM zk_get('/security/ro');
SELECT convert_from(data, 'UTF8') AS data, version FROM zk_get('/security/noread');
SELECT zk_exists('/security/nodelete/child') IS NOT NULL AS child_stays;
SELECT * FROM zk_get_children('/security/nocreate');

--
-- Functions of schema zkpg: the role may execute none of them, except those
-- that the views meant for everybody call.  No SECURITY DEFINER function of
-- the extension runs with the caller's search_path.  The sequences of zkpg
-- are out of its reach too.
--
SELECT p.oid::regprocedure AS executable
  FROM pg_proc p
 WHERE p.pronamespace = 'zkpg'::regnamespace
   AND has_function_privilege('regress_zkpg_user', p.oid, 'EXECUTE')
   AND NOT EXISTS (SELECT FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
                    WHERE d.classid = 'pg_rewrite'::regclass
                      AND d.refclassid = 'pg_proc'::regclass AND d.refobjid = p.oid)
 ORDER BY 1;
SELECT p.oid::regprocedure AS definer_without_search_path
  FROM pg_proc p
       JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
       JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'zkpg'
 WHERE p.prosecdef
   AND NOT EXISTS (SELECT FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')
 ORDER BY 1;
SELECT c.relname AS usable_sequence
  FROM pg_class c
 WHERE c.relnamespace = 'zkpg'::regnamespace AND c.relkind = 'S'
   AND CASE WHEN c.relkind = 'S'
            THEN has_sequence_privilege('regress_zkpg_user', c.oid, 'USAGE,UPDATE,SELECT') END
 ORDER BY 1;

--
-- A superuser bypasses ACLs, as ZooKeeper's super user does.
--
SELECT s.version FROM zk_set('/security/ro', 'x') s;
SELECT convert_from(data, 'UTF8') AS data FROM zk_get('/security/digestonly');
SELECT zk_get_acl('/security/digest');
SELECT zk_get_acl('/security/digestonly');
SELECT zk_delete('/security/nodelete/child');
SELECT zk_create('/security/nocreate/c');
SELECT * FROM zk_get_children('/security');

DROP ROLE regress_zkpg_user;
