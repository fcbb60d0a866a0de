/*-------------------------------------------------------------------------
 *
 * recipe_naming.c
 *	  Counters and unique ids (zk_counter_add, zk_next_id) and the
 *	  service registry (zk_register, zk_members).
 *
 * IDENTIFICATION
 *	  src/recipe_naming.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "acl.h"
#include "datatree.h"
#include "path.h"
#include "prep_processor.h"
#include "recipe_internal.h"
#include "request_queue.h"
#include "sessions.h"
#include "watches.h"
#include "zk_functions.h"
#include "zkpg.h"
#include "zkpg_errcodes.h"

PG_FUNCTION_INFO_V1(zk_counter_add);
PG_FUNCTION_INFO_V1(zk_next_id);
PG_FUNCTION_INFO_V1(zk_register);
PG_FUNCTION_INFO_V1(zk_members);

/* ---- naming service, counter ---- */

/* The value of a counter node's data (ZkCounterParse's rule). */
static int64
counter_value(const char *path, const ZkNode *node)
{
	int64		v;

	if (!ZkCounterParse(node->data, node->data_len, &v))
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("znode \"%s\" does not hold a counter", path),
				 errdetail("Its data is not a decimal integer of at most %d bytes.",
						   ZK_COUNTER_TEXT_MAX)));
	return v;
}

/*
 * The local check of a counter add: what is plainly not a counter, or
 * would overflow, is refused here with its reason.  The leader adds to
 * the value as decided (prep_processor.c), which may be newer.
 */
static void
counter_check(const char *path, int64 delta)
{
	ZkNode		node;
	int64		value;

	if (!ZkTreeGetNode(ZkTreeMain(), path, true, &node))
		return;
	if (!ZkAclPermits(node.nacl, node.acl, ZK_PERM_READ, ZkMyAuth()))
		ZkReportError(ZK_ERR_NOAUTH, path, -1, "read");
	value = counter_value(path, &node);
	if ((delta > 0 && value > PG_INT64_MAX - delta) ||
		(delta < 0 && value < PG_INT64_MIN - delta))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("counter \"%s\" would overflow", path)));
}

/*
 * Add delta in one request: the leader's request processor adds it to the
 * value as decided, so concurrent adds never retry (ZK_OP_COUNTER), and
 * creates the node holding delta when it is missing.  Only a missing
 * parent (created as containers) or a refusal the local check did not
 * foresee (the value changed meanwhile) sends it again.
 */
static int64
counter_add(const char *path, int64 delta)
{
	int			refused = 0;

	for (;;)
	{
		ZkOp		op;
		ZkRequestResult res;
		int			err;

		CHECK_FOR_INTERRUPTS();
		counter_check(path, delta);
		memset(&op, 0, sizeof(op));
		recipe_set_create_op(&op, path, NULL, 0, ZK_MODE_PERSISTENT);
		op.type = ZK_OP_COUNTER;
		op.counter = delta;
		err = recipe_submit_ops(&op, 1, &res);
		if (err == ZK_OK)
		{
			/* a created counter has version 0; an added one more */
			Assert(res.nresults == 1 && res.results[0].has_stat);
			return res.results[0].stat.version == 0 ? delta : res.results[0].counter;
		}
		if (err == ZK_ERR_NONODE)
			recipe_ensure_containers(ZkParentPath(path));
		else if (err == ZK_ERR_BADARGUMENTS && refused++ == 0)
			ZkSync();			/* the local check then says why */
		else
			ZkReportError(err, path, -1, "counter_add");
	}
}

/* zk_counter_add(path, delta) -> bigint, the new value */
Datum
zk_counter_add(PG_FUNCTION_ARGS)
{
	char	   *path = recipe_path_arg(fcinfo, 0);

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("delta must not be null")));
	recipe_acl_arg(fcinfo, 2, path);
	PG_RETURN_INT64(counter_add(path, PG_GETARG_INT64(1)));
}

/* zk_next_id(path) -> bigint: 1, 2, 3, ... per path; no node per id */
Datum
zk_next_id(PG_FUNCTION_ARGS)
{
	char	   *path = recipe_path_arg(fcinfo, 0);

	recipe_acl_arg(fcinfo, 1, path);
	PG_RETURN_INT64(counter_add(path, 1));
}

/* ---- registry ---- */

/* zk_register(path, member, data) -> text: the member's node */
Datum
zk_register(PG_FUNCTION_ARGS)
{
	char	   *dir = recipe_path_arg(fcinfo, 0);
	char	   *member = recipe_member_arg(fcinfo, 1);
	ZkOp		data;

	memset(&data, 0, sizeof(data));
	ZkDataFromBytea(PG_ARGISNULL(2) ? NULL : PG_GETARG_BYTEA_PP(2), &data);
	recipe_acl_arg(fcinfo, 3, dir);
	PG_RETURN_TEXT_P(cstring_to_text(recipe_create_node(dir, member, ZK_MODE_EPHEMERAL,
														data.data, data.data_len, NULL)));
}

/* zk_members(path, watch) -> TABLE(member, data, session_id) */
Datum
zk_members(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *dir = recipe_path_arg(fcinfo, 0);
	bool		watch = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
	int64		sid = ZkSessionEnsure();
	ZkNode		dir_node;
	bool		exists;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	exists = ZkTreeGetNode(ZkTreeMain(), dir, false, &dir_node);
	if (exists && !ZkAclPermits(dir_node.nacl, dir_node.acl, ZK_PERM_READ, ZkMyAuth()))
		ZkReportError(ZK_ERR_NOAUTH, dir, -1, "read");
	if (watch)
		ZkWatchRegister(sid, dir, exists ? ZK_WATCH_CHILD : ZK_WATCH_DATA, exists, &dir_node);
	if (!exists)
		return (Datum) 0;
	foreach(lc, ZkTreeGetChildNodes(ZkTreeMain(), dir))
	{
		ZkChildNode *c = lfirst(lc);
		Datum		values[3];
		bool		nulls[3] = {0};
		bytea	   *b = palloc(VARHDRSZ + c->node.data_len);

		/* a member's data and owner are what zk_get of it would return */
		recipe_require_child_read(dir, c);

		SET_VARSIZE(b, VARHDRSZ + c->node.data_len);
		if (c->node.data_len > 0)
			memcpy(VARDATA(b), c->node.data, c->node.data_len);
		values[0] = CStringGetTextDatum(c->name);
		values[1] = PointerGetDatum(b);
		values[2] = Int64GetDatum(c->node.ephemeral_owner);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
