/*-------------------------------------------------------------------------
 *
 * recipes.c
 *	  ZooKeeper's recipes as SQL functions that wait server-side, modelled
 *	  on Apache Curator's: locks, read-write locks, semaphores, leader
 *	  election, unique ids, a service registry, double barriers, queues
 *	  and counters, with fencing tokens (API.md, "Recipes").
 *
 * 1. A recipe is made of ordinary znodes, written through the pipeline
 *	  like any zk_* call, so a client using plain zk_* calls sees and
 *	  respects it.  Under the recipe's path (created as a container, with
 *	  any missing parents):
 *		lock, read-write lock	lock-N, read-N, write-N (ephemeral sequential)
 *		semaphore				wait-N queued, lease-N holding (idem)
 *		election				candidate-N, data = the candidate (idem)
 *		registry, barrier		<member> (ephemeral), barrier's "ready"
 *		queue					qn-N (persistent sequential); waiting takers
 *								taker-N (ephemeral sequential)
 *		counter, next id		the decimal value is the data of the path
 *	  Recipe nodes are ordered by their sequence number, whatever their
 *	  prefix (one counter per parent names them all).
 * 2. A waiter watches only the one node whose change can let it proceed
 *	  (no herd effect): a lock or write node its nearest predecessor, a
 *	  read node the nearest lock/write node before it, a semaphore waiter
 *	  the waiter before it (only the head watches the leases), a candidate
 *	  the candidate before it, a waiting queue taker the taker before it
 *	  (only the head watches the queue).  The watches are internal
 *	  (watches.h): the applier wakes the backend through its latch after
 *	  the commit, and counts the wake-up.  The backend sleeps in WaitLatch, so
 *	  statement_timeout and pg_cancel_backend end the wait, and it holds
 *	  no lock meanwhile.  A session's own nodes never block it, so every
 *	  lock kind is re-entrant.
 * 3. A call that times out or is cancelled removes the node it created:
 *	  synchronously on timeout, by a queued delete when an error ends it
 *	  (nothing can wait inside error recovery).  Writes hold interrupts
 *	  while they are in flight, so the name of a created node is always
 *	  known; they are bounded by zkpg.request_timeout.
 * 4. A fencing token is the czxid of the node that stands for the holder:
 *	  holders of one lock are granted in the order of their nodes, so the
 *	  tokens increase from holder to holder.  zk_op_fence checks, in the
 *	  leader's request processor, that this node still exists.
 * 5. A backend remembers the holds of its session (zk_unlock releases the
 *	  newest); a re-entrant acquire is a new hold on the same node, and the
 *	  node goes when its last hold is released.  They are forgotten when
 *	  the session changes.
 * 6. Election: the applier judges a fired election watch after applying
 *	  the batch (ZkRecipeJudgeElections): a session whose candidate became
 *	  the lowest gets LeadershipAcquired, unless a zk_elect call of that
 *	  session is waiting and returns the token itself; otherwise the watch
 *	  moves to the new predecessor.  A candidate stays one after zk_elect
 *	  timed out, and learns of its leadership from that event.
 *
 * The recipes are split per family, each in its file; this one holds
 * what they share, declared in recipe_internal.h: recipe nodes, writes,
 * waiting, holds, arguments, and the zkpg.locks view.
 *		recipe_locks.c		locks, read-write locks, semaphores
 *		recipe_election.c	leader election, and the applier's judging of
 *							it (ZkRecipeJudgeElections, recipes.h)
 *		recipe_naming.c		counters and unique ids, service registry
 *		recipe_queues.c		double barriers, queues
 *
 * IDENTIFICATION
 *	  src/recipes.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "acl.h"
#include "datatree.h"
#include "path.h"
#include "recipe_internal.h"
#include "request_queue.h"
#include "sessions.h"
#include "shmem.h"
#include "watches.h"
#include "zk_functions.h"
#include "zkpg.h"
#include "zkpg_errcodes.h"

PG_FUNCTION_INFO_V1(zkpg_lock_rows);
PG_FUNCTION_INFO_V1(zkpg_recipe_wakeups);

/* the name prefix of each kind of recipe node but RK_NONE */
const char *const recipe_kind_prefix[] = {
	"lock-", "read-", "write-", "wait-", "lease-", "candidate-", "taker-"
};

/* this backend's holds (point 5), of the session holds_session */
List	   *recipe_holds = NIL;
static int64 holds_session = 0;

/*
 * The ACL of the nodes the recipe call in progress creates (its acl
 * argument): the parents it makes and its holder or item nodes.  Set by
 * every recipe call as it reads its arguments.
 */
static int	call_nacl = 0;
static char **call_acl = NULL;

static RecipeKind classify(const char *name, int64 *seq);
static bool blocks(const RecipeNode *earlier, RecipeKind mine, int64 my_session);
static void hold_free(Hold *h);

/* ---- recipe nodes ---- */

/* The kind of a recipe node name (and its sequence), or RK_NONE. */
static RecipeKind
classify(const char *name, int64 *seq)
{
	int			k;

	for (k = 0; k < lengthof(recipe_kind_prefix); k++)
	{
		size_t		plen = strlen(recipe_kind_prefix[k]);
		const char *digits = name + plen;
		char	   *end;

		if (strncmp(name, recipe_kind_prefix[k], plen) != 0)
			continue;
		if (strlen(digits) < SEQ_DIGITS)
			return RK_NONE;
		errno = 0;
		*seq = strtoll(digits, &end, 10);
		if (errno != 0 || *end != '\0')
			return RK_NONE;
		return (RecipeKind) k;
	}
	return RK_NONE;
}

static int
compare_seq(const ListCell *a, const ListCell *b)
{
	const RecipeNode *x = lfirst(a);
	const RecipeNode *y = lfirst(b);

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * The recipe nodes under dir, in sequence order; NIL when dir does not
 * exist (dir_node->czxid is then 0).  READ on dir is checked for callers.
 */
List *
recipe_nodes(const char *dir, bool check_acl, ZkNode *dir_node)
{
	List	   *out = NIL;
	ListCell   *lc;

	memset(dir_node, 0, sizeof(ZkNode));
	if (!ZkTreeGetNode(ZkTreeMain(), dir, false, dir_node))
	{
		memset(dir_node, 0, sizeof(ZkNode));
		return NIL;
	}
	if (check_acl && !ZkAclPermits(dir_node->nacl, dir_node->acl, ZK_PERM_READ, ZkMyAuth()))
		ZkReportError(ZK_ERR_NOAUTH, dir, -1, "read");
	foreach(lc, ZkTreeGetChildNodes(ZkTreeMain(), dir))
	{
		ZkChildNode *c = lfirst(lc);
		RecipeNode *r = palloc(sizeof(RecipeNode));

		r->kind = classify(c->name, &r->seq);
		if (r->kind == RK_NONE)
		{
			pfree(r);
			continue;
		}
		r->name = c->name;
		r->path = ZkJoinPath(dir, c->name);
		r->node = c->node;
		out = lappend(out, r);
	}
	list_sort(out, compare_seq);
	return out;
}

RecipeNode *
recipe_find_node(List *nodes, const char *path)
{
	ListCell   *lc;

	foreach(lc, nodes)
	{
		RecipeNode *r = lfirst(lc);

		if (strcmp(r->path, path) == 0)
			return r;
	}
	return NULL;
}

/*
 * The node a waiting call created: ZK112 once the session expired (its
 * ephemerals went with it), else ZK101 if someone deleted it.
 */
RecipeNode *
recipe_waiting_node(List *nodes, const char *path)
{
	RecipeNode *r = recipe_find_node(nodes, path);

	if (r != NULL)
		return r;
	(void) ZkSessionEnsure();
	ereport(ERROR,
			(errcode(ERRCODE_ZK_NONODE),
			 errmsg("znode \"%s\" was deleted while its call waited", path)));
	return NULL;				/* keep compiler quiet */
}

static bool
is_lock_kind(RecipeKind k)
{
	return k == RK_LOCK || k == RK_READ || k == RK_WRITE;
}

/*
 * Does an earlier lock node keep a lock node of kind mine, owned by
 * my_session, from being granted?  Readers share; everything else
 * excludes; a session never waits for itself.
 */
static bool
blocks(const RecipeNode *earlier, RecipeKind mine, int64 my_session)
{
	if (!is_lock_kind(earlier->kind) || earlier->node.ephemeral_owner == my_session)
		return false;
	if (mine == RK_READ)
		return earlier->kind != RK_READ;
	return true;
}

/* The nearest earlier node that blocks me, or NULL when I hold the lock. */
RecipeNode *
recipe_lock_blocker(List *nodes, const RecipeNode *me)
{
	RecipeNode *blocker = NULL;
	ListCell   *lc;

	foreach(lc, nodes)
	{
		RecipeNode *r = lfirst(lc);

		if (r == me)
			break;
		if (blocks(r, me->kind, me->node.ephemeral_owner))
			blocker = r;
	}
	return blocker;
}

/* The nearest earlier node of kind, or NULL. */
RecipeNode *
recipe_nearest_before(List *nodes, const RecipeNode *me, RecipeKind kind)
{
	RecipeNode *found = NULL;
	ListCell   *lc;

	foreach(lc, nodes)
	{
		RecipeNode *r = lfirst(lc);

		if (r == me)
			break;
		if (r->kind == kind)
			found = r;
	}
	return found;
}

/* ---- writes ---- */

void
recipe_set_create_op(ZkOp *op, const char *path, const char *data, int len, int mode)
{
	memset(op, 0, sizeof(ZkOp));
	op->type = ZK_OP_CREATE;
	op->path = pstrdup(path);
	op->data = (char *) data;
	op->data_len = len;
	op->mode = (int8) mode;
	op->version = -1;
	if (call_acl != NULL)
	{
		op->nacl = call_nacl;
		op->acl = call_acl;
	}
	else
	{
		op->nacl = 1;
		op->acl = palloc(sizeof(char *));
		op->acl[0] = pstrdup(ZkAclDefault());
	}
}

void
recipe_set_delete_op(ZkOp *op, const char *path, int32 version)
{
	memset(op, 0, sizeof(ZkOp));
	op->type = ZK_OP_DELETE;
	op->path = pstrdup(path);
	op->version = version;
}

/*
 * Submit ops as one request and wait for the result; the error code is
 * returned, not raised.  Interrupts are held meanwhile (point 3).
 */
int
recipe_submit_ops(ZkOp *ops, int n, ZkRequestResult *res)
{
	ZkRecord	req;

	memset(&req, 0, sizeof(req));
	req.session_id = ZkSessionEnsure();
	req.type = n == 1 ? ops[0].type : ZK_OP_MULTI;
	req.nops = n;
	req.ops = ops;
	ZkSessionAuth(&req.auth);
	/* a cancel while no quorum serves ends the call: nothing is sent yet */
	ZkWaitUntilServing(TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
												   zk_request_timeout_ms));
	HOLD_INTERRUPTS();
	PG_TRY();
	{
		ZkSubmitAndWait(&req, res);
	}
	PG_FINALLY();
	{
		RESUME_INTERRUPTS();
	}
	PG_END_TRY();
	return res->err;
}

/* Create path and its missing ancestors as containers. */
void
recipe_ensure_containers(const char *path)
{
	List	   *chain = NIL;
	char	   *p = pstrdup(path);
	ListCell   *lc;

	while (strcmp(p, "/") != 0)
	{
		chain = lcons(p, chain);
		p = ZkParentPath(p);
	}
	foreach(lc, chain)
	{
		const char *anc = lfirst(lc);
		ZkNode		node;
		ZkOp		op;
		ZkRequestResult res;
		int			err;

		if (ZkTreeGetNode(ZkTreeMain(), anc, false, &node))
			continue;
		recipe_set_create_op(&op, anc, NULL, 0, ZK_MODE_CONTAINER);
		err = recipe_submit_ops(&op, 1, &res);
		if (err != ZK_OK && err != ZK_ERR_NODEEXISTS)
			ZkReportError(err, anc, -1, "create");
	}
}

/*
 * Create dir/name (a prefix when mode is sequential), with dir and its
 * parents made as containers when missing; the created path.  The
 * container manager may delete an empty dir between the two: retry.
 */
char *
recipe_create_node(const char *dir, const char *name, int mode,
				   const char *data, int len, ZkStat *stat)
{
	char	   *path = ZkJoinPath(dir, name);
	int			attempt;

	for (attempt = 0;; attempt++)
	{
		ZkOp		op;
		ZkRequestResult res;
		int			err;

		recipe_set_create_op(&op, path, data, len, mode);
		err = recipe_submit_ops(&op, 1, &res);
		if (err == ZK_OK)
		{
			if (stat)
				*stat = res.results[0].stat;
			if (res.results[0].seq >= 0)
				return psprintf("%s%010d", path, res.results[0].seq);
			return path;
		}
		if (err != ZK_ERR_NONODE || attempt >= 10)
			ZkReportError(err, path, -1, "create");
		recipe_ensure_containers(dir);
	}
}

/* Delete path; false when it was gone already. */
bool
recipe_delete_node(const char *path, int32 version)
{
	ZkOp		op;
	ZkRequestResult res;
	int			err;

	recipe_set_delete_op(&op, path, version);
	err = recipe_submit_ops(&op, 1, &res);
	if (err == ZK_ERR_NONODE)
		return false;
	if (err != ZK_OK)
		ZkReportError(err, path, -1, "delete");
	return true;
}

/*
 * Queue the delete of a node this call created, without waiting: called
 * while an error (a cancel, statement_timeout) ends the call.
 */
void
recipe_abandon_node(const char *path)
{
	ZkRecord	req;
	ZkOp		op;
	ZkBackendSlot *slot = ZkMySlot();
	int64		sid;

	LWLockAcquire(ZkShmem->slot_lock, LW_SHARED);
	sid = slot->session_state == ZK_SESSION_OPEN ? slot->session_id : 0;
	LWLockRelease(ZkShmem->slot_lock);
	if (sid == 0)
		return;					/* the session, and its ephemerals, are gone */
	memset(&req, 0, sizeof(req));
	recipe_set_delete_op(&op, path, -1);
	req.session_id = sid;
	req.type = ZK_OP_DELETE;
	req.nops = 1;
	req.ops = &op;
	ZkSessionAuth(&req.auth);
	if (!ZkEnqueueRequest(&req, 1000))
		elog(WARNING, "zkpg could not queue the removal of \"%s\"; it goes with the session",
			 path);
}

/* ---- waiting ---- */

Deadline
recipe_deadline_arg(FunctionCallInfo fcinfo, int argno)
{
	Deadline	dl = {true, 0};
	Interval   *iv;
	double		total;
	int64		us;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return dl;
	iv = PG_GETARG_INTERVAL_P(argno);
	/* in double: a long interval must not overflow into a negative one */
	total = (double) iv->time + (double) iv->day * USECS_PER_DAY +
		(double) iv->month * DAYS_PER_MONTH * USECS_PER_DAY;
	if (total < 0)
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("timeout must not be negative")));
	if (total >= (double) USECS_PER_DAY * 365 * 1000)
		return dl;				/* a thousand years and more: no deadline */
	us = (int64) total;
	dl.forever = false;
	dl.at = GetCurrentTimestamp() + us;
	return dl;
}

/* For zkpg.locks and the election judge: which node this backend waits with. */
void
recipe_mark_waiting(const char *node)
{
	ZkBackendSlot *slot = ZkMySlot();

	LWLockAcquire(ZkShmem->slot_lock, LW_EXCLUSIVE);
	if (node == NULL)
	{
		slot->recipe_wait_since = 0;
		slot->recipe_wait_node[0] = '\0';
	}
	else if (slot->recipe_wait_since == 0 || strcmp(slot->recipe_wait_node, node) != 0)
	{
		slot->recipe_wait_since = GetCurrentTimestamp();
		strlcpy(slot->recipe_wait_node, node, sizeof(slot->recipe_wait_node));
	}
	LWLockRelease(ZkShmem->slot_lock);
}

/*
 * Sleep until the watched node changes from what the caller's decision
 * saw (seen, NULL when it was absent), or until the caller's own node
 * (own, NULL if none) is deleted under it: true, the caller looks again;
 * or until the deadline: false.  However it ends (an error too), the
 * recipe watches are gone; an election watch stays (the applier moves it).
 */
bool
recipe_wait_for_change(int64 sid, const char *watched, int kind, const ZkNode *seen,
					   const char *own, const Deadline *dl)
{
	volatile bool changed = false;

	(void) ZkWatchAdd(sid, watched, kind);
	if (own != NULL)
		(void) ZkWatchAdd(sid, own, ZK_WATCH_RECIPE_SELF);
	PG_TRY();
	{
		ZkNode		now;
		bool		exists;

		ZkWaitForInflightBatch();
		exists = ZkTreeGetNode(ZkTreeMain(), watched, false, &now);
		changed = exists != (seen != NULL) ||
			(exists && (now.czxid != seen->czxid || now.mzxid != seen->mzxid ||
						now.pzxid != seen->pzxid)) ||
			(own != NULL && !ZkTreeGetNode(ZkTreeMain(), own, false, &now));

		while (!changed)
		{
			long		timeout = -1;
			int			events = WL_LATCH_SET | WL_EXIT_ON_PM_DEATH;

			if (!dl->forever)
			{
				timeout = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), dl->at);
				if (timeout <= 0)
					break;
				events |= WL_TIMEOUT;
			}
			(void) WaitLatch(MyLatch, events, timeout, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
			(void) ZkSessionEnsure();	/* ZK112 once the session expired */
			/* fired: the applier consumed the watch */
			changed = !ZkWatchExists(sid, watched, kind) ||
				(own != NULL && !ZkWatchExists(sid, own, ZK_WATCH_RECIPE_SELF));
		}
	}
	PG_FINALLY();
	{
		if (kind == ZK_WATCH_RECIPE)
			ZkWatchRemove(sid, watched, 1 << kind);
		if (own != NULL)
			ZkWatchRemove(sid, own, 1 << ZK_WATCH_RECIPE_SELF);
	}
	PG_END_TRY();
	return changed;
}

/* ---- holds ---- */

static void
hold_free(Hold *h)
{
	pfree(h->path);
	pfree(h->node);
	pfree(h);
}

void
recipe_holds_for_session(int64 sid)
{
	ListCell   *lc;

	if (holds_session == sid)
		return;
	foreach(lc, recipe_holds)
		hold_free(lfirst(lc));
	list_free(recipe_holds);
	recipe_holds = NIL;
	holds_session = sid;
}

void
recipe_hold_push(const char *path, const char *node, RecipeKind kind, int64 token)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	Hold	   *h = palloc(sizeof(Hold));

	h->path = pstrdup(path);
	h->node = pstrdup(node);
	h->kind = kind;
	h->token = token;
	recipe_holds = lappend(recipe_holds, h);
	MemoryContextSwitchTo(old);
}

/* Forget every hold on a node that is gone. */
void
recipe_holds_forget_node(const char *node)
{
	char	   *gone = pstrdup(node);
	ListCell   *lc;

	foreach(lc, recipe_holds)
	{
		Hold	   *h = lfirst(lc);

		if (strcmp(h->node, gone) == 0)
		{
			recipe_holds = foreach_delete_current(recipe_holds, lc);
			hold_free(h);
		}
	}
	pfree(gone);
}

/* The newest hold on path: of a lock kind, or a semaphore lease. */
Hold *
recipe_hold_newest(const char *path, bool semaphore)
{
	int			i;

	for (i = list_length(recipe_holds) - 1; i >= 0; i--)
	{
		Hold	   *h = list_nth(recipe_holds, i);

		if (strcmp(h->path, path) == 0 && (h->kind == RK_LEASE) == semaphore)
			return h;
	}
	return NULL;
}

/*
 * Release a hold; its node goes with the last hold on it.  The hold is
 * forgotten only once the delete went through, so that a failed
 * zk_unlock can be retried.
 */
bool
recipe_hold_release(Hold *h)
{
	ListCell   *lc;
	bool		shared = false;

	foreach(lc, recipe_holds)
	{
		Hold	   *other = lfirst(lc);

		if (other != h && strcmp(other->node, h->node) == 0)
			shared = true;
	}
	if (!shared)
		(void) recipe_delete_node(h->node, -1);
	recipe_holds = list_delete_ptr(recipe_holds, h);
	hold_free(h);
	return true;
}

/* ---- arguments ---- */

char *
recipe_path_arg(FunctionCallInfo fcinfo, int argno)
{
	char	   *path;

	ZkCheckUsable();
	call_acl = NULL;			/* the default, unless recipe_acl_arg says */
	path = ZkPathArg(PG_ARGISNULL(argno) ? NULL : PG_GETARG_TEXT_PP(argno), false, "path");
	if (strcmp(path, "/") == 0 || ZkIsProtectedPath(path) ||
		strncmp(path, "/zookeeper/", 11) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("znode \"%s\" cannot hold a recipe", path)));
	return path;
}

/*
 * The acl argument of a recipe that creates nodes: checked as zk_create
 * checks its own (ZK114), NULL for Curator's and ZooKeeper's open default.
 */
void
recipe_acl_arg(FunctionCallInfo fcinfo, int argno, const char *path)
{
	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
	{
		call_acl = NULL;
		return;
	}
	/* in the call's memory: the next call sets its own */
	ZkAclFromArray(PG_GETARG_ARRAYTYPE_P(argno), &call_nacl, &call_acl, path);
}

/* A member name: one path component. */
char *
recipe_member_arg(FunctionCallInfo fcinfo, int argno)
{
	char	   *m;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("member must not be null")));
	m = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (m[0] == '\0' || strchr(m, '/') != NULL || strcmp(m, ".") == 0 ||
		strcmp(m, "..") == 0 || ZkValidatePath(psprintf("/%s", m), false) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("invalid member name \"%s\"", m),
				 errdetail("A member name is one znode name: not empty, no \"/\", not \".\" or \"..\".")));
	return m;
}

/* ZK102 unless this session may READ the child c of dir, as zk_get of it */
void
recipe_require_child_read(const char *dir, const ZkChildNode *c)
{
	if (!ZkAclPermits(c->node.nacl, c->node.acl, ZK_PERM_READ, ZkMyAuth()))
		ZkReportError(ZK_ERR_NOAUTH, ZkJoinPath(dir, c->name), -1, "read");
}

/* ---- zkpg.locks ---- */

static const char *
lock_kind_name(RecipeKind k)
{
	switch (k)
	{
		case RK_LOCK:
			return "lock";
		case RK_READ:
			return "read";
		case RK_WRITE:
			return "write";
		case RK_WAIT:
		case RK_LEASE:
			return "semaphore";
		case RK_CANDIDATE:
			return "election";
		case RK_TAKER:
		case RK_NONE:
			break;
	}
	return "unknown";
}

/*
 * zkpg.lock_rows() -> the rows of zkpg.locks: every holder and waiter of
 * a lock, read-write lock, semaphore or election, from the tree.
 */
Datum
zkpg_lock_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ListCell   *dl;
	ZkAuth	   *auth;

	ZkCheckUsable();
	auth = ZkMyAuth();
	InitMaterializedSRF(fcinfo, 0);
	foreach(dl, ZkTreeEphemeralParents(ZkTreeMain()))
	{
		const char *dir = lfirst(dl);
		ZkNode		dir_node;
		List	   *nodes = recipe_nodes(dir, false, &dir_node);
		ListCell   *lc;
		bool		first_candidate = true;

		/* what zk_get_children would hide, this hides */
		if (nodes == NIL ||
			!ZkAclPermits(dir_node.nacl, dir_node.acl, ZK_PERM_READ, auth))
			continue;
		foreach(lc, nodes)
		{
			RecipeNode *r = lfirst(lc);
			Datum		values[8];
			bool		nulls[8] = {0};
			bool		granted = false;
			bool		details;
			int			pid;
			int			idx = ZK_SESSION_SLOT(r->node.ephemeral_owner);

			/* queue takers are not lock holders or waiters */
			if (r->node.ephemeral_owner == 0 || r->kind == RK_TAKER)
				continue;
			/* a holder's owner and token are its node's stat: READ */
			if (!ZkAclPermits(r->node.nacl, r->node.acl, ZK_PERM_READ, auth))
				continue;
			/* another role's token, pid and wait: as pg_stat_activity shows */
			details = ZkSessionDetailsVisible(r->node.ephemeral_owner);
			if (is_lock_kind(r->kind))
				granted = recipe_lock_blocker(nodes, r) == NULL;
			else if (r->kind == RK_LEASE)
				granted = true;
			else if (r->kind == RK_CANDIDATE)
			{
				granted = first_candidate;
				first_candidate = false;
			}
			values[0] = CStringGetTextDatum(dir);
			values[1] = CStringGetTextDatum(lock_kind_name(r->kind));
			values[2] = CStringGetTextDatum(r->name);
			values[3] = Int64GetDatum(r->node.ephemeral_owner);
			values[4] = Int64GetDatum(r->node.czxid);
			nulls[4] = !granted || !details;
			values[5] = BoolGetDatum(granted);
			pid = details ? ZkSessionHolderPid(r->node.ephemeral_owner) : 0;
			values[6] = Int32GetDatum(pid);
			nulls[6] = pid == 0;
			nulls[7] = true;
			if (pid != 0 && idx < ZkShmem->nslots)
			{
				LWLockAcquire(ZkShmem->slot_lock, LW_SHARED);
				if (ZkShmem->slots[idx].recipe_wait_since != 0 &&
					strcmp(ZkShmem->slots[idx].recipe_wait_node, r->path) == 0)
				{
					values[7] = TimestampTzGetDatum(ZkShmem->slots[idx].recipe_wait_since);
					nulls[7] = false;
				}
				LWLockRelease(ZkShmem->slot_lock);
			}
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}

/* zkpg.recipe_wakeups() -> bigint: backends woken by recipe watches here */
Datum
zkpg_recipe_wakeups(PG_FUNCTION_ARGS)
{
	ZkCheckUsable();
	PG_RETURN_INT64((int64) ZkWatchRecipeWakeups());
}
