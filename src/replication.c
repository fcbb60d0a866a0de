/*-------------------------------------------------------------------------
 *
 * replication.c
 *	  The replication modes (replication.h): ZAB, and the comparison modes
 *	  2PC and 3PC, whose rounds twophase.c runs.
 *
 * IDENTIFICATION
 *	  src/replication.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "replication.h"
#include "twophase.h"
#include "zkpg.h"

static const ZkReplicationOps zab_ops = {
	.mode = ZK_REPLICATION_ZAB,
	.leading_name = "leading",
	.following_name = "following",
	.check_config = NULL,
	.elects_leader = true,
	.rejoins_after_snap = true,
	.commits_by_quorum = true,
	.resolves_in_doubt = false,
	.prepared_appends = false,
	.promises = false,
	.participant_tick = NULL,
};

#define TWO_PHASE_ROUNDS \
	.leading_name = "coordinating", \
	.following_name = "participating", \
	.check_config = ZkTwoPhaseCheckConfig, \
	.elects_leader = false, \
	.rejoins_after_snap = false, \
	.commits_by_quorum = false, \
	.resolves_in_doubt = true, \
	.start_role = ZkTwoPhaseStartRole, \
	.end_role = ZkTwoPhaseForget, \
	.begin_round = ZkTwoPhaseBegin, \
	.round_in_flight = ZkTwoPhaseBusy, \
	.round_answer = ZkTwoPhaseRoundAnswer, \
	.check_round = ZkTwoPhaseCheck, \
	.commit_round = ZkTwoPhaseCommit, \
	.ask_in_doubt = ZkTwoPhaseListInDoubt, \
	.resolve_in_doubt = ZkTwoPhaseResolve, \
	.prepared_appends = true, \
	.participant_tick = ZkTwoPhaseParticipantTick

static const ZkReplicationOps two_pc_ops = {
	.mode = ZK_REPLICATION_2PC,
	TWO_PHASE_ROUNDS,
	.promises = false,
};

static const ZkReplicationOps three_pc_ops = {
	.mode = ZK_REPLICATION_3PC,
	TWO_PHASE_ROUNDS,
	.promises = true,
};

/* the mode zkpg.replication names */
const ZkReplicationOps *
ZkReplication(void)
{
	return ZkReplicationOf(zk_replication);
}

const ZkReplicationOps *
ZkReplicationOf(int replication)
{
	switch (replication)
	{
		case ZK_REPLICATION_2PC:
			return &two_pc_ops;
		case ZK_REPLICATION_3PC:
			return &three_pc_ops;
		default:
			return &zab_ops;
	}
}
