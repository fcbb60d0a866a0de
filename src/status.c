/*-------------------------------------------------------------------------
 *
 * status.c
 *	  What an operator and the tests look at: the zkpg.status row (the
 *	  mntr/srvr of this server), the digest of the tree, and the digest
 *	  of a tree rebuilt by replaying the whole log.
 *
 * IDENTIFICATION
 *	  src/status.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "acl.h"
#include "applier.h"
#include "quorum_config.h"
#include "datatree.h"
#include "path.h"
#include "sessions.h"
#include "shmem.h"
#include "txn_codec.h"
#include "txnlog.h"
#include "watches.h"
#include "zk_functions.h"
#include "zkpg.h"

PG_FUNCTION_INFO_V1(zkpg_status_info);
PG_FUNCTION_INFO_V1(zkpg_tree_digest);
PG_FUNCTION_INFO_V1(zkpg_log_replay_digest);
PG_FUNCTION_INFO_V1(zkpg_initialize_tree);
PG_FUNCTION_INFO_V1(zkpg_local_sessions);
PG_FUNCTION_INFO_V1(zkpg_local_watches);
PG_FUNCTION_INFO_V1(zkpg_peer_info);

#define STATUS_COLS 19

static void require_shmem(void);
static bool path_readable(const char *path, const ZkAuth *auth);

static void
require_shmem(void)
{
	if (ZkShmem == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("zkpg must be loaded via shared_preload_libraries")));
}

/*
 * May auth READ path, or, when it does not exist (a watch may wait for a
 * create), its nearest ancestor that does?  What a view may show of a
 * path is what zk_exists and zk_get_children would say.
 */
static bool
path_readable(const char *path, const ZkAuth *auth)
{
	char	   *p = pstrdup(path);
	ZkNode		node;

	for (;;)
	{
		if (ZkTreeGetNode(ZkTreeMain(), p, false, &node))
			return ZkAclPermits(node.nacl, node.acl, ZK_PERM_READ, auth);
		if (strcmp(p, "/") == 0)
			return false;
		p = ZkParentPath(p);
	}
}

Datum
zkpg_status_info(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[STATUS_COLS];
	bool		nulls[STATUS_COLS] = {0};
	ZkServerState state;
	int			leader;
	int64		epoch;
	int64		znodes;
	int64		lat_count;
	int64		lat_sum;
	int64		lat_min;
	int64		lat_max;
	int			outstanding = 0;
	int			sessions = 0;
	int			i;
	bool		serving;
	char		reason[ZK_REASON_BYTES];

	require_shmem();
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	LWLockAcquire(ZkShmem->state_lock, LW_SHARED);
	state = ZkShmem->state;
	serving = ZkShmem->serving;
	strlcpy(reason, ZkShmem->not_serving_reason, sizeof(reason));
	leader = ZkShmem->leader_id;
	epoch = ZkShmem->epoch;
	znodes = ZkShmem->znode_count;
	LWLockRelease(ZkShmem->state_lock);

	LWLockAcquire(ZkShmem->slot_lock, LW_SHARED);
	for (i = 0; i < ZkShmem->nslots; i++)
	{
		if (ZkShmem->slots[i].wait_cxid != -1 && !ZkShmem->slots[i].done)
			outstanding++;
		if (ZkShmem->slots[i].session_state == ZK_SESSION_OPEN)
			sessions++;
	}
	LWLockRelease(ZkShmem->slot_lock);

	SpinLockAcquire(&ZkShmem->stats_mutex);
	lat_count = ZkShmem->lat_count;
	lat_sum = ZkShmem->lat_sum_us;
	lat_min = ZkShmem->lat_min_us;
	lat_max = ZkShmem->lat_max_us;
	SpinLockRelease(&ZkShmem->stats_mutex);

	values[0] = Int32GetDatum(zk_myid);
	values[1] = CStringGetTextDatum(ZkReplicationName(zk_replication));
	values[2] = CStringGetTextDatum(ZkServerStateName(state));
	values[3] = Int32GetDatum(leader);
	nulls[3] = (leader < 0);
	values[4] = Int64GetDatum(epoch);
	values[5] = Int64GetDatum((int64) pg_atomic_read_u64(&ZkShmem->last_logged_zxid));
	values[6] = Int64GetDatum((int64) pg_atomic_read_u64(&ZkShmem->committed_zxid));
	values[7] = Int64GetDatum((int64) pg_atomic_read_u64(&ZkShmem->applied_zxid));
	values[8] = Int32GetDatum(outstanding);
	values[9] = Int64GetDatum(znodes);
	values[10] = Int32GetDatum(sessions);
	values[11] = Int32GetDatum(ZkWatchCount());
	values[12] = Float8GetDatum(lat_count ? lat_min / 1000.0 : 0);
	values[13] = Float8GetDatum(lat_count ? (double) lat_sum / lat_count / 1000.0 : 0);
	values[14] = Float8GetDatum(lat_count ? lat_max / 1000.0 : 0);
	values[15] = Int64GetDatum(lat_count);
	values[16] = CStringGetTextDatum(zk_database);
	/* without a quorum: serves reads only (zkpg.read_only), and why */
	values[17] = BoolGetDatum(!serving && zk_read_only);
	values[18] = CStringGetTextDatum(ZkNotServingReason(state, reason));
	nulls[18] = serving;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

Datum
zkpg_tree_digest(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(ZkTreeDigest(ZkTreeMain())));
}

/*
 * Rebuild the tree from the initial nodes by applying every logged txn,
 * in a scratch copy, and return its digest.  Equal to zkpg.tree_digest()
 * once everything logged is applied, if the applier did its job.
 */
Datum
zkpg_log_replay_digest(PG_FUNCTION_ARGS)
{
	ZkTree	   *scratch = ZkTreeCreateScratch();
	ZkZxid		after = 0;
	MemoryContext batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "zkpg replay",
													ALLOCSET_DEFAULT_SIZES);
	char	   *digest;

	if (ZkLogGetState(ZK_STATE_LOG_BASE) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the zkpg txn log no longer starts at the beginning"),
				 errdetail("It was purged or replaced by a snapshot up to zxid 0x%llx.",
						   (unsigned long long) ZkLogGetState(ZK_STATE_LOG_BASE))));
	for (;;)
	{
		MemoryContext old = MemoryContextSwitchTo(batch_cxt);
		List	   *txns = ZkLogRead(after, PG_INT64_MAX, 1000);
		ListCell   *lc;

		foreach(lc, txns)
		{
			ZkLoggedTxn *logged = lfirst(lc);
			ZkRecord	txn;
			ZkOpResult *results;
			int			nresults;
			const char *reason = ZkDecodeTxn(logged->data, logged->len, &txn);

			if (reason != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("logged txn 0x%llx is corrupt: %s",
								(unsigned long long) logged->zxid, reason)));
			results = palloc(sizeof(ZkOpResult) * Max(txn.nops, 1));
			(void) ZkApplyTxn(scratch, &txn, results, &nresults, NULL);
			after = logged->zxid;
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(batch_cxt);
		if (txns == NIL)
			break;
		CHECK_FOR_INTERRUPTS();
	}
	digest = ZkTreeDigest(scratch);
	ZkTreeDropScratch(scratch);
	PG_RETURN_TEXT_P(cstring_to_text(digest));
}

/*
 * Called once by the install script: the nodes that exist from the start.
 */
Datum
zkpg_initialize_tree(PG_FUNCTION_ARGS)
{
	if (ZkTreeCountNodes(ZkTreeMain()) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the zkpg tree is already initialised")));
	ZkTreeInitialize(ZkTreeMain());
	PG_RETURN_VOID();
}

/*
 * The sessions held by backends of this server: session_id, pid, state.
 */
Datum
zkpg_local_sessions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			n = 0;
	int64	   *sids;
	int		   *pids;
	bool	   *open;
	int			i;

	require_shmem();
	InitMaterializedSRF(fcinfo, 0);
	sids = palloc(sizeof(int64) * ZkShmem->nslots);
	pids = palloc(sizeof(int) * ZkShmem->nslots);
	open = palloc(sizeof(bool) * ZkShmem->nslots);
	LWLockAcquire(ZkShmem->slot_lock, LW_SHARED);
	for (i = 0; i < ZkShmem->nslots; i++)
	{
		ZkBackendSlot *slot = &ZkShmem->slots[i];

		if (slot->session_state == ZK_SESSION_NONE || slot->session_id == 0)
			continue;
		sids[n] = slot->session_id;
		pids[n] = slot->pid;
		open[n] = slot->session_state == ZK_SESSION_OPEN;
		n++;
	}
	LWLockRelease(ZkShmem->slot_lock);

	for (i = 0; i < n; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {0};

		values[0] = Int64GetDatum(sids[i]);
		values[1] = Int32GetDatum(pids[i]);
		values[2] = CStringGetTextDatum(open[i] ? "open" : "expired");
		values[3] = BoolGetDatum(ZkSessionDetailsVisible(sids[i]));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

Datum
zkpg_local_watches(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ListCell   *lc;
	ZkAuth	   *auth;

	require_shmem();
	ZkCheckUsable();
	auth = ZkMyAuth();
	InitMaterializedSRF(fcinfo, 0);
	foreach(lc, ZkWatchList())
	{
		ZkWatchInfo *w = lfirst(lc);
		Datum		values[3];
		bool		nulls[3] = {0};

		values[0] = Int64GetDatum(w->session_id);
		/* a path only to who may see the session's details and read there */
		if (ZkSessionDetailsVisible(w->session_id) && path_readable(w->path, auth))
			values[1] = CStringGetTextDatum(w->path);
		else
			nulls[1] = true;
		values[2] = CStringGetTextDatum(ZkWatchKindName(w->kind));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * One row per configured server: id, address, role, connected, state,
 * acked_zxid, lag.  Empty for a standalone server.
 */
Datum
zkpg_peer_info(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ZkQuorumConfig config;
	ZkPeerStatus status[ZK_MAX_PEERS];
	ZkServerState my_state;
	TimestampTz now = GetCurrentTimestamp();
	int			i;

	require_shmem();
	InitMaterializedSRF(fcinfo, 0);
	if (ZkParseQuorumConfig(zk_servers, zk_myid, &config) != NULL || config.my_index < 0)
		return (Datum) 0;
	LWLockAcquire(ZkShmem->state_lock, LW_SHARED);
	memcpy(status, ZkShmem->peer_status, sizeof(status));
	my_state = ZkShmem->state;
	LWLockRelease(ZkShmem->state_lock);

	for (i = 0; i < config.npeers; i++)
	{
		Datum		values[7];
		bool		nulls[7] = {0};
		bool		me = (i == config.my_index);

		values[0] = Int32GetDatum(config.peers[i].id);
		values[1] = CStringGetTextDatum(psprintf("%s:%d", config.peers[i].host, config.peers[i].port));
		values[2] = CStringGetTextDatum(config.peers[i].observer ? "observer" : "participant");
		values[3] = BoolGetDatum(me || status[i].connected);
		/* what a peer said is shown while it is fresh: within syncLimit */
		if (me)
			values[4] = CStringGetTextDatum(ZkServerStateName(my_state));
		else if (status[i].heard &&
				 !TimestampDifferenceExceeds(status[i].last_contact, now,
											 zk_sync_limit * zk_tick_ms))
			values[4] = CStringGetTextDatum(ZkServerStateName(status[i].state));
		else
			nulls[4] = true;
		/* the leader knows what each peer logged; lag in txns behind it */
		if (my_state == ZK_STATE_LEADING)
		{
			ZkZxid		acked = ZkShmem->peer_acked[i];
			ZkZxid		mine = (ZkZxid) pg_atomic_read_u64(&ZkShmem->last_logged_zxid);

			values[5] = Int64GetDatum(acked);
			values[6] = Int64GetDatum(ZK_ZXID_EPOCH(acked) == ZK_ZXID_EPOCH(mine) ?
									  (int64) ZK_ZXID_COUNTER(mine) - ZK_ZXID_COUNTER(acked) :
									  (int64) ZK_ZXID_COUNTER(mine));
		}
		else
			nulls[5] = nulls[6] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
