/*-------------------------------------------------------------------------
 *
 * applier.h
 *	  Applies committed txns in zxid order.
 *
 * IDENTIFICATION
 *	  src/applier.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_APPLIER_H
#define ZKPG_APPLIER_H

#include "datatree.h"
#include "shmem.h"
#include "zkpg.h"

/*
 * Wait until this server has applied target, at most until deadline (0:
 * no deadline); false if the deadline passed first.
 */
extern bool ZkWaitForApplied(ZkZxid target, TimestampTz deadline);

/* called by the applier and by the log replay check */
extern int64 ZkApplyTxn(ZkTree *tree, const ZkRecord *txn, ZkOpResult *results,
						int *nresults, List **events);

#endif							/* ZKPG_APPLIER_H */
