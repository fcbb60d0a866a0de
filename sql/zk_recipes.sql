--
-- zk_recipes: the recipes of API.md "Recipes", one call at a time: locks
-- (re-entrant with counted holds, timeouts, statement_timeout and
-- pg_cancel_backend, ROLLBACK, session end), read-write locks, semaphores,
-- leader election, zk_next_id, zk_counter_add, the registry, double
-- barriers, queues, fencing tokens (zk_op_fence in zk_multi), the
-- zkpg.locks view, the errors of every recipe function, and ACLs guarding
-- recipe nodes.  The isolation specs recipe_* cover waiting calls woken by
-- other sessions.
--
-- The second client is a dblink connection, "other"; this session is "me".
-- Tokens, zxids, session ids, pids and times are compared, never printed.
-- Root path /recipes.
--
\set SHOW_CONTEXT never
\set VERBOSITY default

CREATE EXTENSION dblink;


-- The result of a query sent with dblink_send_query (one text column), or
-- 'error SQLSTATE'; the connection is ready for the next query afterwards.
CREATE FUNCTION zk_test_remote_result(conn text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    r text;
BEGIN
    BEGIN
        SELECT t.v INTO r FROM dblink_get_result(conn) AS t(v text);
    EXCEPTION WHEN query_canceled OR OTHERS THEN    -- the remote's SQLSTATE
        r := 'error ' || SQLSTATE;
    END;
    PERFORM * FROM dblink_get_result(conn, false) AS t(v text);
    RETURN r;
END
$$;

-- Whose is a session id: 'me', 'other' or '-' (not a session's).
CREATE TABLE zk_test_client (name text PRIMARY KEY, sid bigint);
CREATE FUNCTION zk_test_owner(sid bigint) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN sid = 0 THEN '-'
                WHEN sid = zk_session_id() THEN 'me'
                ELSE coalesce((SELECT name FROM zk_test_client c WHERE c.sid = $1), 'unknown') END
$$;

-- The children of a recipe's path, with their owner.
CREATE FUNCTION zk_test_children(p text) RETURNS TABLE (child text, owner text)
LANGUAGE sql AS $$
    SELECT c, zk_test_owner((zk_exists(p || '/' || c)).ephemeral_owner)
      FROM zk_get_children(p) c ORDER BY c
$$;

-- zkpg.locks for one path, in node order, without tokens, pids and times.
CREATE FUNCTION zk_test_locks(p text)
RETURNS TABLE (kind text, node text, owner text, granted boolean, has_token boolean,
               waiting boolean)
LANGUAGE sql AS $$
    SELECT l.kind, l.node, zk_test_owner(l.session_id), l.granted, l.token IS NOT NULL,
           l.waiting_since IS NOT NULL
      FROM zkpg.locks l WHERE l.path = p ORDER BY right(l.node, 10)
$$;

-- /recipes and the paths of the recipes below are persistent nodes, so that
-- the container manager does not remove them between two calls (which
-- would restart their sequence numbers); /recipes/lock/a/b is made by
-- zk_lock, with containers.
SELECT zk_create(p) FROM unnest(ARRAY['/recipes', '/recipes/tx', '/recipes/contended',
    '/recipes/rw', '/recipes/sem', '/recipes/election', '/recipes/svc', '/recipes/barrier1',
    '/recipes/barrier2', '/recipes/queue', '/recipes/fenced', '/recipes/fsem',
    '/recipes/felect', '/recipes/long']) p;
SELECT dblink_connect('other', 'dbname=' || current_database());
INSERT INTO zk_test_client
     SELECT 'other', zk_test_remote('other', 'SELECT zk_session_id()')::bigint;
SELECT zk_test_remote('other', 'SELECT pg_backend_pid()') AS other_pid \gset

--
-- The contract's shapes: the recipe functions and zkpg.locks.
--
SELECT p.proname, pg_get_function_arguments(p.oid) AS arguments,
       pg_get_function_result(p.oid) AS result
  FROM pg_proc p
 WHERE p.pronamespace = 'public'::regnamespace
   AND p.proname IN ('zk_lock', 'zk_lock_shared', 'zk_lock_exclusive', 'zk_unlock',
                     'zk_semaphore_acquire', 'zk_semaphore_release', 'zk_elect',
                     'zk_resign', 'zk_leader', 'zk_next_id', 'zk_register', 'zk_members',
                     'zk_barrier_enter', 'zk_barrier_leave', 'zk_queue_put',
                     'zk_queue_take', 'zk_counter_add', 'zk_op_fence')
 ORDER BY p.proname;
SELECT attnum, attname, format_type(atttypid, atttypmod) AS type
  FROM pg_attribute
 WHERE attrelid = 'zkpg.locks'::regclass AND attnum > 0 AND NOT attisdropped
 ORDER BY attnum;

--
-- zk_lock: an ephemeral-sequential lock- child of the path; the missing
-- parents are created as containers; the token is the node's czxid.
--
SELECT zk_lock('/recipes/lock/a/b') AS t1 \gset
SELECT * FROM zk_test_children('/recipes/lock/a/b');
SELECT (zk_exists('/recipes/lock/a/b/lock-0000000000')).czxid = :t1 AS token_is_czxid;
SELECT path, kind = 1 AS container, ephemeral_owner <> 0 AS ephemeral
  FROM zkpg.znode WHERE path LIKE '/recipes/lock%' ORDER BY path;
SELECT (zk_exists('/recipes/lock')).ephemeral_owner AS container_owner;
SELECT kind, node, session_id = zk_session_id() AS own_session, token = :t1 AS token_ok,
       granted, pid = pg_backend_pid() AS own_pid, waiting_since IS NULL AS not_waiting
  FROM zkpg.locks WHERE path = '/recipes/lock/a/b';
-- re-entrant: the same token, one node, counted holds
SELECT zk_lock('/recipes/lock/a/b') = :t1 AS same_token,
       zk_lock('/recipes/lock/a/b', '0 s') = :t1 AS same_token_again;
SELECT * FROM zk_test_children('/recipes/lock/a/b');
SELECT zk_unlock('/recipes/lock/a/b') AS unlock1, zk_unlock('/recipes/lock/a/b') AS unlock2;
SELECT * FROM zk_test_children('/recipes/lock/a/b');
SELECT zk_unlock('/recipes/lock/a/b') AS unlock3;
SELECT zk_exists('/recipes/lock/a/b/lock-0000000000') IS NULL AS released;
SELECT zk_unlock('/recipes/lock/a/b') AS unlock_without_hold;
SELECT count(*) AS lock_rows FROM zkpg.locks WHERE path LIKE '/recipes/%';
-- a path never locked: false, and nothing is created
SELECT zk_unlock('/recipes/never') AS never_locked, zk_exists('/recipes/never') IS NULL AS absent;
-- the next holder's token is greater
SELECT zk_lock('/recipes/lock/a/b') > :t1 AS next_token_greater;
SELECT zk_unlock('/recipes/lock/a/b');
-- the containers go once their last child has gone (container manager)
SELECT zk_test_wait($$SELECT zk_exists('/recipes/lock') IS NULL$$) AS containers_gone;

-- Recipe calls are not undone by ROLLBACK; the holds are the session's.
BEGIN;
SELECT zk_lock('/recipes/tx') IS NOT NULL AS locked;
ROLLBACK;
SELECT owner, granted FROM zk_test_locks('/recipes/tx');
SELECT zk_unlock('/recipes/tx') AS unlocked;
-- what a session holds goes when it ends; its holds are forgotten
SELECT zk_lock('/recipes/tx') IS NOT NULL AS locked, zk_lock('/recipes/tx') IS NOT NULL AS twice;
SELECT zk_close_session();
SELECT count(*) AS lock_rows FROM zkpg.locks WHERE path = '/recipes/tx';
SELECT zk_unlock('/recipes/tx') AS holds_forgotten;
-- a hold whose node was deleted (here by another client) is forgotten: the
-- next zk_lock makes a new node, with a greater token
SELECT zk_lock('/recipes/tx') AS t3 \gset
SELECT c AS tx_node FROM zk_get_children('/recipes/tx') c \gset
SELECT zk_test_remote('other', format('SELECT zk_delete(%L)', '/recipes/tx/' || :'tx_node'))
       AS other_deletes;
SELECT zk_lock('/recipes/tx') > :t3 AS new_token_greater;
SELECT * FROM zk_test_children('/recipes/tx');
SELECT zk_unlock('/recipes/tx') AS unlocked, zk_unlock('/recipes/tx') AS nothing_left;
-- a recipe cannot live under an ephemeral node
SELECT zk_create('/recipes/eph', NULL, 'ephemeral');
SELECT zk_test_sqlstate($$SELECT zk_lock('/recipes/eph')$$);
SELECT zk_delete('/recipes/eph');

--
-- Contention, with "other" holding: a timeout returns NULL and removes the
-- waiter's node; statement_timeout and pg_cancel_backend end a wait and
-- the node goes too (its removal is queued, so wait for it).
--
SELECT zk_test_remote('other', $$SELECT zk_lock('/recipes/contended')$$) AS other_token \gset
SELECT zk_lock('/recipes/contended', '100 ms') IS NULL AS timed_out;
SELECT zk_lock('/recipes/contended', '0 s') IS NULL AS zero_timeout_does_not_wait;
SELECT * FROM zk_test_children('/recipes/contended');
SELECT * FROM zk_test_locks('/recipes/contended');
SET statement_timeout = '100ms';
SELECT zk_lock('/recipes/contended');
RESET statement_timeout;
SELECT zk_test_wait($$SELECT count(*) = 1 FROM zk_get_children('/recipes/contended')$$)
       AS cancelled_node_removed;
SELECT * FROM zk_test_children('/recipes/contended');
SELECT zk_unlock('/recipes/contended') AS not_mine_to_unlock;
SELECT zk_test_remote('other', $$SELECT zk_unlock('/recipes/contended')$$) AS other_unlocks;
SELECT zk_lock('/recipes/contended', '0 s') AS my_token \gset
SELECT :my_token > :other_token AS next_holder_token_greater;
-- other waits behind me, and is cancelled
SELECT dblink_send_query('other', $$SELECT zk_lock('/recipes/contended')$$);
SELECT zk_test_wait($$SELECT EXISTS (SELECT FROM zk_test_locks('/recipes/contended')
                                     WHERE owner = 'other' AND waiting)$$) AS other_waits;
SELECT * FROM zk_test_locks('/recipes/contended');
SELECT pg_cancel_backend(:other_pid);
SELECT zk_test_remote_result('other') AS other_cancelled;
SELECT zk_test_wait($$SELECT count(*) = 1 FROM zk_get_children('/recipes/contended')$$)
       AS cancelled_node_removed;
SELECT * FROM zk_test_children('/recipes/contended');
-- other waits behind me, and someone deletes its node: ZK101, not a hang
SELECT dblink_send_query('other', $$SELECT zk_lock('/recipes/contended')$$);
SELECT zk_test_wait($$SELECT EXISTS (SELECT FROM zk_test_locks('/recipes/contended')
                                     WHERE owner = 'other' AND waiting)$$) AS other_waits;
SELECT zk_delete('/recipes/contended/' || child) FROM zk_test_children('/recipes/contended')
 WHERE owner = 'other';
SELECT zk_test_remote_result('other') AS other_node_deleted;
SELECT * FROM zk_test_children('/recipes/contended');
SELECT zk_unlock('/recipes/contended');

--
-- Read-write locks: readers share; a writer waits for any earlier node; a
-- reader waits for an earlier writer; a session never waits for itself.
--
SELECT zk_test_remote('other', $$SELECT zk_lock_shared('/recipes/rw') IS NOT NULL$$) AS other_reads;
SELECT zk_lock_shared('/recipes/rw', '0 s') AS r1 \gset
SELECT :'r1' <> '' AS readers_share, zk_lock_shared('/recipes/rw') = :r1 AS shared_reentrant;
SELECT zk_lock_exclusive('/recipes/rw', '100 ms') IS NULL AS writer_waits_for_reader,
       zk_lock('/recipes/rw', '100 ms') IS NULL AS lock_waits_for_reader;
SELECT * FROM zk_test_children('/recipes/rw');
SELECT * FROM zk_test_locks('/recipes/rw');
SELECT zk_unlock('/recipes/rw') AS u1, zk_unlock('/recipes/rw') AS u2, zk_unlock('/recipes/rw') AS u3;
SELECT zk_test_remote('other', $$SELECT zk_unlock('/recipes/rw')$$) AS other_unlocks;
SELECT zk_test_remote('other', $$SELECT zk_lock_exclusive('/recipes/rw') IS NOT NULL$$) AS other_writes;
SELECT zk_lock_shared('/recipes/rw', '100 ms') IS NULL AS reader_waits_for_writer,
       zk_lock_exclusive('/recipes/rw', '100 ms') IS NULL AS writer_waits_for_writer,
       zk_lock('/recipes/rw', '100 ms') IS NULL AS lock_waits_for_writer;
SELECT * FROM zk_test_locks('/recipes/rw');
SELECT zk_test_remote('other', $$SELECT zk_unlock('/recipes/rw')$$) AS other_unlocks;
-- one session, every kind on one path: all granted; zk_unlock releases the
-- newest hold, whatever its kind
SELECT zk_lock_shared('/recipes/rw') IS NOT NULL AS r,
       zk_lock_exclusive('/recipes/rw', '0 s') IS NOT NULL AS w,
       zk_lock('/recipes/rw', '0 s') IS NOT NULL AS l;
SELECT * FROM zk_test_locks('/recipes/rw');
SELECT zk_unlock('/recipes/rw');
SELECT * FROM zk_get_children('/recipes/rw');
SELECT zk_unlock('/recipes/rw');
SELECT * FROM zk_get_children('/recipes/rw');
SELECT zk_unlock('/recipes/rw'), zk_unlock('/recipes/rw');
SELECT * FROM zk_get_children('/recipes/rw');

--
-- Semaphores: at most max_leases holders; wait- nodes queue, lease- nodes
-- hold; NULL on timeout, with the wait node removed.
--
SELECT zk_semaphore_acquire('/recipes/sem', 2) AS l1 \gset
SELECT zk_semaphore_acquire('/recipes/sem', 2) > :l1 AS second_lease_greater_token;
SELECT zk_semaphore_acquire('/recipes/sem', 2, '100 ms') IS NULL AS third_times_out;
SELECT zk_test_remote('other', $$SELECT zk_semaphore_acquire('/recipes/sem', 2, '0 s') IS NULL$$)
       AS other_times_out;
SELECT * FROM zk_test_children('/recipes/sem');
SELECT * FROM zk_test_locks('/recipes/sem');
SELECT zk_unlock('/recipes/sem') AS unlock_is_not_release;
SELECT zk_semaphore_release('/recipes/sem') AS released;
SELECT zk_test_remote('other', $$SELECT zk_semaphore_acquire('/recipes/sem', 2, '0 s') > 0$$)
       AS other_acquires;
SELECT * FROM zk_test_locks('/recipes/sem');
SELECT zk_semaphore_release('/recipes/sem') AS released, zk_semaphore_release('/recipes/sem') AS again;
SELECT zk_test_remote('other', $$SELECT zk_semaphore_release('/recipes/sem')$$) AS other_releases;
SELECT * FROM zk_get_children('/recipes/sem');

--
-- Leader election: the lowest candidate leads; a candidate whose zk_elect
-- timed out stays one and becomes leader when the leader resigns (and
-- learns it from a LeadershipAcquired event).
--
SELECT zk_elect('/recipes/election', 'alpha') AS e1 \gset
SELECT candidate, session_id = zk_session_id() AS mine, token = :e1 AS token_ok
  FROM zk_leader('/recipes/election');
SELECT * FROM zk_test_children('/recipes/election');
SELECT convert_from(data, 'UTF8') AS candidate
  FROM zk_get('/recipes/election/candidate-0000000000');
SELECT zk_elect('/recipes/election', 'alpha', '0 s') = :e1 AS elect_again_same_token;
SELECT * FROM zk_test_children('/recipes/election');
SELECT zk_test_remote('other', $$SELECT zk_elect('/recipes/election', 'beta', '100 ms') IS NULL$$)
       AS other_timed_out;
SELECT * FROM zk_test_locks('/recipes/election');
SELECT candidate FROM zk_leader('/recipes/election');
SELECT zk_resign('/recipes/election') AS resigned, zk_resign('/recipes/election') AS again;
SELECT candidate, zk_test_owner(session_id) AS owner, token > :e1 AS token_greater
  FROM zk_leader('/recipes/election');
SELECT zk_test_wait($$SELECT EXISTS (SELECT FROM dblink_get_notify('other') n
                                     WHERE n.extra::json->>'type' = 'LeadershipAcquired'
                                       AND n.extra::json->>'path' = '/recipes/election'
                                       AND (n.extra::json->>'token')::bigint =
                                           (SELECT token FROM zk_leader('/recipes/election')))$$)
       AS other_notified;
SELECT zk_test_remote('other', $$SELECT zk_elect('/recipes/election', 'beta', '0 s') =
                                        (SELECT token FROM zk_leader('/recipes/election'))$$)
       AS other_elect_returns_its_token;
SELECT zk_test_remote('other', $$SELECT zk_resign('/recipes/election')$$) AS other_resigns;
SELECT count(*) AS leaders FROM zk_leader('/recipes/election');
SELECT count(*) AS leaders FROM zk_leader('/recipes/no_election');
SELECT zk_resign('/recipes/no_election') AS not_a_candidate,
       zk_exists('/recipes/no_election') IS NULL AS absent;
UNLISTEN *;

--
-- zk_next_id: 1, 2, 3 per path, no wrap at 2^31, no node per id.
--
SELECT zk_next_id('/recipes/ids/a') AS a1, zk_next_id('/recipes/ids/a') AS a2,
       zk_next_id('/recipes/ids/a') AS a3, zk_next_id('/recipes/ids/b') AS b1;
SELECT zk_test_remote('other', $$SELECT zk_next_id('/recipes/ids/a')$$) AS other_a4;
SELECT * FROM zk_get_children('/recipes/ids');
SELECT num_children FROM zk_get('/recipes/ids/a');
SELECT (zk_set('/recipes/ids/b', '2147483647')).version;
SELECT zk_next_id('/recipes/ids/b') AS past_int32;

--
-- zk_counter_add: the decimal data of the path, by compare-and-set.
--
SELECT zk_counter_add('/recipes/counter') AS plus_default,
       zk_counter_add('/recipes/counter', 5) AS plus5,
       zk_counter_add('/recipes/counter', -10) AS minus10,
       zk_counter_add('/recipes/counter', 0) AS plus0;
SELECT convert_from(data, 'UTF8') AS data, version FROM zk_get('/recipes/counter');
SELECT zk_test_remote('other', $$SELECT zk_counter_add('/recipes/counter', 7)$$) AS other_adds;
SELECT zk_create('/recipes/counter_text', 'ten');
SELECT zk_test_sqlstate($$SELECT zk_counter_add('/recipes/counter_text')$$);
SELECT convert_from(data, 'UTF8') AS unchanged FROM zk_get('/recipes/counter_text');
SELECT zk_create('/recipes/counter_empty');
SELECT zk_counter_add('/recipes/counter_empty', 3) AS empty_counts_as_zero;
SELECT zk_create('/recipes/counter_max', '9223372036854775807');
SELECT zk_test_sqlstate($$SELECT zk_counter_add('/recipes/counter_max')$$);
-- a NULL delta, and data that is not plainly decimal
SELECT zk_test_sqlstate($$SELECT zk_counter_add('/recipes/counter', NULL)$$) AS null_delta;
SELECT zk_create('/recipes/counter_space', ' 5');
SELECT zk_test_sqlstate($$SELECT zk_counter_add('/recipes/counter_space')$$) AS leading_space;
-- a counter's text has at most 20 bytes, leading zeros or not
SELECT zk_create('/recipes/counter_long', '000000000000000000001');
SELECT zk_test_sqlstate($$SELECT zk_counter_add('/recipes/counter_long')$$) AS too_long;

--
-- The registry: ephemeral path/member nodes; ZK110 for a member that exists.
--
SELECT zk_register('/recipes/svc', 'web-2', 'host2:80'), zk_register('/recipes/svc', 'web-1');
SELECT zk_test_remote('other', $$SELECT zk_register('/recipes/svc', 'web-3', 'host3:80')$$);
SELECT zk_test_sqlstate($$SELECT zk_register('/recipes/svc', 'web-1')$$);
SELECT zk_test_remote('other', $$SELECT zk_register('/recipes/svc', 'web-2')$$) AS other_dup;
SELECT member, convert_from(data, 'UTF8') AS data, zk_test_owner(session_id) AS owner
  FROM zk_members('/recipes/svc');
SELECT * FROM zk_test_children('/recipes/svc');
SELECT count(*) AS members FROM zk_members('/recipes/no_svc');
-- with watch: a child watch on the path
SELECT count(*) AS members FROM zk_members('/recipes/svc', true);
SELECT path, kind FROM zkpg.watches WHERE session_id = zk_session_id();
SELECT zk_remove_watches('/recipes/svc');
UNLISTEN *;
-- other watches; my leaving member changes the membership
SELECT zk_test_remote('other', $$SELECT count(*) FROM zk_members('/recipes/svc', true)$$) AS other_sees;
SELECT zk_delete('/recipes/svc/web-1');
SELECT zk_test_wait($$SELECT EXISTS (SELECT FROM dblink_get_notify('other') n
                                     WHERE n.extra::json->>'type' = 'NodeChildrenChanged'
                                       AND n.extra::json->>'path' = '/recipes/svc')$$)
       AS other_notified;
SELECT member FROM zk_members('/recipes/svc');

--
-- Double barrier: enter returns true once parties members are in (the
-- last creates "ready"); leave returns once all have left.
--
SELECT zk_barrier_enter('/recipes/barrier1', 'm1', 1) AS entered;
SELECT * FROM zk_test_children('/recipes/barrier1');
SELECT zk_barrier_leave('/recipes/barrier1', 'm1') AS left;
SELECT * FROM zk_get_children('/recipes/barrier1');
-- two parties, one in: false after the timeout, and the member node goes
SELECT zk_barrier_enter('/recipes/barrier2', 'm1', 2, '100 ms') AS entered;
SELECT * FROM zk_get_children('/recipes/barrier2');
-- two parties: other waits in enter until I come; I wait in leave until it goes
SELECT dblink_send_query('other', $$SELECT zk_barrier_enter('/recipes/barrier2', 'm2', 2)::text$$);
SELECT zk_test_wait($$SELECT zk_exists('/recipes/barrier2/m2') IS NOT NULL$$) AS other_in;
SELECT zk_barrier_enter('/recipes/barrier2', 'm1', 2) AS entered;
SELECT zk_test_remote_result('other') AS other_entered;
SELECT * FROM zk_test_children('/recipes/barrier2');
SELECT dblink_send_query('other', $$SELECT zk_barrier_leave('/recipes/barrier2', 'm2')::text$$);
SELECT zk_barrier_leave('/recipes/barrier2', 'm1') AS left;
SELECT zk_test_remote_result('other') AS other_left;
SELECT * FROM zk_get_children('/recipes/barrier2');

--
-- Queues: persistent-sequential qn- items, taken in FIFO order.
--
SELECT zk_queue_put('/recipes/queue', 'one'), zk_queue_put('/recipes/queue', 'two');
SELECT zk_test_remote('other', $$SELECT zk_queue_put('/recipes/queue', 'three')$$);
SELECT zk_queue_put('/recipes/queue', NULL);
SELECT * FROM zk_test_children('/recipes/queue');
SELECT convert_from(zk_queue_take('/recipes/queue'), 'UTF8') AS first,
       convert_from(zk_queue_take('/recipes/queue'), 'UTF8') AS second;
SELECT zk_test_remote('other', $$SELECT convert_from(zk_queue_take('/recipes/queue'), 'UTF8')$$)
       AS other_takes;
SELECT zk_queue_take('/recipes/queue') AS null_data_is_empty;
SELECT zk_queue_take('/recipes/queue', '100 ms') IS NULL AS empty_times_out;
SELECT zk_queue_take('/recipes/no_queue', '0 s') IS NULL AS absent_times_out,
       zk_exists('/recipes/no_queue') IS NULL AS still_absent;
SELECT * FROM zk_get_children('/recipes/queue');
-- a waiting taker gets the next item put
SELECT dblink_send_query('other', $$SELECT convert_from(zk_queue_take('/recipes/queue'), 'UTF8')$$);
SELECT zk_test_wait($$SELECT EXISTS (SELECT FROM zkpg.watches w JOIN zk_test_client c ON c.sid = w.session_id
                                     WHERE c.name = 'other' AND w.path = '/recipes/queue'
                                       AND w.kind = 'recipe')$$) AS other_waits;
SELECT zk_queue_put('/recipes/queue', 'four');
SELECT zk_test_remote_result('other') AS other_took;
SELECT * FROM zk_get_children('/recipes/queue');

--
-- zk_op_fence: a zk_multi op that holds only while the token's holder
-- holds the path; a failed fence applies nothing.
--
SELECT zk_create('/recipes/resource', 'v0');
SELECT zk_op_fence('/recipes/fenced', 42) AS op;
SELECT zk_lock('/recipes/fenced') AS ft \gset
SELECT op_index, op, path, (stat).version
  FROM zk_multi(zk_op_fence('/recipes/fenced', :ft), zk_op_set('/recipes/resource', 'v1', -1));
SELECT zk_unlock('/recipes/fenced');
SELECT zk_test_sqlstate(format($f$SELECT * FROM zk_multi(zk_op_fence('/recipes/fenced', %s),
                                   zk_op_set('/recipes/resource', 'v2', -1))$f$, :ft)) AS fence_first;
SELECT zk_test_sqlstate(format($f$SELECT * FROM zk_multi(zk_op_set('/recipes/resource', 'v2', -1),
                                   zk_op_create('/recipes/made', NULL, 'persistent', NULL),
                                   zk_op_fence('/recipes/fenced', %s))$f$, :ft)) AS fence_last;
SELECT convert_from(data, 'UTF8') AS data, version FROM zk_get('/recipes/resource');
SELECT zk_exists('/recipes/made') IS NULL AS not_made;
-- a stale holder: other holds now; my old token fails, its token passes
SELECT zk_test_remote('other', $$SELECT zk_lock('/recipes/fenced')$$) AS ot \gset
SELECT :ot > :ft AS new_token_greater;
SELECT zk_test_code(format($f$SELECT * FROM zk_multi(zk_op_fence('/recipes/fenced', %s),
                               zk_op_set('/recipes/resource', 'v3', -1))$f$, :ft)) AS stale_token;
SELECT op_index, op, path
  FROM zk_multi(zk_op_fence('/recipes/fenced', :ot), zk_op_set('/recipes/resource', 'v3', -1));
-- the token names a child of the path: another path does not match
SELECT zk_test_code(format($f$SELECT * FROM zk_multi(zk_op_fence('/recipes', %s))$f$, :ot)) AS other_path;
SELECT zk_test_remote('other', $$SELECT zk_unlock('/recipes/fenced')$$) AS other_unlocks;
SELECT zk_test_code(format($f$SELECT * FROM zk_multi(zk_op_fence('/recipes/fenced', %s))$f$, :ot)) AS after_unlock;
SELECT convert_from(data, 'UTF8') AS data, version FROM zk_get('/recipes/resource');
-- tokens of the other recipes fence too: a semaphore lease, a leadership
SELECT zk_semaphore_acquire('/recipes/fsem', 1) AS st \gset
SELECT count(*) AS ops FROM zk_multi(zk_op_fence('/recipes/fsem', :st));
SELECT zk_semaphore_release('/recipes/fsem');
SELECT zk_test_code(format($f$SELECT * FROM zk_multi(zk_op_fence('/recipes/fsem', %s))$f$, :st)) AS released;
SELECT zk_elect('/recipes/felect', 'me') AS et \gset
SELECT count(*) AS ops FROM zk_multi(zk_op_fence('/recipes/felect', :et));
SELECT zk_resign('/recipes/felect');
SELECT zk_test_code(format($f$SELECT * FROM zk_multi(zk_op_fence('/recipes/felect', %s))$f$, :et)) AS resigned;
UNLISTEN *;
-- bad fences
SELECT stmt, zk_test_sqlstate(stmt) AS result
  FROM unnest(ARRAY[
    $$SELECT * FROM zk_multi(zk_op_fence('/recipes/fenced', 0))$$,
    $$SELECT * FROM zk_multi(zk_op_fence('/recipes/fenced', -5))$$,
    $$SELECT * FROM zk_multi(zk_op_fence('/recipes/fenced', NULL))$$,
    $$SELECT * FROM zk_multi(zk_op_fence('recipes', 5))$$,
    $$SELECT * FROM zk_multi(zk_op_fence('/recipes/', 5))$$,
    $$SELECT * FROM zk_multi(zk_op_fence(NULL, 5))$$,
    $$SELECT * FROM zk_multi(zk_op_fence('/recipes/no_such_lock', 5))$$
  ]) WITH ORDINALITY AS t(stmt, ord) ORDER BY ord;

--
-- Errors: ZK008 for bad paths, '/' and /zookeeper as a recipe's path,
-- negative timeouts, max_leases and parties below 1, bad member names, the
-- barrier's "ready", a NULL candidate; nothing is created by a refused call.
--
-- codes for the paths NULL, recipes, /recipes/, /recipes//x, /recipes/./x,
-- /recipes/../x, /, /zookeeper, /zookeeper/quota, /zookeeper/config,
-- /zookeeper/x
SELECT fn, array_agg(zk_test_code(format(fn, p)) ORDER BY ord) AS codes
  FROM unnest(ARRAY[
         'SELECT zk_lock(%L)', 'SELECT zk_lock_shared(%L)', 'SELECT zk_lock_exclusive(%L)',
         'SELECT zk_unlock(%L)', 'SELECT zk_semaphore_acquire(%L, 1)',
         'SELECT zk_semaphore_release(%L)', 'SELECT zk_elect(%L, ''c'')',
         'SELECT zk_resign(%L)', 'SELECT * FROM zk_leader(%L)', 'SELECT zk_next_id(%L)',
         'SELECT zk_register(%L, ''m'')', 'SELECT * FROM zk_members(%L)',
         'SELECT zk_barrier_enter(%L, ''m'', 1)', 'SELECT zk_barrier_leave(%L, ''m'')',
         'SELECT zk_queue_put(%L, ''x'')', 'SELECT zk_queue_take(%L, ''0 s'')',
         'SELECT zk_counter_add(%L)']) WITH ORDINALITY AS f(fn, ford),
       unnest(ARRAY[NULL, 'recipes', '/recipes/', '/recipes//x', '/recipes/./x',
                    '/recipes/../x', '/', '/zookeeper', '/zookeeper/quota',
                    '/zookeeper/config', '/zookeeper/x']) WITH ORDINALITY AS t(p, ord)
 GROUP BY fn, ford ORDER BY ford;
SELECT zk_test_sqlstate($$SELECT zk_lock('/zookeeper')$$);
SELECT zk_test_sqlstate($$SELECT zk_lock('/recipes/')$$);
SELECT zk_test_sqlstate($$SELECT zk_lock('/recipes/bad', '-1 s')$$);
-- a positive timeout is never refused, however long (nothing holds this lock)
SELECT zk_test_sqlstate($$SELECT zk_lock('/recipes/long', '1000000 years')$$) AS long_timeout;
SELECT zk_unlock('/recipes/long');
SELECT stmt, zk_test_code(stmt) AS result
  FROM unnest(ARRAY[
    $$SELECT zk_lock('/recipes/bad', '-1 ms')$$,
    $$SELECT zk_lock_shared('/recipes/bad', '-1 ms')$$,
    $$SELECT zk_lock_exclusive('/recipes/bad', '-1 ms')$$,
    $$SELECT zk_semaphore_acquire('/recipes/bad', 1, '-1 ms')$$,
    $$SELECT zk_elect('/recipes/bad', 'c', '-1 ms')$$,
    $$SELECT zk_barrier_enter('/recipes/bad', 'm', 1, '-1 ms')$$,
    $$SELECT zk_barrier_leave('/recipes/bad', 'm', '-1 ms')$$,
    $$SELECT zk_queue_take('/recipes/bad', '-1 ms')$$,
    $$SELECT zk_lock('/recipes/bad', '1 day -1 mon')$$,
    $$SELECT zk_semaphore_acquire('/recipes/bad', 0)$$,
    $$SELECT zk_semaphore_acquire('/recipes/bad', -1)$$,
    $$SELECT zk_semaphore_acquire('/recipes/bad', NULL)$$,
    $$SELECT zk_barrier_enter('/recipes/bad', 'm', 0)$$,
    $$SELECT zk_barrier_enter('/recipes/bad', 'm', -2)$$,
    $$SELECT zk_barrier_enter('/recipes/bad', 'm', NULL)$$,
    $$SELECT zk_elect('/recipes/bad', NULL)$$
  ]) WITH ORDINALITY AS t(stmt, ord) ORDER BY ord;
SELECT zk_test_sqlstate($$SELECT zk_semaphore_acquire('/recipes/bad', 0)$$);
SELECT zk_test_sqlstate($$SELECT zk_barrier_enter('/recipes/bad', 'm', 0)$$);
SELECT zk_test_sqlstate($$SELECT zk_elect('/recipes/bad', NULL)$$);
-- member names: one znode name; codes for NULL, '', a/b, /a, a/, ., ..,
-- a + chr(1)
SELECT fn, array_agg(zk_test_code(format(fn, m)) ORDER BY ord) AS codes
  FROM unnest(ARRAY['SELECT zk_register(''/recipes/bad'', %L)',
                    'SELECT zk_barrier_enter(''/recipes/bad'', %L, 1)',
                    'SELECT zk_barrier_leave(''/recipes/bad'', %L)']) AS fn,
       unnest(ARRAY[NULL, '', 'a/b', '/a', 'a/', '.', '..', 'a' || chr(1)])
         WITH ORDINALITY AS t(m, ord)
 GROUP BY fn ORDER BY fn;
SELECT zk_test_sqlstate($$SELECT zk_register('/recipes/bad', 'a/b')$$);
-- "ready" is the barrier's own node (a registry may have a member so named)
SELECT zk_test_sqlstate($$SELECT zk_barrier_enter('/recipes/bad', 'ready', 1)$$);
SELECT zk_test_code($$SELECT zk_barrier_leave('/recipes/bad', 'ready')$$) AS leave_ready;
-- nothing was created
SELECT zk_exists('/recipes/bad') IS NULL AS bad_absent, zk_exists('/recipes/x') IS NULL AS x_absent,
       zk_exists('/zookeeper/x') IS NULL AS zookeeper_x_absent;
SELECT * FROM zk_get_children('/zookeeper');
SELECT * FROM zk_get_children('/recipes');

--
-- ACLs guard recipe nodes (superusers bypass them, so as a plain role):
-- READ on the path to list its nodes, CREATE to add one; a call refused
-- after it created its node removes it.
--
CREATE ROLE regress_zk_recipes;
CREATE ROLE regress_zk_recipes2;
SELECT zk_create('/recipes/acl');
SELECT zk_create('/recipes/acl/noread', NULL, 'persistent', '{world:anyone:cdwa}');
SELECT zk_create('/recipes/acl/nocreate', NULL, 'persistent', '{world:anyone:rdwa}');
SELECT zk_create('/recipes/acl/pg', NULL, 'persistent', '{pg:regress_zk_recipes:cdrwa}');
SET ROLE regress_zk_recipes;
SELECT stmt, zk_test_code(stmt) AS result
  FROM unnest(ARRAY[
    $$SELECT zk_lock('/recipes/acl/noread')$$,
    $$SELECT zk_lock_shared('/recipes/acl/noread')$$,
    $$SELECT zk_lock_exclusive('/recipes/acl/noread')$$,
    $$SELECT zk_semaphore_acquire('/recipes/acl/noread', 1)$$,
    $$SELECT zk_elect('/recipes/acl/noread', 'c')$$,
    $$SELECT zk_resign('/recipes/acl/noread')$$,
    $$SELECT * FROM zk_leader('/recipes/acl/noread')$$,
    $$SELECT * FROM zk_members('/recipes/acl/noread')$$,
    $$SELECT zk_barrier_enter('/recipes/acl/noread', 'm', 1, '0 s')$$,
    $$SELECT zk_barrier_leave('/recipes/acl/noread', 'm', '0 s')$$,
    $$SELECT zk_queue_take('/recipes/acl/noread', '0 s')$$,
    $$SELECT zk_next_id('/recipes/acl/noread')$$,
    $$SELECT zk_counter_add('/recipes/acl/noread')$$,
    $$SELECT zk_lock('/recipes/acl/nocreate')$$,
    $$SELECT zk_semaphore_acquire('/recipes/acl/nocreate', 1)$$,
    $$SELECT zk_elect('/recipes/acl/nocreate', 'c')$$,
    $$SELECT zk_register('/recipes/acl/nocreate', 'm')$$,
    $$SELECT zk_queue_put('/recipes/acl/nocreate', 'x')$$,
    $$SELECT zk_lock('/recipes/acl/nocreate/sub')$$
  ]) WITH ORDINALITY AS t(stmt, ord) ORDER BY ord;
SELECT zk_test_sqlstate($$SELECT zk_lock('/recipes/acl/noread')$$);
SELECT zk_test_sqlstate($$SELECT * FROM zk_members('/recipes/acl/noread')$$);
SELECT zk_test_sqlstate($$SELECT zk_lock('/recipes/acl/nocreate')$$);
-- pg:ROLE: the role may, another may not
SELECT zk_lock('/recipes/acl/pg') IS NOT NULL AS role_locks;
SELECT zk_unlock('/recipes/acl/pg');
SET ROLE regress_zk_recipes2;
SELECT zk_test_sqlstate($$SELECT zk_lock('/recipes/acl/pg')$$);
-- a zk_unlock refused (no DELETE on the path) keeps the hold, for a retry
SET ROLE regress_zk_recipes;
SELECT zk_lock('/recipes/acl/pg') IS NOT NULL AS role_locks;
RESET ROLE;
SELECT (zk_set_acl('/recipes/acl/pg', '{pg:regress_zk_recipes:crwa}')).aversion;
SET ROLE regress_zk_recipes;
SELECT zk_test_sqlstate($$SELECT zk_unlock('/recipes/acl/pg')$$) AS refused;
SELECT count(*) AS lock_nodes FROM zk_get_children('/recipes/acl/pg');
RESET ROLE;
SELECT (zk_set_acl('/recipes/acl/pg', '{pg:regress_zk_recipes:cdrwa}')).aversion;
SET ROLE regress_zk_recipes;
SELECT zk_unlock('/recipes/acl/pg') AS retried, zk_unlock('/recipes/acl/pg') AS no_more;
RESET ROLE;
-- the nodes of the refused calls are gone (their removal is queued)
SELECT zk_test_wait($$SELECT zk_count_children('/recipes/acl/noread') = 0$$)
       AS refused_nodes_removed;
SELECT * FROM zk_get_children('/recipes/acl/noread');
SELECT * FROM zk_get_children('/recipes/acl/pg');
DROP ROLE regress_zk_recipes;
DROP ROLE regress_zk_recipes2;

SELECT zk_test_remote('other', 'SELECT zk_close_session()') AS closed;
SELECT dblink_disconnect('other');
SELECT zk_close_session();
SELECT count(*) AS lock_rows FROM zkpg.locks WHERE path LIKE '/recipes/%';
DROP FUNCTION zk_test_remote_result(text);
DROP FUNCTION zk_test_locks(text);
DROP FUNCTION zk_test_children(text);
DROP FUNCTION zk_test_owner(bigint);
DROP TABLE zk_test_client;
DROP EXTENSION dblink;
