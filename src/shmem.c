/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  Sizes, allocates and initialises zkpg's shared memory.
 *
 * One segment, sized once from PGC_POSTMASTER settings: the ZkShared
 * header, one slot per backend, and the request ring.  A crash restart
 * of the postmaster initialises it afresh; everything durable lives in
 * tables.
 *
 * IDENTIFICATION
 *	  src/shmem.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/backendid.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "replication.h"
#include "shmem.h"
#include "watches.h"
#include "zkpg.h"

ZkShared   *ZkShmem = NULL;

static Size zk_shmem_size(void);

static Size
zk_shmem_size(void)
{
	Size		size = offsetof(ZkShared, slots);

	size = add_size(size, mul_size(MaxBackends, sizeof(ZkBackendSlot)));
	size = MAXALIGN(size);
	size = add_size(size, (Size) zk_request_queue_kb * 1024);
	return size;
}

/* shmem_request_hook */
void
ZkShmemRequest(void)
{
	RequestAddinShmemSpace(zk_shmem_size());
	RequestAddinShmemSpace(ZkWatchShmemSize());
	RequestNamedLWLockTranche("zkpg", 4);
}

/* shmem_startup_hook */
void
ZkShmemStartup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	ZkShmem = ShmemInitStruct("zkpg", zk_shmem_size(), &found);
	if (!found)
	{
		LWLockPadded *locks = GetNamedLWLockTranche("zkpg");
		Size		slots_end;
		int			i;

		memset(ZkShmem, 0, offsetof(ZkShared, slots));
		ZkShmem->state_lock = &locks[0].lock;
		ZkShmem->queue_lock = &locks[1].lock;
		ZkShmem->slot_lock = &locks[2].lock;
		ZkShmem->watch_lock = &locks[3].lock;
		ZkShmem->state = ZK_STATE_STARTING;
		ZkShmem->not_serving_since = GetCurrentTimestamp();
		strlcpy(ZkShmem->not_serving_reason, "starting", ZK_REASON_BYTES);
		ZkShmem->leader_id = -1;
		pg_atomic_init_u64(&ZkShmem->last_logged_zxid, 0);
		pg_atomic_init_u64(&ZkShmem->committed_zxid, 0);
		pg_atomic_init_u64(&ZkShmem->applied_zxid, 0);
		pg_atomic_init_u64(&ZkShmem->applying_zxid, 0);
		pg_atomic_init_u64(&ZkShmem->accepted_epoch, 0);
		pg_atomic_init_u64(&ZkShmem->current_epoch, 0);
		pg_atomic_init_u64(&ZkShmem->recipe_wakeups, 0);
		ConditionVariableInit(&ZkShmem->sync_cv);
		ConditionVariableInit(&ZkShmem->applied_cv);

		/*
		 * Session ids are myid << 56 | seq << 16 | slot.  Seeding seq from
		 * the clock keeps ids unique across restarts, as ZooKeeper's
		 * SessionTrackerImpl.initializeNextSession does.
		 */
		pg_atomic_init_u64(&ZkShmem->next_session_seq,
						   (uint64) (GetCurrentTimestamp() / 1000));
		SpinLockInit(&ZkShmem->stats_mutex);
		ConditionVariableInit(&ZkShmem->space_cv);
		ZkPausePointsInit(&ZkShmem->pauses);

		ZkShmem->nslots = MaxBackends;
		for (i = 0; i < MaxBackends; i++)
		{
			ZkBackendSlot *slot = &ZkShmem->slots[i];

			slot->pid = 0;
			slot->latch = NULL;
			slot->session_id = 0;
			slot->session_state = ZK_SESSION_NONE;
			slot->wait_cxid = -1;
			slot->done = false;
			slot->events_lost = false;
			slot->listen_pending = false;
			slot->resend = false;
			slot->nbuffered = 0;
		}
		slots_end = MAXALIGN(offsetof(ZkShared, slots) +
							 MaxBackends * sizeof(ZkBackendSlot));
		ZkShmem->queue_data = (char *) ZkShmem + slots_end;
		ZkShmem->queue_size = (uint32) zk_request_queue_kb * 1024;
		ZkShmem->queue_head = ZkShmem->queue_tail = 0;
	}
	ZkWatchShmemInit();
	LWLockRelease(AddinShmemInitLock);
}

const char *
ZkServerStateName(ZkServerState state)
{
	switch (state)
	{
		case ZK_STATE_STARTING:
			return "starting";
		case ZK_STATE_STANDALONE:
			return "standalone";
		case ZK_STATE_LOOKING:
			return "looking";
		case ZK_STATE_FOLLOWING:
			/* 2PC and 3PC run the same roles under their own names */
			return ZkReplication()->following_name;
		case ZK_STATE_LEADING:
			return ZkReplication()->leading_name;
		case ZK_STATE_OBSERVING:
			return "observing";
	}
	return "unknown";
}

/*
 * Set the server's state; the caller holds state_lock exclusively.  The
 * time serving stopped bounds how long a request waits for it to resume
 * (request_queue.c), and a reason given while it did not serve is
 * forgotten once it serves again.
 */
void
ZkSetServingLocked(ZkServerState state, bool serving)
{
	if (ZkShmem->serving && !serving)
		ZkShmem->not_serving_since = GetCurrentTimestamp();
	if (serving)
		ZkShmem->not_serving_reason[0] = '\0';
	ZkShmem->state = state;
	ZkShmem->serving = serving;
}

/*
 * Say why this server does not serve (zkpg.status), NULL to forget it.
 * restart_clock: the server only now starts trying (e.g. the extension was
 * just created), so requests wait the full bound from now.
 */
void
ZkSetNotServingReason(const char *reason, bool restart_clock)
{
	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	if (!ZkShmem->serving)
	{
		strlcpy(ZkShmem->not_serving_reason, reason ? reason : "", ZK_REASON_BYTES);
		if (restart_clock)
			ZkShmem->not_serving_since = GetCurrentTimestamp();
	}
	LWLockRelease(ZkShmem->state_lock);
}

/* Why a server in this state does not serve, if no reason was given. */
const char *
ZkNotServingReason(ZkServerState state, const char *given)
{
	if (given != NULL && given[0] != '\0')
		return given;
	switch (state)
	{
		case ZK_STATE_STARTING:
			return "starting";
		case ZK_STATE_LOOKING:
			return "no quorum: looking for a leader";
		case ZK_STATE_FOLLOWING:
		case ZK_STATE_OBSERVING:
			return "synchronizing with the leader";
		case ZK_STATE_LEADING:
			return "waiting for a quorum of peers to synchronize";
		case ZK_STATE_STANDALONE:
			break;
	}
	return "starting";
}

int
ZkMySlotIndex(void)
{
	if (MyBackendId == InvalidBackendId || MyBackendId > ZkShmem->nslots)
		elog(ERROR, "zkpg: this process has no backend slot");
	return MyBackendId - 1;
}

ZkBackendSlot *
ZkMySlot(void)
{
	return &ZkShmem->slots[ZkMySlotIndex()];
}

/*
 * A peer told us its state (every message and answer carries it); the
 * caller holds state_lock exclusively.  A change of role or leader is
 * counted, so that a leader sees a learner that left and came back even
 * when it never saw it looking.
 */
void
ZkPeerStatusHeard(int peer, const ZkNotification *note)
{
	ZkPeerStatus *st = &ZkShmem->peer_status[peer];

	if (st->heard && (st->state != note->state || st->leader != note->vote.leader))
		st->role_changes++;
	st->heard = true;
	st->state = note->state;
	st->leader = note->vote.leader;
	st->last_contact = GetCurrentTimestamp();
}
