/*-------------------------------------------------------------------------
 *
 * fuzz_common.c
 *	  The checks that every libFuzzer target of zkpg's decoders runs on
 *	  what a decoder accepted.
 *
 * A decoder that accepts bytes promises more than "did not crash":
 *
 * - the record passes the checks of record_check.c (ZkCheckRequest or
 *	 ZkCheckTxn) when they are run again on it;
 * - its encoding is canonical: encoding the decoded record gives the
 *	 input back (a request's superuser flag, any nonzero byte on input, is
 *	 the one field with more than one encoding), and decoding that encoding
 *	 gives a record that encodes to the same bytes again;
 * - its paths keep ZooKeeper's rules, checked here independently of
 *	 path.c on the raw bytes: absolute, no empty node name, no "." or ".."
 *	 node, and, in a UTF8 database, valid UTF-8 (the path becomes a text
 *	 value in zkpg.znode);
 * - its ACLs normalize (acl.c) to at most ZK_MAX_ACL_ENTRIES well formed
 *	 entries, normalizing is idempotent, and the normalized ACL grants
 *	 exactly what the original grants.
 *
 * Any broken promise calls FuzzFail(), which aborts.
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_common.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>

#include "mb/pg_wchar.h"

#include "acl.h"
#include "fuzz_common.h"
#include "path.h"
#include "record_check.h"

#undef fprintf

static const int all_perms[] = {
	ZK_PERM_READ, ZK_PERM_WRITE, ZK_PERM_CREATE, ZK_PERM_DELETE, ZK_PERM_ADMIN
};

void
FuzzFail(const char *file, int line, const char *what)
{
	fprintf(stderr, "zkpg fuzz: invariant broken at %s:%d: %s\n", file, line, what);
	abort();
}

bool
FuzzSameBytes(const StringInfo a, const char *data, int len)
{
	return a->len == len && memcmp(a->data, data, len) == 0;
}

/*
 * ZooKeeper's path rules, on the raw bytes.  A sequential create's path
 * is a prefix: its last node name gets a counter appended, so it may be
 * empty, "." or "..".
 */
void
FuzzCheckPath(const char *path, bool sequential)
{
	size_t		len;
	const char *p;

	FUZZ_CHECK(path != NULL, "a path is null");
	len = strlen(path);
	FUZZ_CHECK(len >= 1 && len <= ZK_MAX_PATH_BYTES, "path length out of range");
	FUZZ_CHECK(path[0] == '/', "path is not absolute");
	if (len == 1)
		return;
	p = path + 1;
	for (;;)
	{
		const char *slash = strchr(p, '/');
		size_t		nlen = slash ? (size_t) (slash - p) : strlen(p);
		bool		last = (slash == NULL);

		if (!(last && sequential))
		{
			FUZZ_CHECK(nlen > 0, "a path has an empty node name");
			FUZZ_CHECK(!(nlen == 1 && p[0] == '.'), "a path has a \".\" node");
			FUZZ_CHECK(!(nlen == 2 && p[0] == '.' && p[1] == '.'),
					   "a path has a \"..\" node");
		}
		if (last)
			break;
		p = slash + 1;
	}
	if (FuzzDatabaseEncoding == PG_UTF8)
	{
		const unsigned char *s = (const unsigned char *) path;
		size_t		i = 0;

		FUZZ_CHECK(pg_encoding_verifymbstr(PG_UTF8, path, (int) len) == (int) len,
				   "a path is not valid UTF-8 in a UTF8 database");
		while (i < len)
		{
			int			clen = pg_utf_mblen(s + i);
			pg_wchar	c = utf8_to_unicode(s + i);

			FUZZ_CHECK(!((c > 0 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) ||
						 (c >= 0xd800 && c <= 0xf8ff) || c >= 0xfff0),
					   "a path has a character ZooKeeper refuses");
			i += clen;
		}
	}

	/* the parent of a (non-prefix) path is a valid path too */
	if (!sequential)
	{
		char	   *parent = ZkParentPath(path);
		const char *name = strrchr(path, '/') + 1;

		FUZZ_CHECK(ZkValidatePath(parent, false) == NULL, "the parent of a valid path is invalid");
		FUZZ_CHECK(strcmp(ZkJoinPath(parent, name), path) == 0,
				   "parent + name is not the path");
	}
}

/* is entry "scheme:id:perms" with perms nonempty, in cdrwa order? */
static bool
acl_entry_is_normal(const char *entry)
{
	const char *first = strchr(entry, ':');
	const char *last = strrchr(entry, ':');
	const char *order = "cdrwa";
	const char *p;

	if (first == NULL || first == last || last[1] == '\0')
		return false;
	for (p = last + 1; *p; p++)
	{
		const char *at = strchr(order, *p);

		if (at == NULL)
			return false;
		order = at + 1;			/* each letter once, in order */
	}
	return true;
}

static bool
acl_has_auth(int nacl, char **acl)
{
	int			i;

	for (i = 0; i < nacl; i++)
		if (acl[i] != NULL && strncmp(acl[i], "auth:", 5) == 0)
			return true;
	return false;
}

/*
 * An ACL that passed the record checks, with the identities it was
 * checked against (NULL for a txn's).
 */
void
FuzzCheckAcl(int nacl, char **acl, const ZkAuth *auth)
{
	int			n;
	char	  **out;
	int			n2;
	char	  **out2;
	const char *reason;
	int			i;
	int			j;
	ZkAuth		probe;

	reason = ZkAclNormalize(nacl, acl, auth, &n, &out);
	FUZZ_CHECK(reason == NULL, "a checked ACL does not normalize");
	FUZZ_CHECK(n >= 1 && n <= ZK_MAX_ACL_ENTRIES, "a normalized ACL has too many entries");
	for (i = 0; i < n; i++)
	{
		FUZZ_CHECK(strlen(out[i]) <= ZK_MAX_ACL_ENTRY_BYTES, "a normalized ACL entry is too long");
		FUZZ_CHECK(acl_entry_is_normal(out[i]), "a normalized ACL entry is not in normal form");
		for (j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(out[i], out[j]) != 0, "a normalized ACL has a duplicate");
	}

	/*
	 * "auth" entries expand to the request's identities, which the leader
	 * checks again as a txn (prep_processor.c): only an ACL without them
	 * must come out as a valid txn ACL.
	 */
	if (auth != NULL && acl_has_auth(nacl, acl))
		return;
	reason = ZkAclNormalize(n, out, NULL, &n2, &out2);
	FUZZ_CHECK(reason == NULL, "a normalized ACL does not normalize again");
	FUZZ_CHECK(n2 == n, "normalizing an ACL twice changes its length");
	for (i = 0; i < n; i++)
		FUZZ_CHECK(strcmp(out[i], out2[i]) == 0, "normalizing an ACL twice changes it");

	/*
	 * The normalized ACL grants what the original grants, to a session
	 * that holds every identity the ACL names.
	 */
	memset(&probe, 0, sizeof(probe));
	probe.nids = n;
	probe.ids = palloc(sizeof(char *) * n);
	for (i = 0; i < n; i++)
		probe.ids[i] = pnstrdup(out[i], strrchr(out[i], ':') - out[i]);
	for (i = 0; i < lengthof(all_perms); i++)
	{
		bool		a = ZkAclPermits(nacl, acl, all_perms[i], &probe);
		bool		b = ZkAclPermits(n, out, all_perms[i], &probe);

		FUZZ_CHECK(a == b, "a normalized ACL grants other permissions");
		FUZZ_CHECK(ZkAclPermits(nacl, acl, all_perms[i], NULL) ==
				   ZkAclPermits(n, out, all_perms[i], NULL),
				   "a normalized ACL grants other permissions to nobody");
	}
}

static void
check_ops(const ZkRecord *rec, bool txn)
{
	int			i;

	if (rec->type == ZK_OP_MULTI)
		FUZZ_CHECK(rec->nops >= 0 && rec->nops <= ZK_MAX_MULTI_OPS, "multi op count");
	else
		FUZZ_CHECK(rec->nops == 1 && rec->ops[0].type == rec->type, "single op record");
	FUZZ_CHECK(rec->ops != NULL, "a record's ops are null");
	for (i = 0; i < rec->nops; i++)
	{
		const ZkOp *op = &rec->ops[i];

		FUZZ_CHECK(op->data_len >= 0 && op->data_len <= ZK_MAX_DATA_BYTES, "data length");
		FUZZ_CHECK(op->data_len == 0 || op->data != NULL, "data is null");
		FUZZ_CHECK(op->type != ZK_OP_MULTI, "a multi inside a multi");
		FuzzCheckPath(op->path, !txn && op->type == ZK_OP_CREATE &&
					  ZK_MODE_IS_SEQUENTIAL(op->mode));
		if (op->type == ZK_OP_CREATE || op->type == ZK_OP_SETACL)
			FuzzCheckAcl(op->nacl, op->acl, txn ? NULL : &rec->auth);
		else
			FUZZ_CHECK(op->nacl == 0, "an ACL on an op that has none");
		if (op->type == ZK_OP_CREATE)
		{
			FUZZ_CHECK(op->mode >= ZK_MODE_PERSISTENT &&
					   op->mode <= ZK_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL, "create mode");
			FUZZ_CHECK(ZK_MODE_IS_TTL(op->mode) ? op->ttl_ms > 0 && op->ttl_ms <= ZK_MAX_TTL_MS :
					   op->ttl_ms == 0, "ttl");
		}
		if (op->type == ZK_OP_FENCE)
			FUZZ_CHECK(op->token > 0, "fencing token");
	}
}

void
FuzzCheckRequest(const ZkRecord *req)
{
	const char *reason = NULL;
	int			i;

	FUZZ_CHECK(ZkCheckRequest(req, &reason) == ZK_OK && reason == NULL,
			   "a decoded request fails ZkCheckRequest");
	FUZZ_CHECK(req->auth.nids >= 0 && req->auth.nids <= ZK_MAX_AUTH_IDS, "identity count");
	for (i = 0; i < req->auth.nids; i++)
		FUZZ_CHECK(req->auth.ids[i] != NULL &&
				   strlen(req->auth.ids[i]) <= ZK_MAX_AUTH_ID_BYTES, "identity");
	switch (req->type)
	{
		case ZK_OP_CREATESESSION:
			FUZZ_CHECK(req->timeout_ms > 0, "session timeout");
			break;
		case ZK_OP_CLOSESESSION:
			FUZZ_CHECK(req->target_session != ZK_SERVER_SESSION, "closeSession target");
			break;
		case ZK_OP_ERROR:
			FUZZ_CHECK(req->err < 0, "error request's error");
			break;
		default:
			check_ops(req, false);
			break;
	}
}

void
FuzzCheckTxn(const ZkRecord *txn)
{
	const char *reason = NULL;

	FUZZ_CHECK(ZkCheckTxn(txn, &reason) == ZK_OK && reason == NULL,
			   "a decoded txn fails ZkCheckTxn");
	FUZZ_CHECK(txn->zxid > 0, "txn zxid");
	switch (txn->type)
	{
		case ZK_OP_CREATESESSION:
			FUZZ_CHECK(txn->timeout_ms > 0 && txn->owner >= 0 && txn->owner <= 255,
					   "createSession txn");
			break;
		case ZK_OP_CLOSESESSION:
			FUZZ_CHECK(txn->target_session != ZK_SERVER_SESSION, "closeSession target");
			break;
		case ZK_OP_ERROR:
			FUZZ_CHECK(txn->err < 0 && txn->failed_index >= -1 &&
					   txn->failed_index < ZK_MAX_MULTI_OPS, "error txn");
			break;
		default:
			check_ops(txn, true);
			break;
	}
}

/*
 * data (len bytes) decoded as req: its encoding is data again, but for
 * the superuser flag, and survives a second round.
 */
void
FuzzRoundTripRequest(const char *data, int len, const ZkRecord *req)
{
	StringInfoData e1;
	StringInfoData e2;
	ZkRecord	again;
	int			flag_at;
	int			i;

	initStringInfo(&e1);
	ZkEncodeRequest(&e1, req);
	FUZZ_CHECK(e1.len == len, "a request re-encodes to another length");
	/* auth: u8 superuser, u16 n, n x (i32 len, bytes) */
	flag_at = len - 3;
	for (i = 0; i < req->auth.nids; i++)
		flag_at -= 4 + (int) strlen(req->auth.ids[i]);
	FUZZ_CHECK(flag_at >= 0, "the superuser flag is outside the request");
	FUZZ_CHECK(memcmp(e1.data, data, flag_at) == 0 &&
			   memcmp(e1.data + flag_at + 1, data + flag_at + 1, len - flag_at - 1) == 0,
			   "a request re-encodes to other bytes");
	FUZZ_CHECK((unsigned char) e1.data[flag_at] == (data[flag_at] != 0 ? 1 : 0),
			   "a request's superuser flag re-encodes wrongly");

	FUZZ_CHECK(ZkDecodeRequest(e1.data, e1.len, &again) == NULL,
			   "a re-encoded request does not decode");
	FuzzCheckRequest(&again);
	initStringInfo(&e2);
	ZkEncodeRequest(&e2, &again);
	FUZZ_CHECK(FuzzSameBytes(&e2, e1.data, e1.len), "a request does not survive a round trip");
}

/* the same for a txn, whose encoding is canonical */
void
FuzzRoundTripTxn(const char *data, int len, const ZkRecord *txn)
{
	StringInfoData e1;
	StringInfoData e2;
	ZkRecord	again;

	initStringInfo(&e1);
	ZkEncodeTxn(&e1, txn);
	FUZZ_CHECK(FuzzSameBytes(&e1, data, len), "a txn re-encodes to other bytes");
	FUZZ_CHECK(ZkDecodeTxn(e1.data, e1.len, &again) == NULL, "a re-encoded txn does not decode");
	FuzzCheckTxn(&again);
	initStringInfo(&e2);
	ZkEncodeTxn(&e2, &again);
	FUZZ_CHECK(FuzzSameBytes(&e2, e1.data, e1.len), "a txn does not survive a round trip");
}
