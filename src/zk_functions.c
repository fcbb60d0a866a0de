/*-------------------------------------------------------------------------
 *
 * zk_functions.c
 *	  The SQL API of API.md: argument checks, reads from the local tree,
 *	  and writes submitted to the pipeline (the client connection and
 *	  FinalRequestProcessor's read path, in ZooKeeper's terms).
 *
 * Every argument is checked here, before anything is queued: bad input
 * is refused with ZK008 (ZK114 for ACLs) and never reaches the log.
 * Reads see this server's latest applied state whatever the caller's
 * isolation level (datatree.c reads with the latest snapshot).  Writes are
 * not part of the caller's transaction, like nextval().
 *
 * IDENTIFICATION
 *	  src/zk_functions.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/dbcommands.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"

#include "acl.h"
#include "applier.h"
#include "datatree.h"
#include "path.h"
#include "request_queue.h"
#include "sessions.h"
#include "shmem.h"
#include "zkpg.h"
#include "watches.h"
#include "zk_functions.h"
#include "zkpg_errcodes.h"

PG_FUNCTION_INFO_V1(zk_create);
PG_FUNCTION_INFO_V1(zk_set);
PG_FUNCTION_INFO_V1(zk_delete);
PG_FUNCTION_INFO_V1(zk_set_acl);
PG_FUNCTION_INFO_V1(zk_multi);
PG_FUNCTION_INFO_V1(zk_sync);
PG_FUNCTION_INFO_V1(zk_get);
PG_FUNCTION_INFO_V1(zk_exists);
PG_FUNCTION_INFO_V1(zk_get_children);
PG_FUNCTION_INFO_V1(zk_get_acl);
PG_FUNCTION_INFO_V1(zk_count_children);
PG_FUNCTION_INFO_V1(zk_get_ephemerals);
PG_FUNCTION_INFO_V1(zk_session_id);
PG_FUNCTION_INFO_V1(zk_session_timeout);
PG_FUNCTION_INFO_V1(zk_close_session);
PG_FUNCTION_INFO_V1(zk_add_auth);
PG_FUNCTION_INFO_V1(zk_watch_channel);
PG_FUNCTION_INFO_V1(zk_add_watch);
PG_FUNCTION_INFO_V1(zk_remove_watches);
PG_FUNCTION_INFO_V1(zkpg_kill_session);

/* zk_op's attributes, in the order of the type in the install script */
enum
{
	ZK_OP_ATT_OP = 0,
	ZK_OP_ATT_PATH,
	ZK_OP_ATT_DATA,
	ZK_OP_ATT_VERSION,
	ZK_OP_ATT_MODE,
	ZK_OP_ATT_ACL,
	ZK_OP_ATT_TTL,
	ZK_OP_NATTS
};

static Oid	checked_database = InvalidOid;

/* "zk_multi op N: " while zk_multi checks its ops, so errors name the op */
static char op_prefix[32] = "";

static char *arg_path(FunctionCallInfo fcinfo, int argno, bool sequential);
static void arg_data(FunctionCallInfo fcinfo, int argno, ZkOp *op);
static int32 arg_version(FunctionCallInfo fcinfo, int argno, const char *what);
static int8 parse_mode(const char *mode);
static void acl_from_array(ArrayType *arr, ZkOp *op, const char *path);
static bool arg_watch(FunctionCallInfo fcinfo, int argno);
static int64 read_session(bool watch);
static Datum stat_to_datum(TupleDesc desc, const ZkStat *stat);
static void submit_single(ZkRecord *req, ZkOp *op, ZkRequestResult *res);
static void multi_op_from_datum(Datum d, bool isnull_op, TupleDesc op_desc, int i,
								ZkOp *op);

/*
 * zk_* calls need the library preloaded and work only in zkpg.database.
 */
void
ZkCheckUsable(void)
{
	if (ZkShmem == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("zkpg must be loaded via shared_preload_libraries")));
	if (checked_database != MyDatabaseId)
	{
		Oid			db = get_database_oid(zk_database, true);

		if (db != MyDatabaseId)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("zkpg functions work only in database \"%s\"", zk_database),
					 errdetail("zkpg.database names the database that holds the znode tree; watches use LISTEN/NOTIFY, which is per database.")));
		checked_database = MyDatabaseId;
	}
}

/* The identities a check made here acts with (sessions.c) */
ZkAuth *
ZkMyAuth(void)
{
	ZkAuth	   *auth = palloc0(sizeof(ZkAuth));

	ZkSessionLocalAuth(auth);
	return auth;
}

char *
ZkPathArg(text *t, bool sequential, const char *what)
{
	char	   *path;
	const char *reason;

	if (t == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("%s%s must not be null", op_prefix, what)));
	path = text_to_cstring(t);
	reason = ZkValidatePath(path, sequential);
	if (reason != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("%sinvalid path \"%s\": %s", op_prefix, path, reason)));
	return path;
}

static char *
arg_path(FunctionCallInfo fcinfo, int argno, bool sequential)
{
	if (PG_ARGISNULL(argno))
		return ZkPathArg(NULL, sequential, "path");
	return ZkPathArg(PG_GETARG_TEXT_PP(argno), sequential, "path");
}

void
ZkDataFromBytea(bytea *b, ZkOp *op)
{
	if (b == NULL)
	{
		op->data = NULL;
		op->data_len = 0;
		return;
	}
	op->data_len = VARSIZE_ANY_EXHDR(b);
	op->data = VARDATA_ANY(b);
	if (op->data_len > zk_max_data_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("%sdata of %d bytes exceeds zkpg.max_data_bytes (%d)",
						op_prefix, op->data_len, zk_max_data_bytes)));
}

static void
arg_data(FunctionCallInfo fcinfo, int argno, ZkOp *op)
{
	ZkDataFromBytea(PG_ARGISNULL(argno) ? NULL : PG_GETARG_BYTEA_PP(argno), op);
}

static int32
arg_version(FunctionCallInfo fcinfo, int argno, const char *what)
{
	int32		v;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("%s must not be null", what),
				 errhint("Use -1 to match any version.")));
	v = PG_GETARG_INT32(argno);
	if (v < -1)
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("invalid %s %d", what, v),
				 errhint("A version is -1 (any) or a version number.")));
	return v;
}

static int8
parse_mode(const char *mode)
{
	static const char *const names[] = {
		"persistent", "ephemeral", "persistent_sequential", "ephemeral_sequential",
		"container", "persistent_ttl", "persistent_sequential_ttl"
	};
	int			i;

	if (mode != NULL)
		for (i = 0; i < lengthof(names); i++)
			if (strcmp(mode, names[i]) == 0)
				return (int8) i;
	ereport(ERROR,
			(errcode(ERRCODE_ZK_BADARGUMENTS),
			 errmsg("%sinvalid create mode \"%s\"", op_prefix, mode ? mode : "(null)"),
			 errhint("Modes are persistent, ephemeral, persistent_sequential, ephemeral_sequential, container, persistent_ttl and persistent_sequential_ttl.")));
	return 0;					/* keep compiler quiet */
}

/*
 * Check an ACL argument and return its entries; NULL means the default
 * "world:anyone:cdrwa".
 */
void
ZkAclFromArray(ArrayType *arr, int *nacl, char ***acl, const char *path)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;
	int			nnorm;
	char	  **norm;
	const char *reason;

	if (arr == NULL)
	{
		*nacl = 1;
		*acl = palloc(sizeof(char *));
		(*acl)[0] = pstrdup(ZkAclDefault());
		return;
	}
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	*nacl = n;
	*acl = palloc(sizeof(char *) * Max(n, 1));
	for (i = 0; i < n; i++)
		(*acl)[i] = nulls[i] ? NULL : TextDatumGetCString(elems[i]);
	reason = ZkAclNormalize(n, *acl, ZkMyAuth(), &nnorm, &norm);
	if (reason != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_ZK_INVALIDACL),
				 errmsg("%sinvalid ACL for znode \"%s\": %s", op_prefix, path, reason)));
}

static void
acl_from_array(ArrayType *arr, ZkOp *op, const char *path)
{
	ZkAclFromArray(arr, &op->nacl, &op->acl, path);
}

static bool
arg_watch(FunctionCallInfo fcinfo, int argno)
{
	return !PG_ARGISNULL(argno) && PG_GETARG_BOOL(argno);
}

/*
 * The applier announces a batch (applying_zxid) before it looks up
 * watches: a watch added meanwhile may have been missed by that batch, so
 * wait for its commit before judging what it changed.
 */
void
ZkWaitForInflightBatch(void)
{
	ZkZxid		batch;

	pg_memory_barrier();
	batch = (ZkZxid) pg_atomic_read_u64(&ZkShmem->applying_zxid);
	(void) ZkWaitForApplied(batch, 0);
}

/*
 * Register a one-shot watch for what a read returned (existed, seen), so
 * that no change after that read goes unreported.
 *
 * The applier looks up watches while it applies a batch, before it
 * commits.  A batch that looked before this registration has announced
 * itself in applying_zxid; once it has committed, a re-read shows
 * whether it (or anything before it) changed the node since our read.
 * If so, we fire the event ourselves, unless the applier consumed the
 * watch first: whoever removes the watcher delivers its event, once.
 */
void
ZkWatchRegister(int64 sid, const char *path, int kind, bool existed, const ZkNode *seen)
{
	ZkNode		now;
	bool		exists_now;
	int			event = -1;
	ZkZxid		zxid = 0;

	/* LISTEN first: an event fired once the watch exists must be kept */
	ZkWatchListen(sid);
	(void) ZkWatchAdd(sid, path, kind);

	ZkWaitForInflightBatch();

	exists_now = ZkTreeGetNode(ZkTreeMain(), path, false, &now);
	if (existed && (!exists_now || now.czxid != seen->czxid))
	{
		event = ZK_EVENT_NODE_DELETED;
		zxid = (ZkZxid) pg_atomic_read_u64(&ZkShmem->applied_zxid);
	}
	else if (!existed && exists_now)
	{
		event = ZK_EVENT_NODE_CREATED;
		zxid = now.czxid;
	}
	else if (existed && kind == ZK_WATCH_DATA && now.mzxid != seen->mzxid)
	{
		event = ZK_EVENT_NODE_DATA_CHANGED;
		zxid = now.mzxid;
	}
	else if (existed && kind == ZK_WATCH_CHILD && now.pzxid != seen->pzxid)
	{
		event = ZK_EVENT_NODE_CHILDREN_CHANGED;
		zxid = now.pzxid;
	}
	/* delivered as the applier delivers: only if the node may be read */
	if (event >= 0 && ZkWatchConsume(sid, path, kind) &&
		(!exists_now || ZkAclPermits(now.nacl, now.acl, ZK_PERM_READ, ZkMyAuth())))
		Async_Notify(ZkWatchChannel(sid),
					 ZkWatchPayload(ZkEventTypeName((ZkEventType) event), path, zxid));
}

void
ZkReportError(int err, const char *path, int op_index, const char *opname)
{
	char	   *msg;

	switch (err)
	{
		case ZK_ERR_NONODE:
			if (strcmp(opname, "fence") == 0)
				msg = psprintf("the fencing token's holder no longer holds \"%s\"", path);
			else
				msg = psprintf("znode \"%s\" does not exist", path);
			break;
		case ZK_ERR_NODEEXISTS:
			msg = psprintf("znode \"%s\" already exists", path);
			break;
		case ZK_ERR_BADVERSION:
			msg = psprintf("version mismatch for znode \"%s\"", path);
			break;
		case ZK_ERR_NOTEMPTY:
			msg = psprintf("znode \"%s\" has children", path);
			break;
		case ZK_ERR_NOCHILDRENFOREPHEMERALS:
			msg = psprintf("cannot create \"%s\": ephemeral znodes cannot have children", path);
			break;
		case ZK_ERR_NOAUTH:
			msg = psprintf("not authorized to %s znode \"%s\"", opname, path);
			break;
		case ZK_ERR_INVALIDACL:
			msg = psprintf("invalid ACL for znode \"%s\"", path);
			break;
		case ZK_ERR_SESSIONEXPIRED:
			msg = pstrdup("zkpg session has expired");
			break;
		case ZK_ERR_BADARGUMENTS:
			msg = psprintf("bad arguments for %s of znode \"%s\"", opname, path);
			break;
		default:
			msg = psprintf("%s of znode \"%s\" failed: %s", opname, path, ZkErrorName(err));
			break;
	}
	if (op_index >= 0)
		ereport(ERROR,
				(errcode(ZkErrorToSqlstate(err)),
				 errmsg("zk_multi op %d (%s) failed: %s", op_index + 1, opname, msg)));
	ereport(ERROR, (errcode(ZkErrorToSqlstate(err)), errmsg("%s", msg)));
}

static Datum
stat_to_datum(TupleDesc desc, const ZkStat *stat)
{
	Datum		values[11];
	bool		nulls[11] = {0};

	values[0] = Int64GetDatum(stat->czxid);
	values[1] = Int64GetDatum(stat->mzxid);
	values[2] = TimestampTzGetDatum(stat->ctime);
	values[3] = TimestampTzGetDatum(stat->mtime);
	values[4] = Int32GetDatum(stat->version);
	values[5] = Int32GetDatum(stat->cversion);
	values[6] = Int32GetDatum(stat->aversion);
	values[7] = Int64GetDatum(stat->ephemeral_owner);
	values[8] = Int32GetDatum(stat->data_length);
	values[9] = Int32GetDatum(stat->num_children);
	values[10] = Int64GetDatum(stat->pzxid);
	return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls));
}

static void
submit_single(ZkRecord *req, ZkOp *op, ZkRequestResult *res)
{
	req->session_id = ZkSessionEnsure();
	req->type = op->type;
	req->nops = 1;
	req->ops = op;
	ZkSessionAuth(&req->auth);
	ZkSubmitAndWait(req, res);
	if (res->err != ZK_OK)
		ZkReportError(res->err, op->path, -1, ZkOpName(op->type));
}

/*
 * zk_create(path, data, mode, acl, ttl_ms) -> text
 */
Datum
zk_create(PG_FUNCTION_ARGS)
{
	ZkRecord	req;
	ZkOp		op;
	ZkRequestResult res;
	char	   *created;

	ZkCheckUsable();
	memset(&req, 0, sizeof(req));
	memset(&op, 0, sizeof(op));
	op.type = ZK_OP_CREATE;
	op.mode = parse_mode(PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)));
	op.path = arg_path(fcinfo, 0, ZK_MODE_IS_SEQUENTIAL(op.mode));
	arg_data(fcinfo, 1, &op);
	acl_from_array(PG_ARGISNULL(3) ? NULL : PG_GETARG_ARRAYTYPE_P(3), &op, op.path);

	if (ZK_MODE_IS_TTL(op.mode))
	{
		if (PG_ARGISNULL(4))
			ereport(ERROR,
					(errcode(ERRCODE_ZK_BADARGUMENTS),
					 errmsg("mode %s needs ttl_ms", text_to_cstring(PG_GETARG_TEXT_PP(2)))));
		op.ttl_ms = PG_GETARG_INT64(4);
		if (op.ttl_ms <= 0 || op.ttl_ms > ZK_MAX_TTL_MS)
			ereport(ERROR,
					(errcode(ERRCODE_ZK_BADARGUMENTS),
					 errmsg("ttl_ms %lld is out of range", (long long) op.ttl_ms),
					 errdetail("A TTL is in (0, %lld] milliseconds.", (long long) ZK_MAX_TTL_MS)));
	}
	else if (!PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("ttl_ms is only allowed with modes persistent_ttl and persistent_sequential_ttl")));
	if (strcmp(op.path, "/") == 0 && !ZK_MODE_IS_SEQUENTIAL(op.mode))
		ZkReportError(ZK_ERR_NODEEXISTS, op.path, -1, "create");

	submit_single(&req, &op, &res);
	created = res.results[0].seq >= 0 ?
		psprintf("%s%010d", op.path, res.results[0].seq) : op.path;
	PG_RETURN_TEXT_P(cstring_to_text(created));
}

/*
 * zk_set(path, data, version) -> zk_stat
 */
Datum
zk_set(PG_FUNCTION_ARGS)
{
	ZkRecord	req;
	ZkOp		op;
	ZkRequestResult res;
	TupleDesc	desc;

	ZkCheckUsable();
	memset(&req, 0, sizeof(req));
	memset(&op, 0, sizeof(op));
	op.type = ZK_OP_SETDATA;
	op.path = arg_path(fcinfo, 0, false);
	arg_data(fcinfo, 1, &op);
	op.version = arg_version(fcinfo, 2, "version");
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "zk_set must return a composite type");
	submit_single(&req, &op, &res);
	PG_RETURN_DATUM(stat_to_datum(desc, &res.results[0].stat));
}

/*
 * zk_delete(path, version)
 */
Datum
zk_delete(PG_FUNCTION_ARGS)
{
	ZkRecord	req;
	ZkOp		op;
	ZkRequestResult res;

	ZkCheckUsable();
	memset(&req, 0, sizeof(req));
	memset(&op, 0, sizeof(op));
	op.type = ZK_OP_DELETE;
	op.path = arg_path(fcinfo, 0, false);
	op.version = arg_version(fcinfo, 1, "version");
	if (ZkIsProtectedPath(op.path))
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("znode \"%s\" cannot be deleted", op.path)));
	submit_single(&req, &op, &res);
	PG_RETURN_VOID();
}

/*
 * zk_set_acl(path, acl, aversion) -> zk_stat
 */
Datum
zk_set_acl(PG_FUNCTION_ARGS)
{
	ZkRecord	req;
	ZkOp		op;
	ZkRequestResult res;
	TupleDesc	desc;

	ZkCheckUsable();
	memset(&req, 0, sizeof(req));
	memset(&op, 0, sizeof(op));
	op.type = ZK_OP_SETACL;
	op.path = arg_path(fcinfo, 0, false);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_ZK_INVALIDACL),
				 errmsg("invalid ACL for znode \"%s\": the ACL must not be null", op.path)));
	acl_from_array(PG_GETARG_ARRAYTYPE_P(1), &op, op.path);
	op.version = arg_version(fcinfo, 2, "aversion");
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "zk_set_acl must return a composite type");
	submit_single(&req, &op, &res);
	PG_RETURN_DATUM(stat_to_datum(desc, &res.results[0].stat));
}

/*
 * One zk_op of zk_multi, checked like the single-op functions check
 * their arguments.  i is the 0-based op index.
 */
static void
multi_op_from_datum(Datum d, bool isnull_op, TupleDesc op_desc, int i, ZkOp *op)
{
	HeapTupleHeader th;
	HeapTupleData tup;
	Datum		v[ZK_OP_NATTS];
	bool		isnull[ZK_OP_NATTS];
	char	   *kind;

	if (isnull_op)
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("zk_multi op %d is null", i + 1)));
	th = DatumGetHeapTupleHeader(d);
	tup.t_len = HeapTupleHeaderGetDatumLength(th);
	tup.t_data = th;
	ItemPointerSetInvalid(&tup.t_self);
	tup.t_tableOid = InvalidOid;
	heap_deform_tuple(&tup, op_desc, v, isnull);

	kind = isnull[ZK_OP_ATT_OP] ? "" : TextDatumGetCString(v[ZK_OP_ATT_OP]);
	if (strcmp(kind, "create") == 0)
		op->type = ZK_OP_CREATE;
	else if (strcmp(kind, "set") == 0)
		op->type = ZK_OP_SETDATA;
	else if (strcmp(kind, "delete") == 0)
		op->type = ZK_OP_DELETE;
	else if (strcmp(kind, "check") == 0)
		op->type = ZK_OP_CHECK;
	else if (strcmp(kind, "fence") == 0)
		op->type = ZK_OP_FENCE;
	else
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("zk_multi op %d has unknown kind \"%s\"", i + 1, kind),
				 errhint("Build ops with zk_op_create, zk_op_set, zk_op_delete, zk_op_check and zk_op_fence.")));

	if (op->type == ZK_OP_CREATE)
		op->mode = parse_mode(isnull[ZK_OP_ATT_MODE] ? "persistent" :
							  TextDatumGetCString(v[ZK_OP_ATT_MODE]));
	if (ZK_MODE_IS_TTL(op->mode))
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("zk_multi op %d: TTL modes are not supported in zk_multi", i + 1)));
	op->path = ZkPathArg(isnull[ZK_OP_ATT_PATH] ? NULL :
							 DatumGetTextPP(v[ZK_OP_ATT_PATH]),
							 op->type == ZK_OP_CREATE && ZK_MODE_IS_SEQUENTIAL(op->mode),
							 "path");
	if (op->type == ZK_OP_CREATE || op->type == ZK_OP_SETDATA)
		ZkDataFromBytea(isnull[ZK_OP_ATT_DATA] ? NULL :
						DatumGetByteaPP(v[ZK_OP_ATT_DATA]), op);
	if (op->type == ZK_OP_CREATE)
	{
		acl_from_array(isnull[ZK_OP_ATT_ACL] ? NULL :
					   DatumGetArrayTypeP(v[ZK_OP_ATT_ACL]), op, op->path);
		if (strcmp(op->path, "/") == 0 && !ZK_MODE_IS_SEQUENTIAL(op->mode))
			ZkReportError(ZK_ERR_NODEEXISTS, op->path, i, "create");
	}
	else if (op->type == ZK_OP_FENCE)
	{
		op->token = isnull[ZK_OP_ATT_TTL] ? 0 : DatumGetInt64(v[ZK_OP_ATT_TTL]);
		if (op->token <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_ZK_BADARGUMENTS),
					 errmsg("zk_multi op %d: invalid fencing token %lld", i + 1,
							(long long) op->token),
					 errhint("A token is what zk_lock and the other acquiring recipes returned.")));
	}
	else
	{
		op->version = isnull[ZK_OP_ATT_VERSION] ? -1 : DatumGetInt32(v[ZK_OP_ATT_VERSION]);
		if (op->version < -1)
			ereport(ERROR,
					(errcode(ERRCODE_ZK_BADARGUMENTS),
					 errmsg("zk_multi op %d: invalid version %d", i + 1, op->version)));
	}
	if (op->type == ZK_OP_DELETE && ZkIsProtectedPath(op->path))
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("zk_multi op %d: znode \"%s\" cannot be deleted", i + 1, op->path)));
}

/*
 * zk_multi(VARIADIC zk_op[]) -> TABLE(op_index, op, path, stat)
 */
Datum
zk_multi(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;
	ZkRecord	req;
	ZkRequestResult res;
	TupleDesc	stat_desc;
	TupleDesc	op_desc;

	ZkCheckUsable();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("zk_multi needs an array of ops")));
	arr = PG_GETARG_ARRAYTYPE_P(0);
	deconstruct_array(arr, ARR_ELEMTYPE(arr), -1, false, TYPALIGN_DOUBLE, &elems, &nulls, &n);
	if (n > ZK_MAX_MULTI_OPS)
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("zk_multi takes at most %d ops", ZK_MAX_MULTI_OPS)));
	InitMaterializedSRF(fcinfo, 0);
	if (n == 0)
		return (Datum) 0;

	op_desc = lookup_rowtype_tupdesc_copy(ARR_ELEMTYPE(arr), -1);
	if (op_desc->natts != ZK_OP_NATTS)
		elog(ERROR, "zk_op has %d attributes, expected %d", op_desc->natts, ZK_OP_NATTS);

	memset(&req, 0, sizeof(req));
	req.type = ZK_OP_MULTI;
	req.nops = n;
	req.ops = palloc0(sizeof(ZkOp) * n);
	PG_TRY();
	{
		for (i = 0; i < n; i++)
		{
			snprintf(op_prefix, sizeof(op_prefix), "zk_multi op %d: ", i + 1);
			multi_op_from_datum(elems[i], nulls[i], op_desc, i, &req.ops[i]);
		}
	}
	PG_FINALLY();
	{
		op_prefix[0] = '\0';
	}
	PG_END_TRY();

	req.session_id = ZkSessionEnsure();
	ZkSessionAuth(&req.auth);
	ZkSubmitAndWait(&req, &res);
	if (res.err != ZK_OK)
	{
		int			idx = res.failed_index >= 0 && res.failed_index < n ? res.failed_index : 0;

		ZkReportError(res.err, req.ops[idx].path, idx, ZkOpName(req.ops[idx].type));
	}

	/* the stat column of the result is a zk_stat */
	stat_desc = lookup_rowtype_tupdesc_copy(TupleDescAttr(rsinfo->setDesc, 3)->atttypid, -1);
	for (i = 0; i < n; i++)
	{
		ZkOp	   *op = &req.ops[i];
		ZkOpResult *r = i < res.nresults ? &res.results[i] : NULL;
		Datum		values[4];
		bool		rnulls[4] = {0};
		char	   *path = op->path;

		if (r != NULL && r->seq >= 0)
			path = psprintf("%s%010d", op->path, r->seq);
		values[0] = Int32GetDatum(i + 1);
		values[1] = CStringGetTextDatum(ZkOpName(op->type));
		values[2] = CStringGetTextDatum(path);
		if (r != NULL && r->has_stat)
			values[3] = stat_to_datum(stat_desc, &r->stat);
		else
			rnulls[3] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, rnulls);
	}
	return (Datum) 0;
}

/*
 * zk_sync(path): wait until this server has applied everything that was
 * committed when the call began.
 */
Datum
zk_sync(PG_FUNCTION_ARGS)
{
	ZkCheckUsable();
	(void) arg_path(fcinfo, 0, false);
	ZkSync();
	PG_RETURN_VOID();
}

/* Wait until this server has applied what the leader had committed. */
void
ZkSync(void)
{
	ZkZxid		target;
	TimestampTz deadline;

	(void) ZkSessionEnsure();
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), zk_request_timeout_ms);
	ZkWaitUntilServing(deadline);
	target = ZkLeaderCommittedZxid(deadline);
	if (!ZkWaitForApplied(target, deadline))
		ereport(ERROR,
				(errcode(ERRCODE_ZK_OPERATIONTIMEOUT),
				 errmsg("zk_sync did not complete within %d ms", zk_request_timeout_ms)));
}

/*
 * The session a read acts in.  A watch belongs to a session, so a read
 * that sets one opens it; any other read opens none (it needs no quorum
 * round trip then) and is served from this server's applied state, also
 * without a quorum when zkpg.read_only is on.
 */
static int64
read_session(bool watch)
{
	ZkWaitUntilReadable();
	return watch ? ZkSessionEnsure() : ZkSessionCurrent();
}

/*
 * Read a node for the caller, checking perm; ZK101 when absent.
 */
void
ZkReadNode(const char *path, int perm, bool with_data, ZkNode *node)
{
	if (!ZkTreeGetNode(ZkTreeMain(), path, with_data, node))
		ZkReportError(ZK_ERR_NONODE, path, -1, "read");
	if (!ZkAclPermits(node->nacl, node->acl, perm, ZkMyAuth()))
		ZkReportError(ZK_ERR_NOAUTH, path, -1, "read");
}

/*
 * zk_get(path, watch) -> TABLE(data, stat fields...)
 */
Datum
zk_get(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *path;
	ZkNode		node;
	ZkStat		stat;
	Datum		values[12];
	bool		nulls[12] = {0};
	bytea	   *data;
	int64		sid;
	bool		watch;

	ZkCheckUsable();
	path = arg_path(fcinfo, 0, false);
	watch = arg_watch(fcinfo, 1);
	sid = read_session(watch);
	InitMaterializedSRF(fcinfo, 0);
	ZkReadNode(path, ZK_PERM_READ, true, &node);
	ZkNodeToStat(&node, &stat);
	if (watch)
		ZkWatchRegister(sid, path, ZK_WATCH_DATA, true, &node);

	data = palloc(VARHDRSZ + node.data_len);
	SET_VARSIZE(data, VARHDRSZ + node.data_len);
	memcpy(VARDATA(data), node.data, node.data_len);
	values[0] = PointerGetDatum(data);
	values[1] = Int64GetDatum(stat.czxid);
	values[2] = Int64GetDatum(stat.mzxid);
	values[3] = TimestampTzGetDatum(stat.ctime);
	values[4] = TimestampTzGetDatum(stat.mtime);
	values[5] = Int32GetDatum(stat.version);
	values[6] = Int32GetDatum(stat.cversion);
	values[7] = Int32GetDatum(stat.aversion);
	values[8] = Int64GetDatum(stat.ephemeral_owner);
	values[9] = Int32GetDatum(stat.data_length);
	values[10] = Int32GetDatum(stat.num_children);
	values[11] = Int64GetDatum(stat.pzxid);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

/*
 * zk_exists(path, watch) -> zk_stat, NULL when absent
 */
Datum
zk_exists(PG_FUNCTION_ARGS)
{
	char	   *path;
	ZkNode		node;
	ZkStat		stat;
	TupleDesc	desc;
	int64		sid;
	bool		exists;
	bool		watch;

	ZkCheckUsable();
	path = arg_path(fcinfo, 0, false);
	watch = arg_watch(fcinfo, 1);
	sid = read_session(watch);
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "zk_exists must return a composite type");
	exists = ZkTreeGetNode(ZkTreeMain(), path, false, &node);
	if (exists && !ZkAclPermits(node.nacl, node.acl, ZK_PERM_READ, ZkMyAuth()))
		ZkReportError(ZK_ERR_NOAUTH, path, -1, "read");
	if (watch)
		ZkWatchRegister(sid, path, ZK_WATCH_DATA, exists, &node);
	if (!exists)
		PG_RETURN_NULL();
	ZkNodeToStat(&node, &stat);
	PG_RETURN_DATUM(stat_to_datum(desc, &stat));
}

/*
 * zk_get_children(path, watch) -> SETOF text
 */
Datum
zk_get_children(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *path;
	ZkNode		node;
	List	   *names;
	ListCell   *lc;
	int64		sid;
	bool		watch;

	ZkCheckUsable();
	path = arg_path(fcinfo, 0, false);
	watch = arg_watch(fcinfo, 1);
	sid = read_session(watch);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	ZkReadNode(path, ZK_PERM_READ, false, &node);
	names = ZkTreeGetChildren(ZkTreeMain(), path);

	/*
	 * The node and its children are read by two queries: a watch must be
	 * registered for the children returned (or a change they show would
	 * fire it again), so read until no child changed in between.
	 */
	while (watch)
	{
		ZkNode		again;

		ZkReadNode(path, ZK_PERM_READ, false, &again);
		if (again.czxid == node.czxid && again.pzxid == node.pzxid)
			break;
		node = again;
		names = ZkTreeGetChildren(ZkTreeMain(), path);
		CHECK_FOR_INTERRUPTS();
	}
	if (watch)
		ZkWatchRegister(sid, path, ZK_WATCH_CHILD, true, &node);
	foreach(lc, names)
	{
		Datum		v = CStringGetTextDatum((char *) lfirst(lc));
		bool		isnull = false;

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &v, &isnull);
	}
	return (Datum) 0;
}

/*
 * zk_get_acl(path) -> text[]
 */
Datum
zk_get_acl(PG_FUNCTION_ARGS)
{
	char	   *path;
	ZkNode		node;
	Datum	   *elems;
	int			i;
	ZkAuth	   *auth;
	bool		admin;

	ZkCheckUsable();
	path = arg_path(fcinfo, 0, false);
	(void) read_session(false);
	if (!ZkTreeGetNode(ZkTreeMain(), path, false, &node))
		ZkReportError(ZK_ERR_NONODE, path, -1, "read");
	auth = ZkMyAuth();
	if (!ZkAclPermits(node.nacl, node.acl, ZK_PERM_READ | ZK_PERM_ADMIN, auth))
		ZkReportError(ZK_ERR_NOAUTH, path, -1, "read the ACL of");
	/* as ZooKeeper: without ADMIN, digest hashes are shown as "x" */
	admin = ZkAclPermits(node.nacl, node.acl, ZK_PERM_ADMIN, auth);
	elems = palloc(sizeof(Datum) * Max(node.nacl, 1));
	for (i = 0; i < node.nacl; i++)
	{
		char	   *entry = node.acl[i];

		if (!admin && strncmp(entry, "digest:", 7) == 0)
		{
			const char *user_end = strchr(entry + 7, ':');
			const char *perms = strrchr(entry, ':');

			if (user_end != NULL && perms != NULL && perms > user_end)
				entry = psprintf("%.*s:x%s", (int) (user_end - entry), entry, perms);
		}
		elems[i] = CStringGetTextDatum(entry);
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, node.nacl, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * zk_count_children(path) -> integer: all descendants
 */
Datum
zk_count_children(PG_FUNCTION_ARGS)
{
	char	   *path;
	ZkNode		node;
	int64		n;

	ZkCheckUsable();
	path = arg_path(fcinfo, 0, false);
	(void) read_session(false);
	ZkReadNode(path, ZK_PERM_READ, false, &node);
	n = ZkTreeCountDescendants(ZkTreeMain(), path);
	PG_RETURN_INT32((int32) Min(n, PG_INT32_MAX));
}

/*
 * zk_get_ephemerals(prefix) -> SETOF text: this session's ephemerals whose
 * path starts with prefix, as a plain string.
 */
Datum
zk_get_ephemerals(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *prefix;
	int64		sid;
	List	   *paths;
	ListCell   *lc;

	ZkCheckUsable();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("prefix must not be null")));
	/* validated as a path, as ZooKeeper's client does, then matched as a string */
	prefix = ZkPathArg(PG_GETARG_TEXT_PP(0), false, "prefix");
	sid = ZkSessionEnsure();
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	paths = ZkTreeSessionEphemerals(ZkTreeMain(), sid);
	foreach(lc, paths)
	{
		char	   *p = lfirst(lc);
		Datum		v;
		bool		isnull = false;

		if (strncmp(p, prefix, strlen(prefix)) != 0)
			continue;
		v = CStringGetTextDatum(p);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &v, &isnull);
	}
	return (Datum) 0;
}

Datum
zk_session_id(PG_FUNCTION_ARGS)
{
	ZkCheckUsable();
	PG_RETURN_INT64(ZkSessionEnsure());
}

Datum
zk_session_timeout(PG_FUNCTION_ARGS)
{
	ZkCheckUsable();
	PG_RETURN_INT32(ZkSessionTimeoutMs());
}

Datum
zk_close_session(PG_FUNCTION_ARGS)
{
	ZkCheckUsable();
	ZkSessionClose();
	PG_RETURN_VOID();
}

/*
 * zk_add_auth(scheme, auth): add an identity to this connection's session.
 */
Datum
zk_add_auth(PG_FUNCTION_ARGS)
{
	ZkCheckUsable();
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("scheme and auth must not be null")));
	/* an identity belongs to a session, as in ZooKeeper */
	(void) ZkSessionEnsure();
	ZkSessionAddAuth(text_to_cstring(PG_GETARG_TEXT_PP(0)),
					 text_to_cstring(PG_GETARG_TEXT_PP(1)));
	PG_RETURN_VOID();
}

/*
 * zkpg.kill_session(session_id): close another session now, as its
 * expiry would (superusers only).  False when no such session is open.
 */
Datum
zkpg_kill_session(PG_FUNCTION_ARGS)
{
	ZkRecord	req;
	ZkRequestResult res;

	ZkCheckUsable();
	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only superusers may kill zkpg sessions")));
	if (PG_ARGISNULL(0) || PG_GETARG_INT64(0) == ZK_SERVER_SESSION)
		PG_RETURN_BOOL(false);
	memset(&req, 0, sizeof(req));
	req.session_id = ZkSessionEnsure();
	req.type = ZK_OP_CLOSESESSION;
	req.target_session = PG_GETARG_INT64(0);
	ZkSessionAuth(&req.auth);
	ZkSubmitAndWait(&req, &res);
	if (res.err == ZK_ERR_SESSIONEXPIRED)
		PG_RETURN_BOOL(false);
	if (res.err != ZK_OK)
		ZkReportError(res.err, "/", -1, "close_session");
	/* killing one's own session expires it, like any other */
	if (req.target_session == req.session_id)
		ZkSessionMarkExpired(req.session_id);
	PG_RETURN_BOOL(true);
}

/*
 * zk_watch_channel(): the channel this session's events arrive on.
 */
Datum
zk_watch_channel(PG_FUNCTION_ARGS)
{
	ZkCheckUsable();
	PG_RETURN_TEXT_P(cstring_to_text(ZkWatchChannel(ZkSessionEnsure())));
}

/*
 * zk_add_watch(path, recursive): a persistent watch (ZooKeeper 3.6's
 * addWatch PERSISTENT or PERSISTENT_RECURSIVE), kept when it fires.
 */
Datum
zk_add_watch(PG_FUNCTION_ARGS)
{
	char	   *path;
	int64		sid;
	ZkNode		node;
	bool		recursive;

	ZkCheckUsable();
	path = arg_path(fcinfo, 0, false);
	recursive = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
	sid = ZkSessionEnsure();
	if (ZkTreeGetNode(ZkTreeMain(), path, false, &node) &&
		!ZkAclPermits(node.nacl, node.acl, ZK_PERM_READ, ZkMyAuth()))
		ZkReportError(ZK_ERR_NOAUTH, path, -1, "watch");
	ZkWatchListen(sid);
	(void) ZkWatchAdd(sid, path,
					  recursive ? ZK_WATCH_PERSISTENT_RECURSIVE : ZK_WATCH_PERSISTENT);
	PG_RETURN_VOID();
}

/*
 * zk_remove_watches(path, watch_type): ZK121 when there was none.
 */
Datum
zk_remove_watches(PG_FUNCTION_ARGS)
{
	char	   *path;
	char	   *type;
	int			mask;

	ZkCheckUsable();
	path = arg_path(fcinfo, 0, false);
	type = PG_ARGISNULL(1) ? "any" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (strcmp(type, "data") == 0)
		mask = 1 << ZK_WATCH_DATA;
	else if (strcmp(type, "children") == 0)
		mask = 1 << ZK_WATCH_CHILD;
	else if (strcmp(type, "persistent") == 0)
		mask = (1 << ZK_WATCH_PERSISTENT) | (1 << ZK_WATCH_PERSISTENT_RECURSIVE);
	else if (strcmp(type, "any") == 0)
		mask = 0xF;
	else
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("invalid watch type \"%s\"", type),
				 errhint("Watch types are data, children, persistent and any.")));
	if (ZkWatchRemove(ZkSessionEnsure(), path, mask) == 0)
	{
		if (strcmp(type, "any") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_ZK_NOWATCHER),
					 errmsg("no watch on znode \"%s\"", path)));
		ereport(ERROR,
				(errcode(ERRCODE_ZK_NOWATCHER),
				 errmsg("no %s watch on znode \"%s\"", type, path)));
	}
	PG_RETURN_VOID();
}
