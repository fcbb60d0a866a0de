--
-- zk_sessions: the session of a backend (API.md "Sessions"): its id and
-- timeout, zk_close_session, the zkpg.sessions view, ephemerals dying with
-- their session, zkpg.kill_session (expiry: ZK112 on every call until
-- zk_close_session), and a backend's exit (clean disconnect,
-- pg_terminate_backend) closing its session.
--
-- Other backends, each with its own session, are reached through dblink
-- connections to this database.  Root path /sess.  Session ids, zxids and
-- pids are compared, never printed.
--
\set SHOW_CONTEXT never
\set VERBOSITY default

CREATE EXTENSION dblink;

-- The invariant of DESIGN.md: no node's ephemeral owner is a dead session.
CREATE OR REPLACE FUNCTION zk_test_orphan_ephemerals() RETURNS bigint
LANGUAGE sql AS $$
    SELECT count(*) FROM zkpg.znode
     WHERE ephemeral_owner <> 0
       AND ephemeral_owner NOT IN (SELECT session_id FROM zkpg.session)
$$;

--
-- Shapes of the session API and of zkpg.sessions.
--
SELECT p.oid::regprocedure AS function, pg_get_function_arguments(p.oid) AS arguments,
       pg_get_function_result(p.oid) AS result
  FROM pg_proc p
 WHERE p.oid IN ('zk_session_id()'::regprocedure, 'zk_session_timeout()'::regprocedure,
                 'zk_close_session()'::regprocedure, 'zk_add_auth(text,text)'::regprocedure,
                 'zkpg.kill_session(bigint)'::regprocedure)
 ORDER BY 1::text;
SELECT attname, format_type(atttypid, atttypmod) AS type
  FROM pg_attribute
 WHERE attrelid = 'zkpg.sessions'::regclass AND attnum > 0 AND NOT attisdropped
 ORDER BY attnum;
-- zkpg.session_timeout is user-settable (PGC_USERSET), in ms
SELECT name, context, unit, boot_val FROM pg_settings WHERE name = 'zkpg.session_timeout';

-- The sessions of earlier files' backends are closed when those backends
-- exit; wait for that, so that the counts below are this file's.
SELECT zk_test_wait($$SELECT count(*) = 0 FROM zkpg.sessions$$) AS earlier_sessions_closed;

--
-- The session id: opened by the first call, non-zero, stable, with myid (0
-- for a standalone server) in the top byte, listed in zkpg.sessions with
-- this backend's pid.
--
SELECT zk_session_id() AS sid \gset
SELECT :sid <> 0 AS nonzero, zk_session_id() = :sid AS stable,
       (:sid >> 56) = (SELECT myid FROM zkpg.status) AS myid_in_top_byte;
SELECT owner_id = current_setting('zkpg.myid')::int AS owned_here,
       timeout_ms = zk_session_timeout() AS timeout_ms_matches,
       backend_pid = pg_backend_pid() AS this_backend, ephemeral_count
  FROM zkpg.sessions WHERE session_id = :sid;
SELECT (SELECT session_count FROM zkpg.status) = (SELECT count(*) FROM zkpg.sessions)
       AS status_counts_sessions;
-- a role change does not change the session: it is the connection's
CREATE ROLE regress_zk_sess;
SET ROLE regress_zk_sess;
SELECT zk_session_id() = :sid AS same_session_under_set_role;
-- everybody may read zkpg.sessions
SELECT count(*) = 1 AS sees_own_session FROM zkpg.sessions WHERE session_id = :sid;
RESET ROLE;

--
-- Timeouts: zkpg.session_timeout (default 10000 ms) applies to sessions
-- opened afterwards, clamped to [2, 20] ticks (zkpg.tick_ms is 500 here).
--
SHOW zkpg.tick_ms;
SELECT zk_session_timeout();
SET zkpg.session_timeout = 4000;
SELECT zk_session_timeout() AS still_the_old_timeout;
SELECT zk_close_session();
SELECT zk_session_timeout() AS new_session_timeout;
SELECT timeout_ms FROM zkpg.sessions WHERE backend_pid = pg_backend_pid();
SET zkpg.session_timeout = 1;
SELECT zk_close_session();
SELECT zk_session_timeout() AS clamped_to_two_ticks;
SET zkpg.session_timeout = 3600000;
SELECT zk_close_session();
SELECT zk_session_timeout() AS clamped_to_twenty_ticks;
-- an ordinary role may set it too
SET ROLE regress_zk_sess;
SET zkpg.session_timeout = 2500;
SELECT zk_close_session();
SELECT zk_session_timeout() AS set_by_a_role;
RESET ROLE;
RESET zkpg.session_timeout;
SELECT zk_close_session();
SELECT zk_session_timeout() AS default_again;

--
-- Ephemerals belong to the session and go with it; a ROLLBACK does not
-- undo their creation (writes are not transactional).
--
SELECT zk_session_id() AS sid \gset
SELECT zk_create('/sess');
SELECT zk_create('/sess/e1', 'one', 'ephemeral');
SELECT zk_create('/sess/es-', 'seq', 'ephemeral_sequential');
BEGIN;
SELECT zk_create('/sess/e_rolled_back', NULL, 'ephemeral');
ROLLBACK;
SELECT zk_create('/sess/p', 'persistent');
SELECT c AS child, s.ephemeral_owner = :sid AS owned_by_this_session,
       s.ephemeral_owner = 0 AS not_ephemeral
  FROM zk_get_children('/sess') c, LATERAL zk_exists('/sess/' || c) s
 ORDER BY c;
SELECT e FROM zk_get_ephemerals('/sess') e ORDER BY e;
SELECT ephemeral_count FROM zkpg.sessions WHERE session_id = :sid;
SELECT count(*) AS session_rows FROM zkpg.session WHERE session_id = :sid;
-- ephemerals cannot have children
SELECT zk_test_sqlstate($$SELECT zk_create('/sess/e1/child')$$);

-- zk_close_session: the ephemerals go, the parent's children list changes,
-- the session is gone from zkpg.sessions and zkpg.session
SELECT cversion AS cversion_before, num_children AS children_before
  FROM zk_exists('/sess') \gset
SELECT zk_close_session();
SELECT count(*) AS sessions_of_this_backend FROM zkpg.sessions WHERE backend_pid = pg_backend_pid();
SELECT count(*) AS session_rows FROM zkpg.session WHERE session_id = :sid;
SELECT * FROM zk_get_children('/sess') c ORDER BY c;
SELECT num_children = :children_before - 3 AS three_fewer_children,
       cversion = :cversion_before + 3 AS three_deletes_counted
  FROM zk_exists('/sess');
-- closing when there is no session does nothing, and opens none
SELECT zk_close_session();
SELECT count(*) AS sessions_of_this_backend FROM zkpg.sessions WHERE backend_pid = pg_backend_pid();
-- the next call opens a new session, with a new id
SELECT zk_session_id() <> :sid AS new_session;
SELECT count(*) AS my_ephemerals FROM zk_get_ephemerals('/');
SELECT zk_session_id() AS sid \gset

--
-- Another backend's session (dblink connection "peer").
--
SELECT dblink_connect('peer', 'dbname=' || current_database());
SELECT zk_test_remote('peer', 'SELECT zk_session_id()') AS peer_sid \gset
SELECT zk_test_remote('peer', 'SELECT pg_backend_pid()') AS peer_pid \gset
SELECT :peer_sid <> :sid AS distinct_sessions;
SELECT backend_pid = :peer_pid AS peer_backend, ephemeral_count
  FROM zkpg.sessions WHERE session_id = :peer_sid;
SELECT zk_test_remote('peer', $$SELECT zk_create('/sess/peer1', 'p', 'ephemeral')$$);
SELECT zk_test_remote('peer', $$SELECT zk_create('/sess/peer2', 'p', 'ephemeral')$$);
SELECT zk_test_remote('peer', $$SELECT zk_create('/sess/peer3', 'p', 'ephemeral')$$);
-- visible to this session, owned by the peer's, not listed among ours
SELECT ephemeral_owner = :peer_sid AS owned_by_peer FROM zk_exists('/sess/peer1');
SELECT count(*) AS my_ephemerals FROM zk_get_ephemerals('/sess');
SELECT zk_test_remote('peer', $$SELECT string_agg(e, ',' ORDER BY e) FROM zk_get_ephemerals('/sess') e$$)
       AS peer_ephemerals;
SELECT ephemeral_count FROM zkpg.sessions WHERE session_id = :peer_sid;
-- any session with DELETE on the parent may delete another's ephemeral
SELECT zk_delete('/sess/peer3');
SELECT zk_test_remote('peer', $$SELECT string_agg(e, ',' ORDER BY e) FROM zk_get_ephemerals('/sess') e$$)
       AS peer_ephemerals;

--
-- zkpg.kill_session closes the peer's session as its expiry would: its
-- ephemerals go at once, and each of its calls fails with ZK112
-- SESSIONEXPIRED until it calls zk_close_session().
--
SELECT zkpg.kill_session(:peer_sid);
SELECT zk_exists('/sess/peer1') IS NULL AS peer1_gone, zk_exists('/sess/peer2') IS NULL AS peer2_gone;
SELECT count(*) AS peer_session_rows FROM zkpg.sessions WHERE session_id = :peer_sid;
SELECT zk_test_orphan_ephemerals() AS orphan_ephemerals;
SELECT stmt, zk_test_remote('peer', stmt) AS result
  FROM unnest(ARRAY[
    'SELECT zk_session_id()',
    'SELECT zk_session_timeout()',
    'SELECT zk_exists(''/sess'')',
    'SELECT count(*) FROM zk_get(''/sess'')',
    'SELECT count(*) FROM zk_get_children(''/sess'')',
    'SELECT zk_create(''/sess/after_expiry'', NULL, ''ephemeral'')',
    'SELECT zk_set(''/sess'', ''x'')',
    'SELECT count(*) FROM zk_get_ephemerals()',
    'SELECT zk_watch_channel()',
    'SELECT zk_session_id()'
  ]) WITH ORDINALITY AS t(stmt, ord)
 ORDER BY ord;
SELECT zk_exists('/sess/after_expiry') IS NULL AS nothing_created_after_expiry;
-- killing a session that is gone, or none, reports false
SELECT zkpg.kill_session(:peer_sid) AS killed_again;
SELECT zkpg.kill_session(NULL) AS null_session, zkpg.kill_session(0) AS server_session,
       zkpg.kill_session(-1) AS no_such_session;
-- zk_close_session forgets the expired session; the next call opens a new one
SELECT zk_test_remote('peer', 'SELECT zk_close_session()') AS closed;
SELECT zk_test_remote('peer', 'SELECT zk_session_id()') <> :'peer_sid' AS peer_has_new_session;
SELECT zk_test_remote('peer', 'SELECT zk_session_id()') AS peer_sid \gset
SELECT zk_test_remote('peer', $$SELECT zk_create('/sess/peer4', NULL, 'ephemeral')$$);
SELECT ephemeral_owner = :peer_sid AS owned_by_new_session FROM zk_exists('/sess/peer4');
-- kill_session is for superusers only
SET ROLE regress_zk_sess;
SELECT zk_test_sqlstate(format('SELECT zkpg.kill_session(%s)', :peer_sid));
RESET ROLE;
SELECT zk_exists('/sess/peer4') IS NOT NULL AS peer4_stays;

--
-- Killing one's own session is an expiry like any other: every later call
-- fails with ZK112 until zk_close_session().
--
SELECT zk_create('/sess/mine', NULL, 'ephemeral');
SELECT zkpg.kill_session(zk_session_id()) AS killed_self;
SELECT count(*) AS mine_left FROM zkpg.znode WHERE path = '/sess/mine';
SELECT count(*) AS session_rows FROM zkpg.session WHERE session_id = :sid;
SELECT zk_test_code($$SELECT zk_exists('/sess')$$) AS exists_after_self_kill;
SELECT zk_test_code($$SELECT zk_create('/sess/mine2', NULL, 'ephemeral')$$) AS create_after_self_kill;
SELECT zk_test_code($$SELECT zk_session_id()$$) AS session_id_after_self_kill;
SELECT zk_close_session();
SELECT zk_session_id() <> :sid AS new_session_after_self_kill;
SELECT zk_test_orphan_ephemerals() AS orphan_ephemerals;

--
-- A backend that exits closes its session: on a clean disconnect, and when
-- it is terminated (pg_terminate_backend).  The close is queued by the
-- exiting backend, so wait for it.
--
SELECT zk_test_remote('peer', $$SELECT zk_create('/sess/peer5', NULL, 'ephemeral')$$);
SELECT dblink_disconnect('peer');
SELECT zk_test_wait(format($$SELECT zk_exists('/sess/peer4') IS NULL AND zk_exists('/sess/peer5') IS NULL
                              AND NOT EXISTS (SELECT FROM zkpg.session WHERE session_id = %s)$$,
                           :peer_sid)) AS disconnect_closed_session;

SELECT dblink_connect('victim', 'dbname=' || current_database());
SELECT zk_test_remote('victim', 'SELECT zk_session_id()') AS victim_sid \gset
SELECT zk_test_remote('victim', 'SELECT pg_backend_pid()') AS victim_pid \gset
SELECT zk_test_remote('victim', $$SELECT zk_create('/sess/victim', NULL, 'ephemeral')$$);
SELECT zk_test_remote('victim', $$SELECT zk_create('/sess/victim-', NULL, 'ephemeral_sequential')$$);
SELECT ephemeral_count FROM zkpg.sessions WHERE session_id = :victim_sid;
SELECT pg_terminate_backend(:victim_pid);
SELECT zk_test_wait(format($$SELECT NOT EXISTS (SELECT FROM zkpg.session WHERE session_id = %s)
                                AND NOT EXISTS (SELECT FROM zk_get_children('/sess') c
                                                 WHERE c LIKE 'victim%%')$$,
                           :victim_sid)) AS terminate_closed_session;
SELECT zk_test_remote('victim', 'SELECT 1') AS victim_connection;
SELECT dblink_disconnect('victim');

--
-- Reads open no session: zk_get, zk_exists, zk_get_children, zk_get_acl
-- and zk_count_children without a watch leave the backend without one and
-- log nothing (no replicated createSession per short-lived connection);
-- a watch, zk_add_auth or zk_session_id() opens it.
--
SELECT zk_create('/sess/read', 'r');
SELECT zk_create('/sess/read/child');
SELECT last_logged_zxid AS logged_before FROM zkpg.status \gset
SELECT dblink_connect('reader', 'dbname=' || current_database());
SELECT zk_test_remote('reader', $$SELECT convert_from(data, 'UTF8') FROM zk_get('/sess/read')$$) AS data,
       zk_test_remote('reader', $$SELECT (zk_exists('/sess/read')).num_children$$) AS num_children,
       zk_test_remote('reader', $$SELECT zk_exists('/sess/none') IS NULL$$) AS absent,
       zk_test_remote('reader', $$SELECT string_agg(c, ',') FROM zk_get_children('/sess/read') c$$) AS children,
       zk_test_remote('reader', $$SELECT array_length(zk_get_acl('/sess/read'), 1)$$) AS acl_entries,
       zk_test_remote('reader', $$SELECT zk_count_children('/sess/read')$$) AS descendants;
SELECT count(*) AS reader_sessions FROM zkpg.sessions
 WHERE backend_pid = zk_test_remote('reader', 'SELECT pg_backend_pid()')::integer;
SELECT last_logged_zxid = :logged_before AS reads_logged_nothing FROM zkpg.status;
-- the errors of reads are the same without a session
SELECT zk_test_remote('reader', $$SELECT * FROM zk_get('/sess/none')$$);
-- a watch opens the session (its events need a channel)
SELECT zk_test_remote('reader', $$SELECT count(*) FROM zk_get_children('/sess/read', true)$$) AS watched;
SELECT count(*) AS reader_sessions FROM zkpg.sessions
 WHERE backend_pid = zk_test_remote('reader', 'SELECT pg_backend_pid()')::integer;
SELECT dblink_disconnect('reader');
-- so does zk_add_auth: identities belong to a session
SELECT dblink_connect('reader', 'dbname=' || current_database());
SELECT zk_test_remote('reader', $$SELECT zk_add_auth('digest', 'u:p')$$);
SELECT count(*) AS reader_sessions FROM zkpg.sessions
 WHERE backend_pid = zk_test_remote('reader', 'SELECT pg_backend_pid()')::integer;
SELECT dblink_disconnect('reader');
SELECT zk_test_wait($$SELECT count(*) = 1 FROM zkpg.sessions$$) AS reader_sessions_closed;
SELECT zk_delete('/sess/read/child'), zk_delete('/sess/read');

-- what is left: this session only, no orphan
SELECT * FROM zk_get_children('/sess') c ORDER BY c;
SELECT zk_test_orphan_ephemerals() AS orphan_ephemerals;
SELECT count(*) AS sessions, bool_and(backend_pid = pg_backend_pid()) AS all_mine
  FROM zkpg.sessions;

DROP ROLE regress_zk_sess;
DROP EXTENSION dblink;
