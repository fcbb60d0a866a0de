/*-------------------------------------------------------------------------
 *
 * peer_handlers.h
 *	  What a peer's messages do here, by the role this server plays to the
 *	  sender: its learner (learner_receiver.c) or its leader
 *	  (learner_handler.c).  peer_functions.c dispatches to them.
 *
 * Each runs in the transaction of zkpg.peer_message and fills the answer;
 * fields left 0 are filled with this server's published position.
 *
 * IDENTIFICATION
 *	  src/peer_handlers.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_PEER_HANDLERS_H
#define ZKPG_PEER_HANDLERS_H

#include "txn_codec.h"

/* learner_receiver.c: from the leader we follow */
extern void ZkLearnerReceiveBegin(void);
extern void ZkLearnerOnLeaderInfo(const ZkPeerMessage *m, ZkPeerAnswer *a);
extern void ZkLearnerOnAppend(const ZkPeerMessage *m, ZkPeerAnswer *a);
extern void ZkLearnerOnNewLeader(const ZkPeerMessage *m, ZkPeerAnswer *a);
extern void ZkLearnerOnSnap(const ZkPeerMessage *m, ZkPeerAnswer *a);
extern void ZkLearnerOnCanCommit(const ZkPeerMessage *m, ZkPeerAnswer *a);

/* learner_handler.c: from a learner of ours (from: its index, from_id: its id) */
extern void ZkLearnerHandlerRequests(const ZkPeerMessage *m, int from_id, ZkPeerAnswer *a);
extern void ZkLearnerHandlerPing(const ZkPeerMessage *m, int from, ZkPeerAnswer *a);
extern void ZkLearnerHandlerSync(const ZkPeerMessage *m, ZkPeerAnswer *a);

#endif							/* ZKPG_PEER_HANDLERS_H */
