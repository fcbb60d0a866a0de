/*-------------------------------------------------------------------------
 *
 * recipe_election.c
 *	  Leader election: zk_elect, zk_resign, zk_leader, and the
 *	  applier's judging of fired election watches
 *	  (ZkRecipeJudgeElections; recipes.c, point 6).
 *
 * IDENTIFICATION
 *	  src/recipe_election.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "acl.h"
#include "datatree.h"
#include "path.h"
#include "recipe_internal.h"
#include "recipes.h"
#include "sessions.h"
#include "shmem.h"
#include "watches.h"
#include "zk_functions.h"
#include "zkpg.h"
#include "zkpg_errcodes.h"

PG_FUNCTION_INFO_V1(zk_elect);
PG_FUNCTION_INFO_V1(zk_resign);
PG_FUNCTION_INFO_V1(zk_leader);

/* ---- leader election ---- */

/* This session's candidate node under dir, or NULL. */
static RecipeNode *
my_candidate(List *nodes, int64 sid)
{
	ListCell   *lc;

	foreach(lc, nodes)
	{
		RecipeNode *r = lfirst(lc);

		if (r->kind == RK_CANDIDATE && r->node.ephemeral_owner == sid)
			return r;
	}
	return NULL;
}

/* The candidate before mine, or NULL when mine leads. */
static RecipeNode *
candidate_before(List *nodes, RecipeNode *mine)
{
	return recipe_nearest_before(nodes, mine, RK_CANDIDATE);
}

/*
 * zk_elect(path, candidate, timeout) -> bigint token once this session
 * leads, NULL on timeout (still a candidate).
 */
Datum
zk_elect(PG_FUNCTION_ARGS)
{
	char	   *dir = recipe_path_arg(fcinfo, 0);
	char	   *candidate;
	Deadline	dl;
	int64		sid;
	ZkNode		dir_node;
	List	   *nodes;
	RecipeNode *mine;
	char	   *created = NULL;
	char	   *node;
	int64		token = 0;
	bool		leads = false;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("candidate must not be null")));
	candidate = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if ((int) strlen(candidate) > zk_max_data_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("candidate of %d bytes exceeds zkpg.max_data_bytes (%d)",
						(int) strlen(candidate), zk_max_data_bytes)));
	dl = recipe_deadline_arg(fcinfo, 2);
	recipe_acl_arg(fcinfo, 3, dir);
	sid = ZkSessionEnsure();

	nodes = recipe_nodes(dir, true, &dir_node);
	mine = my_candidate(nodes, sid);
	if (mine != NULL)
		node = mine->path;
	else
		node = created = recipe_create_node(dir, recipe_kind_prefix[RK_CANDIDATE],
											ZK_MODE_EPHEMERAL_SEQUENTIAL,
											candidate, strlen(candidate), NULL);
	/* LeadershipAcquired reaches the session even after a timeout */
	ZkWatchListen(sid);
	PG_TRY();
	{
		for (;;)
		{
			RecipeNode *before;

			nodes = recipe_nodes(dir, true, &dir_node);
			mine = recipe_waiting_node(nodes, node);
			before = candidate_before(nodes, mine);
			if (before == NULL)
			{
				leads = true;
				token = mine->node.czxid;
				break;
			}
			recipe_mark_waiting(node);
			if (!recipe_wait_for_change(sid, before->path, ZK_WATCH_ELECTION, &before->node, node, &dl))
				break;
		}
	}
	PG_CATCH();
	{
		recipe_mark_waiting(NULL);
		if (created != NULL)
		{
			ZkWatchRemoveKindUnder(sid, ZK_WATCH_ELECTION, dir);
			recipe_abandon_node(created);
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	recipe_mark_waiting(NULL);
	if (!leads)
	{
		/*
		 * The applier skipped LeadershipAcquired while we were marked
		 * waiting: a batch that did so has announced itself; once it has
		 * committed, we see the leadership here.
		 */
		ZkWaitForInflightBatch();
		nodes = recipe_nodes(dir, true, &dir_node);
		mine = recipe_find_node(nodes, node);
		if (mine != NULL && candidate_before(nodes, mine) == NULL)
		{
			leads = true;
			token = mine->node.czxid;
		}
	}
	if (!leads)
		PG_RETURN_NULL();
	ZkWatchRemoveKindUnder(sid, ZK_WATCH_ELECTION, dir);
	PG_RETURN_INT64(token);
}

/* zk_resign(path) -> boolean */
Datum
zk_resign(PG_FUNCTION_ARGS)
{
	char	   *dir = recipe_path_arg(fcinfo, 0);
	int64		sid = ZkSessionEnsure();
	ZkNode		dir_node;
	List	   *nodes = recipe_nodes(dir, true, &dir_node);
	RecipeNode *mine;
	bool		resigned = false;

	while ((mine = my_candidate(nodes, sid)) != NULL)
	{
		resigned |= recipe_delete_node(mine->path, -1);
		nodes = list_delete_ptr(nodes, mine);
	}
	ZkWatchRemoveKindUnder(sid, ZK_WATCH_ELECTION, dir);
	PG_RETURN_BOOL(resigned);
}

/* zk_leader(path) -> TABLE(candidate, session_id, token) */
Datum
zk_leader(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *dir = recipe_path_arg(fcinfo, 0);
	ZkNode		dir_node;
	List	   *nodes;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	nodes = recipe_nodes(dir, true, &dir_node);
	foreach(lc, nodes)
	{
		RecipeNode *r = lfirst(lc);
		Datum		values[3];
		bool		nulls[3] = {0};

		if (r->kind != RK_CANDIDATE)
			continue;
		/* the leader's name and token: what zk_get of its node would say */
		if (!ZkAclPermits(r->node.nacl, r->node.acl, ZK_PERM_READ, ZkMyAuth()))
			ZkReportError(ZK_ERR_NOAUTH, r->path, -1, "read");
		values[0] = PointerGetDatum(cstring_to_text_with_len(r->node.data, r->node.data_len));
		values[1] = Int64GetDatum(r->node.ephemeral_owner);
		values[2] = Int64GetDatum(r->node.czxid);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		break;
	}
	return (Datum) 0;
}

/*
 * The applier, after applying a batch, inside its transaction: judge the
 * election watches that fired (point 6 of the header).  Appends the
 * LeadershipAcquired events to *events.
 */
void
ZkRecipeJudgeElections(List **events)
{
	List	   *fired = NIL;
	ListCell   *lc;

	foreach(lc, *events)
	{
		ZkWatchEvent *e = lfirst(lc);

		if (e->internal == ZK_WATCH_ELECTION)
			fired = lappend(fired, e);
	}
	foreach(lc, fired)
	{
		ZkWatchEvent *e = lfirst(lc);
		char	   *dir = ZkParentPath(e->path);
		ZkNode		dir_node;
		List	   *nodes = recipe_nodes(dir, false, &dir_node);
		RecipeNode *mine = my_candidate(nodes, e->session_id);
		RecipeNode *before;
		int			idx = ZK_SESSION_SLOT(e->session_id);
		bool		local;
		bool		waiting;

		if (mine == NULL || idx >= ZkShmem->nslots)
			continue;
		LWLockAcquire(ZkShmem->slot_lock, LW_SHARED);
		local = ZkShmem->slots[idx].session_id == e->session_id &&
			ZkShmem->slots[idx].session_state == ZK_SESSION_OPEN;
		waiting = local && ZkShmem->slots[idx].recipe_wait_since != 0 &&
			strcmp(ZkShmem->slots[idx].recipe_wait_node, mine->path) == 0;
		LWLockRelease(ZkShmem->slot_lock);
		if (!local)
			continue;

		before = candidate_before(nodes, mine);
		if (before != NULL)
		{
			if (!ZkWatchTryAdd(e->session_id, before->path, ZK_WATCH_ELECTION))
				elog(WARNING, "zkpg could not watch \"%s\" for session 0x%016llx: too many watches",
					 before->path, (unsigned long long) e->session_id);
		}
		else if (!waiting)
		{
			ZkWatchEvent *lead = palloc0(sizeof(ZkWatchEvent));

			lead->session_id = e->session_id;
			lead->type = ZK_EVENT_LEADERSHIP_ACQUIRED;
			lead->path = dir;
			lead->zxid = e->zxid;
			lead->token = mine->node.czxid;
			*events = lappend(*events, lead);
		}
	}
}
