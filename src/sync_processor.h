/*-------------------------------------------------------------------------
 *
 * sync_processor.h
 *	  The leader's pipeline from a batch of requests to logged txns, shared
 *	  by the standalone server and the ensemble's leader.
 *
 * IDENTIFICATION
 *	  src/sync_processor.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_SYNC_PROCESSOR_H
#define ZKPG_SYNC_PROCESSOR_H

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "zkpg.h"

/* sees a batch's txns before they are logged locally */
typedef void (*ZkProposeHook) (int n, const ZkZxid *zxids, StringInfo *txns, void *arg);

extern ZkZxid ZkSyncProcessBatch(List *requests, int64 epoch, uint32 *counter,
								 ZkProposeHook propose, void *arg, bool log_here);
extern void ZkSyncPurgeLog(ZkZxid bound);

#endif							/* ZKPG_SYNC_PROCESSOR_H */
