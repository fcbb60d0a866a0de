/*-------------------------------------------------------------------------
 *
 * prep_processor.c
 *	  The leader's request processor (ZooKeeper's PrepRequestProcessor):
 *	  turns a request into a txn, or into an error txn, against the tree
 *	  as it will be once every txn already decided has been applied.
 *
 * 1. The applied tree is in tables; txns decided but not yet applied are
 *	  remembered here as change records keyed by path (ZooKeeper's
 *	  outstandingChanges).  A lookup consults the records first, then the
 *	  table.
 * 2. Records whose zxid the applier has passed are pruned.  The caller
 *	  reads the applied zxid before the tree is read, so the tree is at
 *	  least as new as every pruned record; records newer than the table
 *	  still take precedence, and they are the newer state.
 * 3. A multi works on the records and, when an op fails, restores what it
 *	  changed (ZooKeeper's rollbackPendingChanges), so that the whole multi
 *	  becomes one error txn and nothing of it is visible to later requests.
 * 4. The live sessions are the session tracker's (session_tracker.c),
 *	  restarted with the processor: a request of a session it does not
 *	  hold becomes a SESSIONEXPIRED error txn, except those of
 *	  ZK_SERVER_SESSION, which the ensemble itself makes.
 *
 * Every failed request still consumes a zxid as an error txn, so that the
 * results reach their waiters in order and zxids mean the same on every
 * server.  Bad input was refused by the backend before it was queued; the
 * checks here are repeated because forwarded requests come from the
 * network.
 *
 * IDENTIFICATION
 *	  src/prep_processor.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "acl.h"
#include "datatree.h"
#include "path.h"
#include "prep_processor.h"
#include "record_check.h"
#include "session_tracker.h"
#include "txn_codec.h"
#include "zkpg.h"

/*
 * What a change record knows of its node's data: only a counter op reads
 * data as decided, so a record keeps a copy only of data small enough to
 * be a counter's decimal text (ZK_COUNTER_TEXT_MAX); other data is "not a
 * counter".
 */
typedef enum RecordData
{
	DATA_IN_TREE,				/* no decided txn changed it: the tree's */
	DATA_SMALL,					/* small_data holds it */
	DATA_LARGE					/* too large to be a counter */
} RecordData;

typedef struct ChangeRecord
{
	char		path[ZK_MAX_PATH_BYTES + 1];	/* hash key */
	ZkZxid		zxid;			/* last txn that changed it */
	bool		exists;
	ZkNode		node;			/* acl allocated in prep_cxt */
	RecordData	data_state;
	int			small_len;
	char		small_data[ZK_COUNTER_TEXT_MAX];
} ChangeRecord;

/* What a multi changed, to restore when one of its ops fails. */
typedef struct UndoEntry
{
	char	   *path;
	bool		was_recorded;
	ChangeRecord saved;
} UndoEntry;

typedef struct PrepContext
{
	const ZkRecord *req;
	ZkZxid		zxid;
	TimestampTz time;
	List	   *undo;			/* what to restore if the request fails */
} PrepContext;

static ZkTree *prep_tree = NULL;
static HTAB *outstanding = NULL;
static MemoryContext prep_cxt = NULL;

static bool view_get(const char *path, ZkNode *node);
static void view_put(PrepContext *pc, const char *path, bool exists, const ZkNode *node);
static char **copy_acl(int nacl, char **acl);
static void free_acl(int nacl, char **acl);
static int	prep_op(PrepContext *pc, ZkOp *op, ZkOp *out);
static int	prep_create(PrepContext *pc, ZkOp *op, ZkOp *out);
static int	prep_delete(PrepContext *pc, ZkOp *op, ZkOp *out);
static int	prep_setdata(PrepContext *pc, ZkOp *op, ZkOp *out);
static int	prep_setacl(PrepContext *pc, ZkOp *op, ZkOp *out);
static int	prep_check(PrepContext *pc, ZkOp *op, ZkOp *out);
static void prep_close_session(PrepContext *pc, int64 session_id);
static void rollback_changes(PrepContext *pc);

/*
 * Start over on tree (the main tree when leading; a scratch copy for the
 * pipeline check), with no outstanding change and the sessions it holds.
 */
void
ZkPrepInit(ZkTree *tree)
{
	HASHCTL		ctl;

	if (prep_cxt != NULL)
		MemoryContextDelete(prep_cxt);
	prep_cxt = AllocSetContextCreate(TopMemoryContext, "zkpg prep processor",
									 ALLOCSET_DEFAULT_SIZES);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = ZK_MAX_PATH_BYTES + 1;
	ctl.entrysize = sizeof(ChangeRecord);
	ctl.hcxt = prep_cxt;
	outstanding = hash_create("zkpg outstanding changes", 1024, &ctl,
							  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

	prep_tree = tree;
	ZkSessionTrackerInit(ZkTreeSessions(tree));
}

/* Drop the processor's state (the pipeline check is done with its tree). */
void
ZkPrepForget(void)
{
	if (prep_cxt != NULL)
		MemoryContextDelete(prep_cxt);
	prep_cxt = NULL;
	prep_tree = NULL;
	outstanding = NULL;
	ZkSessionTrackerForget();
}

/*
 * Forget change records the applier has passed.
 */
void
ZkPrepPrune(ZkZxid applied)
{
	HASH_SEQ_STATUS seq;
	ChangeRecord *rec;

	hash_seq_init(&seq, outstanding);
	while ((rec = hash_seq_search(&seq)) != NULL)
	{
		if (rec->zxid <= applied)
		{
			free_acl(rec->node.nacl, rec->node.acl);
			hash_search(outstanding, rec->path, HASH_REMOVE, NULL);
		}
	}
}

static char **
copy_acl(int nacl, char **acl)
{
	char	  **out = MemoryContextAlloc(prep_cxt, sizeof(char *) * Max(nacl, 1));
	int			i;

	for (i = 0; i < nacl; i++)
		out[i] = MemoryContextStrdup(prep_cxt, acl[i]);
	return out;
}

static void
free_acl(int nacl, char **acl)
{
	int			i;

	if (acl == NULL)
		return;
	for (i = 0; i < nacl; i++)
		pfree(acl[i]);
	pfree(acl);
}

/*
 * The node at path as it will be after every decided txn: false if it
 * will not exist.  node->acl may point into the records: read only.
 */
static bool
view_get(const char *path, ZkNode *node)
{
	ChangeRecord *rec = hash_search(outstanding, path, HASH_FIND, NULL);

	if (rec != NULL)
	{
		*node = rec->node;
		return rec->exists;
	}
	return ZkTreeGetNode(prep_tree, path, false, node);
}

/*
 * The data a decided txn gave path (view_put first: it is undone with the
 * record).
 */
static void
view_set_data(const char *path, const char *data, int len)
{
	ChangeRecord *rec = hash_search(outstanding, path, HASH_FIND, NULL);

	Assert(rec != NULL);
	if (len <= ZK_COUNTER_TEXT_MAX)
	{
		rec->data_state = DATA_SMALL;
		rec->small_len = len;
		if (len > 0)
			memcpy(rec->small_data, data, len);
	}
	else
		rec->data_state = DATA_LARGE;
}

/*
 * path's node as decided so far, and its data into text (NUL-terminated)
 * when it has at most ZK_COUNTER_TEXT_MAX bytes; *len is -1 when it has more.
 */
static bool
view_get_small_data(const char *path, ZkNode *node, char *text, int *len)
{
	ChangeRecord *rec = hash_search(outstanding, path, HASH_FIND, NULL);

	*len = -1;
	if (rec != NULL && rec->data_state != DATA_IN_TREE)
	{
		*node = rec->node;
		if (rec->exists && rec->data_state == DATA_SMALL)
		{
			*len = rec->small_len;
			memcpy(text, rec->small_data, rec->small_len);
			text[rec->small_len] = '\0';
		}
		return rec->exists;
	}
	if (rec != NULL && !rec->exists)
		return false;
	if (!ZkTreeGetNode(prep_tree, path, true, node))
		return false;
	if (rec != NULL)
	{
		/* the record's metadata is newer; the tree's data is current */
		char	   *data = node->data;
		int			data_len = node->data_len;

		*node = rec->node;
		node->data = data;
		node->data_len = data_len;
	}
	if (node->data_len <= ZK_COUNTER_TEXT_MAX)
	{
		*len = node->data_len;
		if (node->data_len > 0)
			memcpy(text, node->data, node->data_len);
		text[node->data_len] = '\0';
	}
	node->data = NULL;
	return true;
}

static void
view_put(PrepContext *pc, const char *path, bool exists, const ZkNode *node)
{
	bool		found;
	ChangeRecord *rec = hash_search(outstanding, path, HASH_ENTER, &found);

	{
		UndoEntry  *u = palloc0(sizeof(UndoEntry));

		u->path = pstrdup(path);
		u->was_recorded = found;
		if (found)
		{
			u->saved = *rec;
			u->saved.node.acl = copy_acl(rec->node.nacl, rec->node.acl);
		}
		pc->undo = lcons(u, pc->undo);
	}

	if (found)
		free_acl(rec->node.nacl, rec->node.acl);
	else
		rec->data_state = DATA_IN_TREE;
	rec->zxid = pc->zxid;
	rec->exists = exists;
	if (exists)
	{
		rec->node = *node;
		rec->node.data = NULL;
		rec->node.acl = copy_acl(node->nacl, node->acl);
	}
	else
		memset(&rec->node, 0, sizeof(ZkNode));
}

/* Undo, newest first, what the failed request recorded. */
static void
rollback_changes(PrepContext *pc)
{
	ListCell   *lc;

	foreach(lc, pc->undo)
	{
		UndoEntry  *u = lfirst(lc);
		ChangeRecord *rec = hash_search(outstanding, u->path, HASH_FIND, NULL);

		if (rec != NULL)
		{
			free_acl(rec->node.nacl, rec->node.acl);
			hash_search(outstanding, u->path, HASH_REMOVE, NULL);
		}
		if (u->was_recorded)
		{
			rec = hash_search(outstanding, u->path, HASH_ENTER, NULL);
			rec->zxid = u->saved.zxid;
			rec->exists = u->saved.exists;
			rec->node = u->saved.node;
		}
	}
	pc->undo = NIL;
}

static int
prep_create(PrepContext *pc, ZkOp *op, ZkOp *out)
{
	bool		sequential = ZK_MODE_IS_SEQUENTIAL(op->mode);
	char	   *parent_path;
	char	   *path;
	ZkNode		parent;
	ZkNode		node;
	int			nacl;
	char	  **acl;

	if (ZkValidatePath(op->path, sequential) != NULL)
		return ZK_ERR_BADARGUMENTS;
	if (op->mode < ZK_MODE_PERSISTENT || op->mode > ZK_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL)
		return ZK_ERR_BADARGUMENTS;
	if (ZK_MODE_IS_TTL(op->mode) ? (op->ttl_ms <= 0 || op->ttl_ms > ZK_MAX_TTL_MS) :
		op->ttl_ms != 0)
		return ZK_ERR_BADARGUMENTS;
	if (op->data_len > zk_max_data_bytes)
		return ZK_ERR_BADARGUMENTS;

	if (strcmp(op->path, "/") == 0)
		parent_path = pstrdup("/");
	else
		parent_path = ZkParentPath(op->path);
	if (!view_get(parent_path, &parent))
		return ZK_ERR_NONODE;
	if (!ZkAclPermits(parent.nacl, parent.acl, ZK_PERM_CREATE, &pc->req->auth))
		return ZK_ERR_NOAUTH;
	if (parent.ephemeral_owner != 0 && parent.kind == ZK_KIND_NORMAL)
		return ZK_ERR_NOCHILDRENFOREPHEMERALS;

	if (sequential)
		path = psprintf("%s%010d", op->path, parent.creates);
	else
		path = pstrdup(op->path);
	if (strlen(path) > ZK_MAX_PATH_BYTES)
		return ZK_ERR_BADARGUMENTS;
	if (view_get(path, &node))
		return ZK_ERR_NODEEXISTS;

	if (op->nacl == 0)
		return ZK_ERR_INVALIDACL;
	if (ZkAclNormalize(op->nacl, op->acl, &pc->req->auth, &nacl, &acl) != NULL)
		return ZK_ERR_INVALIDACL;

	/* the new node */
	memset(&node, 0, sizeof(node));
	node.czxid = node.mzxid = node.pzxid = pc->zxid;
	node.ctime = node.mtime = pc->time;
	node.ephemeral_owner = ZK_MODE_IS_EPHEMERAL(op->mode) ? pc->req->session_id : 0;
	node.kind = op->mode == ZK_MODE_CONTAINER ? ZK_KIND_CONTAINER :
		ZK_MODE_IS_TTL(op->mode) ? ZK_KIND_TTL : ZK_KIND_NORMAL;
	node.ttl_ms = op->ttl_ms;
	node.data_len = op->data_len;
	node.nacl = nacl;
	node.acl = acl;

	/* the parent's child bookkeeping */
	parent.creates++;
	parent.num_children++;
	parent.pzxid = pc->zxid;

	*out = *op;
	out->path = path;
	out->nacl = nacl;
	out->acl = acl;
	out->ephemeral_owner = node.ephemeral_owner;
	out->parent_creates = parent.creates;

	view_put(pc, parent_path, true, &parent);
	view_put(pc, path, true, &node);
	view_set_data(path, op->data, op->data_len);
	return ZK_OK;
}

static int
prep_delete(PrepContext *pc, ZkOp *op, ZkOp *out)
{
	char	   *parent_path;
	ZkNode		parent;
	ZkNode		node;

	if (ZkValidatePath(op->path, false) != NULL || ZkIsProtectedPath(op->path))
		return ZK_ERR_BADARGUMENTS;
	if (op->version < -1)
		return ZK_ERR_BADARGUMENTS;
	parent_path = ZkParentPath(op->path);
	if (!view_get(parent_path, &parent) || !view_get(op->path, &node))
		return ZK_ERR_NONODE;
	if (!ZkAclPermits(parent.nacl, parent.acl, ZK_PERM_DELETE, &pc->req->auth))
		return ZK_ERR_NOAUTH;
	if (op->version != -1 && op->version != node.version)
		return ZK_ERR_BADVERSION;
	if (node.num_children > 0)
		return ZK_ERR_NOTEMPTY;

	parent.num_children--;
	parent.pzxid = pc->zxid;
	*out = *op;
	view_put(pc, parent_path, true, &parent);
	view_put(pc, op->path, false, NULL);
	return ZK_OK;
}

static int
prep_setdata(PrepContext *pc, ZkOp *op, ZkOp *out)
{
	ZkNode		node;

	if (ZkValidatePath(op->path, false) != NULL || op->version < -1 ||
		op->data_len > zk_max_data_bytes)
		return ZK_ERR_BADARGUMENTS;
	if (!view_get(op->path, &node))
		return ZK_ERR_NONODE;
	if (!ZkAclPermits(node.nacl, node.acl, ZK_PERM_WRITE, &pc->req->auth))
		return ZK_ERR_NOAUTH;
	if (op->version != -1 && op->version != node.version)
		return ZK_ERR_BADVERSION;

	node.version++;
	node.mzxid = pc->zxid;
	node.mtime = pc->time;
	node.data_len = op->data_len;
	*out = *op;
	out->version = node.version;
	view_put(pc, op->path, true, &node);
	view_set_data(op->path, op->data, op->data_len);
	return ZK_OK;
}

bool
ZkCounterParse(const char *data, int len, int64 *value)
{
	char		text[ZK_COUNTER_TEXT_MAX + 1];
	char	   *end;

	*value = 0;
	if (len == 0)
		return true;
	if (len > ZK_COUNTER_TEXT_MAX)
		return false;
	memcpy(text, data, len);
	text[len] = '\0';
	if (!(isdigit((unsigned char) text[0]) ||
		  (text[0] == '-' && isdigit((unsigned char) text[1]))))
		return false;
	errno = 0;
	*value = strtoll(text, &end, 10);
	return errno == 0 && *end == '\0';
}

/*
 * zk_counter_add (recipe_naming.c): add op->counter to the decimal
 * integer that is the node's data, as decided so far, so that concurrent
 * adds never retry; a missing node is created holding the delta (its
 * parent must exist).  The txn is a setData that says the value
 * (ZK_OP_COUNTER), or a create.
 */
static int
prep_counter(PrepContext *pc, ZkOp *op, ZkOp *out)
{
	ZkNode		node;
	char		text[ZK_COUNTER_TEXT_MAX + 1];
	int			len;
	int64		value;

	if (ZkValidatePath(op->path, false) != NULL || ZkIsProtectedPath(op->path))
		return ZK_ERR_BADARGUMENTS;
	if (!view_get_small_data(op->path, &node, text, &len))
	{
		ZkOp		create;
		char	   *initial = psprintf(INT64_FORMAT, op->counter);

		memset(&create, 0, sizeof(create));
		create.type = ZK_OP_CREATE;
		create.path = op->path;
		create.data = initial;
		create.data_len = strlen(initial);
		create.mode = ZK_MODE_PERSISTENT;
		create.version = -1;
		create.nacl = op->nacl;
		create.acl = op->acl;
		out->type = ZK_OP_CREATE;
		return prep_create(pc, &create, out);
	}
	if (!ZkAclPermits(node.nacl, node.acl, ZK_PERM_READ, &pc->req->auth) ||
		!ZkAclPermits(node.nacl, node.acl, ZK_PERM_WRITE, &pc->req->auth))
		return ZK_ERR_NOAUTH;

	if (len < 0 || !ZkCounterParse(text, len, &value))
		return ZK_ERR_BADARGUMENTS;
	if ((op->counter > 0 && value > PG_INT64_MAX - op->counter) ||
		(op->counter < 0 && value < PG_INT64_MIN - op->counter))
		return ZK_ERR_BADARGUMENTS;
	value += op->counter;
	snprintf(text, sizeof(text), INT64_FORMAT, value);

	node.version++;
	node.mzxid = pc->zxid;
	node.mtime = pc->time;
	node.data_len = strlen(text);
	out->path = op->path;
	out->counter = value;
	out->version = node.version;
	view_put(pc, op->path, true, &node);
	view_set_data(op->path, text, node.data_len);
	return ZK_OK;
}

static int
prep_setacl(PrepContext *pc, ZkOp *op, ZkOp *out)
{
	ZkNode		node;
	int			nacl;
	char	  **acl;

	if (ZkValidatePath(op->path, false) != NULL || op->version < -1)
		return ZK_ERR_BADARGUMENTS;
	if (!view_get(op->path, &node))
		return ZK_ERR_NONODE;
	if (!ZkAclPermits(node.nacl, node.acl, ZK_PERM_ADMIN, &pc->req->auth))
		return ZK_ERR_NOAUTH;
	if (op->version != -1 && op->version != node.aversion)
		return ZK_ERR_BADVERSION;
	if (ZkAclNormalize(op->nacl, op->acl, &pc->req->auth, &nacl, &acl) != NULL)
		return ZK_ERR_INVALIDACL;

	node.aversion++;
	node.nacl = nacl;
	node.acl = acl;
	*out = *op;
	out->nacl = nacl;
	out->acl = acl;
	out->version = node.aversion;
	view_put(pc, op->path, true, &node);
	return ZK_OK;
}

static int
prep_check(PrepContext *pc, ZkOp *op, ZkOp *out)
{
	ZkNode		node;

	if (ZkValidatePath(op->path, false) != NULL || op->version < -1)
		return ZK_ERR_BADARGUMENTS;
	if (!view_get(op->path, &node))
		return ZK_ERR_NONODE;
	if (!ZkAclPermits(node.nacl, node.acl, ZK_PERM_READ, &pc->req->auth))
		return ZK_ERR_NOAUTH;
	if (op->version != -1 && op->version != node.version)
		return ZK_ERR_BADVERSION;
	*out = *op;
	return ZK_OK;
}

/*
 * zk_op_fence (a zk_multi op): the holder whose token is op->token still
 * holds op->path, that is, a child of op->path created by that zxid still
 * exists, as decided so far.  A token names its node: no other node has
 * that czxid.
 */
static int
prep_fence(PrepContext *pc, ZkOp *op, ZkOp *out)
{
	ZkNode		node;
	List	   *names;
	ListCell   *lc;
	HASH_SEQ_STATUS seq;
	ChangeRecord *rec;
	bool		held = false;

	if (ZkValidatePath(op->path, false) != NULL || op->token <= 0)
		return ZK_ERR_BADARGUMENTS;
	if (!view_get(op->path, &node))
		return ZK_ERR_NONODE;
	if (!ZkAclPermits(node.nacl, node.acl, ZK_PERM_READ, &pc->req->auth))
		return ZK_ERR_NOAUTH;

	/* children created by txns not applied yet */
	hash_seq_init(&seq, outstanding);
	while ((rec = hash_seq_search(&seq)) != NULL)
	{
		if (rec->exists && rec->node.czxid == op->token)
		{
			char	   *parent = ZkParentPath(rec->path);

			held = strcmp(parent, op->path) == 0;
			pfree(parent);
			if (held)
			{
				hash_seq_term(&seq);
				*out = *op;
				return ZK_OK;
			}
		}
	}

	/* applied children, unless a decided txn deleted them */
	names = ZkTreeGetChildren(prep_tree, op->path);
	foreach(lc, names)
	{
		char	   *child = ZkJoinPath(op->path, lfirst(lc));
		ZkNode		c;

		if (view_get(child, &c) && c.czxid == op->token)
		{
			held = true;
			break;
		}
	}
	list_free_deep(names);
	if (!held)
		return ZK_ERR_NONODE;
	*out = *op;
	return ZK_OK;
}

static int
prep_op(PrepContext *pc, ZkOp *op, ZkOp *out)
{
	memset(out, 0, sizeof(ZkOp));
	out->type = op->type;
	switch (op->type)
	{
		case ZK_OP_CREATE:
			return prep_create(pc, op, out);
		case ZK_OP_DELETE:
			return prep_delete(pc, op, out);
		case ZK_OP_SETDATA:
			return prep_setdata(pc, op, out);
		case ZK_OP_SETACL:
			return prep_setacl(pc, op, out);
		case ZK_OP_CHECK:
			return prep_check(pc, op, out);
		case ZK_OP_FENCE:
			return prep_fence(pc, op, out);
		case ZK_OP_COUNTER:
			return prep_counter(pc, op, out);
	}
	return ZK_ERR_BADARGUMENTS;
}

/*
 * closeSession: every ephemeral of the session, decided or applied, goes
 * (ZooKeeper's PrepRequestProcessor adds a change record for each).
 */
static void
prep_close_session(PrepContext *pc, int64 session_id)
{
	List	   *paths = ZkTreeSessionEphemerals(prep_tree, session_id);
	HASH_SEQ_STATUS seq;
	ChangeRecord *rec;
	ListCell   *lc;

	hash_seq_init(&seq, outstanding);
	while ((rec = hash_seq_search(&seq)) != NULL)
		if (rec->exists && rec->node.ephemeral_owner == session_id &&
			rec->node.kind == ZK_KIND_NORMAL)
			paths = lappend(paths, pstrdup(rec->path));

	foreach(lc, paths)
	{
		char	   *path = lfirst(lc);
		ZkNode		node;
		ZkNode		parent;
		char	   *parent_path;

		/* listed twice, or already deleted by a decided txn */
		if (!view_get(path, &node) || node.ephemeral_owner != session_id)
			continue;
		parent_path = ZkParentPath(path);
		if (view_get(parent_path, &parent))
		{
			parent.num_children--;
			parent.pzxid = pc->zxid;
			view_put(pc, parent_path, true, &parent);
		}
		view_put(pc, path, false, NULL);
	}
}

/*
 * Turn req into txn, with the given zxid and time, and encode the txn into
 * encoded.  A request that fails, or whose txn would break a limit of
 * record_check.c (a txn the learners' decoders or the applier would
 * refuse), becomes an error txn, and what it changed in the view is
 * restored: a logged txn always applies.
 */
void
ZkPrepRequest(const ZkRecord *req, ZkZxid zxid, TimestampTz now, ZkRecord *txn,
			  StringInfo encoded)
{
	PrepContext pc;
	bool		session_known;
	int			err = ZK_OK;
	int			i;
	const char *reason;

	memset(&pc, 0, sizeof(pc));
	pc.req = req;
	pc.zxid = zxid;
	pc.time = now;

	memset(txn, 0, sizeof(ZkRecord));
	txn->session_id = req->session_id;
	txn->cxid = req->cxid;
	txn->zxid = zxid;
	txn->time = now;
	txn->type = req->type;
	txn->failed_index = -1;

	session_known = ZkSessionTrackerExists(req->session_id);
	if (req->type == ZK_OP_CREATESESSION)
	{
		if (session_known || req->timeout_ms <= 0)
			err = ZK_ERR_BADARGUMENTS;
		else
		{
			txn->timeout_ms = req->timeout_ms;
			txn->owner = ZK_SESSION_OWNER(req->session_id);
			ZkSessionTrackerAdd(req->session_id, txn->owner, req->timeout_ms, now);
		}
	}
	else if (!session_known && req->session_id != ZK_SERVER_SESSION)
		err = ZK_ERR_SESSIONEXPIRED;
	else if (req->type == ZK_OP_ERROR)
		err = req->err;			/* refused where it entered */
	else if (req->type == ZK_OP_CLOSESESSION)
	{
		/*
		 * A session closes itself; the server closes any (expiry), and so
		 * does a superuser (zkpg.kill_session); nobody else closes another
		 * session.
		 */
		if (req->target_session != req->session_id &&
			req->session_id != ZK_SERVER_SESSION && !req->auth.superuser)
			err = ZK_ERR_NOAUTH;
		else if (!ZkSessionTrackerExists(req->target_session))
			err = ZK_ERR_SESSIONEXPIRED;
		else
		{
			prep_close_session(&pc, req->target_session);
			txn->target_session = req->target_session;
		}
	}
	else if (req->type == ZK_OP_MULTI)
	{
		txn->nops = req->nops;
		txn->ops = palloc0(sizeof(ZkOp) * Max(req->nops, 1));
		for (i = 0; i < req->nops && err == ZK_OK; i++)
		{
			err = prep_op(&pc, &req->ops[i], &txn->ops[i]);
			if (err != ZK_OK)
				txn->failed_index = i;
		}
	}
	else if (req->nops == 1 && req->ops[0].type == req->type)
	{
		txn->nops = 1;
		txn->ops = palloc0(sizeof(ZkOp));
		err = prep_op(&pc, &req->ops[0], &txn->ops[0]);
		/* a counter add on a missing node is a create */
		txn->type = txn->ops[0].type;
	}
	else
		err = ZK_ERR_BADARGUMENTS;

	if (err == ZK_OK)
	{
		err = ZkCheckTxn(txn, &reason);
		if (err == ZK_OK)
		{
			ZkEncodeTxn(encoded, txn);
			if (encoded->len > ZK_MAX_RECORD_BYTES)
			{
				reason = "the txn is too large";
				err = ZK_ERR_BADARGUMENTS;
			}
		}
		if (err != ZK_OK)
		{
			elog(LOG, "zkpg request of session 0x%016llx becomes an error txn: %s",
				 (unsigned long long) req->session_id, reason);
			resetStringInfo(encoded);
		}
	}
	if (err != ZK_OK)
	{
		rollback_changes(&pc);
		txn->type = ZK_OP_ERROR;
		txn->err = err;
		txn->nops = 0;
		txn->ops = NULL;
		txn->target_session = 0;
		if (txn->failed_index < 0 && req->type == ZK_OP_MULTI)
			txn->failed_index = 0;
		ZkEncodeTxn(encoded, txn);
		return;
	}
	/* decided: the session's close is no longer undone */
	if (req->type == ZK_OP_CLOSESESSION)
		ZkSessionTrackerRemove(req->target_session);
}
