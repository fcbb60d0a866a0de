/*-------------------------------------------------------------------------
 *
 * election.h
 *	  FastLeaderElection as a pure state machine.
 *
 * IDENTIFICATION
 *	  src/election.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_ELECTION_H
#define ZKPG_ELECTION_H

#include "quorum_config.h"
#include "shmem.h"
#include "zkpg.h"

#define ZK_FINALIZE_WAIT_MS 200

typedef struct ZkElection
{
	const ZkQuorumConfig *config;
	int			my_index;
	int64		logicalclock;
	ZkVote		self;			/* this server as a candidate */
	ZkVote		proposal;
	/* votes of this round (recvset), by peer index */
	bool		has_recv[ZK_MAX_PEERS];
	ZkVote		recv[ZK_MAX_PEERS];
	/* votes of peers already following or leading (outofelection) */
	bool		has_out[ZK_MAX_PEERS];
	ZkVote		out[ZK_MAX_PEERS];
	ZkServerState out_state[ZK_MAX_PEERS];
	int64		out_epoch[ZK_MAX_PEERS];
	int			finalize_left_ms;	/* -1: not finalizing */
	bool		decided;
	int32		leader;
	ZkServerState result;
} ZkElection;

extern void ZkElectionStart(ZkElection *e, const ZkQuorumConfig *config,
							ZkZxid last_zxid, int64 current_epoch, int64 last_logicalclock);
extern bool ZkElectionReceive(ZkElection *e, const ZkNotification *n);
extern void ZkElectionAdvance(ZkElection *e, int elapsed_ms);
extern void ZkElectionDecideIfUnanimous(ZkElection *e, const bool *reachable);
extern void ZkElectionNotification(const ZkElection *e, ZkNotification *n);
extern bool ZkVoteIsBetter(const ZkQuorumConfig *config, const ZkVote *candidate,
						   const ZkVote *current);

#endif							/* ZKPG_ELECTION_H */
