/*-------------------------------------------------------------------------
 *
 * recipe_queues.c
 *	  Double barriers (zk_barrier_enter, zk_barrier_leave) and queues
 *	  (zk_queue_put, zk_queue_take).
 *
 * IDENTIFICATION
 *	  src/recipe_queues.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "acl.h"
#include "datatree.h"
#include "path.h"
#include "recipe_internal.h"
#include "request_queue.h"
#include "sessions.h"
#include "watches.h"
#include "zk_functions.h"
#include "zkpg.h"
#include "zkpg_errcodes.h"

PG_FUNCTION_INFO_V1(zk_barrier_enter);
PG_FUNCTION_INFO_V1(zk_barrier_leave);
PG_FUNCTION_INFO_V1(zk_queue_put);
PG_FUNCTION_INFO_V1(zk_queue_take);

/* ---- double barrier ---- */

/* the members under a barrier's path, sorted by name (READ on path) */
static List *
barrier_members(const char *dir)
{
	List	   *out = NIL;
	ListCell   *lc;
	ZkNode		dir_node;

	if (ZkTreeGetNode(ZkTreeMain(), dir, false, &dir_node) &&
		!ZkAclPermits(dir_node.nacl, dir_node.acl, ZK_PERM_READ, ZkMyAuth()))
		ZkReportError(ZK_ERR_NOAUTH, dir, -1, "read");
	foreach(lc, ZkTreeGetChildNodes(ZkTreeMain(), dir))
	{
		ZkChildNode *c = lfirst(lc);

		if (strcmp(c->name, BARRIER_READY) != 0)
			out = lappend(out, c);
	}
	return out;
}

static char *
barrier_member_arg(FunctionCallInfo fcinfo, int argno)
{
	char	   *m = recipe_member_arg(fcinfo, argno);

	if (strcmp(m, BARRIER_READY) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("\"%s\" cannot be a barrier member", BARRIER_READY),
				 errdetail("The barrier uses that name to mark that every party has entered.")));
	return m;
}

/*
 * zk_barrier_enter(path, member, parties, timeout) -> boolean
 *
 * Enter with an ephemeral member node; the member that completes the
 * count creates "ready", which every waiter watches.
 */
Datum
zk_barrier_enter(PG_FUNCTION_ARGS)
{
	char	   *dir = recipe_path_arg(fcinfo, 0);
	char	   *member = barrier_member_arg(fcinfo, 1);
	char	   *ready = ZkJoinPath(dir, BARRIER_READY);
	char	   *mine = ZkJoinPath(dir, member);
	int32		parties;
	Deadline	dl;
	int64		sid;
	ZkNode		node;
	bool		entered = false;
	char	   *created = NULL;

	if (PG_ARGISNULL(2) || PG_GETARG_INT32(2) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("parties must be at least 1")));
	parties = PG_GETARG_INT32(2);
	dl = recipe_deadline_arg(fcinfo, 3);
	recipe_acl_arg(fcinfo, 4, dir);
	sid = ZkSessionEnsure();

	if (!ZkTreeGetNode(ZkTreeMain(), mine, false, &node) || node.ephemeral_owner != sid)
		created = recipe_create_node(dir, member, ZK_MODE_EPHEMERAL, NULL, 0, NULL);
	PG_TRY();
	{
		for (;;)
		{
			ZkOp		op;
			ZkRequestResult res;
			int			err;

			if (ZkTreeGetNode(ZkTreeMain(), ready, false, &node))
			{
				entered = true;
				break;
			}
			if (list_length(barrier_members(dir)) >= parties)
			{
				recipe_set_create_op(&op, ready, NULL, 0, ZK_MODE_PERSISTENT);
				err = recipe_submit_ops(&op, 1, &res);
				if (err != ZK_OK && err != ZK_ERR_NODEEXISTS)
					ZkReportError(err, ready, -1, "create");
				entered = true;
				break;
			}
			recipe_mark_waiting(mine);
			if (!recipe_wait_for_change(sid, ready, ZK_WATCH_RECIPE, NULL, NULL, &dl))
				break;
		}
	}
	PG_CATCH();
	{
		recipe_mark_waiting(NULL);
		if (created != NULL)
			recipe_abandon_node(created);
		PG_RE_THROW();
	}
	PG_END_TRY();
	recipe_mark_waiting(NULL);
	if (!entered && created != NULL)
		(void) recipe_delete_node(created, -1);
	PG_RETURN_BOOL(entered);
}

/*
 * zk_barrier_leave(path, member, timeout) -> boolean
 *
 * Curator's DistributedDoubleBarrier.leave: the lowest member leaves
 * last, watching the highest; the others leave at once and watch the
 * lowest; the last one out removes "ready" with its own node.
 */
Datum
zk_barrier_leave(PG_FUNCTION_ARGS)
{
	char	   *dir = recipe_path_arg(fcinfo, 0);
	char	   *member = barrier_member_arg(fcinfo, 1);
	char	   *ready = ZkJoinPath(dir, BARRIER_READY);
	char	   *mine = ZkJoinPath(dir, member);
	Deadline	dl = recipe_deadline_arg(fcinfo, 2);
	int64		sid = ZkSessionEnsure();
	bool		left = false;

	PG_TRY();
	{
		for (;;)
		{
			List	   *members = barrier_members(dir);
			ZkChildNode *lowest;
			ZkChildNode *highest;
			char	   *watch_path;
			ZkNode	   *seen;
			bool		have_mine = false;
			ListCell   *lc;

			foreach(lc, members)
				if (strcmp(((ZkChildNode *) lfirst(lc))->name, member) == 0)
					have_mine = true;
			if (members == NIL)
			{
				left = true;
				break;
			}
			lowest = linitial(members);
			highest = llast(members);
			if (have_mine && list_length(members) == 1)
			{
				ZkOp		ops[2];
				ZkRequestResult res;
				ZkNode		r;
				int			n = 0;

				if (ZkTreeGetNode(ZkTreeMain(), ready, false, &r))
					recipe_set_delete_op(&ops[n++], ready, -1);
				recipe_set_delete_op(&ops[n++], mine, -1);
				if (recipe_submit_ops(ops, n, &res) == ZK_OK)
				{
					left = true;
					break;
				}
				continue;		/* something moved meanwhile: look again */
			}
			if (have_mine && strcmp(lowest->name, member) == 0)
			{
				watch_path = ZkJoinPath(dir, highest->name);
				seen = &highest->node;
			}
			else
			{
				if (have_mine)
					(void) recipe_delete_node(mine, -1);
				watch_path = ZkJoinPath(dir, lowest->name);
				seen = &lowest->node;
			}
			recipe_mark_waiting(mine);
			if (!recipe_wait_for_change(sid, watch_path, ZK_WATCH_RECIPE, seen, NULL, &dl))
				break;
		}
	}
	PG_CATCH();
	{
		recipe_mark_waiting(NULL);
		PG_RE_THROW();
	}
	PG_END_TRY();
	recipe_mark_waiting(NULL);
	if (!left)
		(void) recipe_delete_node(mine, -1);
	PG_RETURN_BOOL(left);
}

/* ---- queue ---- */

/* zk_queue_put(path, data) -> text: the item's node */
Datum
zk_queue_put(PG_FUNCTION_ARGS)
{
	char	   *dir = recipe_path_arg(fcinfo, 0);
	ZkOp		data;

	memset(&data, 0, sizeof(data));
	ZkDataFromBytea(PG_ARGISNULL(1) ? NULL : PG_GETARG_BYTEA_PP(1), &data);
	recipe_acl_arg(fcinfo, 2, dir);
	PG_RETURN_TEXT_P(cstring_to_text(recipe_create_node(dir, QUEUE_PREFIX,
														ZK_MODE_PERSISTENT_SEQUENTIAL,
														data.data, data.data_len, NULL)));
}

/* Claim the first item of the queue by deleting it; NULL when empty. */
static bytea *
queue_claim_head(const char *dir)
{
	ZkNode		dir_node;
	ListCell   *lc;

	if (!ZkTreeGetNode(ZkTreeMain(), dir, false, &dir_node))
		return NULL;
	if (!ZkAclPermits(dir_node.nacl, dir_node.acl, ZK_PERM_READ, ZkMyAuth()))
		ZkReportError(ZK_ERR_NOAUTH, dir, -1, "read");
	foreach(lc, ZkTreeGetChildNodes(ZkTreeMain(), dir))
	{
		ZkChildNode *c = lfirst(lc);

		if (strncmp(c->name, QUEUE_PREFIX, strlen(QUEUE_PREFIX)) != 0)
			continue;
		/* a taker reads the item (zk_get) before it deletes it */
		recipe_require_child_read(dir, c);
		/* one delete succeeds; the others get ZK101 and try the next */
		if (recipe_delete_node(ZkJoinPath(dir, c->name), -1))
		{
			bytea	   *taken = palloc(VARHDRSZ + c->node.data_len);

			SET_VARSIZE(taken, VARHDRSZ + c->node.data_len);
			if (c->node.data_len > 0)
				memcpy(VARDATA(taken), c->node.data, c->node.data_len);
			return taken;
		}
	}
	return NULL;
}

/*
 * zk_queue_take(path, timeout) -> bytea
 *
 * An item there is taken at once.  Otherwise the taker joins the line of
 * waiting takers (a taker- node) and, like a lock waiter, watches the
 * taker before it; only the head of the line watches the queue, so a put
 * wakes one taker, not all of them.  A taker leaves the line (deletes its
 * node) when it has an item or gives up, which wakes the next one.
 */
Datum
zk_queue_take(PG_FUNCTION_ARGS)
{
	char	   *dir = recipe_path_arg(fcinfo, 0);
	Deadline	dl = recipe_deadline_arg(fcinfo, 1);
	int64		sid = ZkSessionEnsure();
	bytea	   *taken;
	char	   *taker = NULL;

	recipe_acl_arg(fcinfo, 2, dir);
	taken = queue_claim_head(dir);
	if (taken != NULL)
		PG_RETURN_BYTEA_P(taken);
	if (!dl.forever && GetCurrentTimestamp() >= dl.at)
		PG_RETURN_NULL();		/* no waiting: leave no trace */

	taker = recipe_create_node(dir, recipe_kind_prefix[RK_TAKER], ZK_MODE_EPHEMERAL_SEQUENTIAL, NULL, 0, NULL);
	PG_TRY();
	{
		for (;;)
		{
			ZkNode		dir_node;
			List	   *nodes = recipe_nodes(dir, true, &dir_node);
			RecipeNode *me = recipe_waiting_node(nodes, taker);
			RecipeNode *before;

			recipe_mark_waiting(taker);
			before = recipe_nearest_before(nodes, me, RK_TAKER);
			if (before != NULL)
			{
				if (!recipe_wait_for_change(sid, before->path, ZK_WATCH_RECIPE, &before->node, taker, &dl))
					break;
				continue;
			}
			/* the head of the line */
			taken = queue_claim_head(dir);
			if (taken != NULL)
				break;
			if (!recipe_wait_for_change(sid, dir, ZK_WATCH_RECIPE, &dir_node, taker, &dl))
				break;
		}
	}
	PG_CATCH();
	{
		recipe_mark_waiting(NULL);
		recipe_abandon_node(taker);
		PG_RE_THROW();
	}
	PG_END_TRY();
	recipe_mark_waiting(NULL);
	(void) recipe_delete_node(taker, -1);
	if (taken == NULL)
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(taken);
}
