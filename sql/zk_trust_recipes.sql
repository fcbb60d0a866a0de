--
-- zk_trust_recipes: what the recipes and the views let ordinary roles do
-- and see.
--
-- 1. The recipes take an acl (the last argument), given to the parents a
--    call creates and to its holder and item nodes: a role outside it can
--    neither join a lock, election or queue, nor delete a holder's node,
--    nor take an item.  The default stays ZooKeeper's and Curator's open
--    ACL.
-- 2. The recipes that return children's data check each child as zk_get
--    would: zk_members, zk_leader, zk_queue_take.
-- 3. zkpg.sessions, zkpg.watches and zkpg.locks follow pg_stat_activity:
--    another role's pids, paths and tokens only to superusers and members
--    of pg_read_all_stats; no path under a node the reader cannot READ.
--
-- alice (a member of team), eve (outside it) and stats (pg_read_all_stats)
-- are dblink connections as those roles.
--
\set SHOW_CONTEXT never
\set VERBOSITY default

CREATE EXTENSION dblink;
CREATE ROLE regress_zk_team;
CREATE ROLE regress_zk_alice LOGIN IN ROLE regress_zk_team;
CREATE ROLE regress_zk_eve LOGIN;
CREATE ROLE regress_zk_stats LOGIN IN ROLE pg_read_all_stats;
SELECT zk_create('/tr');
SELECT dblink_connect(r, format('dbname=%s user=regress_zk_%s', current_database(), r))
  FROM unnest(ARRAY['alice', 'eve', 'stats']) r;

-- run stmt as role r: its first value, or the SQLSTATE of its error
CREATE FUNCTION zk_as(r text, stmt text) RETURNS text LANGUAGE sql AS $$
    SELECT v FROM dblink(r, format('SELECT zk_test_sqlstate_value(%L)', stmt)) AS t(v text)
$$;
CREATE FUNCTION zk_test_sqlstate_value(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v text;
BEGIN
    EXECUTE stmt INTO v;
    RETURN coalesce(v, 'null');
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;

--
-- 1. A closed lock, election, queue, semaphore, barrier, registry, counter
--
SELECT zk_as('alice', $$SELECT (zk_lock('/tr/lock', NULL, ARRAY['pg:regress_zk_team:cdrwa']) > 0)::text$$) AS alice_locks;
SELECT zk_get_acl('/tr/lock') AS dir_acl;
SELECT c AS holder, zk_get_acl('/tr/lock/' || c) AS holder_acl FROM zk_get_children('/tr/lock') c;
SELECT zk_as('alice', $$SELECT (zk_elect('/tr/elect', 'alice', NULL, ARRAY['pg:regress_zk_team:cdrwa']) > 0)::text$$) AS alice_leads;
SELECT zk_as('alice', $$SELECT zk_queue_put('/tr/queue', 'job', ARRAY['pg:regress_zk_team:cdrwa'])$$) LIKE '/tr/queue/qn-%' AS alice_queued;
SELECT zk_as('alice', $$SELECT (zk_semaphore_acquire('/tr/sem', 2, NULL, ARRAY['pg:regress_zk_team:cdrwa']) > 0)::text$$) AS alice_leased;
SELECT zk_as('alice', $$SELECT zk_register('/tr/reg', 'alice', 'a', ARRAY['pg:regress_zk_team:cdrwa'])$$) AS alice_registered;
SELECT zk_as('alice', $$SELECT zk_next_id('/tr/ids/app', ARRAY['pg:regress_zk_team:cdrwa'])::text$$) AS alice_id;
SELECT zk_as('alice', $$SELECT zk_barrier_enter('/tr/barrier', 'alice', 1, NULL, ARRAY['pg:regress_zk_team:cdrwa'])::text$$) AS alice_entered;
SELECT zk_get_acl('/tr/ids') AS created_parent_acl, zk_get_acl('/tr/ids/app') AS counter_acl,
       zk_get_acl('/tr/barrier/ready') AS ready_acl;
-- eve can do none of it
SELECT stmt, zk_as('eve', stmt) AS eve
  FROM unnest(ARRAY[
    $$SELECT zk_lock('/tr/lock', '0 s')$$,
    $$SELECT zk_delete('/tr/lock/lock-0000000000')$$,
    $$SELECT zk_elect('/tr/elect', 'eve', '0 s')$$,
    $$SELECT candidate FROM zk_leader('/tr/elect')$$,
    $$SELECT zk_queue_take('/tr/queue', '0 s')$$,
    $$SELECT zk_queue_put('/tr/queue', 'spam')$$,
    $$SELECT zk_semaphore_acquire('/tr/sem', 2, '0 s')$$,
    $$SELECT zk_register('/tr/reg', 'eve')$$,
    $$SELECT member FROM zk_members('/tr/reg')$$,
    $$SELECT zk_next_id('/tr/ids/app')$$,
    $$SELECT zk_counter_add('/tr/ids/app', 100)$$,
    $$SELECT zk_barrier_enter('/tr/barrier', 'eve', 1, '0 s')$$
  ]) WITH ORDINALITY AS t(stmt, ord) ORDER BY ord;
-- nothing of alice's moved
SELECT * FROM zk_get_children('/tr/lock');
SELECT convert_from(zk_queue_take('/tr/queue'), 'UTF8') AS still_queued;
SELECT candidate FROM zk_leader('/tr/elect');
SELECT convert_from(data, 'UTF8') AS counter FROM zk_get('/tr/ids/app');
-- an invalid acl is refused as zk_create refuses it
SELECT zk_as('alice', $$SELECT zk_lock('/tr/bad', NULL, ARRAY['nonsense'])$$) AS invalid_acl;
-- the default is the open ACL
SELECT zk_as('eve', $$SELECT (zk_lock('/tr/open') > 0)::text$$) AS eve_locks_open;
SELECT zk_get_acl('/tr/open') AS default_dir_acl;

--
-- 2. Children's data is read as zk_get reads it: an open directory with a
-- member, a candidate and an item that eve may not read.
--
SELECT zk_create('/tr/open_reg');
SELECT zk_create('/tr/open_elect');
SELECT zk_create('/tr/open_queue');
SELECT zk_as('alice', $$SELECT zk_register('/tr/open_reg', 'alice', 'a', ARRAY['pg:regress_zk_team:cdrwa'])$$);
SELECT zk_as('alice', $$SELECT (zk_elect('/tr/open_elect', 'alice', NULL, ARRAY['pg:regress_zk_team:cdrwa']) > 0)::text$$);
SELECT zk_as('alice', $$SELECT zk_queue_put('/tr/open_queue', 'secret job', ARRAY['pg:regress_zk_team:cdrwa'])$$) LIKE '/tr/open_queue/qn-%';
SELECT zk_get_acl('/tr/open_reg') AS open_dir;
SELECT stmt, zk_as('eve', stmt) AS eve, zk_as('alice', stmt) AS alice
  FROM unnest(ARRAY[
    $$SELECT count(*)::text FROM zk_get_children('/tr/open_reg')$$,
    $$SELECT string_agg(member || '=' || convert_from(data, 'UTF8'), ',') FROM zk_members('/tr/open_reg')$$,
    $$SELECT string_agg(candidate, ',') FROM zk_leader('/tr/open_elect')$$
  ]) WITH ORDINALITY AS t(stmt, ord) ORDER BY ord;
SELECT zk_as('eve', $$SELECT convert_from(zk_queue_take('/tr/open_queue', '0 s'), 'UTF8')$$) AS eve_takes;
SELECT count(*) AS item_still_there FROM zk_get_children('/tr/open_queue');
SELECT zk_as('alice', $$SELECT convert_from(zk_queue_take('/tr/open_queue', '0 s'), 'UTF8')$$) AS alice_takes;

--
-- 3. The views.  alice holds an open lock and watches a node; eve and stats
-- look.
--
SELECT zk_create('/tr/watched');
SELECT zk_create('/tr/hidden', NULL, 'persistent', ARRAY['pg:regress_zk_team:cdrwa']);
SELECT zk_as('alice', $$SELECT (zk_exists('/tr/watched', true) IS NOT NULL)::text$$) AS alice_watches;
SELECT zk_as('alice', $$SELECT (zk_exists('/tr/hidden/absent', true) IS NULL)::text$$) AS alice_watches_hidden;
SELECT zk_as('alice', $$SELECT (zk_lock('/tr/alock') > 0)::text$$) AS alice_locks_open;
SELECT zk_as('alice', 'SELECT zk_session_id()::text') AS alice_sid \gset
SELECT r AS reader,
       zk_as(r, format($$SELECT string_agg(coalesce(path, '(hidden)'), ',' ORDER BY path) FROM zkpg.watches WHERE session_id = %s$$, :alice_sid)) AS watches,
       zk_as(r, format($$SELECT string_agg(format('%%s pid=%%s ephemerals=%%s', timeout_ms > 0, backend_pid IS NOT NULL, ephemeral_count), ',') FROM zkpg.sessions WHERE session_id = %s$$, :alice_sid)) AS session,
       zk_as(r, format($$SELECT string_agg(format('%%s %%s token=%%s pid=%%s', path, kind, token IS NOT NULL, pid IS NOT NULL), ',' ORDER BY path) FROM zkpg.locks WHERE session_id = %s$$, :alice_sid)) AS locks
  FROM unnest(ARRAY['alice', 'eve', 'stats']) r;
-- a superuser sees everything
SELECT string_agg(path, ',' ORDER BY path) AS superuser_sees FROM zkpg.watches WHERE session_id = :alice_sid;
-- and what eve holds herself, she sees
SELECT zk_as('eve', $$SELECT string_agg(format('%s token=%s pid=%s', path, token IS NOT NULL, pid IS NOT NULL), ',') FROM zkpg.locks WHERE session_id = zk_session_id()$$) AS eve_sees_her_own;

SELECT dblink_disconnect(r) FROM unnest(ARRAY['alice', 'eve', 'stats']) r;
DROP FUNCTION zk_as(text, text);
DROP FUNCTION zk_test_sqlstate_value(text);
DROP ROLE regress_zk_alice, regress_zk_eve, regress_zk_stats, regress_zk_team;
DROP EXTENSION dblink;
