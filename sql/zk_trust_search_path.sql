--
-- zk_trust_search_path: zkpg's own SQL runs as a superuser on the caller's
-- behalf; it must never run what the caller planted.  An ordinary role
-- creates, in a schema of its own put first in its search_path, a function
-- or operator of every name zkpg's internal SQL has used unqualified, each
-- a trap that records that it ran and tries to make the role a superuser.
-- It then calls every zk_* function and reads every view.  No trap may run.
--
\set SHOW_CONTEXT never
\set VERBOSITY terse

CREATE ROLE regress_zk_mallory LOGIN;
CREATE SCHEMA regress_evil AUTHORIZATION regress_zk_mallory;
SELECT zk_create('/trust_sp');

SET ROLE regress_zk_mallory;
CREATE TABLE regress_evil.ran (name text, ran_as name);
GRANT INSERT, SELECT ON regress_evil.ran TO PUBLIC;
-- the trap: record the call, then try to escalate (works only as superuser)
CREATE FUNCTION regress_evil.trap(what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO regress_evil.ran VALUES (what, current_user);
    BEGIN
        EXECUTE 'ALTER ROLE regress_zk_mallory SUPERUSER';
    EXCEPTION WHEN OTHERS THEN
        NULL;
    END;
END
$$;

-- functions: the same signature as pg_catalog's (the first in the
-- search_path wins), or a closer match than a polymorphic one
CREATE FUNCTION regress_evil.octet_length(bytea) RETURNS integer LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('octet_length(bytea)'); RETURN pg_catalog.octet_length($1); END $$;
CREATE FUNCTION regress_evil.md5(bytea) RETURNS text LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('md5(bytea)'); RETURN pg_catalog.md5($1); END $$;
CREATE FUNCTION regress_evil.md5(text) RETURNS text LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('md5(text)'); RETURN pg_catalog.md5($1); END $$;
CREATE FUNCTION regress_evil.array_to_string(text[], text) RETURNS text LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('array_to_string'); RETURN pg_catalog.array_to_string($1, $2); END $$;
CREATE FUNCTION regress_evil.to_timestamp(integer) RETURNS timestamptz LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('to_timestamp(integer)'); RETURN pg_catalog.to_timestamp($1); END $$;
CREATE FUNCTION regress_evil.unnest(bigint[]) RETURNS SETOF bigint LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('unnest(bigint[])'); RETURN QUERY SELECT * FROM pg_catalog.unnest($1); END $$;
CREATE FUNCTION regress_evil.unnest(bytea[]) RETURNS SETOF bytea LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('unnest(bytea[])'); RETURN QUERY SELECT * FROM pg_catalog.unnest($1); END $$;
CREATE FUNCTION regress_evil.pg_advisory_xact_lock(bigint) RETURNS void LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('pg_advisory_xact_lock'); PERFORM pg_catalog.pg_advisory_xact_lock($1); END $$;
CREATE FUNCTION regress_evil.current_database() RETURNS name LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('current_database'); RETURN pg_catalog.current_database(); END $$;
CREATE FUNCTION regress_evil.json_populate_recordset(anyelement, json) RETURNS SETOF anyelement
LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('json_populate_recordset'); RETURN QUERY SELECT * FROM pg_catalog.json_populate_recordset($1, $2); END $$;

-- aggregates: count(*), max, string_agg, json_agg
CREATE FUNCTION regress_evil.count_step(bigint) RETURNS bigint LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('count(*)'); RETURN $1 + 1; END $$;
CREATE AGGREGATE regress_evil.count(*) (SFUNC = regress_evil.count_step, STYPE = bigint, INITCOND = '0');
CREATE FUNCTION regress_evil.max_step(bigint, bigint) RETURNS bigint LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('max(bigint)'); RETURN pg_catalog.int8larger($1, $2); END $$;
CREATE AGGREGATE regress_evil.max(bigint) (SFUNC = regress_evil.max_step, STYPE = bigint);
CREATE FUNCTION regress_evil.max_text_step(text, text) RETURNS text LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('max(text)'); RETURN pg_catalog.text_larger($1, $2); END $$;
CREATE AGGREGATE regress_evil.max(text) (SFUNC = regress_evil.max_text_step, STYPE = text);
CREATE FUNCTION regress_evil.agg_step(text, text, text) RETURNS text LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('string_agg'); RETURN coalesce($1 || $3, '') || $2; END $$;
CREATE AGGREGATE regress_evil.string_agg(text, text) (SFUNC = regress_evil.agg_step, STYPE = text);

-- operators on every pair of types internal SQL compares or adds
CREATE FUNCTION regress_evil.text_eq(text, text) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('text = text'); RETURN pg_catalog.texteq($1, $2); END $$;
CREATE OPERATOR regress_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = regress_evil.text_eq);
CREATE FUNCTION regress_evil.text_ge(text, text) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('text >= text'); RETURN pg_catalog.text_ge($1, $2); END $$;
CREATE OPERATOR regress_evil.>= (LEFTARG = text, RIGHTARG = text, FUNCTION = regress_evil.text_ge);
CREATE FUNCTION regress_evil.text_lt(text, text) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('text < text'); RETURN pg_catalog.text_lt($1, $2); END $$;
CREATE OPERATOR regress_evil.< (LEFTARG = text, RIGHTARG = text, FUNCTION = regress_evil.text_lt);
CREATE FUNCTION regress_evil.text_gt(text, text) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('text > text'); RETURN pg_catalog.text_gt($1, $2); END $$;
CREATE OPERATOR regress_evil.> (LEFTARG = text, RIGHTARG = text, FUNCTION = regress_evil.text_gt);
CREATE FUNCTION regress_evil.text_regex(text, text) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('text ~ text'); RETURN pg_catalog.textregexeq($1, $2); END $$;
CREATE OPERATOR regress_evil.~ (LEFTARG = text, RIGHTARG = text, FUNCTION = regress_evil.text_regex);
CREATE FUNCTION regress_evil.name_eq(name, name) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('name = name'); RETURN pg_catalog.nameeq($1, $2); END $$;
CREATE OPERATOR regress_evil.= (LEFTARG = name, RIGHTARG = name, FUNCTION = regress_evil.name_eq);
CREATE FUNCTION regress_evil.int8_eq(bigint, bigint) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('bigint = bigint'); RETURN pg_catalog.int8eq($1, $2); END $$;
CREATE OPERATOR regress_evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = regress_evil.int8_eq);
CREATE FUNCTION regress_evil.int84_ne(bigint, integer) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('bigint <> integer'); RETURN pg_catalog.int84ne($1, $2); END $$;
CREATE OPERATOR regress_evil.<> (LEFTARG = bigint, RIGHTARG = integer, FUNCTION = regress_evil.int84_ne);
CREATE FUNCTION regress_evil.int8_gt(bigint, bigint) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('bigint > bigint'); RETURN pg_catalog.int8gt($1, $2); END $$;
CREATE OPERATOR regress_evil.> (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = regress_evil.int8_gt);
CREATE FUNCTION regress_evil.int8_le(bigint, bigint) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('bigint <= bigint'); RETURN pg_catalog.int8le($1, $2); END $$;
CREATE OPERATOR regress_evil.<= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = regress_evil.int8_le);
CREATE FUNCTION regress_evil.int8_lt(bigint, bigint) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('bigint < bigint'); RETURN pg_catalog.int8lt($1, $2); END $$;
CREATE OPERATOR regress_evil.< (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = regress_evil.int8_lt);
CREATE FUNCTION regress_evil.int4_eq(integer, integer) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('integer = integer'); RETURN pg_catalog.int4eq($1, $2); END $$;
CREATE OPERATOR regress_evil.= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = regress_evil.int4_eq);
CREATE FUNCTION regress_evil.int4_lt(integer, integer) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('integer < integer'); RETURN pg_catalog.int4lt($1, $2); END $$;
CREATE OPERATOR regress_evil.< (LEFTARG = integer, RIGHTARG = integer, FUNCTION = regress_evil.int4_lt);
CREATE FUNCTION regress_evil.int4_gt(integer, integer) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('integer > integer'); RETURN pg_catalog.int4gt($1, $2); END $$;
CREATE OPERATOR regress_evil.> (LEFTARG = integer, RIGHTARG = integer, FUNCTION = regress_evil.int4_gt);
CREATE FUNCTION regress_evil.int4_plus(integer, integer) RETURNS integer LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('integer + integer'); RETURN pg_catalog.int4pl($1, $2); END $$;
CREATE OPERATOR regress_evil.+ (LEFTARG = integer, RIGHTARG = integer, FUNCTION = regress_evil.int4_plus);
CREATE FUNCTION regress_evil.int2_ne(smallint, integer) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('smallint <> integer'); RETURN pg_catalog.int24ne($1, $2); END $$;
CREATE OPERATOR regress_evil.<> (LEFTARG = smallint, RIGHTARG = integer, FUNCTION = regress_evil.int2_ne);
CREATE FUNCTION regress_evil.int2_eq(smallint, integer) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('smallint = integer'); RETURN pg_catalog.int24eq($1, $2); END $$;
CREATE OPERATOR regress_evil.= (LEFTARG = smallint, RIGHTARG = integer, FUNCTION = regress_evil.int2_eq);
CREATE FUNCTION regress_evil.int8_times_interval(bigint, interval) RETURNS interval LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('bigint * interval'); RETURN $2 * $1::float8; END $$;
CREATE OPERATOR regress_evil.* (LEFTARG = bigint, RIGHTARG = interval, FUNCTION = regress_evil.int8_times_interval);
CREATE FUNCTION regress_evil.tstz_plus(timestamptz, interval) RETURNS timestamptz LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('timestamptz + interval'); RETURN pg_catalog.timestamptz_pl_interval($1, $2); END $$;
CREATE OPERATOR regress_evil.+ (LEFTARG = timestamptz, RIGHTARG = interval, FUNCTION = regress_evil.tstz_plus);
CREATE FUNCTION regress_evil.tstz_lt(timestamptz, timestamptz) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('timestamptz < timestamptz'); RETURN pg_catalog.timestamptz_lt($1, $2); END $$;
CREATE OPERATOR regress_evil.< (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = regress_evil.tstz_lt);
CREATE FUNCTION regress_evil.numeric_times(numeric, integer) RETURNS numeric LANGUAGE plpgsql AS
$$ BEGIN PERFORM regress_evil.trap('numeric * integer'); RETURN $1 * $2::numeric; END $$;
CREATE OPERATOR regress_evil.* (LEFTARG = numeric, RIGHTARG = integer, FUNCTION = regress_evil.numeric_times);

--
-- The attack: the planted names come first, then pg_catalog.  Every entry
-- point of the API, the recipes and the views, as this role.
--
SET search_path = regress_evil, pg_catalog, public;
SELECT zk_exists('/') IS NOT NULL AS exists_root;
SELECT zk_exists('/trust_sp/none') IS NULL AS absent;
SELECT zk_create('/trust_sp/a', 'a');
SELECT zk_create('/trust_sp/a/s-', 's', 'persistent_sequential');
SELECT zk_create('/trust_sp/e', NULL, 'ephemeral');
SELECT convert_from(data, 'UTF8') AS data FROM zk_get('/trust_sp/a');
SELECT * FROM zk_get_children('/trust_sp');
SELECT zk_count_children('/trust_sp');
SELECT * FROM zk_get_ephemerals('/trust_sp');
SELECT zk_get_acl('/trust_sp/a');
SELECT (zk_set('/trust_sp/a', 'b')).version;
SELECT (zk_set_acl('/trust_sp/a', ARRAY['world:anyone:cdrwa'])).aversion;
SELECT op_index, op, path FROM zk_multi(zk_op_check('/trust_sp/a', 1),
                                        zk_op_create('/trust_sp/m', 'm'));
SELECT zk_sync('/trust_sp');
SELECT zk_add_watch('/trust_sp', true);
SELECT zk_remove_watches('/trust_sp', 'persistent');
SELECT zk_delete('/trust_sp/m');
SELECT zk_delete('/trust_sp/e');
SELECT zk_lock('/trust_sp/lock') > 0 AS locked;
SELECT zk_unlock('/trust_sp/lock');
SELECT zk_lock_shared('/trust_sp/rw') > 0 AS read_locked;
SELECT zk_unlock('/trust_sp/rw');
SELECT zk_semaphore_acquire('/trust_sp/sem', 2) > 0 AS leased;
SELECT zk_semaphore_release('/trust_sp/sem');
SELECT zk_elect('/trust_sp/elect', 'me') > 0 AS leads;
SELECT candidate FROM zk_leader('/trust_sp/elect');
SELECT zk_resign('/trust_sp/elect');
SELECT zk_next_id('/trust_sp/ids');
SELECT zk_counter_add('/trust_sp/counter', 5);
SELECT zk_register('/trust_sp/members', 'm1', 'x');
SELECT member FROM zk_members('/trust_sp/members');
SELECT zk_delete('/trust_sp/members/m1');
SELECT zk_barrier_enter('/trust_sp/barrier', 'p1', 1);
SELECT zk_barrier_leave('/trust_sp/barrier', 'p1');
SELECT zk_queue_put('/trust_sp/queue', 'item') LIKE '/trust_sp/queue/qn-%' AS queued;
SELECT convert_from(zk_queue_take('/trust_sp/queue'), 'UTF8') AS taken;
-- watches, on nodes that change no more
SELECT convert_from(data, 'UTF8') AS data FROM zk_get('/trust_sp/a/s-0000000000', true);
SELECT * FROM zk_get_children('/trust_sp/a', true);
SELECT zk_exists('/trust_sp/none', true) IS NULL AS absent;
SELECT member FROM zk_members('/trust_sp/members', true);
SELECT EXISTS (SELECT FROM zkpg.status) AS status_readable;
SELECT EXISTS (SELECT FROM zkpg.sessions) AS sessions_readable;
SELECT EXISTS (SELECT FROM zkpg.watches) AS watches_readable;
SELECT true AS locks_readable FROM (SELECT EXISTS (SELECT FROM zkpg.locks)) s;
-- (standalone, no peers; in an ensemble, some)
SELECT true AS peers_readable FROM (SELECT EXISTS (SELECT FROM zkpg.peers)) s;
SELECT zk_session_id() IS NOT NULL AS has_session;
SELECT zk_close_session();
RESET search_path;
RESET ROLE;

-- nothing of the role's ran, as superuser or otherwise
SELECT DISTINCT name, ran_as FROM regress_evil.ran ORDER BY 1, 2;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_zk_mallory';

--
-- The same role cannot reach the workers' SQL: ALTER ROLE ... SET applies to
-- its own sessions only, and the workers pin their search_path at start.
-- The writes above were applied by the workers: the tree shows them.
--
SELECT convert_from(data, 'UTF8') AS counter FROM zk_get('/trust_sp/counter');
SELECT version FROM zk_get('/trust_sp/a');

DROP SCHEMA regress_evil CASCADE;
DROP ROLE regress_zk_mallory;
