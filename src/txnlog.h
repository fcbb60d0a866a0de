/*-------------------------------------------------------------------------
 *
 * txnlog.h
 *	  The durable txn log and the peer's durable state (epochs, applied
 *	  zxid).
 *
 * IDENTIFICATION
 *	  src/txnlog.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_TXNLOG_H
#define ZKPG_TXNLOG_H

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "zkpg.h"

/* one logged txn, as read back */
typedef struct ZkLoggedTxn
{
	ZkZxid		zxid;
	char	   *data;
	int			len;
} ZkLoggedTxn;

/* the key of the log lock (txnlog.c): "zkpg" */
#define ZK_LOG_LOCK_KEY 2053861479

#define ZK_STATE_ACCEPTED_EPOCH "accepted_epoch"
#define ZK_STATE_CURRENT_EPOCH	"current_epoch"
#define ZK_STATE_ACCEPTED_LEADER "accepted_leader"	/* who proposed it */
#define ZK_STATE_APPLIED_ZXID	"applied_zxid"
#define ZK_STATE_LOG_BASE		"log_base"	/* purged or snapshot up to here */

/* called inside a transaction of a worker */
extern ZkZxid ZkLogLastZxid(void);
extern void ZkLogAppend(int n, const ZkZxid *zxids, StringInfo *txns);
extern List *ZkLogRead(ZkZxid after, ZkZxid upto, int limit);
extern int64 ZkLogGetState(const char *key);
extern void ZkLogSetState(const char *key, int64 value);
extern int64 ZkLogLockEpochs(void);
extern bool ZkLogTryLock(void);
extern ZkZxid ZkLogLockApplied(void);
extern void ZkLogTruncateAfter(ZkZxid zxid);
extern ZkZxid ZkLogFloor(ZkZxid zxid);
extern int64 ZkLogPurge(ZkZxid applied);

#endif							/* ZKPG_TXNLOG_H */
