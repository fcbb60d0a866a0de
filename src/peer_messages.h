/*-------------------------------------------------------------------------
 *
 * peer_messages.h
 *	  Messages of this server to its peers, and what comes back: answers,
 *	  failed calls and the notifications peers left in our inbox.
 *
 * IDENTIFICATION
 *	  src/peer_messages.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_PEER_MESSAGES_H
#define ZKPG_PEER_MESSAGES_H

#include "nodes/pg_list.h"
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

/* this server's notification: its state and vote, sent with every message */
extern ZkNotification ZkMyNote;

extern void ZkPeerMessagesInit(void);
extern void ZkPeerPublish(ZkServerState state, bool serving, int leader, int64 epoch);
extern void ZkPeerPublishRoleEnded(int64 epoch);
extern bool ZkPeerSend(int peer, ZkPeerMsgType type, int64 value, ZkPeerMessage *m);
extern bool ZkPeerSendWrapped(int peer, ZkPeerMsgType type, int64 value, ZkPeerMessage *m,
							  const char *sql_before, const char *sql_after);
extern bool ZkPeerSendSql(int peer, int64 value, const char *sql);
extern List *ZkPeerWait(long timeout_ms);
extern void ZkPeerResetConnections(void);

#endif							/* ZKPG_PEER_MESSAGES_H */
