/*-------------------------------------------------------------------------
 *
 * election.c
 *	  ZooKeeper's FastLeaderElection as a pure state machine: votes in,
 *	  a decision out.  No I/O, no clock: the peer worker feeds it the
 *	  notifications it receives and the time that passed.
 *
 * 1. A LOOKING server bumps its logical clock and proposes itself: its
 *	  current epoch and last logged zxid.
 * 2. It adopts any better vote (higher epoch, then higher zxid, then
 *	  higher id: totalOrderPredicate), and votes of a higher logical clock
 *	  restart its round.  Every change is sent to all peers.
 * 3. When a quorum of voters of its round agrees with its proposal, it
 *	  waits ZK_FINALIZE_WAIT_MS for a better vote, then decides.
 * 4. Servers already FOLLOWING or LEADING answer with the leader they
 *	  follow; a quorum of those, with the leader itself among them saying
 *	  LEADING, lets a restarted server join without a new election.
 * 5. Observers never vote and are never counted; they only learn the
 *	  leader the voters have settled on.
 *
 * IDENTIFICATION
 *	  src/election.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "election.h"

static int	peer_index(const ZkQuorumConfig *config, int id);
static bool is_voter(const ZkQuorumConfig *config, int id);
static int	count_agreeing(const ZkElection *e, const bool *has, const ZkVote *votes,
						   const ZkVote *vote, bool full);
static bool leader_confirms(const ZkElection *e, int32 leader, int64 epoch, int64 election_epoch);
static void decide(ZkElection *e, const ZkVote *vote);

static int
peer_index(const ZkQuorumConfig *config, int id)
{
	int			i;

	for (i = 0; i < config->npeers; i++)
		if (config->peers[i].id == id)
			return i;
	return -1;
}

static bool
is_voter(const ZkQuorumConfig *config, int id)
{
	int			i = peer_index(config, id);

	return i >= 0 && !config->peers[i].observer;
}

/* ZooKeeper's totalOrderPredicate */
bool
ZkVoteIsBetter(const ZkQuorumConfig *config, const ZkVote *candidate, const ZkVote *current)
{
	if (!is_voter(config, candidate->leader))
		return false;
	if (current->leader < 0)
		return true;
	if (candidate->peer_epoch != current->peer_epoch)
		return candidate->peer_epoch > current->peer_epoch;
	if (candidate->zxid != current->zxid)
		return candidate->zxid > current->zxid;
	return candidate->leader > current->leader;
}

/*
 * Voters whose vote equals vote, as ZooKeeper's Vote.equals decides: in
 * the election (full), the leader and its history (zxid and epoch); out
 * of it, the leader and its epoch, so that a note of a leader of a past
 * epoch does not count for the one that leads now.
 */
static int
count_agreeing(const ZkElection *e, const bool *has, const ZkVote *votes, const ZkVote *vote,
			   bool full)
{
	int			n = 0;
	int			i;

	for (i = 0; i < e->config->npeers; i++)
		if (has[i] && !e->config->peers[i].observer && votes[i].leader == vote->leader &&
			votes[i].peer_epoch == vote->peer_epoch &&
			(!full || votes[i].zxid == vote->zxid))
			n++;
	return n;
}

/*
 * A leader other than us must itself say it leads, in that epoch.  Votes
 * for us count only from this election (ZooKeeper's checkLeader): notes of
 * servers that still follow our previous role must not make us lead again
 * before they noticed it ended.
 */
static bool
leader_confirms(const ZkElection *e, int32 leader, int64 epoch, int64 election_epoch)
{
	int			i = peer_index(e->config, leader);

	if (i < 0)
		return false;
	if (i == e->my_index)
		return election_epoch == e->logicalclock;
	return e->has_out[i] && e->out_state[i] == ZK_STATE_LEADING && e->out[i].leader == leader &&
		e->out[i].peer_epoch == epoch;
}

/*
 * The election ends with vote: its leader, and its history as the note
 * of every server that follows it says it (ZooKeeper adopts the whole
 * vote too), so that a later joiner sees one vote among them.
 */
static void
decide(ZkElection *e, const ZkVote *vote)
{
	int32		leader = vote->leader;

	e->decided = true;
	e->leader = leader;
	e->finalize_left_ms = -1;
	if (leader == e->config->peers[e->my_index].id)
		e->result = ZK_STATE_LEADING;
	else if (e->config->peers[e->my_index].observer)
		e->result = ZK_STATE_OBSERVING;
	else
		e->result = ZK_STATE_FOLLOWING;
	e->proposal = *vote;
}

void
ZkElectionStart(ZkElection *e, const ZkQuorumConfig *config, ZkZxid last_zxid,
				int64 current_epoch, int64 last_logicalclock)
{
	memset(e, 0, sizeof(ZkElection));
	e->config = config;
	e->my_index = config->my_index;
	e->logicalclock = last_logicalclock + 1;
	e->self.leader = config->peers[config->my_index].observer ? -1 :
		config->peers[config->my_index].id;
	e->self.zxid = last_zxid;
	e->self.peer_epoch = current_epoch;
	e->proposal = e->self;
	e->finalize_left_ms = -1;
	e->leader = -1;
	if (e->self.leader >= 0)
	{
		e->has_recv[e->my_index] = true;
		e->recv[e->my_index] = e->proposal;
	}
}

/*
 * Take a peer's notification.  Returns true when our proposal changed
 * and must be sent to every peer.
 */
bool
ZkElectionReceive(ZkElection *e, const ZkNotification *n)
{
	int			from = peer_index(e->config, n->from);
	bool		observer = e->config->peers[e->my_index].observer;
	bool		changed = false;

	if (e->decided || from < 0 || from == e->my_index)
		return false;

	if (n->state == ZK_STATE_LOOKING)
	{
		/* it no longer follows or leads: its old note must not count */
		e->has_out[from] = false;
		if (observer || e->config->peers[from].observer || n->vote.leader < 0)
			return false;
		if (n->election_epoch > e->logicalclock)
		{
			e->logicalclock = n->election_epoch;
			memset(e->has_recv, 0, sizeof(e->has_recv));
			e->proposal = ZkVoteIsBetter(e->config, &n->vote, &e->self) ? n->vote : e->self;
			changed = true;
		}
		else if (n->election_epoch < e->logicalclock)
			return false;
		else if (ZkVoteIsBetter(e->config, &n->vote, &e->proposal))
		{
			e->proposal = n->vote;
			changed = true;
		}
		e->has_recv[from] = true;
		e->recv[from] = n->vote;
		e->has_recv[e->my_index] = true;
		e->recv[e->my_index] = e->proposal;
		if (changed)
			e->finalize_left_ms = -1;

		if (ZkIsQuorum(e->config, count_agreeing(e, e->has_recv, e->recv, &e->proposal, true)))
		{
			if (e->finalize_left_ms < 0)
				e->finalize_left_ms = ZK_FINALIZE_WAIT_MS;
		}
		else
			e->finalize_left_ms = -1;
		return changed;
	}

	if (n->state != ZK_STATE_FOLLOWING && n->state != ZK_STATE_LEADING)
		return false;

	/* a server that already follows or leads: point 4 */
	e->has_out[from] = true;
	e->out[from] = n->vote;
	e->out_state[from] = n->state;
	e->out_epoch[from] = n->election_epoch;
	if (n->election_epoch == e->logicalclock && !e->config->peers[from].observer)
	{
		e->has_recv[from] = true;
		e->recv[from] = n->vote;
		if (ZkIsQuorum(e->config, count_agreeing(e, e->has_recv, e->recv, &n->vote, false)) &&
			leader_confirms(e, n->vote.leader, n->vote.peer_epoch, n->election_epoch))
		{
			decide(e, &n->vote);
			return false;
		}
	}
	{
		ZkVote		with_us = n->vote;

		/*
		 * Only a quorum of *other* servers already following or leading
		 * lets us join: ourselves counted in, one stale LEADING message
		 * from a leader of a past epoch (delayed in the network) would be
		 * enough to follow it.
		 */
		int			agreeing = count_agreeing(e, e->has_out, e->out, &with_us, false);

		if (ZkIsQuorum(e->config, agreeing) &&
			leader_confirms(e, n->vote.leader, n->vote.peer_epoch, n->election_epoch))
		{
			e->logicalclock = n->election_epoch;
			decide(e, &n->vote);
		}
	}
	return false;
}

/*
 * Time passed: a finalizing proposal becomes the decision once no better
 * vote came for ZK_FINALIZE_WAIT_MS.
 */
void
ZkElectionAdvance(ZkElection *e, int elapsed_ms)
{
	if (e->decided || e->finalize_left_ms < 0)
		return;
	e->finalize_left_ms -= elapsed_ms;
	if (e->finalize_left_ms <= 0)
		decide(e, &e->proposal);
}

/*
 * A finalizing proposal that every voter we can reach has voted for
 * cannot be beaten by a vote still to come from them: decide now instead
 * of waiting ZK_FINALIZE_WAIT_MS.  reachable[i]: peer i's connection works.
 */
void
ZkElectionDecideIfUnanimous(ZkElection *e, const bool *reachable)
{
	bool		has[ZK_MAX_PEERS];
	int			voters = 0;
	int			i;

	if (e->decided || e->finalize_left_ms < 0)
		return;
	for (i = 0; i < e->config->npeers; i++)
	{
		has[i] = false;
		/* a voter we heard from in this round is reachable too */
		if (e->config->peers[i].observer ||
			(i != e->my_index && !reachable[i] && !e->has_recv[i]))
			continue;
		voters++;
		if (!e->has_recv[i])
			return;
		has[i] = true;
	}
	/* and those voters are a quorum by themselves */
	if (ZkIsQuorum(e->config, voters) &&
		count_agreeing(e, has, e->recv, &e->proposal, true) == voters)
		decide(e, &e->proposal);
}

/* The notification this server sends (and answers with). */
void
ZkElectionNotification(const ZkElection *e, ZkNotification *n)
{
	n->from = e->config->peers[e->my_index].id;
	n->state = e->decided ? e->result : ZK_STATE_LOOKING;
	n->election_epoch = e->logicalclock;
	n->vote = e->proposal;
	if (e->decided)
		n->vote.leader = e->leader;
}
