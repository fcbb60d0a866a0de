/*-------------------------------------------------------------------------
 *
 * codec_fuzz.c
 *	  zkpg.fuzz_codec(): a self-test of the request and txn decoders,
 *	  which face the network once peers forward requests and proposals.
 *
 * For each iteration it builds a random valid request and txn, checks
 * that decoding its encoding and encoding again gives the same bytes,
 * then feeds the decoders mutated copies: truncated, extended, with
 * flipped bytes and with length fields set to extreme values.  A decoder
 * must either refuse the input with a reason or return a record whose
 * re-encoding decodes again; it must never crash or read out of bounds
 * (run it under valgrind to check the latter).  Each record is also
 * wrapped in a peer message (APPEND, REQUESTS) or replaced by a PING, a
 * LEADERINFO, a NEWLEADER or an answer, and those are fuzzed the same
 * way: zkpg.peer_message() decodes them from the network.  Superusers
 * only.
 *
 * IDENTIFICATION
 *	  src/test/codec_fuzz.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/pg_prng.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "txn_codec.h"
#include "zkpg.h"

PG_FUNCTION_INFO_V1(zkpg_fuzz_codec);

static char *random_path(pg_prng_state *rng);
static void random_op(pg_prng_state *rng, ZkOp *op, bool txn);
static void random_record(pg_prng_state *rng, ZkRecord *rec, bool txn);


static char *
random_path(pg_prng_state *rng)
{
	int			depth = 1 + pg_prng_uint32(rng) % 4;
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < depth; i++)
		appendStringInfo(&buf, "/n%u", pg_prng_uint32(rng) % 1000);
	return buf.data;
}

static void
random_op(pg_prng_state *rng, ZkOp *op, bool txn)
{
	static const int16 types[] = {ZK_OP_CREATE, ZK_OP_DELETE, ZK_OP_SETDATA,
	ZK_OP_SETACL, ZK_OP_CHECK, ZK_OP_FENCE, ZK_OP_COUNTER};
	int			i;

	memset(op, 0, sizeof(ZkOp));
	op->type = types[pg_prng_uint32(rng) % lengthof(types)];
	op->path = random_path(rng);
	op->data_len = pg_prng_uint32(rng) % 64;
	op->data = palloc(op->data_len + 1);
	for (i = 0; i < op->data_len; i++)
		op->data[i] = (char) pg_prng_uint32(rng);
	op->version = (int32) (pg_prng_uint32(rng) % 10) - 1;
	op->mode = (int8) (pg_prng_uint32(rng) % 7);
	/* valid records keep to record_check.c: a TTL for TTL modes only */
	op->ttl_ms = ZK_MODE_IS_TTL(op->mode) ? 1 + pg_prng_uint32(rng) % 100000 : 0;
	op->token = 1 + (int64) (pg_prng_uint64(rng) >> 1);
	op->nacl = 1 + pg_prng_uint32(rng) % 3;
	op->acl = palloc(sizeof(char *) * op->nacl);
	for (i = 0; i < op->nacl; i++)
		op->acl[i] = psprintf("digest:u%d:h%u:cdrwa", i, pg_prng_uint32(rng));
	if (txn)
	{
		op->ephemeral_owner = (int64) pg_prng_uint64(rng);
		op->parent_creates = (int32) (pg_prng_uint32(rng) % 100000);
		/* a txn's delete carries no version: normalise for the comparison */
		if (op->type == ZK_OP_DELETE)
			op->version = -1;
	}
	/* a counter op carries its delta or value, no data; its txn a version */
	if (op->type == ZK_OP_COUNTER)
	{
		op->data_len = 0;
		op->counter = (int64) pg_prng_uint64(rng);
		op->version = txn ? 1 + (int32) (pg_prng_uint32(rng) % 1000) : -1;
	}
}

static void
random_record(pg_prng_state *rng, ZkRecord *rec, bool txn)
{
	uint32		kind = pg_prng_uint32(rng) % (txn ? 5 : 4);
	int			i;

	memset(rec, 0, sizeof(ZkRecord));
	rec->session_id = (int64) pg_prng_uint64(rng);
	rec->cxid = (int32) pg_prng_uint32(rng);
	rec->zxid = 1 + (int64) (pg_prng_uint64(rng) >> 1);
	rec->time = (int64) (pg_prng_uint64(rng) >> 8);
	rec->failed_index = -1;
	switch (kind)
	{
		case 0:
			rec->type = ZK_OP_CREATESESSION;
			rec->timeout_ms = 1 + pg_prng_uint32(rng) % 100000;
			rec->owner = txn ? (int32) (pg_prng_uint32(rng) % 256) : 0;
			break;
		case 1:
			rec->type = ZK_OP_CLOSESESSION;
			rec->target_session = 1 + (int64) (pg_prng_uint64(rng) >> 1);
			break;
		case 2:
			rec->type = ZK_OP_MULTI;
			rec->nops = pg_prng_uint32(rng) % 5;
			rec->ops = palloc0(sizeof(ZkOp) * Max(rec->nops, 1));
			for (i = 0; i < rec->nops; i++)
				random_op(rng, &rec->ops[i], txn);
			break;
		case 3:
			rec->nops = 1;
			rec->ops = palloc0(sizeof(ZkOp));
			random_op(rng, &rec->ops[0], txn);
			rec->type = rec->ops[0].type;
			break;
		case 4:
			rec->type = ZK_OP_ERROR;
			rec->err = -1 - (int32) (pg_prng_uint32(rng) % 120);
			rec->failed_index = (int32) (pg_prng_uint32(rng) % 10) - 1;
			break;
	}
	if (!txn)
	{
		rec->auth.superuser = pg_prng_bool(rng);
		rec->auth.nids = 1;
		rec->auth.ids = palloc(sizeof(char *));
		rec->auth.ids[0] = psprintf("ip:127.0.0.%u", pg_prng_uint32(rng) % 255);
	}
}

/* what a fuzzed input is decoded as */
typedef enum FuzzKind
{
	FUZZ_REQUEST,
	FUZZ_TXN,
	FUZZ_PEER_MESSAGE,
	FUZZ_PEER_ANSWER
} FuzzKind;

static const char *const kind_names[] = {"request", "txn", "peer message", "peer answer"};

/* decode as kind; on success, encode the result again into out */
static const char *
decode_kind(FuzzKind kind, const char *data, int len, StringInfo out)
{
	const char *reason = NULL;

	switch (kind)
	{
		case FUZZ_REQUEST:
		case FUZZ_TXN:
			{
				ZkRecord	rec;

				reason = kind == FUZZ_TXN ? ZkDecodeTxn(data, len, &rec) :
					ZkDecodeRequest(data, len, &rec);
				if (reason == NULL && kind == FUZZ_TXN)
					ZkEncodeTxn(out, &rec);
				else if (reason == NULL)
					ZkEncodeRequest(out, &rec);
				break;
			}
		case FUZZ_PEER_MESSAGE:
			{
				ZkPeerMessage m;

				reason = ZkDecodePeerMessage(data, len, &m);
				if (reason == NULL)
					ZkEncodePeerMessage(out, &m);
				break;
			}
		case FUZZ_PEER_ANSWER:
			{
				ZkPeerAnswer a;

				reason = ZkDecodePeerAnswer(data, len, &a);
				if (reason == NULL)
					ZkEncodePeerAnswer(out, &a);
				break;
			}
	}
	return reason;
}

/* decode(encode(x)) encodes to the same bytes */
static void
check_roundtrip(StringInfo enc, FuzzKind kind)
{
	StringInfoData again;
	const char *reason;

	initStringInfo(&again);
	reason = decode_kind(kind, enc->data, enc->len, &again);
	if (reason != NULL)
		elog(ERROR, "zkpg codec: a valid %s does not decode: %s", kind_names[kind], reason);
	if (again.len != enc->len || memcmp(again.data, enc->data, enc->len) != 0)
		elog(ERROR, "zkpg codec: a %s does not survive a round trip", kind_names[kind]);
}

static int64
mutate_and_decode(pg_prng_state *rng, StringInfo enc, FuzzKind kind)
{
	int64		decoded = 0;
	int			m;

	for (m = 0; m < 8; m++)
	{
		int			len = enc->len;
		char	   *copy = palloc(len + 16);
		StringInfoData again;

		memcpy(copy, enc->data, len);
		switch (pg_prng_uint32(rng) % 4)
		{
			case 0:				/* truncate */
				len = pg_prng_uint32(rng) % (len + 1);
				break;
			case 1:				/* trailing garbage */
				{
					int			extra = 1 + pg_prng_uint32(rng) % 16;
					int			i;

					for (i = 0; i < extra; i++)
						copy[len + i] = (char) pg_prng_uint32(rng);
					len += extra;
				}
				break;
			case 2:				/* flip bytes */
				{
					int			flips = 1 + pg_prng_uint32(rng) % 4;
					int			i;

					for (i = 0; i < flips && len > 0; i++)
						copy[pg_prng_uint32(rng) % len] ^= (char) (1 + pg_prng_uint32(rng) % 255);
				}
				break;
			case 3:				/* an extreme 32-bit field */
				if (len >= 4)
				{
					static const uint32 extremes[] = {0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x00010000};
					uint32		v = extremes[pg_prng_uint32(rng) % lengthof(extremes)];
					int			at = pg_prng_uint32(rng) % (len - 3);

					memcpy(copy + at, &v, 4);
				}
				break;
		}
		initStringInfo(&again);
		if (decode_kind(kind, copy, len, &again) == NULL)
		{
			/* accepted: it must be well formed */
			check_roundtrip(&again, kind);
			decoded++;
		}
		pfree(copy);
	}
	return decoded;
}

/*
 * A peer message of a random type that carries enc (a request or txn) as
 * its item, or an answer.
 */
static void
random_peer_message(pg_prng_state *rng, StringInfo enc, bool txn, StringInfo out,
					FuzzKind *kind)
{
	ZkPeerMessage m;
	const char *items[1];
	int32		lens[1];
	ZkZxid		zxids[1];
	int64		touches[2];

	memset(&m, 0, sizeof(m));
	m.note.from = 1 + pg_prng_uint32(rng) % 255;
	m.note.state = ZK_STATE_FOLLOWING;
	m.note.replication = (int8) (pg_prng_uint32(rng) % 3);
	m.note.vote.leader = m.note.from;
	m.note.vote.zxid = pg_prng_uint32(rng);
	m.epoch = 1 + pg_prng_uint32(rng) % 1000;
	items[0] = enc->data;
	lens[0] = enc->len;
	*kind = FUZZ_PEER_MESSAGE;
	switch (pg_prng_uint32(rng) % 4)
	{
		case 0:
			m.type = txn ? ZK_MSG_APPEND : ZK_MSG_REQUESTS;
			m.n = 1;
			m.items = items;
			m.lens = lens;
			zxids[0] = ZK_ZXID(m.epoch, 1 + pg_prng_uint32(rng) % 1000);
			m.zxids = zxids;
			m.prev_zxid = ZK_ZXID(m.epoch, 0);
			m.committed = m.prev_zxid;
			m.flags = pg_prng_uint32(rng) % (ZK_APPEND_FLAGS + 1);
			break;
		case 1:
			m.type = ZK_MSG_PING;
			m.n = 2;
			touches[0] = pg_prng_int64(rng);
			touches[1] = pg_prng_int64(rng);
			m.touches = touches;
			break;
		case 2:
			if (pg_prng_bool(rng))
				m.type = ZK_MSG_LEADERINFO + pg_prng_uint32(rng) % 2 * 2;	/* or NEWLEADER */
			else
			{
				m.type = ZK_MSG_CANCOMMIT;
				m.prev_zxid = ZK_ZXID(m.epoch, pg_prng_uint32(rng) % 1000);
				m.committed = m.prev_zxid + 1 + pg_prng_uint32(rng) % 1000;
			}
			break;
		case 3:
			{
				ZkPeerAnswer a;

				memset(&a, 0, sizeof(a));
				a.note = m.note;
				a.ok = pg_prng_bool(rng);
				a.accepted_epoch = m.epoch;
				a.current_epoch = m.epoch - 1;
				a.last_logged = a.applied = a.committed = ZK_ZXID(m.epoch, 7);
				ZkEncodePeerAnswer(out, &a);
				*kind = FUZZ_PEER_ANSWER;
				return;
			}
	}
	ZkEncodePeerMessage(out, &m);
}

Datum
zkpg_fuzz_codec(PG_FUNCTION_ARGS)
{
	int32		iterations = PG_GETARG_INT32(0);
	int64		seed = PG_GETARG_INT64(1);
	pg_prng_state rng;
	MemoryContext cxt;
	MemoryContext old;
	int64		accepted = 0;
	int			i;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only superusers may run zkpg.fuzz_codec")));
	pg_prng_seed(&rng, (uint64) seed);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "zkpg fuzz", ALLOCSET_DEFAULT_SIZES);
	for (i = 0; i < iterations; i++)
	{
		ZkRecord	rec;
		StringInfoData enc;
		bool		txn = (i % 2 == 1);

		old = MemoryContextSwitchTo(cxt);
		random_record(&rng, &rec, txn);
		initStringInfo(&enc);
		if (txn)
			ZkEncodeTxn(&enc, &rec);
		else
			ZkEncodeRequest(&enc, &rec);
		check_roundtrip(&enc, txn ? FUZZ_TXN : FUZZ_REQUEST);
		accepted += mutate_and_decode(&rng, &enc, txn ? FUZZ_TXN : FUZZ_REQUEST);
		/* the same record inside a peer message, or an answer */
		{
			StringInfoData peer;
			FuzzKind	kind;

			initStringInfo(&peer);
			random_peer_message(&rng, &enc, txn, &peer, &kind);
			check_roundtrip(&peer, kind);
			accepted += mutate_and_decode(&rng, &peer, kind);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(cxt);
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextDelete(cxt);
	PG_RETURN_INT64(accepted);
}
