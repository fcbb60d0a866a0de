/*-------------------------------------------------------------------------
 *
 * pipeline_check.c
 *	  zkpg.check_pipeline(): a property test of the rule "a logged txn
 *	  always applies".
 *
 * It feeds random requests, valid and not, through the stages a request
 * crosses: the check where it enters (record_check.c), encoding, the
 * leader's decoder, the request processor (prep_processor.c) with its
 * encoding of the txn, a learner's decoder, and the applier
 * (ZkApplyTxn), on a scratch copy of the tree in pg_temp.  A request the
 * entry check refuses stops there, as a client's does with ZK008 or ZK114.
 * Every other must decode at each stage and its txn (or error txn) must
 * apply; any failure is reported with the request that caused it.
 *
 * The requests come from a small namespace, so that creates, deletes,
 * sets, fences and closes meet the nodes and sessions earlier ones made,
 * and lean on the limits: paths at the length limit, ACLs whose "auth"
 * entry expands past the entry limit or with entries at the byte limit,
 * requests with up to 80 identities, long identities, data beyond the
 * limit, bad modes, versions and TTLs.  Superusers only.
 *
 * IDENTIFICATION
 *	  src/test/pipeline_check.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "common/pg_prng.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "applier.h"
#include "datatree.h"
#include "prep_processor.h"
#include "record_check.h"
#include "txn_codec.h"
#include "zkpg.h"

PG_FUNCTION_INFO_V1(zkpg_check_pipeline);

#define NSESSIONS 6

typedef struct CheckState
{
	pg_prng_state rng;
	int64		sessions[NSESSIONS];
	ZkZxid		tokens[16];		/* czxids of creates, for fences */
	int			ntokens;
	char		pad[ZK_MAX_ACL_ENTRY_BYTES + 64];	/* long strings */
} CheckState;

static int
pick(CheckState *st, int n)
{
	return (int) (pg_prng_uint32(&st->rng) % (uint32) n);
}

static bool
chance(CheckState *st, int percent)
{
	return pick(st, 100) < percent;
}

/* a string of n 'x' */
static char *
long_string(CheckState *st, int n)
{
	char	   *s = palloc(n + 1);

	memset(s, 'x', n);
	s[n] = '\0';
	return s;
}

static char *
random_path(CheckState *st)
{
	static const char *const names[] = {"a", "b", "c", "s-"};
	StringInfoData buf;
	int			depth;
	int			i;

	switch (pick(st, 60))
	{
		case 0:
			return pstrdup("");
		case 1:
			return pstrdup("a/b");
		case 2:
			return pstrdup("/a//b");
		case 3:
			return pstrdup("/a/./b");
		case 4:
			return pstrdup("/a/\001");
		case 5:
			/* at the limit, or just past it */
			return psprintf("/%s", long_string(st, ZK_MAX_PATH_BYTES - 1 + pick(st, 3)));
		case 6:
			return pstrdup("/");
	}
	initStringInfo(&buf);
	depth = 1 + (chance(st, 70) ? pick(st, 2) : pick(st, 3));
	for (i = 0; i < depth; i++)
		appendStringInfo(&buf, "/%s", names[pick(st, lengthof(names))]);
	return buf.data;
}

static void
random_acl(CheckState *st, ZkOp *op)
{
	static const char *const entries[] = {
		"world:anyone:cdrwa", "world:anyone:cdrwa", "world:anyone:cdrwa",
		"world:anyone:r", "auth::cdrwa", "auth::r",
		"digest:u:aGFzaA==:rw", "ip:10.0.0.0/8:r", "pg:regress_role:cdrwa",
		"world:nobody:r", "bogus", "digest:u:r"
	};
	int			i;

	switch (pick(st, 20))
	{
		case 0:
			op->nacl = 0;
			break;
		case 1:
			op->nacl = ZK_MAX_ACL_ENTRIES + pick(st, 3);
			break;
		default:
			op->nacl = 1 + pick(st, 3);
			break;
	}
	op->acl = palloc(sizeof(char *) * Max(op->nacl, 1));
	for (i = 0; i < op->nacl; i++)
	{
		if (chance(st, 3))
			op->acl[i] = psprintf("digest:%s:h:r",
								  long_string(st, ZK_MAX_ACL_ENTRY_BYTES - 12 + pick(st, 8)));
		else
			op->acl[i] = pstrdup(entries[pick(st, lengthof(entries))]);
	}
}

static void
random_op(CheckState *st, ZkOp *op)
{
	static const int16 types[] = {ZK_OP_CREATE, ZK_OP_CREATE, ZK_OP_CREATE, ZK_OP_DELETE,
	ZK_OP_SETDATA, ZK_OP_SETACL, ZK_OP_CHECK, ZK_OP_FENCE, ZK_OP_COUNTER};
	static const int64 deltas[] = {1, -1, 0, 1000, PG_INT64_MAX, PG_INT64_MIN};

	memset(op, 0, sizeof(ZkOp));
	op->type = types[pick(st, lengthof(types))];
	op->path = random_path(st);
	op->version = pick(st, 5) - 2;	/* -2 .. 2 */
	if (op->type == ZK_OP_CREATE || op->type == ZK_OP_SETDATA)
	{
		op->data_len = chance(st, 2) ? ZK_MAX_DATA_BYTES + 1 : pick(st, 40);
		/* refused by length before it is read */
		op->data = op->data_len <= ZK_MAX_DATA_BYTES ? long_string(st, op->data_len) : st->pad;
		/* now and then a counter's decimal text, near the int64 limits too */
		if (chance(st, 20))
		{
			op->data = psprintf(INT64_FORMAT, deltas[pick(st, lengthof(deltas))] - pick(st, 3));
			op->data_len = strlen(op->data);
		}
	}
	if (op->type == ZK_OP_CREATE)
	{
		op->mode = (int8) (pick(st, 9) - 1);	/* -1 .. 7: two bad ones */
		op->ttl_ms = ZK_MODE_IS_TTL(op->mode) || chance(st, 5) ? pick(st, 3) * 1000 : 0;
		if (op->mode == ZK_MODE_EPHEMERAL && chance(st, 50))
			op->mode = ZK_MODE_EPHEMERAL_SEQUENTIAL;
	}
	if (op->type == ZK_OP_CREATE || op->type == ZK_OP_SETACL || op->type == ZK_OP_COUNTER)
		random_acl(st, op);
	if (op->type == ZK_OP_COUNTER)
		op->counter = deltas[pick(st, lengthof(deltas))];
	if (op->type == ZK_OP_FENCE)
		op->token = st->ntokens > 0 && chance(st, 70) ?
			st->tokens[pick(st, st->ntokens)] : pick(st, 3) - 1;
}

static void
random_auth(CheckState *st, ZkAuth *auth)
{
	/* now and then as many as make an "auth" ACL expand past the limit */
	int			ndigests = chance(st, 10) ? ZK_MAX_ACL_ENTRIES - 4 + pick(st, 12) : pick(st, 3);
	int			i;

	auth->superuser = chance(st, 20);
	auth->nids = 0;
	auth->ids = palloc(sizeof(char *) * (ndigests + 2));
	auth->ids[auth->nids++] = pstrdup("ip:127.0.0.1");
	for (i = 0; i < ndigests; i++)
		auth->ids[auth->nids++] =
			chance(st, 1) ? psprintf("digest:%s:h", long_string(st, ZK_MAX_AUTH_ID_BYTES - 8 + pick(st, 4))) :
			psprintf("digest:user%d:aGFzaA==", i);
	if (chance(st, 30))
		auth->ids[auth->nids++] = pstrdup("pg:regress_role");
}

static void
random_request(CheckState *st, ZkRecord *req)
{
	int			i;

	memset(req, 0, sizeof(ZkRecord));
	req->session_id = chance(st, 5) ? ZK_SERVER_SESSION : st->sessions[pick(st, NSESSIONS)];
	req->cxid = (int32) pg_prng_uint32(&st->rng);
	random_auth(st, &req->auth);
	switch (pick(st, 40))
	{
		case 0:
			req->type = ZK_OP_CREATESESSION;
			req->session_id = st->sessions[pick(st, NSESSIONS)];
			req->timeout_ms = pick(st, 3) * 5000;
			break;
		case 1:
			req->type = ZK_OP_CLOSESESSION;
			req->target_session = chance(st, 10) ? 0 : st->sessions[pick(st, NSESSIONS)];
			break;
		case 2:
		case 3:
			req->type = ZK_OP_MULTI;
			req->nops = chance(st, 5) ? 0 : 1 + pick(st, 5);
			req->ops = palloc0(sizeof(ZkOp) * Max(req->nops, 1));
			for (i = 0; i < req->nops; i++)
				random_op(st, &req->ops[i]);
			break;
		default:
			req->nops = 1;
			req->ops = palloc0(sizeof(ZkOp));
			random_op(st, &req->ops[0]);
			req->type = req->ops[0].type;
			break;
	}
}

/* what a request looked like, for the report of a failure */
static char *
describe(const ZkRecord *req)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s of session 0x%llx with %d identities", ZkOpName(req->type),
					 (unsigned long long) req->session_id, req->auth.nids);
	for (i = 0; i < req->nops && i < 5; i++)
		appendStringInfo(&buf, "; %s %.60s (%d ACL entries, %d bytes)",
						 ZkOpName(req->ops[i].type), req->ops[i].path,
						 req->ops[i].nacl, req->ops[i].data_len);
	return buf.data;
}

/* Apply txn to tree in a subtransaction: NULL, or why it failed. */
static char *
apply_isolated(ZkTree *tree, const ZkRecord *txn, MemoryContext keep)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	char	   *failure = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		ZkOpResult *results = palloc(sizeof(ZkOpResult) * Max(txn->nops, 1));
		int			nresults;

		(void) ZkApplyTxn(tree, txn, results, &nresults, NULL);
		ZkTreeFlush(tree);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(keep);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		failure = MemoryContextStrdup(keep, edata->message);
	}
	PG_END_TRY();
	return failure;
}

Datum
zkpg_check_pipeline(PG_FUNCTION_ARGS)
{
	int32		iterations = PG_GETARG_INT32(0);
	int64		seed = PG_GETARG_INT64(1);
	TupleDesc	desc;
	Datum		values[6];
	bool		nulls[6] = {0};
	CheckState *st;
	ZkTree	   *scratch;
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext cxt;
	int64		refused = 0;
	int64		logged = 0;
	int64		error_txns = 0;
	int64		failures = 0;
	char	   *first_failure = NULL;
	ZkZxid		zxid = ZK_ZXID(1, 0);
	int			i;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only superusers may run zkpg.check_pipeline")));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	st = palloc0(sizeof(CheckState));
	pg_prng_seed(&st->rng, (uint64) seed);
	for (i = 0; i < NSESSIONS; i++)
		st->sessions[i] = ZK_SESSION_MAKE_ID(1, i + 1, i);

	scratch = ZkTreeCreateScratch();
	ZkPrepInit(scratch);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "zkpg pipeline check",
								ALLOCSET_DEFAULT_SIZES);
	for (i = 0; i < iterations; i++)
	{
		ZkRecord	req;
		ZkRecord	forwarded;
		ZkRecord	txn;
		ZkRecord	learned;
		StringInfoData enc;
		StringInfoData txn_enc;
		const char *reason;
		char	   *failure = NULL;
		MemoryContext old = MemoryContextSwitchTo(cxt);

		random_request(st, &req);
		if (i < NSESSIONS)
		{
			/* the sessions open first, so that later requests find them */
			req.type = ZK_OP_CREATESESSION;
			req.session_id = st->sessions[i];
			req.timeout_ms = 10000;
		}
		if (ZkCheckRequest(&req, &reason) != ZK_OK)
		{
			refused++;
			goto next;
		}
		initStringInfo(&enc);
		ZkEncodeRequest(&enc, &req);
		reason = ZkDecodeRequest(enc.data, enc.len, &forwarded);
		if (reason != NULL)
		{
			failure = psprintf("the leader's decoder refused a request its entry accepted (%s)", reason);
			goto next;
		}
		initStringInfo(&txn_enc);
		ZkPrepRequest(&forwarded, ++zxid, GetCurrentTimestamp(), &txn, &txn_enc);
		logged++;
		if (txn.type == ZK_OP_ERROR)
			error_txns++;
		reason = ZkDecodeTxn(txn_enc.data, txn_enc.len, &learned);
		if (reason != NULL)
		{
			failure = psprintf("a learner's decoder refused the txn (%s)", reason);
			goto next;
		}
		failure = apply_isolated(scratch, &learned, cxt);
		if (failure == NULL && learned.type != ZK_OP_ERROR && st->ntokens < lengthof(st->tokens))
			st->tokens[st->ntokens++] = learned.zxid;
		ZkPrepPrune(zxid);
next:
		if (failure != NULL)
		{
			failures++;
			if (first_failure == NULL)
				first_failure = MemoryContextStrdup(outer, psprintf("%s: %s", describe(&req), failure));
			/* start over from what the tree holds */
			ZkPrepInit(scratch);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(cxt);
		CHECK_FOR_INTERRUPTS();
	}
	ZkPrepForget();
	ZkTreeDropScratch(scratch);

	values[0] = Int64GetDatum(iterations);
	values[1] = Int64GetDatum(refused);
	values[2] = Int64GetDatum(logged);
	values[3] = Int64GetDatum(error_txns);
	values[4] = Int64GetDatum(failures);
	if (first_failure != NULL)
		values[5] = CStringGetTextDatum(first_failure);
	else
		nulls[5] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
