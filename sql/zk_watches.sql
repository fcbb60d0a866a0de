--
-- zk_watches: watches over LISTEN/NOTIFY (API.md "Watches"): the channel,
-- the one-shot data and child watches of zk_get / zk_exists /
-- zk_get_children, persistent and recursive watches (zk_add_watch),
-- zk_remove_watches, the zkpg.watches view, and the events themselves:
-- types and triggers as in ZooKeeper, one event per trigger and session,
-- JSON payloads carrying the zxid, SessionExpired on kill_session.
--
-- The watching sessions are dblink connections ("w", "v"); this session
-- writes.  A dblink connection hands over its notifications with
-- dblink_get_notify(), so events are checked as rows, not as psql's
-- "Asynchronous notification" lines (which name pids).  To know that no
-- further event is coming, every watcher keeps a persistent watch on its
-- own sentinel node, /watch/sentinel_<connection name>: zk_test_events()
-- (zk_basic) sets the sentinel and returns what the watcher got before the
-- sentinel's event (the events of one session arrive in zxid order).  Root path /watch; zxids are compared, never printed.
--
\set SHOW_CONTEXT never
\set VERBOSITY default

CREATE EXTENSION dblink;



--
-- Shapes.
--
SELECT p.oid::regprocedure AS function, pg_get_function_arguments(p.oid) AS arguments,
       pg_get_function_result(p.oid) AS result
  FROM pg_proc p
 WHERE p.oid IN ('zk_watch_channel()'::regprocedure, 'zk_add_watch(text,boolean)'::regprocedure,
                 'zk_remove_watches(text,text)'::regprocedure, 'zk_get(text,boolean)'::regprocedure,
                 'zk_exists(text,boolean)'::regprocedure,
                 'zk_get_children(text,boolean)'::regprocedure)
 ORDER BY 1::text;
SELECT attname, format_type(atttypid, atttypmod) AS type
  FROM pg_attribute
 WHERE attrelid = 'zkpg.watches'::regclass AND attnum > 0 AND NOT attisdropped
 ORDER BY attnum;

--
-- The channel of a session: zk_session_<16 hex digits of the session id>_
-- <32 hex digits of a random secret> (zk_trust_watches), stable for the
-- session, a new one for a new session.
--
SELECT zk_watch_channel() ~ ('^zk_session_' || lpad(to_hex(zk_session_id()), 16, '0') || '_[0-9a-f]{32}$')
       AS channel_form,
       zk_watch_channel() = zk_watch_channel() AS stable;
SELECT zk_watch_channel() AS ch \gset
SELECT zk_close_session();
SELECT zk_watch_channel() <> :'ch' AS new_channel_for_new_session;

-- Setting a watch LISTENs on the channel, transactionally like LISTEN.
SELECT zk_create('/watch');
SELECT zk_create('/watch/sentinel_w');
SELECT zk_create('/watch/sentinel_v');
SELECT zk_create('/watch/own', 'x');
SELECT count(*) AS listening FROM pg_listening_channels();
SELECT version FROM zk_get('/watch/own', true);
SELECT array_agg(c) = ARRAY[zk_watch_channel()] AS listens_on_channel FROM pg_listening_channels() c;
SELECT path, kind FROM zkpg.watches WHERE session_id = zk_session_id();
SELECT zk_remove_watches('/watch/own');
UNLISTEN *;
BEGIN;
SELECT count(*) FROM zk_get_children('/watch/own', true);
ROLLBACK;
SELECT count(*) AS listening_after_rollback FROM pg_listening_channels();
DO $$ BEGIN PERFORM zk_remove_watches('/watch/own'); EXCEPTION WHEN OTHERS THEN NULL; END $$;
SELECT zk_add_watch('/watch/own');
SELECT array_agg(c) = ARRAY[zk_watch_channel()] AS add_watch_listens FROM pg_listening_channels() c;
SELECT zk_remove_watches('/watch/own');
UNLISTEN *;
-- watch => NULL or false sets no watch
SELECT version FROM zk_get('/watch/own', NULL);
SELECT zk_exists('/watch/own', false) IS NOT NULL AS exists;
SELECT count(*) AS my_watches FROM zkpg.watches WHERE session_id = zk_session_id();
SELECT count(*) AS listening FROM pg_listening_channels();

--
-- The watcher "w": another backend with its own session and channel.
--
SELECT dblink_connect('w', 'dbname=' || current_database());
SELECT zk_test_remote('w', 'SELECT zk_session_id()') AS w_sid \gset
SELECT zk_test_remote('w', 'SELECT zk_watch_channel()') AS w_chan \gset
SELECT :'w_chan' <> zk_watch_channel() AS channel_per_session;
SELECT zk_test_remote('w', $$SELECT zk_add_watch('/watch/sentinel_w')$$) AS sentinel_watch;
SELECT path, kind FROM zkpg.watches WHERE session_id = :w_sid;
-- nothing yet
SELECT * FROM zk_test_events('w');

--
-- Data watch (zk_get): NodeDataChanged on set, once; the payload is
-- {"type":...,"path":...,"zxid":...} with the zxid of the change.
--
SELECT zk_create('/watch/a', 'a0');
SELECT zk_test_remote('w', $$SELECT version FROM zk_get('/watch/a', true)$$) AS version_read;
SELECT path, kind FROM zkpg.watches WHERE session_id = :w_sid AND path <> '/watch/sentinel_w' ORDER BY path, kind;
SELECT mzxid AS set1 FROM zk_set('/watch/a', 'a1') \gset
SELECT mzxid AS set2 FROM zk_set('/watch/a', 'a2') \gset
SELECT ord, channel = :'w_chan' AS on_w_channel, type, path, zxid = :set1 AS zxid_of_first_set,
       regexp_replace(payload, '"zxid":[0-9]+', '"zxid":N') AS payload
  FROM zk_test_events('w');
-- one-shot: gone once fired
SELECT count(*) AS w_watches FROM zkpg.watches WHERE session_id = :w_sid AND path <> '/watch/sentinel_w';
SELECT zk_set('/watch/a', 'a3') IS NOT NULL AS set_again;
SELECT * FROM zk_test_events('w');

--
-- Data watch (zk_exists) on an absent node: NodeCreated, once (the delete
-- that follows fires nothing); the parent need not exist.
--
SELECT zk_test_remote('w', $$SELECT zk_exists('/watch/b', true) IS NULL$$) AS absent;
SELECT zk_test_remote('w', $$SELECT zk_exists('/watch/nope/deeper', true) IS NULL$$) AS absent_parent;
SELECT path, kind FROM zkpg.watches WHERE session_id = :w_sid AND path <> '/watch/sentinel_w' ORDER BY path, kind;
SELECT zk_create('/watch/b');
SELECT czxid AS b_czxid FROM zk_exists('/watch/b') \gset
SELECT zk_delete('/watch/b');
SELECT ord, type, path, zxid = :b_czxid AS zxid_of_create FROM zk_test_events('w');
SELECT zk_create('/watch/nope');
SELECT zk_create('/watch/nope/deeper');
SELECT czxid AS deeper_czxid FROM zk_exists('/watch/nope/deeper') \gset
SELECT ord, type, path, zxid = :deeper_czxid AS zxid_of_create FROM zk_test_events('w');

--
-- Data watch (zk_exists) on an existing node: NodeDataChanged on set,
-- NodeDeleted on delete.
--
SELECT zk_create('/watch/e1');
SELECT zk_create('/watch/e2');
SELECT zk_test_remote('w', $$SELECT (zk_exists('/watch/e1', true)).version$$) AS e1_version;
SELECT zk_test_remote('w', $$SELECT (zk_exists('/watch/e2', true)).version$$) AS e2_version;
SELECT mzxid AS e1_mzxid FROM zk_set('/watch/e1', 'x') \gset
SELECT zk_delete('/watch/e2');
SELECT pzxid AS e2_delete FROM zk_exists('/watch') \gset
SELECT ord, type, path, zxid = :e1_mzxid AS zxid_of_set, zxid = :e2_delete AS zxid_of_delete
  FROM zk_test_events('w') ORDER BY ord;

--
-- Child watch (zk_get_children): NodeChildrenChanged on the watched path
-- when a child is created, once; not on a set of the node or of a child.
--
SELECT zk_create('/watch/c');
SELECT zk_create('/watch/c/old');
SELECT zk_test_remote('w', $$SELECT string_agg(c, ',') FROM zk_get_children('/watch/c', true) c$$) AS children;
SELECT path, kind FROM zkpg.watches WHERE session_id = :w_sid AND path <> '/watch/sentinel_w' ORDER BY path, kind;
SELECT zk_set('/watch/c', 'data') IS NOT NULL AS set_parent;
SELECT zk_set('/watch/c/old', 'data') IS NOT NULL AS set_child;
SELECT * FROM zk_test_events('w');
SELECT zk_create('/watch/c/new');
SELECT pzxid AS c_pzxid FROM zk_exists('/watch/c') \gset
SELECT zk_delete('/watch/c/new');
SELECT zk_delete('/watch/c/old');
SELECT ord, type, path, zxid = :c_pzxid AS zxid_of_child_create FROM zk_test_events('w');
-- a child delete fires it too
SELECT zk_create('/watch/c/x');
SELECT zk_test_remote('w', $$SELECT count(*) FROM zk_get_children('/watch/c', true)$$) AS children;
SELECT zk_delete('/watch/c/x');
SELECT pzxid AS c_pzxid FROM zk_exists('/watch/c') \gset
SELECT ord, type, path, zxid = :c_pzxid AS zxid_of_child_delete FROM zk_test_events('w');
-- and the node's own delete fires NodeDeleted (not NodeChildrenChanged)
SELECT zk_test_remote('w', $$SELECT count(*) FROM zk_get_children('/watch/c', true)$$) AS children;
SELECT zk_delete('/watch/c');
SELECT ord, type, path FROM zk_test_events('w');

--
-- A data watch and a child watch on the same node, the node deleted: one
-- NodeDeleted, both watches consumed (ZooKeeper's DataTree.deleteNode).
--
SELECT zk_create('/watch/dc');
SELECT zk_test_remote('w', $$SELECT version FROM zk_get('/watch/dc', true)$$) AS version;
SELECT zk_test_remote('w', $$SELECT count(*) FROM zk_get_children('/watch/dc', true)$$) AS children;
SELECT path, kind FROM zkpg.watches WHERE session_id = :w_sid AND path <> '/watch/sentinel_w' ORDER BY path, kind;
SELECT zk_delete('/watch/dc');
SELECT ord, type, path FROM zk_test_events('w');
SELECT count(*) AS w_watches FROM zkpg.watches WHERE session_id = :w_sid AND path <> '/watch/sentinel_w';

--
-- The same watch set three times (get, get, exists): one watch, one event.
--
SELECT zk_create('/watch/twice');
SELECT zk_test_remote('w', $$SELECT version FROM zk_get('/watch/twice', true)$$) AS first;
SELECT zk_test_remote('w', $$SELECT version FROM zk_get('/watch/twice', true)$$) AS second;
SELECT zk_test_remote('w', $$SELECT (zk_exists('/watch/twice', true)).version$$) AS third;
SELECT path, kind FROM zkpg.watches WHERE session_id = :w_sid AND path <> '/watch/sentinel_w' ORDER BY path, kind;
SELECT zk_set('/watch/twice', 'x') IS NOT NULL AS set;
SELECT ord, type, path FROM zk_test_events('w');

--
-- set_acl triggers no watch (as in ZooKeeper); the watch stays armed.
--
SELECT zk_test_remote('w', $$SELECT version FROM zk_get('/watch/twice', true)$$) AS version;
SELECT (zk_set_acl('/watch/twice', ARRAY['world:anyone:cdrwa'])).aversion;
SELECT * FROM zk_test_events('w');
SELECT path, kind FROM zkpg.watches WHERE session_id = :w_sid AND path <> '/watch/sentinel_w' ORDER BY path, kind;
SELECT zk_delete('/watch/twice');
SELECT ord, type, path FROM zk_test_events('w');

--
-- A zk_multi fires the events of each of its ops, in op order, all with
-- the multi's zxid.
--
SELECT zk_create('/watch/m1');
SELECT zk_create('/watch/m2');
SELECT zk_test_remote('w', $$SELECT version FROM zk_get('/watch/m1', true)$$) AS m1;
SELECT zk_test_remote('w', $$SELECT (zk_exists('/watch/m2', true)).version$$) AS m2;
SELECT zk_test_remote('w', $$SELECT zk_exists('/watch/m3', true) IS NULL$$) AS m3_absent;
SELECT op_index, op, path FROM zk_multi(zk_op_set('/watch/m1', 'x'),
                                        zk_op_delete('/watch/m2'),
                                        zk_op_create('/watch/m3', 'y'));
SELECT mzxid AS multi_zxid FROM zk_exists('/watch/m1') \gset
SELECT ord, type, path, zxid = :multi_zxid AS zxid_of_multi FROM zk_test_events('w');
-- a failed multi fires nothing
SELECT zk_test_remote('w', $$SELECT version FROM zk_get('/watch/m1', true)$$) AS m1;
SELECT zk_test_code($$SELECT * FROM zk_multi(zk_op_set('/watch/m1', 'z'), zk_op_check('/watch/m3', 7))$$);
SELECT * FROM zk_test_events('w');
SELECT zk_test_remote('w', $$SELECT zk_remove_watches('/watch/m1', 'data')$$) AS removed;

--
-- Persistent watch (zk_add_watch): every event on its path, including
-- NodeChildrenChanged, and it stays after firing, also across the node's
-- delete and re-create; a one-shot watch of the same session on the same
-- path adds no second event.
--
SELECT zk_create('/watch/p');
SELECT zk_test_remote('w', $$SELECT zk_add_watch('/watch/p')$$) AS added;
SELECT zk_test_remote('w', $$SELECT version FROM zk_get('/watch/p', true)$$) AS also_one_shot;
SELECT path, kind FROM zkpg.watches WHERE session_id = :w_sid AND path <> '/watch/sentinel_w' ORDER BY path, kind;
SELECT zk_set('/watch/p', '1') IS NOT NULL AS set1;
SELECT zk_set('/watch/p', '2') IS NOT NULL AS set2;
SELECT zk_create('/watch/p/x');
SELECT zk_set('/watch/p/x', 'child data') IS NOT NULL AS set_child;
SELECT zk_delete('/watch/p/x');
SELECT zk_delete('/watch/p');
SELECT zk_create('/watch/p');
SELECT ord, type, path FROM zk_test_events('w');
SELECT path, kind FROM zkpg.watches WHERE session_id = :w_sid AND path <> '/watch/sentinel_w' ORDER BY path, kind;

--
-- Recursive persistent watch: every event at or below its path except
-- NodeChildrenChanged; the path need not exist.
--
SELECT zk_test_remote('w', $$SELECT zk_add_watch('/watch/r', true)$$) AS added;
SELECT path, kind FROM zkpg.watches WHERE session_id = :w_sid AND path = '/watch/r';
SELECT zk_create('/watch/r');
SELECT zk_create('/watch/r/x');
SELECT zk_create('/watch/r/x/y', 'y');
SELECT zk_set('/watch/r/x/y', 'y2') IS NOT NULL AS set_grandchild;
SELECT zk_delete('/watch/r/x/y');
SELECT zk_set('/watch/r', 'r') IS NOT NULL AS set_self;
SELECT zk_create('/watch/rr');
SELECT ord, type, path FROM zk_test_events('w');

--
-- zk_remove_watches: by type (data, children, persistent, any); ZK121
-- NOWATCHER when there is none of that type; ZK008 for a bad type or path.
-- A removed watch fires nothing.
--
SELECT zk_create('/watch/rm');
SELECT zk_test_remote('w', $$SELECT version FROM zk_get('/watch/rm', true)$$) AS data_watch;
SELECT zk_test_remote('w', $$SELECT count(*) FROM zk_get_children('/watch/rm', true)$$) AS child_watch;
SELECT zk_test_remote('w', $$SELECT zk_remove_watches('/watch/rm', 'persistent')$$) AS remove_persistent;
SELECT zk_test_remote('w', $$SELECT zk_remove_watches('/watch/rm', 'data')$$) AS remove_data;
SELECT zk_test_remote('w', $$SELECT zk_remove_watches('/watch/rm', 'data')$$) AS remove_data_again;
SELECT path, kind FROM zkpg.watches WHERE session_id = :w_sid AND path = '/watch/rm';
SELECT zk_test_remote('w', $$SELECT zk_remove_watches('/watch/rm', 'children')$$) AS remove_children;
SELECT zk_test_remote('w', $$SELECT zk_remove_watches('/watch/rm')$$) AS remove_any_none_left;
SELECT zk_create('/watch/rm/child');
SELECT zk_set('/watch/rm', 'x') IS NOT NULL AS set;
SELECT * FROM zk_test_events('w');
-- 'any' removes every kind at once, persistent ones included
SELECT zk_test_remote('w', $$SELECT version FROM zk_get('/watch/rm', true)$$) AS data_watch;
SELECT zk_test_remote('w', $$SELECT count(*) FROM zk_get_children('/watch/rm', true)$$) AS child_watch;
SELECT zk_test_remote('w', $$SELECT zk_add_watch('/watch/rm')$$) AS persistent_watch;
SELECT count(*) AS rm_watches FROM zkpg.watches WHERE session_id = :w_sid AND path = '/watch/rm';
SELECT zk_test_remote('w', $$SELECT zk_remove_watches('/watch/rm', 'any')$$) AS remove_any;
SELECT count(*) AS rm_watches FROM zkpg.watches WHERE session_id = :w_sid AND path = '/watch/rm';
SELECT zk_set('/watch/rm', 'y') IS NOT NULL AS set;
SELECT * FROM zk_test_events('w');
-- removing one kind leaves the others (recursive counts as persistent)
SELECT zk_test_remote('w', $$SELECT zk_remove_watches('/watch/r', 'data')$$) AS remove_data_of_recursive;
SELECT zk_test_remote('w', $$SELECT zk_remove_watches('/watch/r', 'persistent')$$) AS remove_recursive;
SELECT zk_test_remote('w', $$SELECT zk_remove_watches('/watch/p', 'persistent')$$) AS remove_persistent;
SELECT path, kind FROM zkpg.watches WHERE session_id = :w_sid ORDER BY path;
-- only one's own watches are removed
SELECT zk_test_remote('w', $$SELECT version FROM zk_get('/watch/rm', true)$$) AS data_watch;
SELECT zk_test_code($$SELECT zk_remove_watches('/watch/rm')$$) AS not_my_watch;
SELECT path, kind FROM zkpg.watches WHERE session_id = :w_sid AND path = '/watch/rm';
SELECT zk_test_remote('w', $$SELECT zk_remove_watches('/watch/rm')$$) AS remove_any;
-- bad arguments
SELECT zk_test_sqlstate($$SELECT zk_remove_watches('/watch/rm', 'bogus')$$);
SELECT zk_test_code($$SELECT zk_remove_watches('watch/rm')$$) AS relative_path;
SELECT zk_test_code($$SELECT zk_remove_watches('/watch/rm/')$$) AS trailing_slash;
SELECT zk_test_code($$SELECT zk_add_watch('/watch/./x')$$) AS add_watch_dot;
SELECT zk_test_code($$SELECT zk_remove_watches('/watch/never')$$) AS never_watched;

--
-- Reads that fail set no watch: zk_get and zk_get_children of an absent
-- node are ZK101 and leave nothing behind (only zk_exists watches an
-- absent node).
--
SELECT zk_test_remote('w', $$SELECT count(*) FROM zk_get('/watch/absent', true)$$) AS get_absent;
SELECT zk_test_remote('w', $$SELECT count(*) FROM zk_get_children('/watch/absent', true)$$) AS children_absent;
SELECT count(*) AS w_watches FROM zkpg.watches WHERE session_id = :w_sid AND path = '/watch/absent';
SELECT zk_create('/watch/absent');
SELECT zk_create('/watch/absent/child');
SELECT * FROM zk_test_events('w');

--
-- Ephemerals deleted by the close of their session fire NodeDeleted on the
-- node and NodeChildrenChanged on the parent, with the closeSession's zxid.
--
SELECT zk_create('/watch/ephp');
SELECT zk_create('/watch/ephp/e', NULL, 'ephemeral');
SELECT zk_test_remote('w', $$SELECT (zk_exists('/watch/ephp/e', true)).ephemeral_owner <> 0$$) AS ephemeral;
SELECT zk_test_remote('w', $$SELECT count(*) FROM zk_get_children('/watch/ephp', true)$$) AS children;
SELECT zk_close_session();
SELECT pzxid AS close_zxid FROM zk_exists('/watch/ephp') \gset
SELECT ord, type, path, zxid = :close_zxid AS zxid_of_close FROM zk_test_events('w');

--
-- Events go to the watching session only: "v" watches other nodes.
--
SELECT dblink_connect('v', 'dbname=' || current_database());
SELECT zk_test_remote('v', 'SELECT zk_session_id()') AS v_sid \gset
SELECT zk_test_remote('v', 'SELECT zk_watch_channel()') AS v_chan \gset
SELECT zk_test_remote('v', $$SELECT zk_add_watch('/watch/sentinel_v')$$) AS sentinel_watch;
SELECT zk_create('/watch/for_w');
SELECT zk_create('/watch/for_v');
SELECT zk_create('/watch/for_both');
SELECT zk_test_remote('w', $$SELECT version FROM zk_get('/watch/for_w', true)$$) AS w1;
SELECT zk_test_remote('w', $$SELECT version FROM zk_get('/watch/for_both', true)$$) AS w2;
SELECT zk_test_remote('v', $$SELECT version FROM zk_get('/watch/for_v', true)$$) AS v1;
SELECT zk_test_remote('v', $$SELECT version FROM zk_get('/watch/for_both', true)$$) AS v2;
SELECT session_id = :w_sid AS w, session_id = :v_sid AS v, path, kind
  FROM zkpg.watches WHERE path LIKE '/watch/for%' ORDER BY path, 1;
SELECT zk_set('/watch/for_w', 'x') IS NOT NULL AS set_w;
SELECT zk_set('/watch/for_v', 'x') IS NOT NULL AS set_v;
SELECT zk_set('/watch/for_both', 'x') IS NOT NULL AS set_both;
SELECT ord, channel = :'w_chan' AS on_w_channel, type, path FROM zk_test_events('w');
SELECT ord, channel = :'v_chan' AS on_v_channel, type, path FROM zk_test_events('v');

-- A closed session's watches are gone, and fire nothing.
SELECT zk_test_remote('v', $$SELECT version FROM zk_get('/watch/for_v', true)$$) AS v1;
SELECT zk_test_remote('v', 'SELECT zk_close_session()') AS v_closed;
SELECT count(*) AS old_v_watches FROM zkpg.watches WHERE session_id = :v_sid;
SELECT zk_test_remote('v', $$SELECT zk_add_watch('/watch/sentinel_v')$$) AS new_sentinel_watch;
SELECT zk_set('/watch/for_v', 'y') IS NOT NULL AS set_v;
SELECT * FROM zk_test_events('v');
SELECT dblink_disconnect('v');

--
-- Payloads stay under NOTIFY's 8000 bytes: a path of 1024 bytes (the
-- longest allowed) that is all quotes and backslashes, escaped in JSON.
--
SELECT '/watch/' || repeat('"\', 508) || '"' AS long_path \gset
SELECT octet_length(:'long_path') AS path_bytes;
SELECT zk_test_code(format('SELECT zk_create(%L)', :'long_path' || 'x')) AS one_byte_more;
SELECT zk_test_remote('w', format('SELECT zk_exists(%L, true) IS NULL', :'long_path')) AS absent;
SELECT zk_create(:'long_path') = :'long_path' AS created;
SELECT ord, type, path = :'long_path' AS same_path, octet_length(payload) < 8000 AS fits,
       octet_length(payload) > 2 * 1024 AS escaped
  FROM zk_test_events('w');
-- and multibyte characters
SELECT '/watch/' || repeat('é', 508) || 'x' AS utf8_path \gset
SELECT octet_length(:'utf8_path') AS path_bytes;
SELECT zk_test_remote('w', format('SELECT zk_exists(%L, true) IS NULL', :'utf8_path')) AS absent;
SELECT zk_create(:'utf8_path') = :'utf8_path' AS created;
SELECT ord, type, path = :'utf8_path' AS same_path FROM zk_test_events('w');

-- zkpg.status counts this server's watches
SELECT (SELECT watch_count FROM zkpg.status) = (SELECT count(*) FROM zkpg.watches)
       AS status_counts_watches;

--
-- A session that expires (zkpg.kill_session) gets {"type":"SessionExpired",
-- "zxid":N} on its channel, and its watches are gone.
--
SELECT zk_test_remote('w', $$SELECT version FROM zk_get('/watch/a', true)$$) AS data_watch;
SELECT zk_test_remote('w', $$SELECT zk_add_watch('/watch', true)$$) AS recursive_watch;
SELECT count(*) > 0 AS w_has_watches FROM zkpg.watches WHERE session_id = :w_sid;
SELECT zkpg.kill_session(:w_sid);
SELECT ord, channel = :'w_chan' AS on_w_channel, type, path,
       payload::jsonb - 'zxid' AS payload_without_zxid, zxid > 0 AS has_zxid
  FROM zk_test_events_until('w', 'SessionExpired');
SELECT count(*) AS w_watches FROM zkpg.watches WHERE session_id = :w_sid;
SELECT zk_test_remote('w', $$SELECT version FROM zk_get('/watch/a', true)$$) AS after_expiry;
SELECT zk_test_remote('w', 'SELECT zk_close_session()') AS closed;
SELECT dblink_disconnect('w');

SELECT (SELECT watch_count FROM zkpg.status) = (SELECT count(*) FROM zkpg.watches)
       AS status_counts_watches;
DROP EXTENSION dblink;
