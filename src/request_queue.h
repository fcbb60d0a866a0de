/*-------------------------------------------------------------------------
 *
 * request_queue.h
 *	  The bounded ring of encoded requests and the result slots that
 *	  backends wait on.
 *
 * IDENTIFICATION
 *	  src/request_queue.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_REQUEST_QUEUE_H
#define ZKPG_REQUEST_QUEUE_H

#include "nodes/pg_list.h"
#include "shmem.h"
#include "zkpg.h"

typedef struct ZkRequestResult
{
	int32		err;
	int32		failed_index;
	ZkZxid		zxid;
	int			nresults;
	ZkOpResult *results;
} ZkRequestResult;

/* A completed txn of a local session, handed from the applier. */
typedef struct ZkCompletion
{
	int			slot;			/* of session_id, or -1 */
	int64		session_id;
	int32		cxid;
	int32		err;
	int32		failed_index;
	ZkZxid		zxid;
	int			nresults;
	ZkOpResult *results;
	int64		closed_session; /* a closeSession: the session it closed,
								 * expired unless its own backend asked */
} ZkCompletion;

/* called by client backends */
extern void ZkSubmitAndWait(ZkRecord *req, ZkRequestResult *result);
extern bool ZkEnqueueRequest(ZkRecord *req, int timeout_ms);
extern void ZkWaitUntilServing(TimestampTz deadline);
extern void ZkWaitUntilReadable(void);
extern int	ZkElectionBoundMs(void);
extern ZkZxid ZkLeaderCommittedZxid(TimestampTz deadline);

/* called by the leader's peer_message backends */
extern bool ZkForwardRequests(int n, const char **items, const int32 *lens, int timeout_ms,
							  uint64 generation);

/* called by the quorum peer */
extern void ZkFailWaitingRequests(void);
extern void ZkDiscardRequests(void);
extern uint64 ZkQueueGeneration(void);
extern List *ZkTakeRequests(int max_requests, Size max_bytes);

/* called by the applier */
extern int	ZkSlotForSession(int64 session_id);
extern int	ZkSessionHolderPid(int64 session_id);
extern void ZkCompleteRequests(ZkCompletion *done, int n);

#endif							/* ZKPG_REQUEST_QUEUE_H */
