/*-------------------------------------------------------------------------
 *
 * prep_processor.h
 *	  The leader's request processor: request -> txn.
 *
 * IDENTIFICATION
 *	  src/prep_processor.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_PREP_PROCESSOR_H
#define ZKPG_PREP_PROCESSOR_H

#include "datatree.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "zkpg.h"

/* called by the leader (sync_processor.c), inside a transaction */
/*
 * A counter's data (zk_counter_add, zk_next_id): the decimal text of an
 * int64, at most ZK_COUNTER_TEXT_MAX bytes; no data reads as 0.  The rule
 * the request processor applies, and the recipes check first.
 */
#define ZK_COUNTER_TEXT_MAX	20	/* strlen("-9223372036854775808") */

extern bool ZkCounterParse(const char *data, int len, int64 *value);

extern void ZkPrepInit(ZkTree *tree);
extern void ZkPrepForget(void);
extern void ZkPrepPrune(ZkZxid applied);
extern void ZkPrepRequest(const ZkRecord *req, ZkZxid zxid, TimestampTz now,
						  ZkRecord *txn, StringInfo encoded);

#endif							/* ZKPG_PREP_PROCESSOR_H */
