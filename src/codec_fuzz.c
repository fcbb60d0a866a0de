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
 * (run it under valgrind to check the latter).  Superusers only.
 *
 * IDENTIFICATION
 *	  src/codec_fuzz.c
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
static void check_roundtrip(StringInfo enc, bool txn);
static int64 mutate_and_decode(pg_prng_state *rng, StringInfo enc, bool txn);

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
	ZK_OP_SETACL, ZK_OP_CHECK};
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
	op->ttl_ms = pg_prng_uint32(rng) % 100000;
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

/* decode(encode(x)) encodes to the same bytes */
static void
check_roundtrip(StringInfo enc, bool txn)
{
	ZkRecord	rec;
	StringInfoData again;
	const char *reason;

	reason = txn ? ZkDecodeTxn(enc->data, enc->len, &rec) :
		ZkDecodeRequest(enc->data, enc->len, &rec);
	if (reason != NULL)
		elog(ERROR, "zkpg codec: a valid %s does not decode: %s",
			 txn ? "txn" : "request", reason);
	initStringInfo(&again);
	if (txn)
		ZkEncodeTxn(&again, &rec);
	else
		ZkEncodeRequest(&again, &rec);
	if (again.len != enc->len || memcmp(again.data, enc->data, enc->len) != 0)
		elog(ERROR, "zkpg codec: a %s does not survive a round trip", txn ? "txn" : "request");
}

static int64
mutate_and_decode(pg_prng_state *rng, StringInfo enc, bool txn)
{
	int64		decoded = 0;
	int			m;

	for (m = 0; m < 8; m++)
	{
		int			len = enc->len;
		char	   *copy = palloc(len + 16);
		ZkRecord	rec;
		const char *reason;

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
		reason = txn ? ZkDecodeTxn(copy, len, &rec) : ZkDecodeRequest(copy, len, &rec);
		if (reason == NULL)
		{
			/* accepted: it must be a well-formed record */
			StringInfoData again;

			initStringInfo(&again);
			if (txn)
				ZkEncodeTxn(&again, &rec);
			else
				ZkEncodeRequest(&again, &rec);
			check_roundtrip(&again, txn);
			decoded++;
		}
		pfree(copy);
	}
	return decoded;
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
		check_roundtrip(&enc, txn);
		accepted += mutate_and_decode(&rng, &enc, txn);
		MemoryContextSwitchTo(old);
		MemoryContextReset(cxt);
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextDelete(cxt);
	PG_RETURN_INT64(accepted);
}
