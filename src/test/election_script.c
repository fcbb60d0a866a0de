/*-------------------------------------------------------------------------
 *
 * election_script.c
 *	  zkpg.election_script(): drives the FastLeaderElection state machine
 *	  (election.c) through a script and returns a transcript, so that
 *	  pg_regress can hold it to exact scenarios (etcd raft's testdata
 *	  style).  Pure: no peers, no clock.  Superusers only.
 *
 * A script is one step a line:
 *
 *	servers 1=a:1,2=b:2,3=c:3	the ensemble (zkpg.servers form)
 *	start ME ZXID EPOCH [CLOCK]	server ME starts looking with its last
 *								zxid, current epoch, last logical clock
 *	recv FROM STATE CLOCK LEADER ZXID EPOCH
 *								a notification: state looking, following
 *								or leading; the sender's logical clock and
 *								vote
 *	advance MS					time passes
 *
 * Each step answers with a line: the proposal, whether it is finalizing,
 * and the decision once there is one.
 *
 * IDENTIFICATION
 *	  src/test/election_script.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "election.h"
#include "quorum_config.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(zkpg_election_script);

static ZkServerState
parse_state(const char *s)
{
	if (strcmp(s, "looking") == 0)
		return ZK_STATE_LOOKING;
	if (strcmp(s, "following") == 0)
		return ZK_STATE_FOLLOWING;
	if (strcmp(s, "leading") == 0)
		return ZK_STATE_LEADING;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown server state \"%s\"", s)));
	return ZK_STATE_LOOKING;	/* keep compiler quiet */
}

static char *
describe(const ZkElection *e)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "proposal %d/%llx/%lld", e->proposal.leader,
					 (unsigned long long) e->proposal.zxid, (long long) e->proposal.peer_epoch);
	if (e->finalize_left_ms >= 0)
		appendStringInfo(&buf, ", finalizing");
	if (e->decided)
		appendStringInfo(&buf, ", decided: %s, leader %d",
						 e->result == ZK_STATE_LEADING ? "leading" :
						 e->result == ZK_STATE_OBSERVING ? "observing" : "following", e->leader);
	return buf.data;
}

Datum
zkpg_election_script(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *script = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *servers = NULL;
	ZkQuorumConfig *config = palloc0(sizeof(ZkQuorumConfig));
	ZkElection *e = palloc0(sizeof(ZkElection));
	bool		started = false;
	char	   *save = NULL;
	char	   *line;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only superusers may run zkpg.election_script")));
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	for (line = strtok_r(script, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
	{
		char		word[32];
		char		state[32];
		int			a;
		long long	zxid;
		long long	epoch;
		long long	clock;
		int			leader;
		int			n;
		char	   *out = NULL;
		Datum		v;
		bool		isnull = false;

		while (*line == ' ' || *line == '\t')
			line++;
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (sscanf(line, "%31s", word) != 1)
			continue;
		if (strcmp(word, "servers") == 0)
		{
			servers = pstrdup(line + strlen("servers"));
			out = "ok";
		}
		else if (strcmp(word, "start") == 0)
		{
			const char *reason;

			clock = 0;
			n = sscanf(line, "start %d %llx %lld %lld", &a, &zxid, &epoch, &clock);
			if (n < 3 || servers == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("bad step \"%s\"", line),
						 errhint("start ME ZXID(hex) EPOCH [CLOCK], after servers.")));
			reason = ZkParseQuorumConfig(servers, a, config);
			if (reason != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("bad servers: %s", reason)));
			ZkElectionStart(e, config, (ZkZxid) zxid, epoch, clock);
			started = true;
			out = describe(e);
		}
		else if (strcmp(word, "recv") == 0)
		{
			ZkNotification note;

			if (!started ||
				sscanf(line, "recv %d %31s %lld %d %llx %lld", &a, state, &clock, &leader,
					   &zxid, &epoch) != 6)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("bad step \"%s\"", line),
						 errhint("recv FROM STATE CLOCK LEADER ZXID(hex) EPOCH, after start.")));
			memset(&note, 0, sizeof(note));
			note.from = a;
			note.state = parse_state(state);
			note.election_epoch = clock;
			note.vote.leader = leader;
			note.vote.zxid = (ZkZxid) zxid;
			note.vote.peer_epoch = epoch;
			(void) ZkElectionReceive(e, &note);
			out = describe(e);
		}
		else if (strcmp(word, "advance") == 0)
		{
			if (!started || sscanf(line, "advance %d", &a) != 1)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("bad step \"%s\"", line)));
			ZkElectionAdvance(e, a);
			out = describe(e);
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown step \"%s\"", line),
					 errhint("Steps are servers, start, recv and advance.")));
		v = CStringGetTextDatum(psprintf("%s -> %s", line, out));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &v, &isnull);
	}
	return (Datum) 0;
}
