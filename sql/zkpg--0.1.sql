/* zkpg--0.1.sql: ZooKeeper as a PostgreSQL extension */

\echo Use "CREATE EXTENSION zkpg" to load this file. \quit

CREATE SCHEMA zkpg;

-- The znode tree.  cversion is derived: 2 * child_creates - num_children.
CREATE TABLE zkpg.znode (
	path			text COLLATE "C" PRIMARY KEY,
	parent			text COLLATE "C" NOT NULL,
	data			bytea NOT NULL,
	acl				text[] NOT NULL,
	czxid			bigint NOT NULL,
	mzxid			bigint NOT NULL,
	pzxid			bigint NOT NULL,
	ctime			timestamptz NOT NULL,
	mtime			timestamptz NOT NULL,
	version			integer NOT NULL,
	aversion		integer NOT NULL,
	child_creates	integer NOT NULL,
	num_children	integer NOT NULL,
	ephemeral_owner bigint NOT NULL,
	kind			smallint NOT NULL,		-- 0 normal, 1 container, 2 TTL
	ttl_ms			bigint NOT NULL
);
CREATE INDEX znode_children ON zkpg.znode (parent, path);
CREATE INDEX znode_ephemerals ON zkpg.znode (ephemeral_owner) WHERE ephemeral_owner <> 0;
CREATE INDEX znode_containers ON zkpg.znode (kind) WHERE kind <> 0;

-- Open sessions, created and closed by txns.
CREATE TABLE zkpg.session (
	session_id		bigint PRIMARY KEY,
	owner			integer NOT NULL,
	timeout_ms		integer NOT NULL,
	created_zxid	bigint NOT NULL
);

-- The txn log: encoded txns by zxid.
CREATE TABLE zkpg.txnlog (
	zxid			bigint PRIMARY KEY,
	txn				bytea NOT NULL
);

-- acceptedEpoch, currentEpoch, applied zxid.
CREATE TABLE zkpg.peer_state (
	key				text PRIMARY KEY,
	value			bigint NOT NULL
);
-- the applier and a SNAP install lock this row: it must exist from the start
INSERT INTO zkpg.peer_state (key, value) VALUES ('applied_zxid', 0);

REVOKE ALL ON ALL TABLES IN SCHEMA zkpg FROM PUBLIC;
GRANT USAGE ON SCHEMA zkpg TO PUBLIC;

CREATE FUNCTION zkpg.initialize_tree() RETURNS void
	AS 'MODULE_PATHNAME', 'zkpg_initialize_tree' LANGUAGE C;
SELECT zkpg.initialize_tree();
DROP FUNCTION zkpg.initialize_tree();

-- ZooKeeper's Stat.
CREATE TYPE zk_stat AS (
	czxid			bigint,
	mzxid			bigint,
	ctime			timestamptz,
	mtime			timestamptz,
	version			integer,
	cversion		integer,
	aversion		integer,
	ephemeral_owner bigint,
	data_length		integer,
	num_children	integer,
	pzxid			bigint
);

-- One op of zk_multi; build it with the zk_op_* functions.
CREATE TYPE zk_op AS (
	op				text,
	path			text,
	data			bytea,
	version			integer,
	mode			text,
	acl				text[],
	ttl_ms			bigint
);

-- Writes
CREATE FUNCTION zk_create(path text, data bytea DEFAULT NULL, mode text DEFAULT 'persistent',
						  acl text[] DEFAULT NULL, ttl_ms bigint DEFAULT NULL)
	RETURNS text AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_set(path text, data bytea, version integer DEFAULT -1)
	RETURNS zk_stat AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_delete(path text, version integer DEFAULT -1)
	RETURNS void AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_set_acl(path text, acl text[], aversion integer DEFAULT -1)
	RETURNS zk_stat AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_multi(VARIADIC ops zk_op[])
	RETURNS TABLE (op_index integer, op text, path text, stat zk_stat)
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_sync(path text DEFAULT '/')
	RETURNS void AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION zk_op_create(path text, data bytea DEFAULT NULL, mode text DEFAULT 'persistent',
							 acl text[] DEFAULT NULL)
	RETURNS zk_op LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT ROW('create', path, data, NULL, mode, acl, NULL)::zk_op $$;
CREATE FUNCTION zk_op_set(path text, data bytea, version integer DEFAULT -1)
	RETURNS zk_op LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT ROW('set', path, data, version, NULL, NULL, NULL)::zk_op $$;
CREATE FUNCTION zk_op_delete(path text, version integer DEFAULT -1)
	RETURNS zk_op LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT ROW('delete', path, NULL, version, NULL, NULL, NULL)::zk_op $$;
CREATE FUNCTION zk_op_check(path text, version integer)
	RETURNS zk_op LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT ROW('check', path, NULL, version, NULL, NULL, NULL)::zk_op $$;

-- Watches: events arrive as NOTIFYs on zk_watch_channel()
CREATE FUNCTION zk_watch_channel()
	RETURNS text AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_add_watch(path text, recursive boolean DEFAULT false)
	RETURNS void AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_remove_watches(path text, watch_type text DEFAULT 'any')
	RETURNS void AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Reads
CREATE FUNCTION zk_get(path text, watch boolean DEFAULT false)
	RETURNS TABLE (data bytea, czxid bigint, mzxid bigint, ctime timestamptz,
				   mtime timestamptz, version integer, cversion integer, aversion integer,
				   ephemeral_owner bigint, data_length integer, num_children integer,
				   pzxid bigint)
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1;
CREATE FUNCTION zk_exists(path text, watch boolean DEFAULT false)
	RETURNS zk_stat AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_get_children(path text, watch boolean DEFAULT false)
	RETURNS SETOF text AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_get_acl(path text)
	RETURNS text[] AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_count_children(path text)
	RETURNS integer AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_get_ephemerals(prefix text DEFAULT '/')
	RETURNS SETOF text AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Sessions
CREATE FUNCTION zk_session_id()
	RETURNS bigint AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_session_timeout()
	RETURNS integer AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_close_session()
	RETURNS void AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_add_auth(scheme text, auth text)
	RETURNS void AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Close another session now, as if it had expired (superusers only).
CREATE FUNCTION zkpg.kill_session(session_id bigint)
	RETURNS boolean AS 'MODULE_PATHNAME', 'zkpg_kill_session' LANGUAGE C VOLATILE;
REVOKE EXECUTE ON FUNCTION zkpg.kill_session(bigint) FROM PUBLIC;

-- Observability
CREATE FUNCTION zkpg.status_info(
	OUT myid integer, OUT replication text, OUT state text, OUT leader_id integer,
	OUT epoch bigint, OUT last_logged_zxid bigint, OUT committed_zxid bigint,
	OUT applied_zxid bigint, OUT outstanding_requests integer, OUT znode_count bigint,
	OUT session_count integer, OUT watch_count integer, OUT write_latency_min_ms float8,
	OUT write_latency_avg_ms float8, OUT write_latency_max_ms float8,
	OUT writes_measured bigint, OUT database text, OUT read_only boolean,
	OUT not_serving_reason text)
	RETURNS record AS 'MODULE_PATHNAME', 'zkpg_status_info' LANGUAGE C VOLATILE;
CREATE VIEW zkpg.status AS SELECT * FROM zkpg.status_info();
GRANT SELECT ON zkpg.status TO PUBLIC;

-- visible: may the current role see the session's details (as
-- pg_stat_activity: its own role's, or as superuser or pg_read_all_stats)
CREATE FUNCTION zkpg.local_sessions(OUT session_id bigint, OUT pid integer, OUT state text,
	OUT visible boolean)
	RETURNS SETOF record AS 'MODULE_PATHNAME', 'zkpg_local_sessions' LANGUAGE C VOLATILE;
CREATE VIEW zkpg.sessions AS
	SELECT s.session_id, s.owner AS owner_id, s.timeout_ms,
		   CASE WHEN v.visible THEN l.pid END AS backend_pid,
		   CASE WHEN v.visible THEN
			   (SELECT count(*) FROM zkpg.znode z WHERE z.ephemeral_owner = s.session_id) END
		   AS ephemeral_count
	  FROM zkpg.session s LEFT JOIN zkpg.local_sessions() l ON l.session_id = s.session_id
	 CROSS JOIN LATERAL (SELECT coalesce(l.visible, pg_has_role('pg_read_all_stats', 'USAGE'))
						 AS visible) v;
GRANT SELECT ON zkpg.sessions TO PUBLIC;

CREATE FUNCTION zkpg.local_watches(OUT session_id bigint, OUT path text, OUT kind text)
	RETURNS SETOF record AS 'MODULE_PATHNAME', 'zkpg_local_watches' LANGUAGE C VOLATILE;
CREATE VIEW zkpg.watches AS SELECT * FROM zkpg.local_watches();
GRANT SELECT ON zkpg.watches TO PUBLIC;

-- Checks, for superusers: the digest of the tree and of the tree that
-- replaying the whole log from scratch gives.
CREATE FUNCTION zkpg.tree_digest() RETURNS text
	AS 'MODULE_PATHNAME', 'zkpg_tree_digest' LANGUAGE C VOLATILE;
CREATE FUNCTION zkpg.log_replay_digest() RETURNS text
	AS 'MODULE_PATHNAME', 'zkpg_log_replay_digest' LANGUAGE C VOLATILE;
REVOKE EXECUTE ON FUNCTION zkpg.tree_digest() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION zkpg.log_replay_digest() FROM PUBLIC;

-- Self-test of the network-facing decoders (superusers only).
CREATE FUNCTION zkpg.fuzz_codec(iterations integer DEFAULT 10000, seed bigint DEFAULT 1)
	RETURNS bigint AS '$libdir/zkpg_test', 'zkpg_fuzz_codec' LANGUAGE C VOLATILE STRICT;
REVOKE EXECUTE ON FUNCTION zkpg.fuzz_codec(integer, bigint) FROM PUBLIC;

-- Property test of "a logged txn always applies" (superusers only):
-- random requests through the entry check, the decoders, the request
-- processor and the applier, on a scratch tree.
CREATE FUNCTION zkpg.check_pipeline(iterations integer DEFAULT 2000, seed bigint DEFAULT 1,
	OUT requests bigint, OUT refused bigint, OUT logged bigint, OUT error_txns bigint,
	OUT apply_failures bigint, OUT first_failure text)
	RETURNS record AS '$libdir/zkpg_test', 'zkpg_check_pipeline' LANGUAGE C VOLATILE STRICT;
REVOKE EXECUTE ON FUNCTION zkpg.check_pipeline(integer, bigint) FROM PUBLIC;

-- Pause points, for tests that force an interleaving (superusers only):
-- 'arm' name, 'reached' (a process waits there), 'release'.
CREATE FUNCTION zkpg.test_pause_point(name text, action text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'zkpg_test_pause_point' LANGUAGE C VOLATILE STRICT;
REVOKE EXECUTE ON FUNCTION zkpg.test_pause_point(text, text) FROM PUBLIC;
CREATE FUNCTION zkpg.test_jump_zxid_counter(counter bigint) RETURNS void
	AS 'MODULE_PATHNAME', 'zkpg_test_jump_zxid_counter' LANGUAGE C VOLATILE STRICT;
REVOKE EXECUTE ON FUNCTION zkpg.test_jump_zxid_counter(bigint) FROM PUBLIC;

-- FastLeaderElection's state machine driven by a script (superusers only)
CREATE FUNCTION zkpg.election_script(script text) RETURNS SETOF text
	AS '$libdir/zkpg_test', 'zkpg_election_script' LANGUAGE C VOLATILE STRICT;
REVOKE EXECUTE ON FUNCTION zkpg.election_script(text) FROM PUBLIC;

-- Peers call each other here (superusers and members of zkpg_peer only).
-- It runs as the extension's owner, so a peer role needs no write
-- privilege on zkpg's tables; the function itself checks the caller.
-- A learner copying a leader's tree (SNAP) reads the tree tables.
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zkpg_peer') THEN
		CREATE ROLE zkpg_peer NOLOGIN;
	END IF;
END
$$;
CREATE FUNCTION zkpg.peer_message(msg bytea) RETURNS bytea
	AS 'MODULE_PATHNAME', 'zkpg_peer_message' LANGUAGE C VOLATILE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
REVOKE EXECUTE ON FUNCTION zkpg.peer_message(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION zkpg.peer_message(bytea) TO zkpg_peer;
GRANT USAGE ON SCHEMA zkpg TO zkpg_peer;
GRANT SELECT ON zkpg.znode, zkpg.session, zkpg.peer_state TO zkpg_peer;

CREATE FUNCTION zkpg.peer_info(OUT id integer, OUT address text, OUT role text,
	OUT connected boolean, OUT state text, OUT acked_zxid bigint, OUT lag bigint)
	RETURNS SETOF record AS 'MODULE_PATHNAME', 'zkpg_peer_info' LANGUAGE C VOLATILE;
CREATE VIEW zkpg.peers AS SELECT * FROM zkpg.peer_info();
GRANT SELECT ON zkpg.peers TO PUBLIC;

-- Recipes (recipes.c and recipe_*.c): made of ordinary znodes, waiting server-side.
CREATE FUNCTION zk_op_fence(path text, token bigint)
	RETURNS zk_op LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT ROW('fence', path, NULL, NULL, NULL, NULL, token)::zk_op $$;
-- acl: of the parents a call creates and of its holder or item nodes;
-- NULL is the open default of ZooKeeper and Curator.
CREATE FUNCTION zk_lock(path text, timeout interval DEFAULT NULL, acl text[] DEFAULT NULL)
	RETURNS bigint AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_lock_shared(path text, timeout interval DEFAULT NULL, acl text[] DEFAULT NULL)
	RETURNS bigint AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_lock_exclusive(path text, timeout interval DEFAULT NULL, acl text[] DEFAULT NULL)
	RETURNS bigint AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_unlock(path text)
	RETURNS boolean AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_semaphore_acquire(path text, max_leases integer, timeout interval DEFAULT NULL,
									 acl text[] DEFAULT NULL)
	RETURNS bigint AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_semaphore_release(path text)
	RETURNS boolean AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_elect(path text, candidate text, timeout interval DEFAULT NULL,
						 acl text[] DEFAULT NULL)
	RETURNS bigint AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_resign(path text)
	RETURNS boolean AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_leader(path text)
	RETURNS TABLE (candidate text, session_id bigint, token bigint)
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_next_id(path text, acl text[] DEFAULT NULL)
	RETURNS bigint AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_register(path text, member text, data bytea DEFAULT NULL,
							acl text[] DEFAULT NULL)
	RETURNS text AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_members(path text, watch boolean DEFAULT false)
	RETURNS TABLE (member text, data bytea, session_id bigint)
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_barrier_enter(path text, member text, parties integer,
								 timeout interval DEFAULT NULL, acl text[] DEFAULT NULL)
	RETURNS boolean AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_barrier_leave(path text, member text, timeout interval DEFAULT NULL)
	RETURNS boolean AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_queue_put(path text, data bytea, acl text[] DEFAULT NULL)
	RETURNS text AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_queue_take(path text, timeout interval DEFAULT NULL, acl text[] DEFAULT NULL)
	RETURNS bytea AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION zk_counter_add(path text, delta bigint DEFAULT 1, acl text[] DEFAULT NULL)
	RETURNS bigint AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Like pg_locks: every holder and waiter of a lock, read-write lock,
-- semaphore or election, ensemble-wide from the tree.
CREATE FUNCTION zkpg.lock_rows(OUT path text, OUT kind text, OUT node text,
	OUT session_id bigint, OUT token bigint, OUT granted boolean, OUT pid integer,
	OUT waiting_since timestamptz)
	RETURNS SETOF record AS 'MODULE_PATHNAME', 'zkpg_lock_rows' LANGUAGE C VOLATILE;
CREATE VIEW zkpg.locks AS SELECT * FROM zkpg.lock_rows();
GRANT SELECT ON zkpg.locks TO PUBLIC;

-- Backends woken by the recipes' internal watches on this server, for
-- superusers and tests: a release wakes one waiter, not a herd.
CREATE FUNCTION zkpg.recipe_wakeups()
	RETURNS bigint AS 'MODULE_PATHNAME', 'zkpg_recipe_wakeups' LANGUAGE C VOLATILE;
REVOKE EXECUTE ON FUNCTION zkpg.recipe_wakeups() FROM PUBLIC;

-- 2PC and 3PC: the batches prepared here and not yet resolved
CREATE VIEW zkpg.in_doubt AS
SELECT p.gid,
       split_part(p.gid, '_', 2)::integer AS coordinator,
       ('x' || split_part(p.gid, '_', 3))::bit(64)::bigint AS batch_zxid,
       p.prepared,
       now() - p.prepared AS age,
       p.transaction,
       p.owner
  FROM pg_catalog.pg_prepared_xacts p
 WHERE p.database = current_database()
   AND p.gid ~ '^zkpg_[0-9]{1,3}_[0-9a-f]{16}$';
GRANT SELECT ON zkpg.in_doubt TO PUBLIC;
