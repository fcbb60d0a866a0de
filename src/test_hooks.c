/*-------------------------------------------------------------------------
 *
 * test_hooks.c
 *	  Pause points, for tests that must force an interleaving instead of
 *	  sleeping and hoping: zkpg.test_pause_point(name, 'arm') makes the
 *	  next process that passes ZkPausePoint(name) wait there, 'reached'
 *	  tells whether one does, 'release' lets it go on.
 *
 * zkpg.test_jump_zxid_counter(n) moves the leader's zxid counter forward,
 * to test the end of an epoch.
 *
 * A process waits on its latch, so cancel, SIGTERM and postmaster death
 * still end the wait.  Nothing is armed unless a superuser arms it; an
 * unarmed point costs one atomic read.
 *
 * IDENTIFICATION
 *	  src/test_hooks.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/builtins.h"

#include "shmem.h"
#include "test_hooks.h"

PG_FUNCTION_INFO_V1(zkpg_test_pause_point);
PG_FUNCTION_INFO_V1(zkpg_test_jump_zxid_counter);

void
ZkPausePointsInit(ZkPausePoints *p)
{
	memset(p, 0, sizeof(ZkPausePoints));
	pg_atomic_init_u32(&p->armed, 0);
	pg_atomic_init_u64(&p->zxid_counter_jump, 0);
	SpinLockInit(&p->mutex);
}

/* index of name among the points, or -1 */
static int
find_point(ZkPausePoints *p, const char *name)
{
	int			i;

	for (i = 0; i < ZK_MAX_PAUSE_POINTS; i++)
		if (p->points[i].state != ZK_PAUSE_FREE && strcmp(p->points[i].name, name) == 0)
			return i;
	return -1;
}

void
ZkPausePoint(const char *name)
{
	ZkPausePoints *p = &ZkShmem->pauses;
	int			i;
	bool		waiting;

	if (pg_atomic_read_u32(&p->armed) == 0)
		return;
	SpinLockAcquire(&p->mutex);
	i = find_point(p, name);
	waiting = (i >= 0 && p->points[i].state == ZK_PAUSE_ARMED);
	if (waiting)
	{
		p->points[i].state = ZK_PAUSE_REACHED;
		p->points[i].pid = MyProcPid;
	}
	SpinLockRelease(&p->mutex);
	if (!waiting)
		return;
	elog(LOG, "zkpg paused at \"%s\"", name);
	for (;;)
	{
		bool		released;

		SpinLockAcquire(&p->mutex);
		released = !(p->points[i].state == ZK_PAUSE_REACHED &&
					 p->points[i].pid == MyProcPid &&
					 strcmp(p->points[i].name, name) == 0);
		SpinLockRelease(&p->mutex);
		if (released)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	elog(LOG, "zkpg goes on from \"%s\"", name);
}

/*
 * zkpg.test_pause_point(name, action): 'arm', 'release' (true if one was
 * armed or waiting) or 'reached' (true while a process waits there).
 */
Datum
zkpg_test_pause_point(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *action = text_to_cstring(PG_GETARG_TEXT_PP(1));
	ZkPausePoints *p;
	bool		result = false;
	int			i;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only superusers may use zkpg pause points")));
	if (ZkShmem == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("zkpg must be loaded via shared_preload_libraries")));
	if (strlen(name) == 0 || strlen(name) >= ZK_PAUSE_NAME_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid pause point name \"%s\"", name)));
	p = &ZkShmem->pauses;
	SpinLockAcquire(&p->mutex);
	i = find_point(p, name);
	if (strcmp(action, "arm") == 0)
	{
		if (i < 0)
		{
			for (i = 0; i < ZK_MAX_PAUSE_POINTS && p->points[i].state != ZK_PAUSE_FREE; i++)
				;
			if (i < ZK_MAX_PAUSE_POINTS)
			{
				strlcpy(p->points[i].name, name, ZK_PAUSE_NAME_BYTES);
				p->points[i].state = ZK_PAUSE_ARMED;
				p->points[i].pid = 0;
				pg_atomic_fetch_add_u32(&p->armed, 1);
				result = true;
			}
		}
	}
	else if (strcmp(action, "release") == 0)
	{
		if (i >= 0)
		{
			p->points[i].state = ZK_PAUSE_FREE;
			p->points[i].name[0] = '\0';
			pg_atomic_fetch_sub_u32(&p->armed, 1);
			result = true;
		}
	}
	else if (strcmp(action, "reached") == 0)
		result = (i >= 0 && p->points[i].state == ZK_PAUSE_REACHED);
	else
	{
		SpinLockRelease(&p->mutex);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid pause point action \"%s\"", action),
				 errhint("Actions are arm, reached and release.")));
	}
	SpinLockRelease(&p->mutex);
	PG_RETURN_BOOL(result);
}

/*
 * A test of the end of an epoch's zxids: the leader (or standalone server)
 * of this server takes counter as its last used zxid counter, once.
 */
void
ZkTestTakeCounterJump(uint32 *counter)
{
	uint64		jump;

	if (pg_atomic_read_u64(&ZkShmem->pauses.zxid_counter_jump) == 0)
		return;
	jump = pg_atomic_exchange_u64(&ZkShmem->pauses.zxid_counter_jump, 0);
	if (jump > *counter)
	{
		elog(LOG, "zkpg test: the zxid counter jumps from %u to %u", *counter, (uint32) jump);
		*counter = (uint32) jump;
	}
}

/* zkpg.test_jump_zxid_counter(counter): superusers only */
Datum
zkpg_test_jump_zxid_counter(PG_FUNCTION_ARGS)
{
	int64		counter = PG_GETARG_INT64(0);

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only superusers may move the zkpg zxid counter")));
	if (ZkShmem == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("zkpg must be loaded via shared_preload_libraries")));
	if (counter <= 0 || counter > (int64) PG_UINT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("zxid counter %lld is out of range", (long long) counter)));
	pg_atomic_write_u64(&ZkShmem->pauses.zxid_counter_jump, (uint64) counter);
	if (ZkShmem->peer_latch)
		SetLatch(ZkShmem->peer_latch);
	PG_RETURN_VOID();
}
