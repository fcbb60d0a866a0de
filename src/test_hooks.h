/*-------------------------------------------------------------------------
 *
 * test_hooks.h
 *	  Pause points: where a test stops a process to force an interleaving.
 *
 * IDENTIFICATION
 *	  src/test_hooks.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_TEST_HOOKS_H
#define ZKPG_TEST_HOOKS_H

#include "port/atomics.h"
#include "storage/spin.h"

#define ZK_MAX_PAUSE_POINTS 8
#define ZK_PAUSE_NAME_BYTES 40

typedef enum ZkPauseState
{
	ZK_PAUSE_FREE = 0,
	ZK_PAUSE_ARMED,				/* the next process to pass waits */
	ZK_PAUSE_REACHED			/* one waits there now */
} ZkPauseState;

typedef struct ZkPausePoints
{
	pg_atomic_uint32 armed;		/* how many are armed or reached: 0 is the fast path */
	slock_t		mutex;			/* protects points[] */
	struct
	{
		char		name[ZK_PAUSE_NAME_BYTES];
		ZkPauseState state;
		int			pid;
	}			points[ZK_MAX_PAUSE_POINTS];
	pg_atomic_uint64 zxid_counter_jump; /* 0: none; else the leader's next counter */
} ZkPausePoints;

extern void ZkPausePointsInit(ZkPausePoints *p);

/* called where a test may stop a process */
extern void ZkPausePoint(const char *name);

/* called by the leader before it assigns zxids */
extern void ZkTestTakeCounterJump(uint32 *counter);

#endif							/* ZKPG_TEST_HOOKS_H */
