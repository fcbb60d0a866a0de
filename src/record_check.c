/*-------------------------------------------------------------------------
 *
 * record_check.c
 *	  The limits of a request and of a txn, in one place.
 *
 * A logged txn must always apply: a txn that a learner's decoder or the
 * applier refused would stop the pipeline for good, since nothing after it
 * may be applied either.  So every limit the decoders enforce is checked
 * here, and this is called
 *
 * 1. where a request enters (request_queue.c, before it is queued): a
 *	  request that breaks a limit is refused with ZK008 or ZK114 and
 *	  reaches no queue, so a learner never forwards a batch that the
 *	  leader would refuse as a whole;
 * 2. by the leader's request processor on the txn it made
 *	  (prep_processor.c): a request that cannot become a txn within the
 *	  limits (an "auth" ACL that expands past them, say) becomes an error
 *	  txn before anything is logged, as ZooKeeper's PrepRequestProcessor
 *	  turns a failed request into one;
 * 3. by the decoders (txn_codec.c), which face the network.
 *
 * The limits are constants (zkpg.h), the same on every server: a setting
 * such as zkpg.max_data_bytes is a policy checked where a request enters
 * and by the request processor, never by a decoder, so that servers with
 * different settings still take each other's txns.
 *
 * Pure: no I/O, no catalog access.
 *
 * IDENTIFICATION
 *	  src/record_check.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "acl.h"
#include "path.h"
#include "record_check.h"
#include "zkpg.h"

static int	check_acl(int nacl, char **acl, const ZkAuth *auth, bool txn,
					  const char **reason);
static int	check_op(const ZkOp *op, const ZkAuth *auth, bool txn, const char **reason);
static int	check_ops(const ZkRecord *rec, bool txn, const char **reason);

static int
bad(const char **reason, const char *why)
{
	*reason = why;
	return ZK_ERR_BADARGUMENTS;
}

/*
 * An ACL of a request is checked as the request processor will expand it
 * against the request's identities ("auth" entries); a txn's is expanded
 * already.
 */
static int
check_acl(int nacl, char **acl, const ZkAuth *auth, bool txn, const char **reason)
{
	int			out_nacl;
	char	  **out_acl;
	int			i;

	if (nacl < 1 || nacl > ZK_MAX_ACL_ENTRIES || acl == NULL)
	{
		*reason = "an ACL has 1 to " CppAsString2(ZK_MAX_ACL_ENTRIES) " entries";
		return ZK_ERR_INVALIDACL;
	}
	for (i = 0; i < nacl; i++)
		if (acl[i] == NULL || strlen(acl[i]) > ZK_MAX_ACL_ENTRY_BYTES)
		{
			*reason = "an ACL entry has at most " CppAsString2(ZK_MAX_ACL_ENTRY_BYTES) " bytes";
			return ZK_ERR_INVALIDACL;
		}
	*reason = ZkAclNormalize(nacl, acl, txn ? NULL : auth, &out_nacl, &out_acl);
	return *reason == NULL ? ZK_OK : ZK_ERR_INVALIDACL;
}

static int
check_op(const ZkOp *op, const ZkAuth *auth, bool txn, const char **reason)
{
	const char *why;

	switch (op->type)
	{
		case ZK_OP_CREATE:
		case ZK_OP_DELETE:
		case ZK_OP_SETDATA:
		case ZK_OP_SETACL:
		case ZK_OP_CHECK:
		case ZK_OP_FENCE:
		case ZK_OP_COUNTER:
			break;
		default:
			return bad(reason, "unknown op type");
	}
	if (op->path == NULL || strlen(op->path) > ZK_MAX_PATH_BYTES)
		return bad(reason, "a path has at most " CppAsString2(ZK_MAX_PATH_BYTES) " bytes");
	/* a request's sequential create names a prefix; its txn the node */
	why = ZkValidatePath(op->path, !txn && op->type == ZK_OP_CREATE &&
						 ZK_MODE_IS_SEQUENTIAL(op->mode));
	if (why != NULL)
		return bad(reason, why);
	if (op->data_len < 0 || op->data_len > ZK_MAX_DATA_BYTES ||
		(op->data_len > 0 && op->data == NULL))
		return bad(reason, "data has at most " CppAsString2(ZK_MAX_DATA_BYTES) " bytes");
	if (!txn && op->version < -1 && op->type != ZK_OP_CREATE &&
		op->type != ZK_OP_FENCE && op->type != ZK_OP_COUNTER)
		return bad(reason, "a version is -1 or a version number");

	switch (op->type)
	{
		case ZK_OP_CREATE:
			if (op->mode < ZK_MODE_PERSISTENT || op->mode > ZK_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL)
				return bad(reason, "unknown create mode");
			if (ZK_MODE_IS_TTL(op->mode) ? (op->ttl_ms <= 0 || op->ttl_ms > ZK_MAX_TTL_MS) :
				op->ttl_ms != 0)
				return bad(reason, "a TTL is in (0, 2^40-1] ms, and only for TTL modes");
			return check_acl(op->nacl, op->acl, auth, txn, reason);
		case ZK_OP_SETACL:
			return check_acl(op->nacl, op->acl, auth, txn, reason);
		case ZK_OP_FENCE:
			if (op->token <= 0)
				return bad(reason, "a fencing token is positive");
			break;
		case ZK_OP_COUNTER:
			/* a txn's is the version it sets: the node was there */
			if (txn && op->version < 1)
				return bad(reason, "a counter's txn sets a version of 1 or more");
			if (op->data_len != 0)
				return bad(reason, "a counter op carries no data");
			return txn ? ZK_OK : check_acl(op->nacl, op->acl, auth, txn, reason);
	}
	return ZK_OK;
}

static int
check_ops(const ZkRecord *rec, bool txn, const char **reason)
{
	int			i;

	if (rec->type == ZK_OP_MULTI)
	{
		if (rec->nops < 0 || rec->nops > ZK_MAX_MULTI_OPS || (rec->nops > 0 && rec->ops == NULL))
			return bad(reason, "a multi has at most " CppAsString2(ZK_MAX_MULTI_OPS) " ops");
	}
	else if (rec->nops != 1 || rec->ops == NULL || rec->ops[0].type != rec->type)
		return bad(reason, "a single-op record holds one op of its type");
	for (i = 0; i < rec->nops; i++)
	{
		int			err = check_op(&rec->ops[i], &rec->auth, txn, reason);

		if (err != ZK_OK)
			return err;
	}
	return ZK_OK;
}

int
ZkCheckRequest(const ZkRecord *req, const char **reason)
{
	int			i;

	*reason = NULL;
	if (req->auth.nids < 0 || req->auth.nids > ZK_MAX_AUTH_IDS ||
		(req->auth.nids > 0 && req->auth.ids == NULL))
		return bad(reason, "a request carries at most " CppAsString2(ZK_MAX_AUTH_IDS) " identities");
	for (i = 0; i < req->auth.nids; i++)
		if (req->auth.ids[i] == NULL || strlen(req->auth.ids[i]) > ZK_MAX_AUTH_ID_BYTES)
			return bad(reason, "an identity has at most " CppAsString2(ZK_MAX_AUTH_ID_BYTES) " bytes");

	switch (req->type)
	{
		case ZK_OP_CREATESESSION:
			return req->timeout_ms > 0 ? ZK_OK : bad(reason, "session timeout out of range");
		case ZK_OP_CLOSESESSION:
			return req->target_session != ZK_SERVER_SESSION ? ZK_OK :
				bad(reason, "closeSession names no session");
		case ZK_OP_ERROR:
			/* refused where it entered; it becomes an error txn */
			return req->err < 0 ? ZK_OK : bad(reason, "error request without an error");
		default:
			return check_ops(req, false, reason);
	}
}

int
ZkCheckTxn(const ZkRecord *txn, const char **reason)
{
	*reason = NULL;
	if (txn->zxid <= 0)
		return bad(reason, "txn zxid out of range");
	switch (txn->type)
	{
		case ZK_OP_CREATESESSION:
			return txn->timeout_ms > 0 && txn->owner >= 0 && txn->owner <= 255 ? ZK_OK :
				bad(reason, "createSession fields out of range");
		case ZK_OP_CLOSESESSION:
			return txn->target_session != ZK_SERVER_SESSION ? ZK_OK :
				bad(reason, "closeSession names no session");
		case ZK_OP_ERROR:
			return txn->err < 0 && txn->failed_index >= -1 &&
				txn->failed_index < ZK_MAX_MULTI_OPS ? ZK_OK :
				bad(reason, "error txn fields out of range");
		default:
			return check_ops(txn, true, reason);
	}
}
