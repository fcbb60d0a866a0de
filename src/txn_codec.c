/*-------------------------------------------------------------------------
 *
 * txn_codec.c
 *	  Versioned binary encoding of requests (client -> leader) and txns
 *	  (leader -> log -> applier), independent of SQL, in the spirit of
 *	  ZooKeeper's jute records.
 *
 * Layout, all integers big-endian:
 *
 *	request: 'R' u8 version, i64 session, i32 cxid, i16 type, body,
 *			 auth (u8 superuser, u16 n, n x string)
 *	txn:	 'T' u8 version, i64 session, i32 cxid, i64 zxid, i64 time,
 *			 i16 type, body
 *
 * A body is the op of a single-op record, the ops of a multi (u16 n, then
 * n x (i16 type, op)), the timeout (and owner, in a txn) of createSession,
 * the session closeSession closes, and (err, failed op index) for an error
 * txn; an error request (one refused where it entered, which the leader
 * turns into an error txn) carries the err alone.
 * Strings and data are i32 length + bytes.
 *
 * Decoding faces the network (forwarded requests and proposals come from
 * peers): every length is checked against what is left and against the
 * limits, trailing bytes are refused, and a decoded record must pass the
 * checks of record_check.c, the same that a request passes where it
 * enters.  A decoder returns NULL or the reason the input is malformed; it
 * never reads past the buffer, and never throws for bad input.
 *
 * IDENTIFICATION
 *	  src/txn_codec.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "port/pg_bswap.h"
#include "utils/memutils.h"

#include "record_check.h"
#include "txn_codec.h"
#include "zkpg.h"

#define REQUEST_MAGIC	'R'
#define TXN_MAGIC		'T'
#define CODEC_VERSION	1


typedef struct Reader
{
	const char *p;
	const char *end;
	const char *error;
} Reader;

static void put_i8(StringInfo buf, int8 v);
static void put_i16(StringInfo buf, int16 v);
static void put_i32(StringInfo buf, int32 v);
static void put_i64(StringInfo buf, int64 v);
static void put_bytes(StringInfo buf, const char *data, int32 len);
static void put_string(StringInfo buf, const char *s);
static void put_acl(StringInfo buf, int nacl, char **acl);
static void put_op(StringInfo buf, const ZkOp *op, bool txn);

static bool need(Reader *r, size_t n);
static int8 get_i8(Reader *r);
static int16 get_i16(Reader *r);
static int32 get_i32(Reader *r);
static int64 get_i64(Reader *r);
static char *get_bytes(Reader *r, int32 *len, int32 max);
static char *get_string(Reader *r, int32 max);
static void get_acl(Reader *r, int *nacl, char ***acl);
static void get_op(Reader *r, ZkOp *op, int16 type, bool txn);
static bool op_type_is_valid(int16 type, bool txn);

/* ---- writing ---- */

static void
put_i8(StringInfo buf, int8 v)
{
	appendStringInfoChar(buf, (char) v);
}

static void
put_i16(StringInfo buf, int16 v)
{
	uint16		n = pg_hton16((uint16) v);

	appendBinaryStringInfo(buf, (char *) &n, 2);
}

static void
put_i32(StringInfo buf, int32 v)
{
	uint32		n = pg_hton32((uint32) v);

	appendBinaryStringInfo(buf, (char *) &n, 4);
}

static void
put_i64(StringInfo buf, int64 v)
{
	uint64		n = pg_hton64((uint64) v);

	appendBinaryStringInfo(buf, (char *) &n, 8);
}

static void
put_bytes(StringInfo buf, const char *data, int32 len)
{
	put_i32(buf, len);
	if (len > 0)
		appendBinaryStringInfo(buf, data, len);
}

static void
put_string(StringInfo buf, const char *s)
{
	put_bytes(buf, s, (int32) strlen(s));
}

static void
put_acl(StringInfo buf, int nacl, char **acl)
{
	int			i;

	put_i16(buf, (int16) nacl);
	for (i = 0; i < nacl; i++)
		put_string(buf, acl[i]);
}

static void
put_op(StringInfo buf, const ZkOp *op, bool txn)
{
	switch (op->type)
	{
		case ZK_OP_CREATE:
			put_string(buf, op->path);
			put_bytes(buf, op->data, op->data_len);
			put_i8(buf, op->mode);
			put_i64(buf, op->ttl_ms);
			put_acl(buf, op->nacl, op->acl);
			if (txn)
			{
				put_i64(buf, op->ephemeral_owner);
				put_i32(buf, op->parent_creates);
			}
			break;
		case ZK_OP_DELETE:
			put_string(buf, op->path);
			if (!txn)
				put_i32(buf, op->version);
			break;
		case ZK_OP_SETDATA:
			put_string(buf, op->path);
			put_bytes(buf, op->data, op->data_len);
			put_i32(buf, op->version);
			break;
		case ZK_OP_SETACL:
			put_string(buf, op->path);
			put_acl(buf, op->nacl, op->acl);
			put_i32(buf, op->version);
			break;
		case ZK_OP_CHECK:
			put_string(buf, op->path);
			put_i32(buf, op->version);
			break;
		case ZK_OP_FENCE:
			put_string(buf, op->path);
			put_i64(buf, op->token);
			break;
		case ZK_OP_COUNTER:
			/* a request also names the ACL of the node it may create */
			put_string(buf, op->path);
			put_i64(buf, op->counter);
			if (txn)
				put_i32(buf, op->version);
			else
				put_acl(buf, op->nacl, op->acl);
			break;
		default:
			elog(ERROR, "cannot encode op type %d", op->type);
	}
}

static void
put_body(StringInfo buf, const ZkRecord *rec, bool txn)
{
	int			i;

	switch (rec->type)
	{
		case ZK_OP_CREATESESSION:
			put_i32(buf, rec->timeout_ms);
			if (txn)
				put_i32(buf, rec->owner);
			break;
		case ZK_OP_CLOSESESSION:
			put_i64(buf, rec->target_session);
			break;
		case ZK_OP_ERROR:
			put_i32(buf, rec->err);
			if (txn)
				put_i32(buf, rec->failed_index);
			break;
		case ZK_OP_MULTI:
			put_i16(buf, (int16) rec->nops);
			for (i = 0; i < rec->nops; i++)
			{
				put_i16(buf, rec->ops[i].type);
				put_op(buf, &rec->ops[i], txn);
			}
			break;
		default:
			Assert(rec->nops == 1 && rec->ops[0].type == rec->type);
			put_op(buf, &rec->ops[0], txn);
			break;
	}
}

/*
 * A request of the server itself (session expiry, container deletion), as
 * the superuser of no session, encoded.
 */
StringInfo
ZkServerRequest(int type, int64 target_session, int nops, ZkOp *ops)
{
	StringInfo	buf = makeStringInfo();
	ZkRecord	req;

	memset(&req, 0, sizeof(req));
	req.session_id = ZK_SERVER_SESSION;
	req.type = type;
	req.target_session = target_session;
	req.nops = nops;
	req.ops = ops;
	req.auth.superuser = true;
	ZkEncodeRequest(buf, &req);
	return buf;
}

void
ZkEncodeRequest(StringInfo buf, const ZkRecord *req)
{
	int			i;

	put_i8(buf, REQUEST_MAGIC);
	put_i8(buf, CODEC_VERSION);
	put_i64(buf, req->session_id);
	put_i32(buf, req->cxid);
	put_i16(buf, req->type);
	put_body(buf, req, false);
	put_i8(buf, req->auth.superuser ? 1 : 0);
	put_i16(buf, (int16) req->auth.nids);
	for (i = 0; i < req->auth.nids; i++)
		put_string(buf, req->auth.ids[i]);
}

void
ZkEncodeTxn(StringInfo buf, const ZkRecord *txn)
{
	put_i8(buf, TXN_MAGIC);
	put_i8(buf, CODEC_VERSION);
	put_i64(buf, txn->session_id);
	put_i32(buf, txn->cxid);
	put_i64(buf, txn->zxid);
	put_i64(buf, txn->time);
	put_i16(buf, txn->type);
	put_body(buf, txn, true);
}

/* ---- reading ---- */

static bool
need(Reader *r, size_t n)
{
	if (r->error)
		return false;
	if ((size_t) (r->end - r->p) < n)
	{
		r->error = "record is truncated";
		return false;
	}
	return true;
}

static int8
get_i8(Reader *r)
{
	if (!need(r, 1))
		return 0;
	return (int8) *r->p++;
}

static int16
get_i16(Reader *r)
{
	uint16		n;

	if (!need(r, 2))
		return 0;
	memcpy(&n, r->p, 2);
	r->p += 2;
	return (int16) pg_ntoh16(n);
}

static int32
get_i32(Reader *r)
{
	uint32		n;

	if (!need(r, 4))
		return 0;
	memcpy(&n, r->p, 4);
	r->p += 4;
	return (int32) pg_ntoh32(n);
}

static int64
get_i64(Reader *r)
{
	uint64		n;

	if (!need(r, 8))
		return 0;
	memcpy(&n, r->p, 8);
	r->p += 8;
	return (int64) pg_ntoh64(n);
}

/* Bytes with a length prefix; the copy is NUL-terminated for convenience. */
static char *
get_bytes(Reader *r, int32 *len, int32 max)
{
	int32		n = get_i32(r);
	char	   *out;

	*len = 0;
	if (r->error)
		return NULL;
	if (n < 0 || n > max)
	{
		r->error = "length field out of range";
		return NULL;
	}
	if (!need(r, n))
		return NULL;
	out = palloc(n + 1);
	memcpy(out, r->p, n);
	out[n] = '\0';
	r->p += n;
	*len = n;
	return out;
}

static char *
get_string(Reader *r, int32 max)
{
	int32		len;
	char	   *s = get_bytes(r, &len, max);

	if (s != NULL && (int32) strlen(s) != len)
	{
		r->error = "string contains a NUL byte";
		return NULL;
	}
	return s;
}

static void
get_acl(Reader *r, int *nacl, char ***acl)
{
	int16		n = get_i16(r);
	int			i;

	*nacl = 0;
	*acl = NULL;
	if (r->error)
		return;
	if (n < 0 || n > ZK_MAX_ACL_ENTRIES)
	{
		r->error = "ACL entry count out of range";
		return;
	}
	*acl = palloc0(sizeof(char *) * Max(n, 1));
	for (i = 0; i < n && !r->error; i++)
		(*acl)[i] = get_string(r, ZK_MAX_ACL_ENTRY_BYTES);
	if (!r->error)
		*nacl = n;
}

static bool
op_type_is_valid(int16 type, bool txn)
{
	return type == ZK_OP_CREATE || type == ZK_OP_DELETE ||
		type == ZK_OP_SETDATA || type == ZK_OP_SETACL ||
		type == ZK_OP_CHECK || type == ZK_OP_FENCE || type == ZK_OP_COUNTER;
}

static void
get_op(Reader *r, ZkOp *op, int16 type, bool txn)
{
	memset(op, 0, sizeof(ZkOp));
	op->type = type;
	op->version = -1;
	if (!op_type_is_valid(type, txn))
	{
		r->error = "unknown op type";
		return;
	}
	op->path = get_string(r, ZK_MAX_PATH_BYTES);
	switch (type)
	{
		case ZK_OP_CREATE:
			op->data = get_bytes(r, &op->data_len, ZK_MAX_DATA_BYTES);
			op->mode = get_i8(r);
			op->ttl_ms = get_i64(r);
			get_acl(r, &op->nacl, &op->acl);
			if (txn)
			{
				op->ephemeral_owner = get_i64(r);
				op->parent_creates = get_i32(r);
			}
			break;
		case ZK_OP_DELETE:
			if (!txn)
				op->version = get_i32(r);
			break;
		case ZK_OP_SETDATA:
			op->data = get_bytes(r, &op->data_len, ZK_MAX_DATA_BYTES);
			op->version = get_i32(r);
			break;
		case ZK_OP_SETACL:
			get_acl(r, &op->nacl, &op->acl);
			op->version = get_i32(r);
			break;
		case ZK_OP_CHECK:
			op->version = get_i32(r);
			break;
		case ZK_OP_FENCE:
			op->token = get_i64(r);
			break;
		case ZK_OP_COUNTER:
			op->counter = get_i64(r);
			if (txn)
				op->version = get_i32(r);
			else
				get_acl(r, &op->nacl, &op->acl);
			break;
	}
}

static void
get_body(Reader *r, ZkRecord *rec, bool txn)
{
	int			i;

	rec->nops = 0;
	rec->ops = NULL;
	rec->failed_index = -1;
	switch (rec->type)
	{
		case ZK_OP_CREATESESSION:
			rec->timeout_ms = get_i32(r);
			if (txn)
				rec->owner = get_i32(r);
			break;
		case ZK_OP_CLOSESESSION:
			rec->target_session = get_i64(r);
			break;
		case ZK_OP_ERROR:
			/* a txn, or a request refused where it entered (txn_codec.h) */
			rec->err = get_i32(r);
			if (txn)
				rec->failed_index = get_i32(r);
			break;
		case ZK_OP_MULTI:
			{
				int16		n = get_i16(r);

				if (r->error)
					break;
				if (n < 0 || n > ZK_MAX_MULTI_OPS)
				{
					r->error = "multi op count out of range";
					break;
				}
				rec->ops = palloc0(sizeof(ZkOp) * Max(n, 1));
				for (i = 0; i < n && !r->error; i++)
				{
					int16		t = get_i16(r);

					if (r->error)
						break;
					get_op(r, &rec->ops[i], t, txn);
				}
				if (!r->error)
					rec->nops = n;
			}
			break;
		default:
			rec->ops = palloc0(sizeof(ZkOp));
			get_op(r, &rec->ops[0], rec->type, txn);
			if (!r->error)
				rec->nops = 1;
			break;
	}
}

const char *
ZkDecodeRequest(const char *data, int len, ZkRecord *req)
{
	Reader		r = {data, data + len, NULL};
	int			i;

	memset(req, 0, sizeof(ZkRecord));
	if (len > ZK_MAX_RECORD_BYTES)
		return "record too large";
	if (get_i8(&r) != REQUEST_MAGIC || get_i8(&r) != CODEC_VERSION)
		return r.error ? r.error : "not a zkpg request of a known version";
	req->session_id = get_i64(&r);
	req->cxid = get_i32(&r);
	req->type = get_i16(&r);
	get_body(&r, req, false);
	req->auth.superuser = (get_i8(&r) != 0);
	{
		int16		n = get_i16(&r);

		if (!r.error && (n < 0 || n > ZK_MAX_AUTH_IDS))
			r.error = "auth identity count out of range";
		if (!r.error)
		{
			req->auth.ids = palloc0(sizeof(char *) * Max(n, 1));
			for (i = 0; i < n && !r.error; i++)
				req->auth.ids[i] = get_string(&r, ZK_MAX_AUTH_ID_BYTES);
			if (!r.error)
				req->auth.nids = n;
		}
	}
	if (!r.error && r.p != r.end)
		r.error = "trailing bytes after the request";
	if (!r.error)
		(void) ZkCheckRequest(req, &r.error);
	return r.error;
}

const char *
ZkDecodeTxn(const char *data, int len, ZkRecord *txn)
{
	Reader		r = {data, data + len, NULL};

	memset(txn, 0, sizeof(ZkRecord));
	if (len > ZK_MAX_RECORD_BYTES)
		return "record too large";
	if (get_i8(&r) != TXN_MAGIC || get_i8(&r) != CODEC_VERSION)
		return r.error ? r.error : "not a zkpg txn of a known version";
	txn->session_id = get_i64(&r);
	txn->cxid = get_i32(&r);
	txn->zxid = get_i64(&r);
	txn->time = get_i64(&r);
	txn->type = get_i16(&r);
	get_body(&r, txn, true);
	if (!r.error && r.p != r.end)
		r.error = "trailing bytes after the txn";
	if (!r.error)
		(void) ZkCheckTxn(txn, &r.error);
	return r.error;
}

/*
 * Peer messages: 'P' u8 version, u8 type, the sender's notification
 * (i32 from, i8 state, i8 replication, i64 election epoch, i32 leader, i64 zxid, i64 peer
 * epoch), i64 epoch, then by type:
 *
 *	APPEND:   i64 prev zxid, i64 committed, u8 flags, i32 n,
 *			  n x (i64 zxid, i32 len, bytes)
 *	REQUESTS: i32 n, n x (i32 len, bytes)
 *	PING:	  i32 n, n x i64 session
 *	NEWLEADER: i64 the zxid the learner's log must end at
 *	CANCOMMIT: i64 prev zxid, i64 the batch's last zxid
 *	SYNC, LEADERINFO, SNAP, NOTIFICATION: nothing more.
 *
 * An answer: 'A' u8 version, the answering server's notification, u8 ok,
 * i64 accepted epoch, i64 current epoch, i64 last logged, i64 applied,
 * i64 committed.
 */
#define PEER_MAGIC		'P'
#define ANSWER_MAGIC	'A'
#define MAX_PEER_ITEMS	100000
#define MAX_PEER_ITEM_BYTES ZK_MAX_RECORD_BYTES

static void
put_notification(StringInfo buf, const ZkNotification *n)
{
	put_i32(buf, n->from);
	put_i8(buf, (int8) n->state);
	put_i8(buf, n->replication);
	put_i64(buf, n->election_epoch);
	put_i32(buf, n->vote.leader);
	put_i64(buf, n->vote.zxid);
	put_i64(buf, n->vote.peer_epoch);
}

static void
get_notification(Reader *r, ZkNotification *n)
{
	int8		state;

	n->from = get_i32(r);
	state = get_i8(r);
	n->replication = get_i8(r);
	n->election_epoch = get_i64(r);
	n->vote.leader = get_i32(r);
	n->vote.zxid = get_i64(r);
	n->vote.peer_epoch = get_i64(r);
	if (r->error)
		return;
	if (n->from < 1 || n->from > 255)
		r->error = "sender id out of range";
	else if (state != ZK_STATE_LOOKING && state != ZK_STATE_FOLLOWING &&
			 state != ZK_STATE_LEADING && state != ZK_STATE_OBSERVING)
		r->error = "server state out of range";
	else if (n->replication < ZK_REPLICATION_ZAB || n->replication > ZK_REPLICATION_3PC)
		r->error = "replication mode out of range";
	else if (n->vote.leader < -1 || n->vote.leader > 255 || n->election_epoch < 0 ||
			 n->vote.zxid < 0 || n->vote.peer_epoch < 0)
		r->error = "vote fields out of range";
	n->state = (ZkServerState) state;
}

void
ZkEncodePeerMessage(StringInfo buf, const ZkPeerMessage *m)
{
	int			i;

	put_i8(buf, PEER_MAGIC);
	put_i8(buf, CODEC_VERSION);
	put_i8(buf, (int8) m->type);
	put_notification(buf, &m->note);
	put_i64(buf, m->epoch);
	switch (m->type)
	{
		case ZK_MSG_APPEND:
			put_i64(buf, m->prev_zxid);
			put_i64(buf, m->committed);
			put_i8(buf, (int8) m->flags);
			put_i32(buf, m->n);
			for (i = 0; i < m->n; i++)
			{
				put_i64(buf, m->zxids[i]);
				put_bytes(buf, m->items[i], m->lens[i]);
			}
			break;
		case ZK_MSG_REQUESTS:
			put_i32(buf, m->n);
			for (i = 0; i < m->n; i++)
				put_bytes(buf, m->items[i], m->lens[i]);
			break;
		case ZK_MSG_PING:
			put_i32(buf, m->n);
			for (i = 0; i < m->n; i++)
				put_i64(buf, m->touches[i]);
			break;
		case ZK_MSG_NEWLEADER:
			put_i64(buf, m->prev_zxid);
			break;
		case ZK_MSG_CANCOMMIT:
			put_i64(buf, m->prev_zxid);
			put_i64(buf, m->committed);
			break;
		default:
			break;
	}
}

/*
 * Items point into data (they are not copied): data must outlive m.
 */
/*
 * A count of items of at least min_bytes each: within MAX_PEER_ITEMS, and
 * no more than the bytes left can hold, so that a short message cannot
 * make us allocate for items it does not carry.
 */
static bool
item_count_fits(const Reader *r, int32 n, int min_bytes)
{
	return n >= 0 && n <= MAX_PEER_ITEMS && (int64) n * min_bytes <= r->end - r->p;
}

static const char *
get_item(Reader *r, int32 *len)
{
	int32		n = get_i32(r);
	const char *p;

	*len = 0;
	if (r->error)
		return NULL;
	if (n < 0 || n > MAX_PEER_ITEM_BYTES)
	{
		r->error = "length field out of range";
		return NULL;
	}
	if (!need(r, n))
		return NULL;
	p = r->p;
	r->p += n;
	*len = n;
	return p;
}

const char *
ZkDecodePeerMessage(const char *data, int len, ZkPeerMessage *m)
{
	Reader		r = {data, data + len, NULL};
	int8		type;
	int			i;

	memset(m, 0, sizeof(ZkPeerMessage));
	if (get_i8(&r) != PEER_MAGIC || get_i8(&r) != CODEC_VERSION)
		return r.error ? r.error : "not a zkpg peer message of a known version";
	type = get_i8(&r);
	if (!r.error && (type < ZK_MSG_NOTIFICATION || type > ZK_MSG_CANCOMMIT))
		return "unknown peer message type";
	m->type = (ZkPeerMsgType) type;
	get_notification(&r, &m->note);
	m->epoch = get_i64(&r);
	if (!r.error && (m->epoch < 0 || m->epoch > UINT32_MAX))
		r.error = "epoch out of range";

	switch (m->type)
	{
		case ZK_MSG_APPEND:
			m->prev_zxid = get_i64(&r);
			m->committed = get_i64(&r);
			m->flags = (uint8) get_i8(&r);
			m->n = get_i32(&r);
			if (r.error)
				break;
			if (m->prev_zxid < 0 || m->committed < 0 || (m->flags & ~ZK_APPEND_FLAGS) != 0)
				r.error = "append header out of range";
			else if (!item_count_fits(&r, m->n, 8 + 4))
				r.error = "item count out of range";
			if (r.error)
				break;
			m->zxids = palloc(sizeof(ZkZxid) * Max(m->n, 1));
			m->items = palloc(sizeof(char *) * Max(m->n, 1));
			m->lens = palloc(sizeof(int32) * Max(m->n, 1));
			for (i = 0; i < m->n && !r.error; i++)
			{
				m->zxids[i] = get_i64(&r);
				m->items[i] = get_item(&r, &m->lens[i]);
				if (r.error)
					break;
				if (m->zxids[i] <= (i == 0 ? m->prev_zxid : m->zxids[i - 1]))
					r.error = "txn zxids are not increasing";
				else if (ZK_ZXID_EPOCH(m->zxids[i]) > m->epoch)
					r.error = "txn zxid of a later epoch";
			}
			break;
		case ZK_MSG_REQUESTS:
			m->n = get_i32(&r);
			if (!r.error && !item_count_fits(&r, m->n, 4))
				r.error = "item count out of range";
			if (r.error)
				break;
			m->items = palloc(sizeof(char *) * Max(m->n, 1));
			m->lens = palloc(sizeof(int32) * Max(m->n, 1));
			for (i = 0; i < m->n && !r.error; i++)
				m->items[i] = get_item(&r, &m->lens[i]);
			break;
		case ZK_MSG_PING:
			m->n = get_i32(&r);
			if (!r.error && !item_count_fits(&r, m->n, 8))
				r.error = "item count out of range";
			if (r.error)
				break;
			m->touches = palloc(sizeof(int64) * Max(m->n, 1));
			for (i = 0; i < m->n && !r.error; i++)
				m->touches[i] = get_i64(&r);
			break;
		case ZK_MSG_NEWLEADER:
			m->prev_zxid = get_i64(&r);
			if (!r.error && m->prev_zxid < 0)
				r.error = "newleader zxid out of range";
			break;
		case ZK_MSG_CANCOMMIT:
			m->prev_zxid = get_i64(&r);
			m->committed = get_i64(&r);
			if (!r.error && (m->prev_zxid < 0 || m->committed <= m->prev_zxid ||
							 ZK_ZXID_EPOCH(m->committed) > m->epoch))
				r.error = "cancommit batch out of range";
			break;
		default:
			break;
	}
	if (!r.error && r.p != r.end)
		r.error = "trailing bytes after the peer message";
	return r.error;
}

void
ZkEncodePeerAnswer(StringInfo buf, const ZkPeerAnswer *a)
{
	put_i8(buf, ANSWER_MAGIC);
	put_i8(buf, CODEC_VERSION);
	put_notification(buf, &a->note);
	put_i8(buf, a->ok ? 1 : 0);
	put_i64(buf, a->accepted_epoch);
	put_i64(buf, a->current_epoch);
	put_i64(buf, a->last_logged);
	put_i64(buf, a->applied);
	put_i64(buf, a->committed);
}

const char *
ZkDecodePeerAnswer(const char *data, int len, ZkPeerAnswer *a)
{
	Reader		r = {data, data + len, NULL};
	int8		ok;

	memset(a, 0, sizeof(ZkPeerAnswer));
	if (get_i8(&r) != ANSWER_MAGIC || get_i8(&r) != CODEC_VERSION)
		return r.error ? r.error : "not a zkpg peer answer of a known version";
	get_notification(&r, &a->note);
	ok = get_i8(&r);
	a->accepted_epoch = get_i64(&r);
	a->current_epoch = get_i64(&r);
	a->last_logged = get_i64(&r);
	a->applied = get_i64(&r);
	a->committed = get_i64(&r);
	if (r.error)
		return r.error;
	if (ok != 0 && ok != 1)
		return "answer flag out of range";
	a->ok = (ok == 1);
	if (a->accepted_epoch < 0 || a->current_epoch < 0 || a->last_logged < 0 ||
		a->applied < 0 || a->committed < 0)
		return "answer fields out of range";
	if (r.p != r.end)
		return "trailing bytes after the peer answer";
	return NULL;
}
