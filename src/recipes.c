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
#include "recipes.h"
#include "request_queue.h"
#include "sessions.h"
#include "shmem.h"
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
PG_FUNCTION_INFO_V1(zk_elect);
PG_FUNCTION_INFO_V1(zk_resign);
PG_FUNCTION_INFO_V1(zk_leader);
PG_FUNCTION_INFO_V1(zk_next_id);
PG_FUNCTION_INFO_V1(zk_register);
PG_FUNCTION_INFO_V1(zk_members);
PG_FUNCTION_INFO_V1(zk_barrier_enter);
PG_FUNCTION_INFO_V1(zk_barrier_leave);
PG_FUNCTION_INFO_V1(zk_queue_put);
PG_FUNCTION_INFO_V1(zk_queue_take);
PG_FUNCTION_INFO_V1(zk_counter_add);
PG_FUNCTION_INFO_V1(zkpg_lock_rows);
PG_FUNCTION_INFO_V1(zkpg_recipe_wakeups);

/* the kinds of recipe node, by name prefix */
typedef enum RecipeKind
{
	RK_LOCK,
	RK_READ,
	RK_WRITE,
	RK_WAIT,
	RK_LEASE,
	RK_CANDIDATE,
	RK_TAKER,
	RK_NONE
} RecipeKind;

static const char *const kind_prefix[] = {
	"lock-", "read-", "write-", "wait-", "lease-", "candidate-", "taker-"
};

#define SEQ_DIGITS 10
#define BARRIER_READY "ready"
#define QUEUE_PREFIX "qn-"

/* a recipe node of a directory */
typedef struct RecipeNode
{
	char	   *name;
	char	   *path;
	RecipeKind	kind;
	int64		seq;
	ZkNode		node;
} RecipeNode;

/* when a waiting call gives up; forever when no timeout was given */
typedef struct Deadline
{
	bool		forever;
	TimestampTz at;
} Deadline;

/* one hold of this backend's session (point 5 of the header) */
typedef struct Hold
{
	char	   *path;			/* the recipe's path */
	char	   *node;			/* the node that stands for the hold */
	RecipeKind	kind;
	int64		token;
} Hold;

static List *holds = NIL;
static int64 holds_session = 0;

/*
 * The ACL of the nodes the recipe call in progress creates (its acl
 * argument): the parents it makes and its holder or item nodes.  Set by
 * every recipe call as it reads its arguments.
 */
static int	call_nacl = 0;
static char **call_acl = NULL;

static RecipeKind classify(const char *name, int64 *seq);
static List *recipe_nodes(const char *dir, bool check_acl, ZkNode *dir_node);
static RecipeNode *find_node(List *nodes, const char *path);
static RecipeNode *waiting_node(List *nodes, const char *path);
static bool blocks(const RecipeNode *earlier, RecipeKind mine, int64 my_session);
static RecipeNode *lock_blocker(List *nodes, const RecipeNode *me);
static RecipeNode *nearest_before(List *nodes, const RecipeNode *me, RecipeKind kind);
static void set_create_op(ZkOp *op, const char *path, const char *data, int len, int mode);
static void set_delete_op(ZkOp *op, const char *path, int32 version);
static int	submit_ops(ZkOp *ops, int n, ZkRequestResult *res);
static void ensure_containers(const char *path);
static char *create_node(const char *dir, const char *name, int mode,
						 const char *data, int len, ZkStat *stat);
static bool delete_node(const char *path, int32 version);
static void abandon_node(const char *path);
static Deadline arg_deadline(FunctionCallInfo fcinfo, int argno);
static bool wait_for_change(int64 sid, const char *watched, int kind,
							const ZkNode *seen, const char *own, const Deadline *dl);
static void mark_waiting(const char *node);
static void holds_for_session(int64 sid);
static void hold_free(Hold *h);
static void holds_forget_node(const char *node);
static void hold_push(const char *path, const char *node, RecipeKind kind, int64 token);
static Hold *hold_newest(const char *path, bool semaphore);
static bool hold_release(Hold *h);
static char *recipe_path_arg(FunctionCallInfo fcinfo, int argno);
static char *member_arg(FunctionCallInfo fcinfo, int argno);
static void recipe_acl_arg(FunctionCallInfo fcinfo, int argno, const char *path);
static void require_child_read(const char *dir, const ZkChildNode *c);
static Datum lock_common(FunctionCallInfo fcinfo, RecipeKind kind);

/* ---- recipe nodes ---- */

/* The kind of a recipe node name (and its sequence), or RK_NONE. */
static RecipeKind
classify(const char *name, int64 *seq)
{
	int			k;

	for (k = 0; k < lengthof(kind_prefix); k++)
	{
		size_t		plen = strlen(kind_prefix[k]);
		const char *digits = name + plen;
		char	   *end;

		if (strncmp(name, kind_prefix[k], plen) != 0)
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
static List *
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

static RecipeNode *
find_node(List *nodes, const char *path)
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
static RecipeNode *
waiting_node(List *nodes, const char *path)
{
	RecipeNode *r = find_node(nodes, path);

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
static RecipeNode *
lock_blocker(List *nodes, const RecipeNode *me)
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
static RecipeNode *
nearest_before(List *nodes, const RecipeNode *me, RecipeKind kind)
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

static void
set_create_op(ZkOp *op, const char *path, const char *data, int len, int mode)
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

static void
set_delete_op(ZkOp *op, const char *path, int32 version)
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
static int
submit_ops(ZkOp *ops, int n, ZkRequestResult *res)
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
static void
ensure_containers(const char *path)
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
		set_create_op(&op, anc, NULL, 0, ZK_MODE_CONTAINER);
		err = submit_ops(&op, 1, &res);
		if (err != ZK_OK && err != ZK_ERR_NODEEXISTS)
			ZkReportError(err, anc, -1, "create");
	}
}

/*
 * Create dir/name (a prefix when mode is sequential), with dir and its
 * parents made as containers when missing; the created path.  The
 * container manager may delete an empty dir between the two: retry.
 */
static char *
create_node(const char *dir, const char *name, int mode,
			const char *data, int len, ZkStat *stat)
{
	char	   *path = ZkJoinPath(dir, name);
	int			attempt;

	for (attempt = 0;; attempt++)
	{
		ZkOp		op;
		ZkRequestResult res;
		int			err;

		set_create_op(&op, path, data, len, mode);
		err = submit_ops(&op, 1, &res);
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
		ensure_containers(dir);
	}
}

/* Delete path; false when it was gone already. */
static bool
delete_node(const char *path, int32 version)
{
	ZkOp		op;
	ZkRequestResult res;
	int			err;

	set_delete_op(&op, path, version);
	err = submit_ops(&op, 1, &res);
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
static void
abandon_node(const char *path)
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
	set_delete_op(&op, path, -1);
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

static Deadline
arg_deadline(FunctionCallInfo fcinfo, int argno)
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
static void
mark_waiting(const char *node)
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
static bool
wait_for_change(int64 sid, const char *watched, int kind, const ZkNode *seen,
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

static void
holds_for_session(int64 sid)
{
	ListCell   *lc;

	if (holds_session == sid)
		return;
	foreach(lc, holds)
		hold_free(lfirst(lc));
	list_free(holds);
	holds = NIL;
	holds_session = sid;
}

static void
hold_push(const char *path, const char *node, RecipeKind kind, int64 token)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	Hold	   *h = palloc(sizeof(Hold));

	h->path = pstrdup(path);
	h->node = pstrdup(node);
	h->kind = kind;
	h->token = token;
	holds = lappend(holds, h);
	MemoryContextSwitchTo(old);
}

/* Forget every hold on a node that is gone. */
static void
holds_forget_node(const char *node)
{
	char	   *gone = pstrdup(node);
	ListCell   *lc;

	foreach(lc, holds)
	{
		Hold	   *h = lfirst(lc);

		if (strcmp(h->node, gone) == 0)
		{
			holds = foreach_delete_current(holds, lc);
			hold_free(h);
		}
	}
	pfree(gone);
}

/* The newest hold on path: of a lock kind, or a semaphore lease. */
static Hold *
hold_newest(const char *path, bool semaphore)
{
	int			i;

	for (i = list_length(holds) - 1; i >= 0; i--)
	{
		Hold	   *h = list_nth(holds, i);

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
static bool
hold_release(Hold *h)
{
	ListCell   *lc;
	bool		shared = false;

	foreach(lc, holds)
	{
		Hold	   *other = lfirst(lc);

		if (other != h && strcmp(other->node, h->node) == 0)
			shared = true;
	}
	if (!shared)
		(void) delete_node(h->node, -1);
	holds = list_delete_ptr(holds, h);
	hold_free(h);
	return true;
}

/* ---- arguments ---- */

static char *
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
static void
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
static char *
member_arg(FunctionCallInfo fcinfo, int argno)
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
		RecipeNode *me = waiting_node(nodes, me_path);
		RecipeNode *blocker;

		blocker = lock_blocker(nodes, me);
		if (blocker == NULL)
			return true;
		mark_waiting(me_path);
		if (!wait_for_change(sid, blocker->path, ZK_WATCH_RECIPE, &blocker->node, me_path, dl))
			return false;
	}
}

static Datum
lock_common(FunctionCallInfo fcinfo, RecipeKind kind)
{
	char	   *dir = recipe_path_arg(fcinfo, 0);
	Deadline	dl = arg_deadline(fcinfo, 1);
	int64		sid = ZkSessionEnsure();
	ListCell   *lc;
	ZkStat		stat;
	char	   *node;
	bool		granted = false;

	holds_for_session(sid);
	recipe_acl_arg(fcinfo, 2, dir);
	/* re-entrant: a new hold on the node this session holds already */
	foreach(lc, holds)
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
				holds_forget_node(h->node);
				break;
			}
			hold_push(h->path, h->node, kind, token);
			PG_RETURN_INT64(token);
		}
	}

	node = create_node(dir, kind_prefix[kind], ZK_MODE_EPHEMERAL_SEQUENTIAL, NULL, 0, &stat);
	PG_TRY();
	{
		granted = wait_lock_turn(sid, dir, node, &dl);
	}
	PG_CATCH();
	{
		mark_waiting(NULL);
		abandon_node(node);
		PG_RE_THROW();
	}
	PG_END_TRY();
	mark_waiting(NULL);
	if (!granted)
	{
		(void) delete_node(node, -1);
		PG_RETURN_NULL();
	}
	hold_push(dir, node, kind, stat.czxid);
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

	holds_for_session(ZkSessionEnsure());
	h = hold_newest(dir, false);
	if (h == NULL)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(hold_release(h));
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
	dl = arg_deadline(fcinfo, 2);
	recipe_acl_arg(fcinfo, 3, dir);
	sid = ZkSessionEnsure();
	holds_for_session(sid);

	waiter = create_node(dir, kind_prefix[RK_WAIT], ZK_MODE_EPHEMERAL_SEQUENTIAL, NULL, 0, NULL);
	PG_TRY();
	{
		for (;;)
		{
			ZkNode		dir_node;
			List	   *nodes = recipe_nodes(dir, true, &dir_node);
			RecipeNode *me = waiting_node(nodes, waiter);
			RecipeNode *before;
			ListCell   *lc;
			int			leases = 0;

			mark_waiting(waiter);
			before = nearest_before(nodes, me, RK_WAIT);
			if (before != NULL)
			{
				if (!wait_for_change(sid, before->path, ZK_WATCH_RECIPE, &before->node, waiter, &dl))
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
				char	   *lease_prefix = ZkJoinPath(dir, kind_prefix[RK_LEASE]);

				set_create_op(&ops[0], lease_prefix, NULL, 0, ZK_MODE_EPHEMERAL_SEQUENTIAL);
				set_delete_op(&ops[1], waiter, -1);
				err = submit_ops(ops, 2, &res);
				if (err != ZK_OK)
					ZkReportError(err, res.failed_index == 1 ? waiter : lease_prefix,
								  -1, res.failed_index == 1 ? "delete" : "create");
				token = res.results[0].stat.czxid;
				hold_push(dir, psprintf("%s%010d", lease_prefix, res.results[0].seq),
						  RK_LEASE, token);
				waiter = NULL;
				break;
			}
			if (!wait_for_change(sid, dir, ZK_WATCH_RECIPE, &dir_node, waiter, &dl))
				break;
		}
	}
	PG_CATCH();
	{
		mark_waiting(NULL);
		if (waiter != NULL)
			abandon_node(waiter);
		PG_RE_THROW();
	}
	PG_END_TRY();
	mark_waiting(NULL);
	if (waiter != NULL)
	{
		(void) delete_node(waiter, -1);
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

	holds_for_session(ZkSessionEnsure());
	h = hold_newest(dir, true);
	if (h == NULL)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(hold_release(h));
}

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
	return nearest_before(nodes, mine, RK_CANDIDATE);
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
	dl = arg_deadline(fcinfo, 2);
	recipe_acl_arg(fcinfo, 3, dir);
	sid = ZkSessionEnsure();

	nodes = recipe_nodes(dir, true, &dir_node);
	mine = my_candidate(nodes, sid);
	if (mine != NULL)
		node = mine->path;
	else
		node = created = create_node(dir, kind_prefix[RK_CANDIDATE],
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
			mine = waiting_node(nodes, node);
			before = candidate_before(nodes, mine);
			if (before == NULL)
			{
				leads = true;
				token = mine->node.czxid;
				break;
			}
			mark_waiting(node);
			if (!wait_for_change(sid, before->path, ZK_WATCH_ELECTION, &before->node, node, &dl))
				break;
		}
	}
	PG_CATCH();
	{
		mark_waiting(NULL);
		if (created != NULL)
		{
			ZkWatchRemoveKindUnder(sid, ZK_WATCH_ELECTION, dir);
			abandon_node(created);
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	mark_waiting(NULL);
	if (!leads)
	{
		/*
		 * The applier skipped LeadershipAcquired while we were marked
		 * waiting: a batch that did so has announced itself; once it has
		 * committed, we see the leadership here.
		 */
		ZkWaitForInflightBatch();
		nodes = recipe_nodes(dir, true, &dir_node);
		mine = find_node(nodes, node);
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
		resigned |= delete_node(mine->path, -1);
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
		int			idx = (int) (e->session_id & 0xFFFF);
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

/* ---- naming service, counter ---- */

/* the longest decimal int64, as prep_processor.c's COUNTER_TEXT_MAX */
#define COUNTER_DATA_MAX	20

/* The value of a counter node's data. */
static int64
counter_value(const char *path, const ZkNode *node)
{
	char	   *text = pnstrdup(node->data ? node->data : "", node->data_len);
	char	   *end;
	int64		v;

	if (node->data_len == 0)
		return 0;
	if (!(isdigit((unsigned char) text[0]) || (text[0] == '-' && isdigit((unsigned char) text[1]))))
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("znode \"%s\" does not hold a counter", path),
				 errdetail("Its data is not a decimal integer.")));
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0 || *end != '\0' || end == text)
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("znode \"%s\" does not hold a counter", path),
				 errdetail("Its data is not a decimal integer.")));
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
	if (node.data_len > COUNTER_DATA_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("znode \"%s\" does not hold a counter", path),
				 errdetail("A counter's data has at most %d bytes.", COUNTER_DATA_MAX)));
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
		set_create_op(&op, path, NULL, 0, ZK_MODE_PERSISTENT);
		op.type = ZK_OP_COUNTER;
		op.counter = delta;
		err = submit_ops(&op, 1, &res);
		if (err == ZK_OK)
		{
			/* a created counter has version 0; an added one more */
			Assert(res.nresults == 1 && res.results[0].has_stat);
			return res.results[0].stat.version == 0 ? delta : res.results[0].counter;
		}
		if (err == ZK_ERR_NONODE)
			ensure_containers(ZkParentPath(path));
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
	char	   *member = member_arg(fcinfo, 1);
	ZkOp		data;

	memset(&data, 0, sizeof(data));
	ZkDataFromBytea(PG_ARGISNULL(2) ? NULL : PG_GETARG_BYTEA_PP(2), &data);
	recipe_acl_arg(fcinfo, 3, dir);
	PG_RETURN_TEXT_P(cstring_to_text(create_node(dir, member, ZK_MODE_EPHEMERAL,
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
		require_child_read(dir, c);

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

/* ZK102 unless this session may READ the child c of dir, as zk_get of it */
static void
require_child_read(const char *dir, const ZkChildNode *c)
{
	if (!ZkAclPermits(c->node.nacl, c->node.acl, ZK_PERM_READ, ZkMyAuth()))
		ZkReportError(ZK_ERR_NOAUTH, ZkJoinPath(dir, c->name), -1, "read");
}

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
	char	   *m = member_arg(fcinfo, argno);

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
	dl = arg_deadline(fcinfo, 3);
	recipe_acl_arg(fcinfo, 4, dir);
	sid = ZkSessionEnsure();

	if (!ZkTreeGetNode(ZkTreeMain(), mine, false, &node) || node.ephemeral_owner != sid)
		created = create_node(dir, member, ZK_MODE_EPHEMERAL, NULL, 0, NULL);
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
				set_create_op(&op, ready, NULL, 0, ZK_MODE_PERSISTENT);
				err = submit_ops(&op, 1, &res);
				if (err != ZK_OK && err != ZK_ERR_NODEEXISTS)
					ZkReportError(err, ready, -1, "create");
				entered = true;
				break;
			}
			mark_waiting(mine);
			if (!wait_for_change(sid, ready, ZK_WATCH_RECIPE, NULL, NULL, &dl))
				break;
		}
	}
	PG_CATCH();
	{
		mark_waiting(NULL);
		if (created != NULL)
			abandon_node(created);
		PG_RE_THROW();
	}
	PG_END_TRY();
	mark_waiting(NULL);
	if (!entered && created != NULL)
		(void) delete_node(created, -1);
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
	Deadline	dl = arg_deadline(fcinfo, 2);
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
					set_delete_op(&ops[n++], ready, -1);
				set_delete_op(&ops[n++], mine, -1);
				if (submit_ops(ops, n, &res) == ZK_OK)
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
					(void) delete_node(mine, -1);
				watch_path = ZkJoinPath(dir, lowest->name);
				seen = &lowest->node;
			}
			mark_waiting(mine);
			if (!wait_for_change(sid, watch_path, ZK_WATCH_RECIPE, seen, NULL, &dl))
				break;
		}
	}
	PG_CATCH();
	{
		mark_waiting(NULL);
		PG_RE_THROW();
	}
	PG_END_TRY();
	mark_waiting(NULL);
	if (!left)
		(void) delete_node(mine, -1);
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
	PG_RETURN_TEXT_P(cstring_to_text(create_node(dir, QUEUE_PREFIX,
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
		require_child_read(dir, c);
		/* one delete succeeds; the others get ZK101 and try the next */
		if (delete_node(ZkJoinPath(dir, c->name), -1))
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
	Deadline	dl = arg_deadline(fcinfo, 1);
	int64		sid = ZkSessionEnsure();
	bytea	   *taken;
	char	   *taker = NULL;

	recipe_acl_arg(fcinfo, 2, dir);
	taken = queue_claim_head(dir);
	if (taken != NULL)
		PG_RETURN_BYTEA_P(taken);
	if (!dl.forever && GetCurrentTimestamp() >= dl.at)
		PG_RETURN_NULL();		/* no waiting: leave no trace */

	taker = create_node(dir, kind_prefix[RK_TAKER], ZK_MODE_EPHEMERAL_SEQUENTIAL, NULL, 0, NULL);
	PG_TRY();
	{
		for (;;)
		{
			ZkNode		dir_node;
			List	   *nodes = recipe_nodes(dir, true, &dir_node);
			RecipeNode *me = waiting_node(nodes, taker);
			RecipeNode *before;

			mark_waiting(taker);
			before = nearest_before(nodes, me, RK_TAKER);
			if (before != NULL)
			{
				if (!wait_for_change(sid, before->path, ZK_WATCH_RECIPE, &before->node, taker, &dl))
					break;
				continue;
			}
			/* the head of the line */
			taken = queue_claim_head(dir);
			if (taken != NULL)
				break;
			if (!wait_for_change(sid, dir, ZK_WATCH_RECIPE, &dir_node, taker, &dl))
				break;
		}
	}
	PG_CATCH();
	{
		mark_waiting(NULL);
		abandon_node(taker);
		PG_RE_THROW();
	}
	PG_END_TRY();
	mark_waiting(NULL);
	(void) delete_node(taker, -1);
	if (taken == NULL)
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(taken);
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
			int			idx = (int) (r->node.ephemeral_owner & 0xFFFF);

			/* queue takers are not lock holders or waiters */
			if (r->node.ephemeral_owner == 0 || r->kind == RK_TAKER)
				continue;
			/* a holder's owner and token are its node's stat: READ */
			if (!ZkAclPermits(r->node.nacl, r->node.acl, ZK_PERM_READ, auth))
				continue;
			/* another role's token, pid and wait: as pg_stat_activity shows */
			details = ZkSessionDetailsVisible(r->node.ephemeral_owner);
			if (is_lock_kind(r->kind))
				granted = lock_blocker(nodes, r) == NULL;
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
