/*-------------------------------------------------------------------------
 *
 * twophase.h
 *	  The 2PC and 3PC comparison modes: batches made durable everywhere by
 *	  prepared transactions (coordinator and participant sides).
 *
 * IDENTIFICATION
 *	  src/twophase.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_TWOPHASE_H
#define ZKPG_TWOPHASE_H

#include "peer_messages.h"
#include "replication.h"

/* the value of an APPEND's tag (ZkPeerSend) in the two-phase rounds */
#define ZK_TP_PREPARE	2		/* BEGIN; APPEND; PREPARE TRANSACTION */
#define ZK_TP_DECIDED	3		/* COMMIT PREPARED; APPEND (commit point) */

/* the value of an SQL message's tag */
#define ZK_TP_LIST_IN_DOUBT 1
#define ZK_TP_RESOLVE		2

#define ZK_GID_BYTES 40

/* coordinator (leader.c, through replication.c) */
extern void ZkTwoPhaseCheckConfig(void);
extern bool ZkTwoPhaseRoundAnswer(const ZkReceived *r, ZkRoundOutcome *outcome, bool *decided);
extern void ZkTwoPhaseStartRole(void);
extern bool ZkTwoPhaseBusy(void);
extern void ZkTwoPhaseBegin(int n, const ZkZxid *zxids, StringInfo *txns, ZkZxid prev,
							int64 epoch, const bool *participants);
extern ZkRoundOutcome ZkTwoPhaseCheck(TimestampTz now);
extern ZkZxid ZkTwoPhaseCommit(void);
extern void ZkTwoPhaseForget(void);
extern bool ZkTwoPhaseListInDoubt(int peer);
extern void ZkTwoPhaseResolve(int peer, const char *gids);

/* participant */
extern void ZkTwoPhaseParticipantTick(int coordinator);

/* both */
extern void ZkTwoPhaseGid(char *gid, int coordinator, ZkZxid last);
extern bool ZkTwoPhaseParseGid(const char *gid, int *coordinator, ZkZxid *last);
extern long ZkTwoPhaseTimeoutMs(void);

#endif							/* ZKPG_TWOPHASE_H */
