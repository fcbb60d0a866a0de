/*-------------------------------------------------------------------------
 *
 * quorum_peer.h
 *	  The roles the peer worker (quorum_peer.c) runs, each until it ends.
 *
 * IDENTIFICATION
 *	  src/quorum_peer.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_QUORUM_PEER_H
#define ZKPG_QUORUM_PEER_H

#include "election.h"
#include "zkpg.h"

/*
 * leader.c: lead, as state (ZK_STATE_LEADING, or ZK_STATE_STANDALONE for
 * an ensemble of one).
 */
extern void ZkLead(ZkServerState state);

/* learner.c: follow or observe; true when the role ended with a SNAP */
extern bool ZkLearn(ZkElection *election);

#endif							/* ZKPG_QUORUM_PEER_H */
