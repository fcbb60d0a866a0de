/*-------------------------------------------------------------------------
 *
 * request_queue.c
 *	  Hands requests from backends to the quorum peer worker, and results
 *	  from the applier back to the backends (ZooKeeper's
 *	  submittedRequests queue and the waiting client connection).
 *
 * 1. A backend encodes its request, arms its slot with the request's
 *	  cxid, appends the bytes to the ring and sets the peer worker's latch.
 *	  A full ring makes it sleep on space_cv: requests are never dropped.
 * 2. The peer worker takes whole batches off the ring.
 * 3. When the applier has committed a txn whose session lives in a slot of
 *	  this server and whose cxid is the one armed, it copies the result
 *	  into the slot and sets the backend's latch.
 * 4. A backend that stops waiting (timeout, cancel) leaves its slot armed
 *	  with a cxid it will never use again: the late result is ignored, and
 *	  the write may still have been applied, which the error says.
 *
 * Ring entries are a uint32 length followed by the bytes, padded to 4.
 *
 * IDENTIFICATION
 *	  src/request_queue.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "utils/timestamp.h"

#include "record_check.h"
#include "request_queue.h"
#include "shmem.h"
#include "txn_codec.h"
#include "zkpg.h"
#include "zkpg_errcodes.h"

#define ENTRY_HEADER	sizeof(uint32)
#define ENTRY_SIZE(len) (ENTRY_HEADER + TYPEALIGN(4, (len)))

static int32 next_cxid = 0;

static void ring_copy_in(uint64 pos, const char *src, Size len);
static void ring_copy_out(uint64 pos, char *dst, Size len);
static bool ring_push(const char *data, uint32 len, TimestampTz deadline,
					  uint64 generation, bool *stale);
static void wake_peer(void);
static void record_latency(TimestampTz start);
static void check_request(const ZkRecord *req);

static void
ring_copy_in(uint64 pos, const char *src, Size len)
{
	Size		size = ZkShmem->queue_size;
	Size		off = pos % size;
	Size		first = Min(len, size - off);

	memcpy(ZkShmem->queue_data + off, src, first);
	if (first < len)
		memcpy(ZkShmem->queue_data, src + first, len - first);
}

static void
ring_copy_out(uint64 pos, char *dst, Size len)
{
	Size		size = ZkShmem->queue_size;
	Size		off = pos % size;
	Size		first = Min(len, size - off);

	memcpy(dst, ZkShmem->queue_data + off, first);
	if (first < len)
		memcpy(dst + first, ZkShmem->queue_data, len - first);
}

/*
 * Append one entry, sleeping while the ring is full.  False on deadline,
 * or (with *stale set) once the role of the server changed since the
 * caller took generation: a request must never be decided under another
 * role than the one it was submitted to, after its client may have been
 * told that the outcome is unknown (ZkFailWaitingRequests).
 */
static bool
ring_push(const char *data, uint32 len, TimestampTz deadline, uint64 generation,
		  bool *stale)
{
	Size		need = ENTRY_SIZE(len);
	bool		pushed = false;

	*stale = false;
	for (;;)
	{
		long		remaining;

		LWLockAcquire(ZkShmem->queue_lock, LW_EXCLUSIVE);
		if (ZkShmem->queue_generation != generation)
		{
			LWLockRelease(ZkShmem->queue_lock);
			*stale = true;
			break;
		}
		if (ZkShmem->queue_size - (ZkShmem->queue_tail - ZkShmem->queue_head) >= need)
		{
			ring_copy_in(ZkShmem->queue_tail, (const char *) &len, ENTRY_HEADER);
			ring_copy_in(ZkShmem->queue_tail + ENTRY_HEADER, data, len);
			ZkShmem->queue_tail += need;
			pushed = true;
		}
		LWLockRelease(ZkShmem->queue_lock);
		if (pushed)
			break;

		remaining = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (remaining <= 0)
			break;
		wake_peer();
		(void) ConditionVariableTimedSleep(&ZkShmem->space_cv, Min(remaining, 1000),
										   PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	return pushed;
}

static void
wake_peer(void)
{
	Latch	   *latch = ZkShmem->peer_latch;

	if (latch)
		SetLatch(latch);
}

static void
record_latency(TimestampTz start)
{
	int64		us = GetCurrentTimestamp() - start;

	SpinLockAcquire(&ZkShmem->stats_mutex);
	if (ZkShmem->lat_count == 0 || us < ZkShmem->lat_min_us)
		ZkShmem->lat_min_us = us;
	if (us > ZkShmem->lat_max_us)
		ZkShmem->lat_max_us = us;
	ZkShmem->lat_count++;
	ZkShmem->lat_sum_us += us;
	SpinLockRelease(&ZkShmem->stats_mutex);
}

/*
 * Wait until this server serves requests, or fail with ZK004.  An
 * election and a sync take a few ticks, so a request waits for them, but
 * no longer than that bound counted from when the server stopped serving
 * (or started trying): a server that has not served for longer has no
 * quorum, and then refuses writes and session opens at once, as
 * ZooKeeper's read-only mode does, while reads go on (zkpg.read_only).
 */
void
ZkWaitUntilServing(TimestampTz deadline)
{
	for (;;)
	{
		bool		serving;
		ZkServerState state;
		TimestampTz since;
		char		reason[ZK_REASON_BYTES];
		TimestampTz now;

		LWLockAcquire(ZkShmem->state_lock, LW_SHARED);
		serving = ZkShmem->serving;
		state = ZkShmem->state;
		since = ZkShmem->not_serving_since;
		strlcpy(reason, ZkShmem->not_serving_reason, sizeof(reason));
		LWLockRelease(ZkShmem->state_lock);
		if (serving)
			return;
		now = GetCurrentTimestamp();
		if (now >= deadline ||
			now >= TimestampTzPlusMilliseconds(since, ZkElectionBoundMs()))
			ereport(ERROR,
					(errcode(ERRCODE_ZK_CONNECTIONLOSS),
					 errmsg("zkpg server is not serving requests"),
					 errdetail("The server state is \"%s\": %s.", ZkServerStateName(state),
							   ZkNotServingReason(state, reason)),
					 errhint("zkpg.status and the server log say more; reads are served from this server's state%s.",
							 zk_read_only ? "" : " only with zkpg.read_only = on")));
		wake_peer();
		/* a new leader serves within a few ms of its sync: look often */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* How long a server may take to elect a leader and sync: init_limit ticks. */
int
ZkElectionBoundMs(void)
{
	return Max(zk_init_limit * zk_tick_ms, 1000);
}

/*
 * A read is served from this server's applied state.  Without a quorum
 * too in read-only mode (zkpg.read_only, the default); otherwise it waits
 * for a leader as a write does.
 */
void
ZkWaitUntilReadable(void)
{
	if (zk_read_only)
		return;
	ZkWaitUntilServing(TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
												   zk_request_timeout_ms));
}

/*
 * What the leader has committed by now: on the leader or a standalone
 * server, its own committed zxid; on a learner, the answer to a SYNC the
 * peer worker sends the leader after this call began (learner.c).
 */
ZkZxid
ZkLeaderCommittedZxid(TimestampTz deadline)
{
	ZkServerState state;
	uint64		ticket;
	ZkZxid		zxid = 0;

	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	state = ZkShmem->state;
	ticket = ++ZkShmem->sync_requested;
	LWLockRelease(ZkShmem->state_lock);
	if (state != ZK_STATE_FOLLOWING && state != ZK_STATE_OBSERVING)
		return (ZkZxid) pg_atomic_read_u64(&ZkShmem->committed_zxid);

	wake_peer();
	ConditionVariablePrepareToSleep(&ZkShmem->sync_cv);
	for (;;)
	{
		bool		done;
		long		remaining;

		LWLockAcquire(ZkShmem->state_lock, LW_SHARED);
		done = ZkShmem->sync_answered >= ticket;
		zxid = ZkShmem->sync_zxid;
		LWLockRelease(ZkShmem->state_lock);
		if (done)
			break;
		remaining = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (remaining <= 0)
		{
			ConditionVariableCancelSleep();
			ereport(ERROR,
					(errcode(ERRCODE_ZK_OPERATIONTIMEOUT),
					 errmsg("zk_sync did not complete within %d ms", zk_request_timeout_ms),
					 errdetail("The leader did not answer.")));
		}
		(void) ConditionVariableTimedSleep(&ZkShmem->sync_cv, Min(remaining, 100),
										   PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	return zxid;
}

/*
 * Where a request enters: the limits every server's decoder enforces
 * (record_check.c), so that nothing queued here is refused later, by the
 * leader as part of a forwarded batch or by a learner as part of a txn.
 */
static void
check_request(const ZkRecord *req)
{
	const char *reason;
	int			err = ZkCheckRequest(req, &reason);

	if (err != ZK_OK)
		ereport(ERROR,
				(errcode(ZkErrorToSqlstate(err)),
				 errmsg("zkpg refused the request: %s", reason)));
}

/*
 * Submit a request of this backend's session and wait for its result.
 * Throws ZK004 when the server does not serve, ZK007 on timeout.
 */
void
ZkSubmitAndWait(ZkRecord *req, ZkRequestResult *result)
{
	ZkBackendSlot *slot = ZkMySlot();
	StringInfoData buf;
	TimestampTz start = GetCurrentTimestamp();
	TimestampTz deadline = TimestampTzPlusMilliseconds(start, zk_request_timeout_ms);
	int32		cxid;
	uint64		generation;
	bool		stale;

	req->cxid = cxid = ++next_cxid;
	check_request(req);
	initStringInfo(&buf);
	ZkEncodeRequest(&buf, req);
	if ((Size) buf.len > ZkShmem->queue_size / 2 || buf.len > ZK_MAX_RECORD_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("request of %d bytes is too large", buf.len),
				 errdetail("A request may use at most half of zkpg.request_queue_kb (%d kB), and at most %d MB.",
						   zk_request_queue_kb, ZK_MAX_RECORD_BYTES / (1024 * 1024))));

	ZkWaitUntilServing(deadline);

	/*
	 * The role we submit to.  Pushed under it, the request is decided
	 * before anything this backend submits after being told its outcome;
	 * if the role changes while we wait for room, it is not pushed.
	 */
	generation = ZkQueueGeneration();

	LWLockAcquire(ZkShmem->slot_lock, LW_EXCLUSIVE);
	slot->pid = MyProcPid;
	slot->latch = MyLatch;
	slot->wait_cxid = cxid;
	slot->done = false;
	LWLockRelease(ZkShmem->slot_lock);

	if (!ring_push(buf.data, buf.len, deadline, generation, &stale))
	{
		LWLockAcquire(ZkShmem->slot_lock, LW_EXCLUSIVE);
		slot->wait_cxid = -1;
		slot->done = false;
		LWLockRelease(ZkShmem->slot_lock);
		if (stale)
			ereport(ERROR,
					(errcode(ERRCODE_ZK_CONNECTIONLOSS),
					 errmsg("zkpg server lost its leader before the write was queued"),
					 errdetail("The write was not submitted."),
					 errhint("Retry the write.")));
		ereport(ERROR,
				(errcode(ERRCODE_ZK_OPERATIONTIMEOUT),
				 errmsg("timed out waiting for room in the zkpg request queue")));
	}
	pfree(buf.data);
	wake_peer();

	/* an error (timeout, cancel) disarms the slot so the late result is dropped */
	PG_TRY();
	{
		for (;;)
		{
			bool		done;
			long		remaining;

			ResetLatch(MyLatch);
			LWLockAcquire(ZkShmem->slot_lock, LW_SHARED);
			done = slot->done && slot->wait_cxid == cxid;
			if (done)
			{
				result->err = slot->err;
				result->failed_index = slot->failed_index;
				result->zxid = slot->zxid;
				result->nresults = slot->nresults;
				result->results = palloc(sizeof(ZkOpResult) * Max(slot->nresults, 1));
				memcpy(result->results, slot->results, sizeof(ZkOpResult) * slot->nresults);
			}
			LWLockRelease(ZkShmem->slot_lock);
			if (done)
				break;

			remaining = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
			if (remaining <= 0)
				ereport(ERROR,
						(errcode(ERRCODE_ZK_OPERATIONTIMEOUT),
						 errmsg("zkpg write did not complete within %d ms", zk_request_timeout_ms),
						 errdetail("The write may still be applied.")));
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 remaining, PG_WAIT_EXTENSION);
			CHECK_FOR_INTERRUPTS();
		}
	}
	PG_FINALLY();
	{
		LWLockAcquire(ZkShmem->slot_lock, LW_EXCLUSIVE);
		slot->wait_cxid = -1;
		slot->done = false;
		LWLockRelease(ZkShmem->slot_lock);
	}
	PG_END_TRY();
	if (result->err == ZK_ERR_CONNECTIONLOSS)
		ereport(ERROR,
				(errcode(ERRCODE_ZK_CONNECTIONLOSS),
				 errmsg("zkpg server lost its leader while the write was in flight"),
				 errdetail("The write may or may not have been applied."),
				 errhint("Call zk_sync('/') and read the node back.")));
	record_latency(start);
}

/*
 * Queue a request without waiting for its result (the closeSession of an
 * exiting backend).  False if the ring stayed full for timeout_ms.
 */
bool
ZkEnqueueRequest(ZkRecord *req, int timeout_ms)
{
	StringInfoData buf;
	bool		ok;
	bool		stale;
	const char *reason;

	req->cxid = ++next_cxid;
	if (ZkCheckRequest(req, &reason) != ZK_OK)
	{
		elog(WARNING, "zkpg did not queue an invalid request: %s", reason);
		return false;
	}
	initStringInfo(&buf);
	ZkEncodeRequest(&buf, req);
	/* a close queued under any role is as good: the next leader decides it */
	ok = ring_push(buf.data, buf.len,
				   TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms),
				   ZkQueueGeneration(), &stale);
	pfree(buf.data);
	if (ok)
		wake_peer();
	return ok;
}

/*
 * This server lost its leader (or stopped leading): the requests its
 * backends wait for may or may not be committed by the next leader.  Tell
 * them now, as ZooKeeper's clients learn of a lost connection, instead of
 * letting them wait for zkpg.request_timeout.
 */
void
ZkFailWaitingRequests(void)
{
	int			i;

	LWLockAcquire(ZkShmem->slot_lock, LW_EXCLUSIVE);
	for (i = 0; i < ZkShmem->nslots; i++)
	{
		ZkBackendSlot *slot = &ZkShmem->slots[i];

		if (slot->wait_cxid < 0 || slot->done)
			continue;
		slot->done = true;
		slot->err = ZK_ERR_CONNECTIONLOSS;
		slot->failed_index = -1;
		slot->nresults = 0;
		if (slot->latch)
			SetLatch(slot->latch);
	}
	LWLockRelease(ZkShmem->slot_lock);
}

/*
 * Drop every queued request: at a change of role, requests decided by no
 * one yet must not be decided later, in another epoch, after their
 * backends were told the outcome is unknown (ZkFailWaitingRequests).
 */
void
ZkDiscardRequests(void)
{
	LWLockAcquire(ZkShmem->queue_lock, LW_EXCLUSIVE);
	ZkShmem->queue_head = ZkShmem->queue_tail;
	ZkShmem->queue_generation++;
	LWLockRelease(ZkShmem->queue_lock);
	ConditionVariableBroadcast(&ZkShmem->space_cv);
}

/*
 * The role generation: what a submitter reads before it checks that the
 * server serves (or leads the epoch a learner forwards to), and what the
 * push checks again under the queue lock.
 */
uint64
ZkQueueGeneration(void)
{
	uint64		g;

	LWLockAcquire(ZkShmem->queue_lock, LW_SHARED);
	g = ZkShmem->queue_generation;
	LWLockRelease(ZkShmem->queue_lock);
	return g;
}

/*
 * Queue requests forwarded by a learner, in their order, without waiting
 * for results (those reach the learner's backends through its applier).
 * False if the ring stayed full for timeout_ms.
 */
bool
ZkForwardRequests(int n, const char **items, const int32 *lens, int timeout_ms,
				  uint64 generation)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	int			i;
	bool		stale;

	for (i = 0; i < n; i++)
		if (lens[i] > (int32) (ZkShmem->queue_size / 2) ||
			!ring_push(items[i], (uint32) lens[i], deadline, generation, &stale))
			return false;
	if (n > 0)
		wake_peer();
	return true;
}

/*
 * Take up to max_requests whole entries (at least one if any, at most
 * about max_bytes) off the ring.  Returns a List of StringInfo.
 */
List *
ZkTakeRequests(int max_requests, Size max_bytes)
{
	List	   *out = NIL;
	Size		taken = 0;

	LWLockAcquire(ZkShmem->queue_lock, LW_EXCLUSIVE);
	while (ZkShmem->queue_head != ZkShmem->queue_tail &&
		   list_length(out) < max_requests && taken < max_bytes)
	{
		uint32		len;
		StringInfo	s;

		ring_copy_out(ZkShmem->queue_head, (char *) &len, ENTRY_HEADER);
		if (len > ZkShmem->queue_size)
			elog(PANIC, "zkpg request ring is corrupt");
		s = makeStringInfo();
		enlargeStringInfo(s, len);
		ring_copy_out(ZkShmem->queue_head + ENTRY_HEADER, s->data, len);
		s->len = len;
		s->data[len] = '\0';
		ZkShmem->queue_head += ENTRY_SIZE(len);
		taken += len;
		out = lappend(out, s);
	}

	/*
	 * Drained: start over at the ring's first bytes.  Every backend then
	 * writes to the same few pages, already in its page table, instead of
	 * taking a page fault on each new page of a ring of many megabytes.
	 */
	if (ZkShmem->queue_head == ZkShmem->queue_tail)
		ZkShmem->queue_head = ZkShmem->queue_tail = 0;
	LWLockRelease(ZkShmem->queue_lock);
	if (out != NIL)
		ConditionVariableBroadcast(&ZkShmem->space_cv);
	return out;
}

/*
 * The slot whose session this is, or -1 if no backend of this server
 * holds it.  Called without slot_lock; ZkCompleteRequests re-checks.
 */
int
ZkSlotForSession(int64 session_id)
{
	int			idx = ZK_SESSION_SLOT(session_id);
	int			found = -1;

	if (idx >= ZkShmem->nslots)
		return -1;
	LWLockAcquire(ZkShmem->slot_lock, LW_SHARED);
	if (ZkShmem->slots[idx].session_id == session_id && session_id != 0)
		found = idx;
	LWLockRelease(ZkShmem->slot_lock);
	return found;
}

/*
 * Publish results of committed txns to their waiting backends.
 */
void
ZkCompleteRequests(ZkCompletion *done, int n)
{
	Latch	  **wake = palloc(sizeof(Latch *) * Max(2 * n, 1));
	int			nwake = 0;
	int			i;

	LWLockAcquire(ZkShmem->slot_lock, LW_EXCLUSIVE);
	for (i = 0; i < n; i++)
	{
		ZkCompletion *c = &done[i];
		ZkBackendSlot *slot;

		if (c->closed_session != 0)
		{
			int			idx = ZK_SESSION_SLOT(c->closed_session);

			/* closed behind its backend's back: every later call gets ZK112 */
			if (idx < ZkShmem->nslots)
			{
				ZkBackendSlot *victim = &ZkShmem->slots[idx];

				if (victim->session_id == c->closed_session &&
					victim->session_state == ZK_SESSION_OPEN &&
					!(c->session_id == c->closed_session && victim->wait_cxid == c->cxid))
				{
					victim->session_state = ZK_SESSION_EXPIRED;
					if (victim->latch)
						wake[nwake++] = victim->latch;
				}
			}
		}
		if (c->slot < 0)
			continue;
		slot = &ZkShmem->slots[c->slot];
		if (slot->session_id != c->session_id || slot->wait_cxid != c->cxid || slot->done)
			continue;
		slot->err = c->err;
		slot->failed_index = c->failed_index;
		slot->zxid = c->zxid;
		slot->nresults = Min(c->nresults, ZK_MAX_MULTI_OPS);
		if (slot->nresults > 0)
			memcpy(slot->results, c->results, sizeof(ZkOpResult) * slot->nresults);
		slot->done = true;
		if (slot->latch)
			wake[nwake++] = slot->latch;
	}
	LWLockRelease(ZkShmem->slot_lock);
	for (i = 0; i < nwake; i++)
		SetLatch(wake[i]);
	pfree(wake);
}

/*
 * The pid of the backend of this server holding the session, or 0.
 */
int
ZkSessionHolderPid(int64 session_id)
{
	int			idx = ZK_SESSION_SLOT(session_id);
	int			pid = 0;

	if (idx >= ZkShmem->nslots || session_id == 0)
		return 0;
	LWLockAcquire(ZkShmem->slot_lock, LW_SHARED);
	if (ZkShmem->slots[idx].session_id == session_id &&
		ZkShmem->slots[idx].session_state != ZK_SESSION_NONE)
		pid = ZkShmem->slots[idx].pid;
	LWLockRelease(ZkShmem->slot_lock);
	return pid;
}
