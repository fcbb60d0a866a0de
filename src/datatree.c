/*-------------------------------------------------------------------------
 *
 * datatree.c
 *	  The znode tree as rows of zkpg.znode, and the session table
 *	  (ZooKeeper's DataTree).
 *
 * Every statement goes through SPI with a plan prepared once per tree,
 * except the read of one node of the main tree, the read path of every
 * get, exists and request check: it is a lookup in the primary key's index
 * (systable_beginscan, as PostgreSQL's catalog code reads its rows), with
 * no executor, SPI or user switch in between.
 * Reads run with the latest snapshot, not the caller's: a client in a
 * REPEATABLE READ transaction still sees its own writes, which the
 * applier committed after the transaction's snapshot was taken.  Reads
 * and writes run as the bootstrap superuser, because ordinary roles may
 * use the API but not touch the tables, with a pinned search_path and
 * qualified names (internal_sql.c).
 *
 * Writes are made only by the applier, in zxid order, from txns whose
 * validity the request processor established; a write that finds the
 * tree in another state than the txn expects is a bug and an ERROR.
 *
 * The same functions work on a scratch copy of the tables in pg_temp,
 * which the log replay check uses (zkpg.log_replay_digest()).
 *
 * IDENTIFICATION
 *	  src/datatree.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "datatree.h"
#include "internal_sql.h"
#include "path.h"
#include "zkpg.h"

typedef enum TreePlan
{
	P_GET,
	P_GET_DATA,
	P_CHILDREN,
	P_CHILD_NODES,
	P_COUNT_RANGE,
	P_COUNT_ALL,
	P_EPHEMERALS,
	P_EPHEMERAL_PARENTS,
	P_INSERT,
	P_PARENT_FLUSH,
	P_DELETE,
	P_SETDATA,
	P_SETACL,
	P_SESSION_ADD,
	P_SESSION_DEL,
	P_SESSIONS,
	P_DIGEST,
	P_EXPIRED_CONTAINERS,
	NUM_TREE_PLANS
} TreePlan;

/*
 * A parent's child bookkeeping not yet written: a batch of creates under
 * one parent updates its row once, at ZkTreeFlush, not once per child.
 */
typedef struct PendingParent
{
	char		path[ZK_MAX_PATH_BYTES + 1];	/* hash key */
	int32		creates;		/* new child_creates, or -1: unchanged */
	int32		delta;			/* change of num_children */
	ZkZxid		pzxid;
} PendingParent;

struct ZkTree
{
	char	   *znode_rel;
	char	   *session_rel;
	SPIPlanPtr	plans[NUM_TREE_PLANS];
	HTAB	   *pending;		/* PendingParent by path */
};

#define STAT_COLUMNS \
	"czxid, mzxid, pzxid, ctime, mtime, version, aversion, child_creates, " \
	"num_children, ephemeral_owner, kind, ttl_ms, pg_catalog.octet_length(data), acl"

static ZkTree *main_tree = NULL;

static SPIPlanPtr tree_plan(ZkTree *tree, TreePlan which);
static void tree_begin(ZkInternalSql *acc);
static void tree_end(ZkInternalSql *acc);
static int	tree_exec(ZkTree *tree, TreePlan which, Datum *values, const char *nulls,
					  bool read, long tcount);
static void tree_row_to_node(HeapTuple tup, TupleDesc desc, ZkNode *node,
							 bool with_data, MemoryContext cxt);
static Datum acl_to_array(int nacl, char **acl);
static void acl_from_datum(Datum d, int *nacl, char ***acl);
static PendingParent *pending_entry(ZkTree *tree, const char *path);
static void pending_flush_one(ZkTree *tree, const char *path);

ZkTree *
ZkTreeMain(void)
{
	if (main_tree == NULL)
	{
		main_tree = MemoryContextAllocZero(TopMemoryContext, sizeof(ZkTree));
		main_tree->znode_rel = "zkpg.znode";
		main_tree->session_rel = "zkpg.session";
	}
	return main_tree;
}

static PendingParent *
pending_entry(ZkTree *tree, const char *path)
{
	PendingParent *p;
	bool		found;

	if (tree->pending == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = ZK_MAX_PATH_BYTES + 1;
		ctl.entrysize = sizeof(PendingParent);
		tree->pending = hash_create("zkpg pending parents", 64, &ctl,
									HASH_ELEM | HASH_STRINGS);
	}
	p = hash_search(tree->pending, path, HASH_ENTER, &found);
	if (!found)
	{
		p->creates = -1;
		p->delta = 0;
		p->pzxid = 0;
	}
	return p;
}

/* Write one pending parent now (it is about to be read or changed). */
static void
pending_flush_one(ZkTree *tree, const char *path)
{
	PendingParent *p;
	Datum		values[4];

	if (tree->pending == NULL)
		return;
	p = hash_search(tree->pending, path, HASH_FIND, NULL);
	if (p == NULL)
		return;
	values[0] = CStringGetTextDatum(p->path);
	values[1] = Int32GetDatum(p->creates);
	values[2] = Int32GetDatum(p->delta);
	values[3] = Int64GetDatum(p->pzxid);
	tree_exec(tree, P_PARENT_FLUSH, values, NULL, false, 0);
	if (SPI_processed != 1)
		elog(ERROR, "zkpg: parent \"%s\" of applied changes is missing", p->path);
	hash_search(tree->pending, path, HASH_REMOVE, NULL);
}

/*
 * Write every pending parent update.  The applier calls this before it
 * commits a batch: until then no one else can see the batch anyway.
 */
void
ZkTreeFlush(ZkTree *tree)
{
	HASH_SEQ_STATUS seq;
	PendingParent *p;
	ZkInternalSql acc;
	List	   *paths = NIL;
	ListCell   *lc;

	if (tree->pending == NULL || hash_get_num_entries(tree->pending) == 0)
		return;
	hash_seq_init(&seq, tree->pending);
	while ((p = hash_seq_search(&seq)) != NULL)
		paths = lappend(paths, pstrdup(p->path));
	tree_begin(&acc);
	foreach(lc, paths)
		pending_flush_one(tree, lfirst(lc));
	tree_end(&acc);
}

static SPIPlanPtr
tree_plan(ZkTree *tree, TreePlan which)
{
	const char *z = tree->znode_rel;
	char	   *sql = NULL;
	Oid			types[16];
	int			nargs = 0;
	SPIPlanPtr	plan;

	if (tree->plans[which] != NULL)
		return tree->plans[which];

	switch (which)
	{
		case P_GET:
			sql = psprintf("SELECT " STAT_COLUMNS " FROM %s WHERE path" ZK_EQ "$1", z);
			types[nargs++] = TEXTOID;
			break;
		case P_GET_DATA:
			sql = psprintf("SELECT " STAT_COLUMNS ", data FROM %s WHERE path" ZK_EQ "$1", z);
			types[nargs++] = TEXTOID;
			break;
		case P_CHILDREN:
			sql = psprintf("SELECT path FROM %s WHERE parent" ZK_EQ "$1 ORDER BY parent, path", z);
			types[nargs++] = TEXTOID;
			break;
		case P_CHILD_NODES:
			sql = psprintf("SELECT " STAT_COLUMNS ", data, path FROM %s "
						   "WHERE parent" ZK_EQ "$1 ORDER BY parent, path", z);
			types[nargs++] = TEXTOID;
			break;
		case P_COUNT_RANGE:
			sql = psprintf("SELECT pg_catalog.count(*) FROM %s WHERE path" ZK_GE "$1 AND path" ZK_LT "$2", z);
			types[nargs++] = TEXTOID;
			types[nargs++] = TEXTOID;
			break;
		case P_COUNT_ALL:
			sql = psprintf("SELECT pg_catalog.count(*) FROM %s", z);
			break;
		case P_EPHEMERALS:
			sql = psprintf("SELECT path FROM %s WHERE ephemeral_owner" ZK_EQ "$1 ORDER BY path", z);
			types[nargs++] = INT8OID;
			break;
		case P_EPHEMERAL_PARENTS:
			sql = psprintf("SELECT DISTINCT parent FROM %s WHERE ephemeral_owner" ZK_NE "0 "
						   "ORDER BY parent", z);
			break;
		case P_INSERT:
			sql = psprintf("INSERT INTO %s (path, parent, data, acl, czxid, mzxid, pzxid, "
						   "ctime, mtime, version, aversion, child_creates, num_children, "
						   "ephemeral_owner, kind, ttl_ms) "
						   "VALUES ($1, $2, $3, $4, $5, $5, $5, $6, $6, 0, 0, 0, 0, $7, $8, $9)", z);
			types[nargs++] = TEXTOID;
			types[nargs++] = TEXTOID;
			types[nargs++] = BYTEAOID;
			types[nargs++] = TEXTARRAYOID;
			types[nargs++] = INT8OID;
			types[nargs++] = TIMESTAMPTZOID;
			types[nargs++] = INT8OID;
			types[nargs++] = INT2OID;
			types[nargs++] = INT8OID;
			break;
		case P_PARENT_FLUSH:
			sql = psprintf("UPDATE %s SET child_creates = CASE WHEN $2" ZK_LT "0 THEN child_creates ELSE $2 END, "
						   "num_children = num_children" ZK_PLUS "$3, pzxid = $4 WHERE path" ZK_EQ "$1", z);
			types[nargs++] = TEXTOID;
			types[nargs++] = INT4OID;
			types[nargs++] = INT4OID;
			types[nargs++] = INT8OID;
			break;
		case P_DELETE:
			sql = psprintf("DELETE FROM %s WHERE path" ZK_EQ "$1 RETURNING parent, acl", z);
			types[nargs++] = TEXTOID;
			break;
		case P_SETDATA:
			sql = psprintf("UPDATE %s SET data = $2, version = $3, mzxid = $4, mtime = $5 "
						   "WHERE path" ZK_EQ "$1 RETURNING " STAT_COLUMNS, z);
			types[nargs++] = TEXTOID;
			types[nargs++] = BYTEAOID;
			types[nargs++] = INT4OID;
			types[nargs++] = INT8OID;
			types[nargs++] = TIMESTAMPTZOID;
			break;
		case P_SETACL:
			sql = psprintf("UPDATE %s SET acl = $2, aversion = $3 "
						   "WHERE path" ZK_EQ "$1 RETURNING " STAT_COLUMNS, z);
			types[nargs++] = TEXTOID;
			types[nargs++] = TEXTARRAYOID;
			types[nargs++] = INT4OID;
			break;
		case P_SESSION_ADD:
			sql = psprintf("INSERT INTO %s (session_id, owner, timeout_ms, created_zxid) "
						   "VALUES ($1, $2, $3, $4)", tree->session_rel);
			types[nargs++] = INT8OID;
			types[nargs++] = INT4OID;
			types[nargs++] = INT4OID;
			types[nargs++] = INT8OID;
			break;
		case P_SESSION_DEL:
			sql = psprintf("DELETE FROM %s WHERE session_id" ZK_EQ "$1", tree->session_rel);
			types[nargs++] = INT8OID;
			break;
		case P_SESSIONS:
			sql = psprintf("SELECT session_id, owner, timeout_ms FROM %s ORDER BY session_id",
						   tree->session_rel);
			break;
		case P_DIGEST:

			/*
			 * Everything a client can observe of a node, times as
			 * microseconds so that the TimeZone setting does not matter.
			 */
			sql = psprintf("SELECT pg_catalog.md5(pg_catalog.string_agg(pg_catalog.md5("
						   "pg_catalog.concat_ws('|', path, pg_catalog.md5(data), "
						   "pg_catalog.array_to_string(acl, ','), czxid, mzxid, pzxid, "
						   "(pg_catalog.extract('epoch', ctime)" ZK_MUL "1000000)::bigint, "
						   "(pg_catalog.extract('epoch', mtime)" ZK_MUL "1000000)::bigint, "
						   "version, aversion, child_creates, num_children, ephemeral_owner, "
						   "kind, ttl_ms)), '' ORDER BY path)) FROM %s", z);
			break;
		case P_EXPIRED_CONTAINERS:

			/*
			 * ZooKeeper's ContainerManager: containers that had children and
			 * have none left; TTL nodes without children not modified for
			 * their TTL.
			 */
			sql = psprintf("SELECT path, version FROM %s WHERE kind" ZK_NE "0 "
						   "AND num_children" ZK_EQ "0 "
						   "AND ((kind" ZK_EQ "1 AND child_creates" ZK_GT "0) OR "
						   "(kind" ZK_EQ "2 AND (mtime" ZK_PLUS "(ttl_ms" ZK_MUL
						   "interval '1 millisecond'))" ZK_LT "$1)) "
						   "LIMIT 1000", z);
			types[nargs++] = TIMESTAMPTZOID;
			break;
		case NUM_TREE_PLANS:
			break;
	}

	plan = SPI_prepare(sql, nargs, types);
	if (plan == NULL)
		elog(ERROR, "zkpg: SPI_prepare failed for \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	SPI_keepplan(plan);
	tree->plans[which] = plan;
	return plan;
}

/* every statement runs as internal_sql.c says: pinned, restricted */
static void
tree_begin(ZkInternalSql *acc)
{
	ZkInternalSqlBegin(acc, true);
}

static void
tree_end(ZkInternalSql *acc)
{
	ZkInternalSqlEnd(acc);
}

static int
tree_exec(ZkTree *tree, TreePlan which, Datum *values, const char *nulls,
		  bool read, long tcount)
{
	SPIPlanPtr	plan = tree_plan(tree, which);
	int			ret;

	if (read)
		ret = SPI_execute_snapshot(plan, values, nulls, GetLatestSnapshot(),
								   InvalidSnapshot, true, false, tcount);
	else
		ret = SPI_execute_plan(plan, values, nulls, false, tcount);
	if (ret < 0)
		elog(ERROR, "zkpg: tree statement %d failed: %s", (int) which,
			 SPI_result_code_string(ret));
	return ret;
}

static void
tree_row_to_node(HeapTuple tup, TupleDesc desc, ZkNode *node, bool with_data,
				 MemoryContext cxt)
{
	bool		isnull;
	Datum		d;
	MemoryContext old;

	memset(node, 0, sizeof(ZkNode));
	node->czxid = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	node->mzxid = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
	node->pzxid = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
	node->ctime = DatumGetTimestampTz(SPI_getbinval(tup, desc, 4, &isnull));
	node->mtime = DatumGetTimestampTz(SPI_getbinval(tup, desc, 5, &isnull));
	node->version = DatumGetInt32(SPI_getbinval(tup, desc, 6, &isnull));
	node->aversion = DatumGetInt32(SPI_getbinval(tup, desc, 7, &isnull));
	node->creates = DatumGetInt32(SPI_getbinval(tup, desc, 8, &isnull));
	node->num_children = DatumGetInt32(SPI_getbinval(tup, desc, 9, &isnull));
	node->ephemeral_owner = DatumGetInt64(SPI_getbinval(tup, desc, 10, &isnull));
	node->kind = DatumGetInt16(SPI_getbinval(tup, desc, 11, &isnull));
	node->ttl_ms = DatumGetInt64(SPI_getbinval(tup, desc, 12, &isnull));
	node->data_len = DatumGetInt32(SPI_getbinval(tup, desc, 13, &isnull));

	old = MemoryContextSwitchTo(cxt);
	d = SPI_getbinval(tup, desc, 14, &isnull);
	if (!isnull)
		acl_from_datum(d, &node->nacl, &node->acl);
	if (with_data)
	{
		d = SPI_getbinval(tup, desc, 15, &isnull);
		if (!isnull)
		{
			bytea	   *b = DatumGetByteaPP(d);

			node->data_len = VARSIZE_ANY_EXHDR(b);
			node->data = palloc(node->data_len + 1);
			memcpy(node->data, VARDATA_ANY(b), node->data_len);
		}
		else
			node->data = palloc0(1);
	}
	MemoryContextSwitchTo(old);
}

/* A text[] ACL into strings, in the current context. */
static void
acl_from_datum(Datum d, int *nacl, char ***acl)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;

	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	*nacl = n;
	*acl = palloc(sizeof(char *) * Max(n, 1));
	for (i = 0; i < n; i++)
		(*acl)[i] = nulls[i] ? pstrdup("") : TextDatumGetCString(elems[i]);
}

static Datum
acl_to_array(int nacl, char **acl)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(nacl, 1));
	int			i;

	for (i = 0; i < nacl; i++)
		elems[i] = CStringGetTextDatum(acl[i]);
	return PointerGetDatum(construct_array(elems, nacl, TEXTOID, -1, false, TYPALIGN_INT));
}

void
ZkNodeToStat(const ZkNode *node, ZkStat *stat)
{
	stat->czxid = node->czxid;
	stat->mzxid = node->mzxid;
	stat->ctime = node->ctime;
	stat->mtime = node->mtime;
	stat->version = node->version;
	stat->cversion = 2 * node->creates - node->num_children;
	stat->aversion = node->aversion;
	stat->ephemeral_owner = node->kind == ZK_KIND_NORMAL ? node->ephemeral_owner : 0;
	stat->data_length = node->data_len;
	stat->num_children = node->num_children;
	stat->pzxid = node->pzxid;
}

/* ---- reads ---- */

/*
 * The first column of a read plan's rows, as strings in the caller's
 * context, each without its first skip bytes.
 */
static List *
tree_read_strings(ZkTree *tree, TreePlan which, Datum *values, size_t skip)
{
	ZkInternalSql acc;
	List	   *out = NIL;
	uint64		i;

	tree_begin(&acc);
	tree_exec(tree, which, values, NULL, true, 0);
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *v = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		MemoryContext old = MemoryContextSwitchTo(acc.caller);

		out = lappend(out, pstrdup(v + skip));
		MemoryContextSwitchTo(old);
	}
	tree_end(&acc);
	return out;
}

/*
 * zkpg.znode's columns, as the install script creates them; checked
 * against the relation's descriptor before the first direct read.
 */
typedef enum ZnodeColumn
{
	ZC_PATH = 1,
	ZC_PARENT,
	ZC_DATA,
	ZC_ACL,
	ZC_CZXID,
	ZC_MZXID,
	ZC_PZXID,
	ZC_CTIME,
	ZC_MTIME,
	ZC_VERSION,
	ZC_AVERSION,
	ZC_CHILD_CREATES,
	ZC_NUM_CHILDREN,
	ZC_EPHEMERAL_OWNER,
	ZC_KIND,
	ZC_TTL_MS,
	ZC_NUM_COLUMNS = ZC_TTL_MS
} ZnodeColumn;

static const char *const znode_column_names[ZC_NUM_COLUMNS] = {
	"path", "parent", "data", "acl", "czxid", "mzxid", "pzxid", "ctime",
	"mtime", "version", "aversion", "child_creates", "num_children",
	"ephemeral_owner", "kind", "ttl_ms"
};

/* The relation last checked, so that the check runs once per relation. */
static Oid	checked_znode_relid = InvalidOid;

static void
check_znode_columns(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	if (RelationGetRelid(rel) == checked_znode_relid)
		return;
	if (desc->natts < ZC_NUM_COLUMNS)
		elog(ERROR, "zkpg: zkpg.znode has %d columns, expected %d",
			 desc->natts, ZC_NUM_COLUMNS);
	for (i = 0; i < ZC_NUM_COLUMNS; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || strcmp(NameStr(att->attname), znode_column_names[i]) != 0)
			elog(ERROR, "zkpg: column %d of zkpg.znode is not \"%s\"",
				 i + 1, znode_column_names[i]);
	}
	checked_znode_relid = RelationGetRelid(rel);
}

/*
 * One node of the main tree by its primary key, with the latest snapshot
 * as the SPI reads take.  The names are looked up on every call (two
 * syscache probes), so that a dropped and recreated extension is seen.
 */
static bool
tree_get_node_direct(const char *path, bool with_data, ZkNode *node)
{
	Oid			nsp = get_namespace_oid("zkpg", false);
	Oid			relid = get_relname_relid("znode", nsp);
	Oid			indexid = get_relname_relid("znode_pkey", nsp);
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	Snapshot	snapshot;
	HeapTuple	tup;
	bool		found = false;

	if (!OidIsValid(relid) || !OidIsValid(indexid))
		elog(ERROR, "zkpg: zkpg.znode or its primary key is missing");
	rel = table_open(relid, AccessShareLock);
	check_znode_columns(rel);
	/* ScanKeyInit compares in the "C" collation, the column's */
	ScanKeyInit(&key, ZC_PATH, BTEqualStrategyNumber, F_TEXTEQ,
				CStringGetTextDatum(path));
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = systable_beginscan(rel, indexid, true, snapshot, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		TupleDesc	desc = RelationGetDescr(rel);
		Datum		values[ZC_NUM_COLUMNS];
		bool		isnull[ZC_NUM_COLUMNS];

		found = true;
		heap_deform_tuple(tup, desc, values, isnull);
		memset(node, 0, sizeof(ZkNode));
		node->czxid = DatumGetInt64(values[ZC_CZXID - 1]);
		node->mzxid = DatumGetInt64(values[ZC_MZXID - 1]);
		node->pzxid = DatumGetInt64(values[ZC_PZXID - 1]);
		node->ctime = DatumGetTimestampTz(values[ZC_CTIME - 1]);
		node->mtime = DatumGetTimestampTz(values[ZC_MTIME - 1]);
		node->version = DatumGetInt32(values[ZC_VERSION - 1]);
		node->aversion = DatumGetInt32(values[ZC_AVERSION - 1]);
		node->creates = DatumGetInt32(values[ZC_CHILD_CREATES - 1]);
		node->num_children = DatumGetInt32(values[ZC_NUM_CHILDREN - 1]);
		node->ephemeral_owner = DatumGetInt64(values[ZC_EPHEMERAL_OWNER - 1]);
		node->kind = DatumGetInt16(values[ZC_KIND - 1]);
		node->ttl_ms = DatumGetInt64(values[ZC_TTL_MS - 1]);
		acl_from_datum(values[ZC_ACL - 1], &node->nacl, &node->acl);
		/* the raw length, without detoasting what is not asked for */
		node->data_len = (int32) (toast_raw_datum_size(values[ZC_DATA - 1]) - VARHDRSZ);
		if (with_data)
		{
			bytea	   *b = DatumGetByteaPP(values[ZC_DATA - 1]);

			node->data_len = VARSIZE_ANY_EXHDR(b);
			node->data = palloc(node->data_len + 1);
			memcpy(node->data, VARDATA_ANY(b), node->data_len);
			if ((Pointer) b != DatumGetPointer(values[ZC_DATA - 1]))
				pfree(b);
		}
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return found;
}

bool
ZkTreeGetNode(ZkTree *tree, const char *path, bool with_data, ZkNode *node)
{
	ZkInternalSql acc;
	Datum		values[1];
	bool		found;

	if (tree == main_tree)
		return tree_get_node_direct(path, with_data, node);

	tree_begin(&acc);
	values[0] = CStringGetTextDatum(path);
	tree_exec(tree, with_data ? P_GET_DATA : P_GET, values, NULL, true, 1);
	found = (SPI_processed == 1);
	if (found)
		tree_row_to_node(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, node,
						 with_data, acc.caller);
	tree_end(&acc);
	return found;
}

/* Child names of path, sorted. */
List *
ZkTreeGetChildren(ZkTree *tree, const char *path)
{
	Datum		values[1];

	values[0] = CStringGetTextDatum(path);
	return tree_read_strings(tree, P_CHILDREN, values,
							 strcmp(path, "/") == 0 ? 1 : strlen(path) + 1);
}

/* The children of path with their data and stats, sorted by name. */
List *
ZkTreeGetChildNodes(ZkTree *tree, const char *path)
{
	ZkInternalSql acc;
	Datum		values[1];
	List	   *children = NIL;
	uint64		i;
	size_t		skip = strcmp(path, "/") == 0 ? 1 : strlen(path) + 1;

	tree_begin(&acc);
	values[0] = CStringGetTextDatum(path);
	tree_exec(tree, P_CHILD_NODES, values, NULL, true, 0);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		char	   *child = SPI_getvalue(tup, SPI_tuptable->tupdesc, 16);
		ZkChildNode *c = MemoryContextAllocZero(acc.caller, sizeof(ZkChildNode));
		MemoryContext old;

		tree_row_to_node(tup, SPI_tuptable->tupdesc, &c->node, true, acc.caller);
		old = MemoryContextSwitchTo(acc.caller);
		c->name = pstrdup(child + skip);
		children = lappend(children, c);
		MemoryContextSwitchTo(old);
	}
	tree_end(&acc);
	return children;
}

/* The parents of ephemeral nodes (where the recipes' holders are). */
List *
ZkTreeEphemeralParents(ZkTree *tree)
{
	return tree_read_strings(tree, P_EPHEMERAL_PARENTS, NULL, 0);
}

/* All descendants of path (ZooKeeper's getAllChildrenNumber). */
int64
ZkTreeCountDescendants(ZkTree *tree, const char *path)
{
	ZkInternalSql acc;
	Datum		values[2];
	bool		isnull;
	int64		n;

	tree_begin(&acc);
	if (strcmp(path, "/") == 0)
	{
		tree_exec(tree, P_COUNT_ALL, NULL, NULL, true, 0);
		n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) - 1;
	}
	else
	{
		/* with the C collation, path/... sorts in [path/, path0) */
		values[0] = CStringGetTextDatum(psprintf("%s/", path));
		values[1] = CStringGetTextDatum(psprintf("%s0", path));
		tree_exec(tree, P_COUNT_RANGE, values, NULL, true, 0);
		n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	tree_end(&acc);
	return n;
}

List *
ZkTreeSessionEphemerals(ZkTree *tree, int64 session_id)
{
	Datum		values[1];

	values[0] = Int64GetDatum(session_id);
	return tree_read_strings(tree, P_EPHEMERALS, values, 0);
}

List *
ZkTreeSessions(ZkTree *tree)
{
	ZkInternalSql acc;
	List	   *rows = NIL;
	uint64		i;

	tree_begin(&acc);
	tree_exec(tree, P_SESSIONS, NULL, NULL, true, 0);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		ZkSessionRow *row = MemoryContextAlloc(acc.caller, sizeof(ZkSessionRow));

		row->session_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		row->owner = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		row->timeout_ms = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
		{
			MemoryContext old = MemoryContextSwitchTo(acc.caller);

			rows = lappend(rows, row);
			MemoryContextSwitchTo(old);
		}
	}
	tree_end(&acc);
	return rows;
}

int64
ZkTreeCountNodes(ZkTree *tree)
{
	ZkInternalSql acc;
	bool		isnull;
	int64		n;

	tree_begin(&acc);
	tree_exec(tree, P_COUNT_ALL, NULL, NULL, true, 0);
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	tree_end(&acc);
	return n;
}

char *
ZkTreeDigest(ZkTree *tree)
{
	ZkInternalSql acc;
	char	   *digest;

	ZkTreeFlush(tree);
	tree_begin(&acc);
	tree_exec(tree, P_DIGEST, NULL, NULL, true, 0);
	digest = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	digest = MemoryContextStrdup(acc.caller, digest ? digest : "");
	tree_end(&acc);
	return digest;
}

/* ---- writes (the applier) ---- */

void
ZkTreeCreate(ZkTree *tree, const ZkOp *op, ZkZxid zxid, TimestampTz time,
			 ZkStat *stat)
{
	ZkInternalSql acc;
	Datum		values[9];
	char	   *parent = ZkParentPath(op->path);
	bytea	   *data = palloc(VARHDRSZ + op->data_len);
	int16		kind;

	SET_VARSIZE(data, VARHDRSZ + op->data_len);
	if (op->data_len > 0)
		memcpy(VARDATA(data), op->data, op->data_len);
	kind = op->mode == ZK_MODE_CONTAINER ? ZK_KIND_CONTAINER :
		ZK_MODE_IS_TTL(op->mode) ? ZK_KIND_TTL : ZK_KIND_NORMAL;

	tree_begin(&acc);
	values[0] = CStringGetTextDatum(op->path);
	values[1] = CStringGetTextDatum(parent);
	values[2] = PointerGetDatum(data);
	values[3] = acl_to_array(op->nacl, op->acl);
	values[4] = Int64GetDatum(zxid);
	values[5] = TimestampTzGetDatum(time);
	values[6] = Int64GetDatum(op->ephemeral_owner);
	values[7] = Int16GetDatum(kind);
	values[8] = Int64GetDatum(op->ttl_ms);
	tree_exec(tree, P_INSERT, values, NULL, false, 0);

	tree_end(&acc);

	{
		PendingParent *p = pending_entry(tree, parent);

		p->creates = op->parent_creates;
		p->delta++;
		p->pzxid = zxid;
	}

	if (stat)
	{
		memset(stat, 0, sizeof(ZkStat));
		stat->czxid = stat->mzxid = stat->pzxid = zxid;
		stat->ctime = stat->mtime = time;
		stat->ephemeral_owner = kind == ZK_KIND_NORMAL ? op->ephemeral_owner : 0;
		stat->data_length = op->data_len;
	}
}

/* Delete path; its ACL as it was goes into *acl_out when asked for. */
void
ZkTreeDelete(ZkTree *tree, const char *path, ZkZxid zxid, int *nacl_out, char ***acl_out)
{
	ZkInternalSql acc;
	Datum		values[1];
	char	   *parent;

	tree_begin(&acc);
	values[0] = CStringGetTextDatum(path);
	tree_exec(tree, P_DELETE, values, NULL, false, 0);
	if (SPI_processed != 1)
		elog(ERROR, "zkpg: txn %llx deletes absent node \"%s\"",
			 (unsigned long long) zxid, path);
	parent = MemoryContextStrdup(acc.caller,
								 SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	if (acl_out != NULL)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
		MemoryContext old = MemoryContextSwitchTo(acc.caller);

		*nacl_out = 0;
		*acl_out = NULL;
		if (!isnull)
			acl_from_datum(d, nacl_out, acl_out);
		MemoryContextSwitchTo(old);
	}
	tree_end(&acc);

	/* the node is gone: so is what was pending for it as a parent */
	if (tree->pending != NULL)
		hash_search(tree->pending, path, HASH_REMOVE, NULL);
	{
		PendingParent *p = pending_entry(tree, parent);

		p->delta--;
		p->pzxid = zxid;
	}
}

void
ZkTreeSetData(ZkTree *tree, const ZkOp *op, ZkZxid zxid, TimestampTz time,
			  ZkStat *stat, ZkNode *after)
{
	ZkInternalSql acc;
	Datum		values[5];
	bytea	   *data = palloc(VARHDRSZ + op->data_len);
	ZkNode		node;

	SET_VARSIZE(data, VARHDRSZ + op->data_len);
	if (op->data_len > 0)
		memcpy(VARDATA(data), op->data, op->data_len);

	tree_begin(&acc);
	pending_flush_one(tree, op->path);
	values[0] = CStringGetTextDatum(op->path);
	values[1] = PointerGetDatum(data);
	values[2] = Int32GetDatum(op->version);
	values[3] = Int64GetDatum(zxid);
	values[4] = TimestampTzGetDatum(time);
	tree_exec(tree, P_SETDATA, values, NULL, false, 0);
	if (SPI_processed != 1)
		elog(ERROR, "zkpg: txn %llx sets absent node \"%s\"",
			 (unsigned long long) zxid, op->path);
	tree_row_to_node(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, &node, false, acc.caller);
	tree_end(&acc);
	if (stat)
		ZkNodeToStat(&node, stat);
	if (after)
		*after = node;
}

void
ZkTreeSetAcl(ZkTree *tree, const ZkOp *op, ZkStat *stat)
{
	ZkInternalSql acc;
	Datum		values[3];
	ZkNode		node;

	tree_begin(&acc);
	pending_flush_one(tree, op->path);
	values[0] = CStringGetTextDatum(op->path);
	values[1] = acl_to_array(op->nacl, op->acl);
	values[2] = Int32GetDatum(op->version);
	tree_exec(tree, P_SETACL, values, NULL, false, 0);
	if (SPI_processed != 1)
		elog(ERROR, "zkpg: txn sets the ACL of absent node \"%s\"", op->path);
	tree_row_to_node(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, &node, false, acc.caller);
	tree_end(&acc);
	if (stat)
		ZkNodeToStat(&node, stat);
}

void
ZkTreeAddSession(ZkTree *tree, int64 session_id, int32 owner, int32 timeout_ms,
				 ZkZxid zxid)
{
	ZkInternalSql acc;
	Datum		values[4];

	tree_begin(&acc);
	values[0] = Int64GetDatum(session_id);
	values[1] = Int32GetDatum(owner);
	values[2] = Int32GetDatum(timeout_ms);
	values[3] = Int64GetDatum(zxid);
	tree_exec(tree, P_SESSION_ADD, values, NULL, false, 0);
	tree_end(&acc);
}

void
ZkTreeRemoveSession(ZkTree *tree, int64 session_id)
{
	ZkInternalSql acc;
	Datum		values[1];

	tree_begin(&acc);
	values[0] = Int64GetDatum(session_id);
	tree_exec(tree, P_SESSION_DEL, values, NULL, false, 0);
	tree_end(&acc);
}

/*
 * The nodes that exist before the first txn, as in a fresh ZooKeeper:
 * "/", "/zookeeper", "/zookeeper/quota" and the read-only
 * "/zookeeper/config", all with zxid 0.  Their child counts are not
 * creates, so "/" reports cversion -1 and "/zookeeper" -2, as ZooKeeper
 * does.
 */
void
ZkTreeInitialize(ZkTree *tree)
{
	ZkInternalSql acc;
	char	   *sql;

	tree_begin(&acc);
	sql = psprintf("INSERT INTO %s (path, parent, data, acl, czxid, mzxid, pzxid, ctime, mtime, "
				   "version, aversion, child_creates, num_children, ephemeral_owner, kind, ttl_ms) "
				   "SELECT p, par, '', a, 0, 0, 0, pg_catalog.to_timestamp(0::float8), "
				   "pg_catalog.to_timestamp(0::float8), 0, 0, 0, n, 0, 0, 0 "
				   "FROM (VALUES ('/', '', 1, '{world:anyone:cdrwa}'::text[]), "
				   "('/zookeeper', '/', 2, '{world:anyone:cdrwa}'), "
				   "('/zookeeper/quota', '/zookeeper', 0, '{world:anyone:cdrwa}'), "
				   "('/zookeeper/config', '/zookeeper', 0, '{world:anyone:r}')) AS v(p, par, n, a)",
				   tree->znode_rel);
	if (SPI_execute(sql, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "zkpg: could not initialise the tree");
	tree_end(&acc);
}

/*
 * A scratch tree in pg_temp, dropped at the end of the transaction.
 */
ZkTree *
ZkTreeCreateScratch(void)
{
	ZkTree	   *tree = palloc0(sizeof(ZkTree));
	ZkInternalSql acc;

	/* a security-restricted operation cannot create temporary tables */
	ZkInternalSqlBegin(&acc, false);
	if (SPI_execute("CREATE TEMP TABLE zk_scratch_znode (LIKE zkpg.znode INCLUDING ALL) "
					"ON COMMIT DROP", false, 0) != SPI_OK_UTILITY ||
		SPI_execute("CREATE TEMP TABLE zk_scratch_session (LIKE zkpg.session INCLUDING ALL) "
					"ON COMMIT DROP", false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "zkpg: could not create the scratch tree");
	tree_end(&acc);
	tree->znode_rel = "pg_temp.zk_scratch_znode";
	tree->session_rel = "pg_temp.zk_scratch_session";
	ZkTreeInitialize(tree);
	return tree;
}

void
ZkTreeDropScratch(ZkTree *tree)
{
	ZkInternalSql acc;
	int			i;

	for (i = 0; i < NUM_TREE_PLANS; i++)
		if (tree->plans[i])
			SPI_freeplan(tree->plans[i]);
	if (tree->pending)
		hash_destroy(tree->pending);
	tree_begin(&acc);
	if (SPI_execute("DROP TABLE pg_temp.zk_scratch_znode, pg_temp.zk_scratch_session",
					false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "zkpg: could not drop the scratch tree");
	tree_end(&acc);
}

/*
 * Empty containers and expired TTL nodes, to be deleted by the leader.
 * Returns ZkOp delete ops carrying the version seen.
 */
List *
ZkTreeExpiredContainers(ZkTree *tree, TimestampTz now)
{
	ZkInternalSql acc;
	Datum		values[1];
	List	   *ops = NIL;
	uint64		i;

	tree_begin(&acc);
	values[0] = TimestampTzGetDatum(now);
	tree_exec(tree, P_EXPIRED_CONTAINERS, values, NULL, true, 0);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		ZkOp	   *op = MemoryContextAllocZero(acc.caller, sizeof(ZkOp));
		MemoryContext old;

		op->type = ZK_OP_DELETE;
		op->path = MemoryContextStrdup(acc.caller,
									   SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		op->version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
		old = MemoryContextSwitchTo(acc.caller);
		ops = lappend(ops, op);
		MemoryContextSwitchTo(old);
	}
	tree_end(&acc);
	return ops;
}
