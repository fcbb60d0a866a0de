--
-- zk_basic: the extension, the test helpers, and the basic calls of the
-- standalone server (create in every mode, get, set, delete, ACL round trip,
-- children, ephemerals, sync, sessions).
--
-- Files run in order in one database; each file uses its own root path
-- (this one /basic) and prints relations between zxids and times, never
-- their raw values.
--
CREATE EXTENSION zkpg;
\set SHOW_CONTEXT never
\set VERBOSITY default

-- Test helpers, used by every later file: run one statement, report 'ok' or
-- the error (zk_test_sqlstate: SQLSTATE and message; zk_test_code: SQLSTATE
-- only, for tables whose messages would echo unprintable input).
CREATE FUNCTION zk_test_sqlstate(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
CREATE FUNCTION zk_test_code(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;
-- For the files whose tests need other sessions (dblink connections; each
-- of them creates the dblink extension):
-- zk_test_remote: run a one-column query on a dblink connection and return
-- its first value as text, or 'error SQLSTATE' (the remote messages name
-- session ids).
CREATE FUNCTION zk_test_remote(conn text, stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    r text;
BEGIN
    SELECT t.v INTO r FROM dblink(conn, stmt) AS t(v text);
    RETURN r;
EXCEPTION WHEN OTHERS THEN
    RETURN 'error ' || SQLSTATE;
END
$$;
-- zk_test_wait: poll a boolean query until it is true (true) or the time is
-- up (false).  For what happens asynchronously, e.g. the closeSession that a
-- backend's exit queues.
CREATE FUNCTION zk_test_wait(cond text, timeout interval DEFAULT '60 s')
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    ok boolean;
    deadline timestamptz := clock_timestamp() + timeout;
BEGIN
    LOOP
        EXECUTE cond INTO ok;
        IF ok THEN
            RETURN true;
        END IF;
        IF clock_timestamp() > deadline THEN
            RETURN false;
        END IF;
        PERFORM pg_sleep(0.01);
    END LOOP;
END
$$;

-- The events a dblink connection received before the sentinel's.
CREATE FUNCTION zk_test_events(conn text)
RETURNS TABLE(ord integer, channel text, type text, path text, zxid bigint, payload text)
LANGUAGE plpgsql AS $$
DECLARE
    n record;
    i integer := 0;
    deadline timestamptz := clock_timestamp() + interval '60 s';
BEGIN
    PERFORM zk_set('/watch/sentinel_' || conn, NULL);
    LOOP
        FOR n IN SELECT * FROM dblink_get_notify(conn) LOOP
            IF n.extra::json->>'path' = '/watch/sentinel_' || conn THEN
                RETURN;
            END IF;
            i := i + 1;
            ord := i;
            channel := n.notify_name;
            type := n.extra::json->>'type';
            path := n.extra::json->>'path';
            zxid := (n.extra::json->>'zxid')::bigint;
            payload := n.extra;
            RETURN NEXT;
        END LOOP;
        IF clock_timestamp() > deadline THEN
            ord := i + 1;
            type := 'timed out waiting for the sentinel event';
            RETURN NEXT;
            RETURN;
        END IF;
        PERFORM pg_sleep(0.005);
    END LOOP;
END
$$;
-- The events a dblink connection received up to one of type last_type.
CREATE FUNCTION zk_test_events_until(conn text, last_type text)
RETURNS TABLE(ord integer, channel text, type text, path text, zxid bigint, payload text)
LANGUAGE plpgsql AS $$
DECLARE
    n record;
    i integer := 0;
    deadline timestamptz := clock_timestamp() + interval '60 s';
BEGIN
    LOOP
        FOR n IN SELECT * FROM dblink_get_notify(conn) LOOP
            i := i + 1;
            ord := i;
            channel := n.notify_name;
            type := n.extra::json->>'type';
            path := n.extra::json->>'path';
            zxid := (n.extra::json->>'zxid')::bigint;
            payload := n.extra;
            RETURN NEXT;
            IF type = last_type THEN
                RETURN;
            END IF;
        END LOOP;
        IF clock_timestamp() > deadline THEN
            ord := i + 1;
            type := 'timed out waiting for ' || last_type;
            RETURN NEXT;
            RETURN;
        END IF;
        PERFORM pg_sleep(0.005);
    END LOOP;
END
$$;

--
-- The contract's shapes: zk_stat's fields, the foundation's signatures and
-- defaults, the columns of zk_get and zk_multi.
--
SELECT attnum, attname, format_type(atttypid, atttypmod) AS type
  FROM pg_attribute
 WHERE attrelid = 'zk_stat'::regclass AND attnum > 0 AND NOT attisdropped
 ORDER BY attnum;
SELECT p.proname, pg_get_function_arguments(p.oid) AS arguments,
       pg_get_function_result(p.oid) AS result
  FROM pg_proc p
 WHERE p.pronamespace = 'public'::regnamespace
   AND p.proname IN ('zk_create', 'zk_set', 'zk_delete', 'zk_set_acl',
                     'zk_multi', 'zk_sync', 'zk_get', 'zk_exists',
                     'zk_get_children', 'zk_get_acl', 'zk_count_children',
                     'zk_get_ephemerals', 'zk_session_id', 'zk_close_session')
 ORDER BY p.proname;
-- the zk_op constructors exist (their argument defaults are not fixed)
SELECT p.proname, pg_get_function_result(p.oid) AS result
  FROM pg_proc p
 WHERE p.pronamespace = 'public'::regnamespace
   AND p.proname IN ('zk_op_create', 'zk_op_set', 'zk_op_delete', 'zk_op_check')
 ORDER BY p.proname;
SELECT * FROM zk_get('/') WHERE false;
SELECT * FROM zk_multi(VARIADIC ARRAY[]::zk_op[]);

--
-- The tree starts with / and /zookeeper, which holds quota and config.
--
SELECT zk_exists('/') IS NOT NULL AS root,
       zk_exists('/zookeeper') IS NOT NULL AS zookeeper,
       zk_exists('/zookeeper/quota') IS NOT NULL AS quota,
       zk_exists('/zookeeper/config') IS NOT NULL AS config;
SELECT * FROM zk_get_children('/zookeeper');
SELECT zk_count_children('/zookeeper');
SELECT num_children FROM zk_get('/zookeeper');
SELECT ephemeral_owner FROM zk_exists('/');
SELECT zk_exists('/basic') IS NULL AS absent;

--
-- persistent
--
SELECT zk_create('/basic');
SELECT zk_create('/basic/p', 'hello');
SELECT convert_from(data, 'UTF8') AS data, version, cversion, aversion,
       ephemeral_owner, data_length, num_children,
       mzxid = czxid AS mzxid_is_czxid, pzxid = czxid AS pzxid_is_czxid,
       mtime = ctime AS mtime_is_ctime
  FROM zk_get('/basic/p');
-- zk_get and zk_exists agree field by field
SELECT (g.czxid, g.mzxid, g.ctime, g.mtime, g.version, g.cversion, g.aversion,
        g.ephemeral_owner, g.data_length, g.num_children, g.pzxid)::zk_stat
       = zk_exists('/basic/p') AS same_stat
  FROM zk_get('/basic/p') g;
SELECT * FROM zk_get_children('/basic');
SELECT zk_get_acl('/basic/p');

-- NULL or omitted data is stored as empty
SELECT zk_create('/basic/nodata');
SELECT zk_create('/basic/nulldata', NULL);
SELECT data, data_length FROM zk_get('/basic/nodata');
SELECT data, data_length FROM zk_get('/basic/nulldata');

-- binary data round-trips byte for byte
SELECT zk_create('/basic/bin', '\x00ff0a5c00'::bytea);
SELECT data, data_length FROM zk_get('/basic/bin');
-- UTF-8 text
SELECT zk_create('/basic/utf8', convert_to('héllo wörld ✓', 'UTF8'));
SELECT convert_from(data, 'UTF8') AS data, data_length FROM zk_get('/basic/utf8');

--
-- zk_set: returns the new stat; data replaced; NULL data stored as empty
--
SELECT s.version, s.data_length, s.mzxid > s.czxid AS mzxid_moved,
       s = zk_exists('/basic/p') AS returns_current_stat
  FROM zk_set('/basic/p', 'world') s;
SELECT convert_from(data, 'UTF8') AS data, version FROM zk_get('/basic/p');
SELECT s.version FROM zk_set('/basic/p', 'again', 1) s;
SELECT s.version, s.data_length FROM zk_set('/basic/p', NULL) s;
SELECT data, data_length, version FROM zk_get('/basic/p');

--
-- zk_delete
--
SELECT zk_delete('/basic/nulldata');
SELECT zk_exists('/basic/nulldata') IS NULL AS gone;
SELECT zk_delete('/basic/nodata', 0);
SELECT zk_exists('/basic/nodata') IS NULL AS gone;
SELECT * FROM zk_get_children('/basic');

--
-- Every mode.  Ephemerals belong to this session; container and TTL nodes
-- report ephemeral_owner 0, as in ZooKeeper.
--
SELECT zk_session_id() <> 0 AS has_session,
       zk_session_id() = zk_session_id() AS stable;
SELECT zk_create('/basic/modes');
SELECT zk_create('/basic/modes/persistent', 'p', 'persistent');
SELECT zk_create('/basic/modes/ephemeral', 'e', 'ephemeral');
SELECT zk_create('/basic/modes/pseq-', 'ps', 'persistent_sequential');
SELECT zk_create('/basic/modes/eseq-', 'es', 'ephemeral_sequential');
SELECT zk_create('/basic/modes/container', 'c', 'container');
SELECT zk_create('/basic/modes/ttl', 't', 'persistent_ttl', NULL, 3600000);
SELECT zk_create('/basic/modes/sttl-', 'st', 'persistent_sequential_ttl', NULL, 3600000);
SELECT c AS child,
       CASE s.ephemeral_owner WHEN 0 THEN '0'
            WHEN zk_session_id() THEN 'this session' ELSE 'other' END AS ephemeral_owner,
       s.version, s.data_length
  FROM zk_get_children('/basic/modes') c,
       LATERAL zk_exists('/basic/modes/' || c) s
 ORDER BY c COLLATE "C";
SELECT * FROM zk_get_ephemerals('/basic') e ORDER BY e COLLATE "C";
SELECT zk_count_children('/basic/modes');
-- containers and TTL nodes may have children; ephemerals may not (zk_errors)
SELECT zk_create('/basic/modes/container/child');
SELECT zk_create('/basic/modes/ttl/child');
SELECT zk_count_children('/basic/modes');
SELECT zk_count_children('/basic');

-- named arguments and defaults
SELECT zk_create(path => '/basic/named', mode => 'ephemeral', data => 'n');
SELECT convert_from(data, 'UTF8') AS data, ephemeral_owner = zk_session_id() AS mine
  FROM zk_get(path => '/basic/named', watch => false);
SELECT zk_create('/basic/named_ttl', ttl_ms => 3600000, mode => 'persistent_ttl');
SELECT ephemeral_owner FROM zk_exists('/basic/named_ttl');
SELECT zk_create('/basic/named_acl', acl => ARRAY['world:anyone:r']);
SELECT zk_get_acl('/basic/named_acl');

--
-- ACLs: stored and returned as scheme:id:perms, perms in ZooKeeper's cdrwa
-- order; NULL means world:anyone:cdrwa.
--
SELECT zk_create('/basic/acl', NULL, 'persistent',
                 ARRAY['world:anyone:r', 'ip:10.0.0.0/8:cdrwa', 'ip:127.0.0.1:rw',
                       'digest:bob:fyVmFCwVbTJYrznoSu1koqYEYF0=:cdrwa']);
SELECT zk_get_acl('/basic/acl');
SELECT s.aversion, s.version
  FROM zk_set_acl('/basic/acl', ARRAY['world:anyone:cdrwa']) s;
SELECT zk_get_acl('/basic/acl');
SELECT s.aversion FROM zk_set_acl('/basic/acl', ARRAY['world:anyone:cdr'], 1) s;
SELECT zk_get_acl('/basic/acl');
-- ZooKeeper drops duplicate entries (PrepRequestProcessor.removeDuplicates)
SELECT s.aversion
  FROM zk_set_acl('/basic/acl', ARRAY['world:anyone:cdrwa', 'world:anyone:cdrwa']) s;
SELECT zk_get_acl('/basic/acl');
-- perms are a set: their order carries no meaning, and equal sets are duplicates
SELECT s.aversion
  FROM zk_set_acl('/basic/acl', ARRAY['world:anyone:wr', 'world:anyone:rw', 'ip:127.0.0.1:adc']) s;
SELECT zk_get_acl('/basic/acl');

--
-- zk_sync returns once the server is up to date; any valid path will do.
--
SELECT zk_sync();
SELECT zk_sync('/basic');
SELECT zk_sync('/basic/not_there');

--
-- zk_close_session: ephemerals go; the next call opens a new session.
--
SELECT zk_session_id() AS old_session \gset
SELECT cversion, num_children FROM zk_exists('/basic/modes');
SELECT zk_create('/basic/eph_closing', NULL, 'ephemeral');
SELECT zk_close_session();
SELECT zk_exists('/basic/eph_closing') IS NULL AS eph_gone,
       zk_exists('/basic/modes/ephemeral') IS NULL AS eph2_gone,
       zk_exists('/basic/named') IS NULL AS eph3_gone,
       zk_exists('/basic/modes/persistent') IS NOT NULL AS persistent_stays;
SELECT zk_session_id() <> :old_session AS new_session;
SELECT count(*) FROM zk_get_ephemerals('/');
-- the ephemerals' deletes count in their parent's cversion, as any delete
SELECT cversion, num_children FROM zk_exists('/basic/modes');
SELECT * FROM zk_get_children('/basic/modes');
