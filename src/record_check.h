/*-------------------------------------------------------------------------
 *
 * record_check.h
 *	  The limits every request and txn obeys, checked where a request
 *	  enters, where the leader turns it into a txn, and by the decoders.
 *
 * IDENTIFICATION
 *	  src/record_check.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_RECORD_CHECK_H
#define ZKPG_RECORD_CHECK_H

#include "zkpg.h"

/*
 * Both return ZK_OK, or the error a client gets (ZK_ERR_BADARGUMENTS,
 * ZK_ERR_INVALIDACL) with the reason in *reason.
 */
extern int	ZkCheckRequest(const ZkRecord *req, const char **reason);
extern int	ZkCheckTxn(const ZkRecord *txn, const char **reason);

#endif							/* ZKPG_RECORD_CHECK_H */
