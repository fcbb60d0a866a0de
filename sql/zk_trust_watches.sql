--
-- zk_trust_watches: what ordinary roles learn through watches and channels.
--
-- 1. An event reaches a session only if it may READ the node the event is
--    about (for NodeChildrenChanged, the parent), whatever the kind of
--    watch: a recursive watch on a parent, a data watch or a persistent
--    watch set on a node that did not exist yet (ZooKeeper 3.8.4,
--    CVE-2024-23944).  A session that may read gets the same events.
-- 2. A session's channel carries a random secret: a role that knows
--    another session's id cannot LISTEN to its events nor NOTIFY it forged
--    ones, and no view shows a channel.
-- 3. DISCARD ALL (a pool's reset between clients) ends the session and
--    drops the identities added with zk_add_auth.
-- 4. pg:ROLE membership is checked at each call, across sessions.
-- 5. One role cannot take every watch or session: zkpg.max_watches_per_
--    session, zkpg.max_watches_per_role, zkpg.max_sessions_per_role.
--
-- Watchers are dblink connections as the roles; this session writes as a
-- superuser.  Events are read as rows (dblink_get_notify).
--
\set SHOW_CONTEXT never
\set VERBOSITY default

CREATE EXTENSION dblink;
CREATE ROLE regress_zk_owner LOGIN;
CREATE ROLE regress_zk_peeker LOGIN;

-- Events are read with zk_test_events (zk_basic): each watcher keeps a
-- persistent watch on its sentinel, /watch/sentinel_<connection>.
SELECT zk_create('/tw');
SELECT zk_create('/watch/sentinel_peek');
SELECT zk_create('/watch/sentinel_own');
SELECT zk_create('/tw/public', 'p');
SELECT zk_create('/tw/secret', 's', 'persistent', ARRAY['pg:regress_zk_owner:cdrwa']);
SELECT zk_create('/tw/secret/doc', 'd', 'persistent', ARRAY['pg:regress_zk_owner:cdrwa']);

SELECT dblink_connect('peek', 'dbname=' || current_database() || ' user=regress_zk_peeker');
SELECT dblink_connect('own', 'dbname=' || current_database() || ' user=regress_zk_owner');
-- the same watches for both: a recursive watch on /tw, a data watch on a
-- node not there yet, a persistent watch on another
SELECT c, (SELECT v FROM dblink(c, format('SELECT zk_add_watch(%L)::text', '/watch/sentinel_' || c)) AS t(v text)) AS sentinel,
       (SELECT v FROM dblink(c, $$SELECT zk_add_watch('/tw', true)::text$$) AS t(v text)) AS recursive,
       (SELECT v FROM dblink(c, $$SELECT (zk_exists('/tw/secret/new', true) IS NULL)::text$$) AS t(v text)) AS data_watch_on_absent,
       (SELECT v FROM dblink(c, $$SELECT zk_add_watch('/tw/secret/later')::text$$) AS t(v text)) AS persistent_on_absent
  FROM unnest(ARRAY['peek', 'own']) c;
-- the peeker cannot read the secret nodes themselves
SELECT * FROM dblink('peek', $$SELECT zk_test_code('SELECT * FROM zk_get(''/tw/secret/doc'')')$$) AS t(code text);

-- changes under the secret node, and one public change
SELECT (zk_set('/tw/secret/doc', 'changed')).version;
SELECT zk_create('/tw/secret/new', 'n', 'persistent', ARRAY['pg:regress_zk_owner:cdrwa']);
SELECT zk_create('/tw/secret/later', 'l', 'persistent', ARRAY['pg:regress_zk_owner:cdrwa']);
SELECT (zk_set('/tw/secret/later', 'l2')).version;
SELECT zk_delete('/tw/secret/new');
SELECT (zk_set('/tw/public', 'p2')).version;

-- the peeker hears of the public change only; the owner of all
SELECT type, path FROM zk_test_events('peek');
SELECT type, path FROM zk_test_events('own');

-- a node the peeker may read, under one it may not: events about it come
SELECT zk_create('/tw/secret/open', 'o');
SELECT (zk_set('/tw/secret/open', 'o2')).version;
SELECT type, path FROM zk_test_events('peek');
SELECT type, path FROM zk_test_events('own');

--
-- 2. Channels.  The peeker knows the owner's session id (zkpg.sessions shows
-- it) and tries the channel name the id alone would give: it hears nothing,
-- and what it sends there reaches no one.
--
SELECT v AS owner_sid FROM dblink('own', $$SELECT zk_session_id()::text$$) AS t(v text) \gset
SELECT * FROM dblink('own', $$SELECT zk_watch_channel() ~ '^zk_session_[0-9a-f]{16}_[0-9a-f]{32}$'$$)
  AS t(secret_in_name boolean);
SELECT dblink_exec('peek', format('LISTEN %I', 'zk_session_' || lpad(to_hex(:owner_sid::bigint), 16, '0')));
SELECT dblink_exec('peek', format('NOTIFY %I, %L', 'zk_session_' || lpad(to_hex(:owner_sid::bigint), 16, '0'),
                                  '{"type":"LeadershipAcquired","path":"/tw","token":1,"zxid":1}'));
SELECT (zk_set('/tw/public', 'p3')).version;
-- the owner gets the change, not the forged event
SELECT type, path FROM zk_test_events('own');
-- the peeker got its own forgery back on the guessed channel, and nothing of zkpg's
SELECT n.extra::json->>'type' AS type, n.extra::json->>'path' AS path
  FROM dblink_get_notify('peek') n
 WHERE n.notify_name = 'zk_session_' || lpad(to_hex(:owner_sid::bigint), 16, '0');
SELECT dblink_exec('peek', format('UNLISTEN %I', 'zk_session_' || lpad(to_hex(:owner_sid::bigint), 16, '0')));
-- the peeker's own channel still works
SELECT (zk_set('/tw/public', 'p4')).version;
SELECT type, path FROM zk_test_events('peek');
-- no view of zkpg has a column that could hold a channel
SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
 WHERE c.relnamespace = 'zkpg'::regnamespace AND c.relkind = 'v' AND a.attname ~ 'channel'
 ORDER BY 1, 2;

--
-- 3. DISCARD ALL, between two clients of a pool: the next client starts a
-- new session, without the last one's ephemerals or identities.
--
SELECT zk_create('/tw/digest_only', 'd', 'persistent',
                 ARRAY['digest:pooled:ettyxWei4exBFyjoXYuWwYIZC68=:cdrwa']);   -- pooled:pw
SELECT dblink_connect('pool', 'dbname=' || current_database() || ' user=regress_zk_peeker');
SELECT * FROM dblink('pool', $$SELECT zk_add_auth('digest', 'pooled:pw')::text$$) AS t(v text);
SELECT * FROM dblink('pool', $$SELECT convert_from(data, 'UTF8') FROM zk_get('/tw/digest_only')$$) AS t(first_client_reads text);
SELECT * FROM dblink('pool', $$SELECT zk_create('/tw/first_client', NULL, 'ephemeral')$$) AS t(v text);
SELECT v AS pool_sid FROM dblink('pool', $$SELECT zk_session_id()::text$$) AS t(v text) \gset
SELECT dblink_exec('pool', 'DISCARD ALL');
SELECT zk_test_wait($$SELECT zk_exists('/tw/first_client') IS NULL$$) AS first_clients_ephemeral_gone;
SELECT * FROM dblink('pool', $$SELECT zk_test_code('SELECT * FROM zk_get(''/tw/digest_only'')')$$) AS t(next_client_reads text);
SELECT * FROM dblink('pool', format('SELECT (zk_session_id() <> %s)::text', :pool_sid)) AS t(new_session text);
SELECT * FROM dblink('pool', $$SELECT zk_close_session()::text$$) AS t(v text);
SELECT dblink_disconnect('pool');

--
-- 4. pg:ROLE: a membership revoked in one session counts at once in
-- another, for reads and writes.
--
CREATE ROLE regress_zk_readers;
GRANT regress_zk_readers TO regress_zk_peeker;
SELECT zk_create('/tw/members_only', 'm', 'persistent', ARRAY['pg:regress_zk_readers:rw']);
SELECT * FROM dblink('peek', $$SELECT convert_from(data, 'UTF8') FROM zk_get('/tw/members_only')$$) AS t(member_reads text);
SELECT * FROM dblink('peek', $$SELECT (zk_set('/tw/members_only', 'm2')).version::text$$) AS t(member_writes text);
REVOKE regress_zk_readers FROM regress_zk_peeker;
SELECT * FROM dblink('peek', $$SELECT zk_test_code('SELECT * FROM zk_get(''/tw/members_only'')')$$) AS t(read_after_revoke text);
SELECT * FROM dblink('peek', $$SELECT zk_test_code('SELECT zk_set(''/tw/members_only'', ''m3'')')$$) AS t(write_after_revoke text);
SELECT convert_from(data, 'UTF8') AS data FROM zk_get('/tw/members_only');

--
-- 5. Bounds a role cannot lift: watches per session and per role, sessions
-- per role (superusers set them; they bind every other role).
--
ALTER ROLE regress_zk_peeker SET zkpg.max_watches_per_session = 3;
ALTER ROLE regress_zk_peeker SET zkpg.max_watches_per_role = 5;
ALTER ROLE regress_zk_peeker SET zkpg.max_sessions_per_role = 3;
SELECT * FROM dblink('peek', $$SELECT zk_close_session()::text$$) AS t(v text);
SELECT dblink_disconnect('peek');
SELECT dblink_connect('p1', 'dbname=' || current_database() || ' user=regress_zk_peeker');
SELECT dblink_connect('p2', 'dbname=' || current_database() || ' user=regress_zk_peeker');
SELECT dblink_connect('p3', 'dbname=' || current_database() || ' user=regress_zk_peeker');
SELECT * FROM dblink('p1', $$SELECT zk_test_code('SET zkpg.max_watches_per_session = 1000')$$) AS t(cannot_lift text);
SELECT c, i, v FROM unnest(ARRAY['p1', 'p2']) c, generate_series(1, 4) i,
       LATERAL (SELECT regexp_replace(v, '0x[0-9a-f]{16}', 'SID') AS v
                  FROM dblink(c, format('SELECT zk_test_sqlstate(%L)',
                       format('SELECT zk_exists(%L, true)', '/tw/w' || c || '_' || i))) AS t(v text)) s
 ORDER BY c, i;
-- the same watch again is no new watch; removing one makes room
SELECT * FROM dblink('p2', $$SELECT zk_test_code('SELECT zk_exists(''/tw/wp2_1'', true)')$$) AS t(same_again text);
SELECT * FROM dblink('p2', $$SELECT zk_test_code('SELECT zk_remove_watches(''/tw/wp2_1'')')$$) AS t(removed text);
SELECT * FROM dblink('p2', $$SELECT zk_test_code('SELECT zk_exists(''/tw/wp2_3'', true)')$$) AS t(room_again text);
-- a third session of the role is allowed, a fourth is not
SELECT * FROM dblink('p3', $$SELECT zk_test_code('SELECT zk_session_id()')$$) AS t(third_session text);
SELECT dblink_connect('p4', 'dbname=' || current_database() || ' user=regress_zk_peeker');
SELECT * FROM dblink('p4', $$SELECT zk_test_sqlstate('SELECT zk_session_id()')$$) AS t(fourth_session text);
-- other roles are not bound by them
SELECT * FROM dblink('own', $$SELECT zk_test_code('SELECT zk_exists(''/tw/o1'', true)')$$) AS t(other_role text);
SELECT count(*) AS superuser_watches
  FROM (SELECT zk_exists('/tw/su' || i, true) FROM generate_series(1, 10) i) s;
SELECT zk_close_session();

SELECT dblink_disconnect(c) FROM unnest(ARRAY['p1', 'p2', 'p3', 'p4', 'own']) c;
DROP ROLE regress_zk_owner, regress_zk_peeker, regress_zk_readers;
DROP EXTENSION dblink;
