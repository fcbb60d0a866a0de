/*-------------------------------------------------------------------------
 *
 * replication.h
 *	  How a batch is replicated: ZAB, or the 2PC and 3PC comparison modes,
 *	  behind one interface (zkpg.replication picks it).
 *
 * The roles are the same in every mode: the peer worker picks a leader
 * (quorum_peer.c), the leader syncs its learners through the same phases
 * and proposes batches (leader.c), a learner logs what it is sent
 * (learner.c, peer_functions.c).  What differs is listed here, each
 * difference by name, so that the role code asks the mode instead of
 * testing which mode it is.
 *
 * IDENTIFICATION
 *	  src/replication.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_REPLICATION_H
#define ZKPG_REPLICATION_H

#include "lib/stringinfo.h"
#include "utils/timestamp.h"

#include "zkpg.h"

struct ZkReceived;

/* where a batch's round stands, after an answer or a check */
typedef enum ZkRoundOutcome
{
	ZK_ROUND_WAITING,			/* votes still to come */
	ZK_ROUND_ALL_YES,			/* every participant prepared: commit */
	ZK_ROUND_FAILED				/* a NO, a lost call or a timeout: abort */
} ZkRoundOutcome;

typedef struct ZkReplicationOps
{
	int			mode;			/* ZK_REPLICATION_* */
	const char *leading_name;	/* zkpg.status of the leader's role */
	const char *following_name; /* and of a voting learner's */

	/* --- choosing the leader (quorum_peer.c) --- */
	/* a configuration the mode cannot run makes the server idle; may be NULL */
	void		(*check_config) (void);
	/* FastLeaderElection; else the participant of lowest id coordinates */
	bool		elects_leader;
	/* a learner that installed a SNAP follows the same leader again */
	bool		rejoins_after_snap;

	/* --- the leader (leader.c) --- */
	/*
	 * ZAB: a batch is logged by the leader as it is proposed and is
	 * committed once a quorum of ACTIVE voters logged it; many batches are
	 * in flight.  Otherwise a batch is a round of the functions below,
	 * logged by the leader once every participant voted yes, one round at
	 * a time, and the leader serves only while every participant is ACTIVE.
	 */
	bool		commits_by_quorum;
	/* a learner's in-doubt batches are settled before its LEADERINFO */
	bool		resolves_in_doubt;
	void		(*start_role) (void);
	void		(*end_role) (void);
	void		(*begin_round) (int n, const ZkZxid *zxids, StringInfo *txns, ZkZxid prev,
								int64 epoch, const bool *participants);
	bool		(*round_in_flight) (void);
	/*
	 * Is this answer the round's?  A vote sets *outcome to where the round
	 * stands; the answer to a decision sets *decided (the participant
	 * logged the batch, answer.last_logged).
	 */
	bool		(*round_answer) (const struct ZkReceived *r, ZkRoundOutcome *outcome,
								 bool *decided);
	ZkRoundOutcome (*check_round) (TimestampTz now);
	ZkZxid		(*commit_round) (void);
	bool		(*ask_in_doubt) (int peer);
	void		(*resolve_in_doubt) (int peer, const char *gids);

	/* --- a learner (learner.c, peer_functions.c) --- */
	/* APPENDs come inside prepared transactions (COMMIT PREPARED logs too) */
	bool		prepared_appends;
	/* 3PC: a CanCommit promise precedes each prepare */
	bool		promises;
	/* a participant's own timeouts, once a tick; may be NULL */
	void		(*participant_tick) (int coordinator);
} ZkReplicationOps;

extern const ZkReplicationOps *ZkReplication(void);
extern const ZkReplicationOps *ZkReplicationOf(int replication);

#endif							/* ZKPG_REPLICATION_H */
