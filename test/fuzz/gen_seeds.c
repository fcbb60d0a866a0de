/*-------------------------------------------------------------------------
 *
 * gen_seeds.c
 *	  Writes the seed corpora of the fuzz targets: small valid encodings
 *	  made by the real encoders (ZkEncodeRequest, ZkEncodeTxn,
 *	  ZkEncodePeerMessage, ZkEncodePeerAnswer), one record of each kind
 *	  and op the decoders know, and the text inputs of fuzz_acl and
 *	  fuzz_path.
 *
 * Usage: gen_seeds CORPUS_DIR (which holds one directory per target).
 * Every encoded seed is decoded again before it is written: a seed that
 * its decoder refuses stops the generator, so the corpora only hold
 * inputs that reach past the decoders' checks.
 *
 * IDENTIFICATION
 *	  test/fuzz/gen_seeds.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fuzz_common.h"

#undef fprintf
#undef snprintf
#undef printf

static const char *corpus_dir;

static void
write_seed(const char *target, int n, const char *data, int len)
{
	char		path[4096];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", corpus_dir, target);
	mkdir(path, 0777);
	snprintf(path, sizeof(path), "%s/%s/seed-%03d", corpus_dir, target, n);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != (size_t) len || fclose(f) != 0)
	{
		fprintf(stderr, "gen_seeds: cannot write %s\n", path);
		exit(1);
	}
}

static void
must_decode(const char *what, const char *reason)
{
	if (reason != NULL)
	{
		fprintf(stderr, "gen_seeds: a seed %s does not decode: %s\n", what, reason);
		exit(1);
	}
}

/* ---- records ---- */

/* an array of up to three strings (the rest NULL) */
static char **
strings(const char *a, const char *b, const char *c)
{
	char	  **out = palloc0(sizeof(char *) * 3);

	out[0] = (char *) a;
	out[1] = (char *) b;
	out[2] = (char *) c;
	return out;
}

static void
op_create(ZkOp *op, const char *path, const char *data, int8 mode, int64 ttl,
		  int nacl, char **acl)
{
	memset(op, 0, sizeof(ZkOp));
	op->type = ZK_OP_CREATE;
	op->path = (char *) path;
	op->data = (char *) data;
	op->data_len = data ? (int32) strlen(data) : 0;
	op->version = -1;
	op->mode = mode;
	op->ttl_ms = ttl;
	op->nacl = nacl;
	op->acl = acl;
}

static void
op_simple(ZkOp *op, int16 type, const char *path, const char *data, int32 version)
{
	memset(op, 0, sizeof(ZkOp));
	op->type = type;
	op->path = (char *) path;
	op->data = (char *) data;
	op->data_len = data ? (int32) strlen(data) : 0;
	op->version = version;
}

/*
 * The records of both corpora: for a txn, fields that a request does not
 * carry are filled and the "auth" ACL is left out (a txn's is expanded).
 */
static int
make_records(ZkRecord *recs, bool txn)
{
	char	  **world = strings("world:anyone:cdrwa", NULL, NULL);
	char	  **digest = strings("digest:bob:2vMdCDg2lbPNKsIbSIfYl4MZCWs=:cdrwa", NULL, NULL);
	char	  **mixed = strings("ip:10.0.0.0/8:rw", "pg:app_role:r", "ip:fe80::1/64:cdrwa");
	char	  **authacl = strings("auth::cdrwa", "world:anyone:r", NULL);
	int			n = 0;
	int			i;
	ZkOp	   *ops;

	memset(recs, 0, sizeof(ZkRecord) * 32);
	for (i = 0; i < 32; i++)
	{
		recs[i].session_id = INT64CONST(0x0100000000000001) + i;
		recs[i].cxid = 10 + i;
		recs[i].zxid = ZK_ZXID(3, 100 + i);
		recs[i].time = INT64CONST(770000000000000) + i * 1000;
		recs[i].failed_index = -1;
		recs[i].auth.nids = 1;
		recs[i].auth.ids = strings("ip:127.0.0.1", NULL, NULL);
	}

#define SINGLE(rec) ((rec)->nops = 1, (rec)->ops = palloc0(sizeof(ZkOp)), (rec)->ops)

	op_create(SINGLE(&recs[n]), "/app", "hello", ZK_MODE_PERSISTENT, 0, 1, world);
	recs[n].type = ZK_OP_CREATE;
	n++;
	op_create(SINGLE(&recs[n]), txn ? "/locks/lock-0000000007" : "/locks/lock-",
			  "", ZK_MODE_EPHEMERAL_SEQUENTIAL, 0, 1, digest);
	recs[n].ops[0].ephemeral_owner = recs[n].session_id;
	recs[n].ops[0].parent_creates = 8;
	recs[n].type = ZK_OP_CREATE;
	n++;
	op_create(SINGLE(&recs[n]), "/ttl", "x", ZK_MODE_PERSISTENT_WITH_TTL, 60000, 3, mixed);
	recs[n].type = ZK_OP_CREATE;
	n++;
	op_create(SINGLE(&recs[n]), "/c", NULL, ZK_MODE_CONTAINER, 0, txn ? 1 : 2,
			  txn ? digest : authacl);
	recs[n].auth.nids = 2;
	recs[n].auth.ids = strings("digest:bob:2vMdCDg2lbPNKsIbSIfYl4MZCWs=", "pg:alice", NULL);
	recs[n].type = ZK_OP_CREATE;
	n++;
	op_create(SINGLE(&recs[n]), txn ? "/q/0000000000" : "/q/", "job",
			  ZK_MODE_PERSISTENT_SEQUENTIAL, 0, 1, world);
	recs[n].type = ZK_OP_CREATE;
	n++;
	op_create(SINGLE(&recs[n]), "/h\xc3\xa9llo/\xe4\xb8\x96\xe7\x95\x8c", "utf-8", ZK_MODE_PERSISTENT,
			  0, 1, world);
	recs[n].type = ZK_OP_CREATE;
	recs[n].auth.superuser = true;
	n++;
	op_simple(SINGLE(&recs[n]), ZK_OP_DELETE, "/app", NULL, txn ? -1 : 3);
	recs[n].type = ZK_OP_DELETE;
	n++;
	op_simple(SINGLE(&recs[n]), ZK_OP_SETDATA, "/app", "new\001data", txn ? 4 : -1);
	recs[n].type = ZK_OP_SETDATA;
	n++;
	op_simple(SINGLE(&recs[n]), ZK_OP_SETACL, "/app", NULL, txn ? 1 : 0);
	recs[n].ops[0].nacl = 3;
	recs[n].ops[0].acl = mixed;
	recs[n].type = ZK_OP_SETACL;
	n++;
	op_simple(SINGLE(&recs[n]), ZK_OP_CHECK, "/app", NULL, 5);
	recs[n].type = ZK_OP_CHECK;
	n++;
	op_simple(SINGLE(&recs[n]), ZK_OP_FENCE, "/lock", NULL, -1);
	recs[n].ops[0].token = 42;
	recs[n].type = ZK_OP_FENCE;
	n++;

	/* a multi of four ops, and an empty one */
	ops = palloc0(sizeof(ZkOp) * 4);
	op_simple(&ops[0], ZK_OP_CHECK, "/app", NULL, 2);
	op_create(&ops[1], "/app/child", "c", ZK_MODE_EPHEMERAL, 0, 1, world);
	ops[1].ephemeral_owner = recs[n].session_id;
	ops[1].parent_creates = 1;
	op_simple(&ops[2], ZK_OP_SETDATA, "/app", "v", txn ? 3 : 2);
	op_simple(&ops[3], ZK_OP_DELETE, "/old", NULL, -1);
	recs[n].type = ZK_OP_MULTI;
	recs[n].nops = 4;
	recs[n].ops = ops;
	n++;
	recs[n].type = ZK_OP_MULTI;
	recs[n].nops = 0;
	recs[n].ops = palloc0(sizeof(ZkOp));
	n++;

	recs[n].type = ZK_OP_CREATESESSION;
	recs[n].timeout_ms = 30000;
	recs[n].owner = txn ? 2 : 0;
	n++;
	recs[n].type = ZK_OP_CLOSESESSION;
	recs[n].target_session = INT64CONST(0x0200000000001234);
	n++;
	recs[n].type = ZK_OP_ERROR;
	recs[n].err = ZK_ERR_NONODE;
	recs[n].failed_index = txn ? 1 : -1;
	n++;
	if (txn)
	{
		recs[n].type = ZK_OP_ERROR;
		recs[n].err = ZK_ERR_BADVERSION;
		recs[n].failed_index = -1;
		n++;
	}
	if (!txn)
	{
		/* a request of the ensemble itself, with no identities */
		recs[n].session_id = ZK_SERVER_SESSION;
		recs[n].auth.nids = 0;
		recs[n].type = ZK_OP_DELETE;
		op_simple(SINGLE(&recs[n]), ZK_OP_DELETE, "/container", NULL, 0);
		n++;
	}
	return n;
}

static int
write_records(void)
{
	ZkRecord	recs[32];
	int			n;
	int			i;
	StringInfoData buf;
	ZkRecord	back;
	int			total = 0;

	n = make_records(recs, false);
	for (i = 0; i < n; i++)
	{
		initStringInfo(&buf);
		ZkEncodeRequest(&buf, &recs[i]);
		must_decode("request", ZkDecodeRequest(buf.data, buf.len, &back));
		write_seed("fuzz_request", i, buf.data, buf.len);
	}
	total += n;
	n = make_records(recs, true);
	for (i = 0; i < n; i++)
	{
		initStringInfo(&buf);
		ZkEncodeTxn(&buf, &recs[i]);
		must_decode("txn", ZkDecodeTxn(buf.data, buf.len, &back));
		write_seed("fuzz_txn", i, buf.data, buf.len);
	}
	total += n;
	return total;
}

/* ---- peer messages and answers ---- */

static void
note(ZkNotification *n, int from, ZkServerState state, int leader)
{
	memset(n, 0, sizeof(*n));
	n->from = from;
	n->state = state;
	n->replication = ZK_REPLICATION_ZAB;
	n->election_epoch = 7;
	n->vote.leader = leader;
	n->vote.zxid = ZK_ZXID(3, 120);
	n->vote.peer_epoch = 3;
}

static int
write_peer(void)
{
	ZkRecord	recs[32];
	StringInfoData enc[6];
	const char *items[6];
	int32		lens[6];
	ZkZxid		zxids[6];
	int64		touches[3] = {INT64CONST(0x0100000000000001), INT64CONST(0x0100000000000002),
	INT64CONST(0x0300000000000009)};
	ZkPeerMessage m;
	ZkPeerMessage back;
	StringInfoData buf;
	int			nrec;
	int			k = 0;
	int			i;

#define EMIT() \
	do { \
		initStringInfo(&buf); \
		ZkEncodePeerMessage(&buf, &m); \
		must_decode("peer message", ZkDecodePeerMessage(buf.data, buf.len, &back)); \
		write_seed("fuzz_peer_message", k++, buf.data, buf.len); \
	} while (0)

	/* an election notification, and an observer's */
	memset(&m, 0, sizeof(m));
	m.type = ZK_MSG_NOTIFICATION;
	note(&m.note, 1, ZK_STATE_LOOKING, 1);
	EMIT();
	note(&m.note, 4, ZK_STATE_OBSERVING, -1);
	m.note.replication = ZK_REPLICATION_3PC;
	EMIT();

	/* PING with touched sessions */
	memset(&m, 0, sizeof(m));
	m.type = ZK_MSG_PING;
	note(&m.note, 2, ZK_STATE_FOLLOWING, 1);
	m.epoch = 3;
	m.n = 3;
	m.touches = touches;
	EMIT();

	/* REQUESTS: three forwarded requests */
	nrec = make_records(recs, false);
	for (i = 0; i < 3; i++)
	{
		initStringInfo(&enc[i]);
		ZkEncodeRequest(&enc[i], &recs[i * 5 % nrec]);
		items[i] = enc[i].data;
		lens[i] = enc[i].len;
	}
	memset(&m, 0, sizeof(m));
	m.type = ZK_MSG_REQUESTS;
	note(&m.note, 2, ZK_STATE_FOLLOWING, 1);
	m.epoch = 3;
	m.n = 3;
	m.items = items;
	m.lens = lens;
	EMIT();

	/* SYNC, LEADERINFO, SNAP */
	memset(&m, 0, sizeof(m));
	note(&m.note, 2, ZK_STATE_FOLLOWING, 1);
	m.epoch = 3;
	m.type = ZK_MSG_SYNC;
	EMIT();
	note(&m.note, 1, ZK_STATE_LEADING, 1);
	m.type = ZK_MSG_LEADERINFO;
	m.epoch = 4;
	EMIT();
	m.type = ZK_MSG_SNAP;
	EMIT();

	/* APPEND: a PROPOSAL of three txns, a TRUNC, a COMMIT, a 2PC vote */
	nrec = make_records(recs, true);
	for (i = 0; i < 3; i++)
	{
		recs[i * 4 % nrec].zxid = ZK_ZXID(3, 121 + i);
		initStringInfo(&enc[i]);
		ZkEncodeTxn(&enc[i], &recs[i * 4 % nrec]);
		items[i] = enc[i].data;
		lens[i] = enc[i].len;
		zxids[i] = ZK_ZXID(3, 121 + i);
	}
	memset(&m, 0, sizeof(m));
	m.type = ZK_MSG_APPEND;
	note(&m.note, 1, ZK_STATE_LEADING, 1);
	m.epoch = 3;
	m.prev_zxid = ZK_ZXID(3, 120);
	m.committed = ZK_ZXID(3, 120);
	m.n = 3;
	m.items = items;
	m.lens = lens;
	m.zxids = zxids;
	EMIT();
	m.flags = ZK_APPEND_TRUNC;
	m.n = 1;
	EMIT();
	m.flags = 0;
	m.n = 0;
	m.committed = ZK_ZXID(3, 123);
	m.prev_zxid = ZK_ZXID(3, 123);
	EMIT();
	m.note.replication = ZK_REPLICATION_2PC;
	m.flags = ZK_APPEND_PREPARE | ZK_APPEND_DECIDED;
	m.prev_zxid = ZK_ZXID(3, 120);
	m.n = 2;
	EMIT();

	/* NEWLEADER, CANCOMMIT */
	memset(&m, 0, sizeof(m));
	note(&m.note, 1, ZK_STATE_LEADING, 1);
	m.epoch = 4;
	m.type = ZK_MSG_NEWLEADER;
	m.prev_zxid = ZK_ZXID(3, 123);
	EMIT();
	m.note.replication = ZK_REPLICATION_3PC;
	m.type = ZK_MSG_CANCOMMIT;
	m.prev_zxid = ZK_ZXID(4, 0);
	m.committed = ZK_ZXID(4, 5);
	EMIT();

	/* answers */
	{
		ZkPeerAnswer a;
		ZkPeerAnswer aback;
		int			j;

		for (j = 0; j < 3; j++)
		{
			memset(&a, 0, sizeof(a));
			note(&a.note, 2 + j, j == 2 ? ZK_STATE_LOOKING : ZK_STATE_FOLLOWING, j == 2 ? 3 : 1);
			a.ok = (j != 1);
			a.accepted_epoch = 4;
			a.current_epoch = 3;
			a.last_logged = ZK_ZXID(3, 123 - j);
			a.applied = ZK_ZXID(3, 120 - j);
			a.committed = ZK_ZXID(3, 121 - j);
			initStringInfo(&buf);
			ZkEncodePeerAnswer(&buf, &a);
			must_decode("answer", ZkDecodePeerAnswer(buf.data, buf.len, &aback));
			write_seed("fuzz_peer_answer", j, buf.data, buf.len);
		}
		k += 3;
	}
	return k;
}

/* ---- text inputs ---- */

static int
write_text(const char *target, const char *const *seeds, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		write_seed(target, i, seeds[i], (int) strlen(seeds[i]));
	return n;
}

int
main(int argc, char **argv)
{
	/* control byte, then lines; '@' lines are identities (fuzz_acl.c) */
	static const char *const acl_seeds[] = {
		"\x7d" "world:anyone:cdrwa",
		"\x05" "world:anyone:r\nworld:anyone:rw\nworld:anyone:wr",
		"\x7d" "auth::cdrwa\n@digest:bob:2vMdCDg2lbPNKsIbSIfYl4MZCWs=\n@ip:127.0.0.1\n@pg:alice",
		"\x09" "digest:bob:2vMdCDg2lbPNKsIbSIfYl4MZCWs=:adcwr\n@digest:bob:2vMdCDg2lbPNKsIbSIfYl4MZCWs=",
		"\x11" "ip:10.0.0.0/8:rw\n@ip:10.1.2.3",
		"\x21" "ip:fe80::1/64:cdrwa\nip:::1:r\n@ip:fe80::abcd",
		"\x41" "pg:app_role:r\npg:admin:cdrwa\n@pg:app_role",
		"\x03" "world:anyone:",
		"\x45" "ip:192.168.0.1/33:r\nfoo:bar:r",
	};
	/* control byte (bit 0 sequential, bit 1 SQL_ASCII), then the path */
	static const char *const path_seeds[] = {
		"\x04/",
		"\x04/zookeeper/quota",
		"\x04/app/config/db",
		"\x05/locks/lock-",
		"\x05/queue/",
		"\x05/q/.",
		"\x04/h\xc3\xa9llo/\xe4\xb8\x96\xe7\x95\x8c",
		"\x06/latin\xe9/x",
		"\x04/a/../b",
		"\x04/a//b",
		"\x04/a/.b/..c",
		"\x04/emoji\xf0\x9f\x98\x80",
		/* invalid UTF-8 that path.c took before pg_utf8_islegal (README) */
		"\x04/\xe2//x",
		"\x04/ok\xc3x",
	};
	int			n = 0;

	if (argc != 2)
	{
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	corpus_dir = argv[1];
	mkdir(corpus_dir, 0777);
	n += write_records();
	n += write_peer();
	n += write_text("fuzz_acl", acl_seeds, lengthof(acl_seeds));
	n += write_text("fuzz_path", path_seeds, lengthof(path_seeds));
	FuzzArenaReset();
	printf("gen_seeds: %d seeds written under %s\n", n, corpus_dir);
	return 0;
}
