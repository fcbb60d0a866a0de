/*-------------------------------------------------------------------------
 *
 * quorum_peer.h
 *	  What the peer worker's roles share: the ensemble's configuration,
 *	  messages to peers and their answers, the batch pipeline and the
 *	  session chores.
 *
 * IDENTIFICATION
 *	  src/quorum_peer.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_QUORUM_PEER_H
#define ZKPG_QUORUM_PEER_H

#include "election.h"
#include "nodes/pg_list.h"
#include "quorum_config.h"
#include "txn_codec.h"
#include "zkpg.h"

/* an answer to one of our messages, a failed call, or an inbox note */
typedef struct ZkReceived
{
	int			peer;			/* index in ZkQuorum.peers */
	ZkPeerMsgType type;			/* of the message answered */
	int64		value;			/* given to ZkPeerSend */
	bool		answered;		/* false: the call failed or was lost */
	bool		inbox;			/* a notification the peer sent us */
	ZkPeerAnswer answer;
	char	   *text;			/* ZK_MSG_SQL: the first column of the answer */
} ZkReceived;

/* the tag type of an SQL message (ZkPeerSendSql): not a peer message */
#define ZK_MSG_SQL ((ZkPeerMsgType) 100)

/* sees a batch's txns before they are logged locally */
typedef void (*ZkProposeHook) (int n, const ZkZxid *zxids, StringInfo *txns, void *arg);

extern ZkQuorumConfig ZkQuorum;

/* quorum_peer.c */
extern void ZkPeerPublishRoleEnded(int64 epoch);
extern void ZkPeerPublish(ZkServerState state, bool serving, int leader, int64 epoch);
extern bool ZkPeerSend(int peer, ZkPeerMsgType type, int64 value, ZkPeerMessage *m);
extern bool ZkPeerSendWrapped(int peer, ZkPeerMsgType type, int64 value, ZkPeerMessage *m,
							  const char *sql_before, const char *sql_after);
extern bool ZkPeerSendSql(int peer, int64 value, const char *sql);
extern List *ZkPeerWait(long timeout_ms);
extern void ZkPeerResetConnections(void);
extern void ZkPeerStop(const char *reason) pg_attribute_noreturn();
extern ZkZxid ZkPeerProcessBatch(List *requests, int64 epoch, uint32 *counter,
								 ZkProposeHook propose, void *arg, bool log_here);
extern List *ZkPeerHousekeeping(void);
extern List *ZkPeerStaleSessionCloses(void);
extern void ZkPeerPurgeLog(ZkZxid bound);
extern bool ZkSessionHolderAlive(int64 session_id);

/* leader.c, learner.c: run the role until it ends */
extern void ZkLead(ZkElection *election);
extern bool ZkLearn(ZkElection *election);

#endif							/* ZKPG_QUORUM_PEER_H */
