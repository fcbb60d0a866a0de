/*-------------------------------------------------------------------------
 *
 * recipe_locks.c
 *	  Locks, read-write locks and semaphores: zk_lock, zk_lock_shared,
 *	  zk_lock_exclusive, zk_unlock, zk_semaphore_acquire and
 *	  zk_semaphore_release (recipes.c, points 1 to 5).
 *
 * IDENTIFICATION
 *	  src/recipe_locks.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "datatree.h"
#include "path.h"
#include "recipe_internal.h"
#include "request_queue.h"
#include "sessions.h"
#include "watches.h"
#include "zk_functions.h"
#include "zkpg.h"
#include "zkpg_errcodes.h"

PG_FUNCTION_INFO_V1(zk_lock);
PG_FUNCTION_INFO_V1(zk_lock_shared);
PG_FUNCTION_INFO_V1(zk_lock_exclusive);
PG_FUNCTION_INFO_V1(zk_unlock);
PG_FUNCTION_INFO_V1(zk_semaphore_acquire);
PG_FUNCTION_INFO_V1(zk_semaphore_release);

static Datum lock_common(FunctionCallInfo fcinfo, RecipeKind kind);

/* ---- locks ---- */

/*
 * Wait until the lock node me is granted; false at the deadline.
 */
static bool
wait_lock_turn(int64 sid, const char *dir, const char *me_path, const Deadline *dl)
{
	for (;;)
	{
		ZkNode		dir_node;
		List	   *nodes = recipe_nodes(dir, true, &dir_node);
		RecipeNode *me = recipe_waiting_node(nodes, me_path);
		RecipeNode *blocker;

		blocker = recipe_lock_blocker(nodes, me);
		if (blocker == NULL)
			return true;
		recipe_mark_waiting(me_path);
		if (!recipe_wait_for_change(sid, blocker->path, ZK_WATCH_RECIPE, &blocker->node, me_path, dl))
			return false;
	}
}

static Datum
lock_common(FunctionCallInfo fcinfo, RecipeKind kind)
{
	char	   *dir = recipe_path_arg(fcinfo, 0);
	Deadline	dl = recipe_deadline_arg(fcinfo, 1);
	int64		sid = ZkSessionEnsure();
	ListCell   *lc;
	ZkStat		stat;
	char	   *node;
	bool		granted = false;

	recipe_holds_for_session(sid);
	recipe_acl_arg(fcinfo, 2, dir);
	/* re-entrant: a new hold on the node this session holds already */
	foreach(lc, recipe_holds)
	{
		Hold	   *h = lfirst(lc);

		if (strcmp(h->path, dir) == 0 && h->kind == kind)
		{
			int64		token = h->token;
			ZkNode		held;

			/* unless someone deleted our node: forget it, acquire anew */
			if (!ZkTreeGetNode(ZkTreeMain(), h->node, false, &held) ||
				held.czxid != token)
			{
				recipe_holds_forget_node(h->node);
				break;
			}
			recipe_hold_push(h->path, h->node, kind, token);
			PG_RETURN_INT64(token);
		}
	}

	node = recipe_create_node(dir, recipe_kind_prefix[kind], ZK_MODE_EPHEMERAL_SEQUENTIAL, NULL, 0, &stat);
	PG_TRY();
	{
		granted = wait_lock_turn(sid, dir, node, &dl);
	}
	PG_CATCH();
	{
		recipe_mark_waiting(NULL);
		recipe_abandon_node(node);
		PG_RE_THROW();
	}
	PG_END_TRY();
	recipe_mark_waiting(NULL);
	if (!granted)
	{
		(void) recipe_delete_node(node, -1);
		PG_RETURN_NULL();
	}
	recipe_hold_push(dir, node, kind, stat.czxid);
	PG_RETURN_INT64(stat.czxid);
}

/* zk_lock(path, timeout) -> bigint token, NULL on timeout */
Datum
zk_lock(PG_FUNCTION_ARGS)
{
	return lock_common(fcinfo, RK_LOCK);
}

/* zk_lock_shared(path, timeout) -> bigint */
Datum
zk_lock_shared(PG_FUNCTION_ARGS)
{
	return lock_common(fcinfo, RK_READ);
}

/* zk_lock_exclusive(path, timeout) -> bigint */
Datum
zk_lock_exclusive(PG_FUNCTION_ARGS)
{
	return lock_common(fcinfo, RK_WRITE);
}

/* zk_unlock(path) -> boolean: releases the newest hold of any lock kind */
Datum
zk_unlock(PG_FUNCTION_ARGS)
{
	char	   *dir = recipe_path_arg(fcinfo, 0);
	Hold	   *h;

	recipe_holds_for_session(ZkSessionEnsure());
	h = recipe_hold_newest(dir, false);
	if (h == NULL)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(recipe_hold_release(h));
}

/* ---- semaphore ---- */

/*
 * zk_semaphore_acquire(path, max_leases, timeout) -> bigint token
 *
 * Waiters queue as wait- nodes; only the head watches the leases (the
 * children of path), and takes a lease by creating it and deleting its
 * wait node in one multi, which wakes the next waiter.
 */
Datum
zk_semaphore_acquire(PG_FUNCTION_ARGS)
{
	char	   *dir = recipe_path_arg(fcinfo, 0);
	int32		max_leases;
	Deadline	dl;
	int64		sid;
	char	   *waiter;
	int64		token = 0;

	if (PG_ARGISNULL(1) || PG_GETARG_INT32(1) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("max_leases must be at least 1")));
	max_leases = PG_GETARG_INT32(1);
	dl = recipe_deadline_arg(fcinfo, 2);
	recipe_acl_arg(fcinfo, 3, dir);
	sid = ZkSessionEnsure();
	recipe_holds_for_session(sid);

	waiter = recipe_create_node(dir, recipe_kind_prefix[RK_WAIT], ZK_MODE_EPHEMERAL_SEQUENTIAL, NULL, 0, NULL);
	PG_TRY();
	{
		for (;;)
		{
			ZkNode		dir_node;
			List	   *nodes = recipe_nodes(dir, true, &dir_node);
			RecipeNode *me = recipe_waiting_node(nodes, waiter);
			RecipeNode *before;
			ListCell   *lc;
			int			leases = 0;

			recipe_mark_waiting(waiter);
			before = recipe_nearest_before(nodes, me, RK_WAIT);
			if (before != NULL)
			{
				if (!recipe_wait_for_change(sid, before->path, ZK_WATCH_RECIPE, &before->node, waiter, &dl))
					break;
				continue;
			}
			foreach(lc, nodes)
				if (((RecipeNode *) lfirst(lc))->kind == RK_LEASE)
					leases++;
			if (leases < max_leases)
			{
				ZkOp		ops[2];
				ZkRequestResult res;
				int			err;
				char	   *lease_prefix = ZkJoinPath(dir, recipe_kind_prefix[RK_LEASE]);

				recipe_set_create_op(&ops[0], lease_prefix, NULL, 0, ZK_MODE_EPHEMERAL_SEQUENTIAL);
				recipe_set_delete_op(&ops[1], waiter, -1);
				err = recipe_submit_ops(ops, 2, &res);
				if (err != ZK_OK)
					ZkReportError(err, res.failed_index == 1 ? waiter : lease_prefix,
								  -1, res.failed_index == 1 ? "delete" : "create");
				token = res.results[0].stat.czxid;
				recipe_hold_push(dir, psprintf("%s%010d", lease_prefix, res.results[0].seq),
								 RK_LEASE, token);
				waiter = NULL;
				break;
			}
			if (!recipe_wait_for_change(sid, dir, ZK_WATCH_RECIPE, &dir_node, waiter, &dl))
				break;
		}
	}
	PG_CATCH();
	{
		recipe_mark_waiting(NULL);
		if (waiter != NULL)
			recipe_abandon_node(waiter);
		PG_RE_THROW();
	}
	PG_END_TRY();
	recipe_mark_waiting(NULL);
	if (waiter != NULL)
	{
		(void) recipe_delete_node(waiter, -1);
		PG_RETURN_NULL();
	}
	PG_RETURN_INT64(token);
}

/* zk_semaphore_release(path) -> boolean */
Datum
zk_semaphore_release(PG_FUNCTION_ARGS)
{
	char	   *dir = recipe_path_arg(fcinfo, 0);
	Hold	   *h;

	recipe_holds_for_session(ZkSessionEnsure());
	h = recipe_hold_newest(dir, true);
	if (h == NULL)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(recipe_hold_release(h));
}
