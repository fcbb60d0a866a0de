/*-------------------------------------------------------------------------
 *
 * fuzz_peer_message.c
 *	  libFuzzer target: ZkDecodePeerMessage (txn_codec.c), the decoder of
 *	  every message a peer sends (the bytea argument of
 *	  zkpg.peer_message(), peer_functions.c): election notifications and
 *	  the vote in each message's note, PING with the sessions it touches,
 *	  REQUESTS, SYNC, LEADERINFO, APPEND (DIFF, TRUNC, PROPOSAL, COMMIT
 *	  and the 2PC/3PC votes), NEWLEADER, SNAP and CANCOMMIT.
 *
 * When the decoder accepts the input:
 * - the note, the epoch and the type's header are in range, the items lie
 *	 inside the input, and an APPEND's zxids increase from prev_zxid and
 *	 belong to no later epoch than the message's;
 * - the message re-encodes to exactly the input bytes and survives a
 *	 second decode/encode unchanged;
 * - each item is decoded as the receiver decodes it (an APPEND's as a
 *	 txn, a REQUESTS' as a request), and an item that decodes gets the
 *	 checks and round trip of fuzz_txn.c or fuzz_request.c.
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_peer_message.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fuzz_common.h"

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_message(const ZkPeerMessage *m, const char *data, int len)
{
	int			i;

	FUZZ_CHECK(m->type >= ZK_MSG_NOTIFICATION && m->type <= ZK_MSG_CANCOMMIT, "message type");
	FUZZ_CHECK(m->note.from >= 1 && m->note.from <= 255, "sender");
	FUZZ_CHECK(m->note.state == ZK_STATE_LOOKING || m->note.state == ZK_STATE_FOLLOWING ||
			   m->note.state == ZK_STATE_LEADING || m->note.state == ZK_STATE_OBSERVING,
			   "sender state");
	FUZZ_CHECK(m->note.replication >= ZK_REPLICATION_ZAB &&
			   m->note.replication <= ZK_REPLICATION_3PC, "replication");
	FUZZ_CHECK(m->note.vote.leader >= -1 && m->note.vote.leader <= 255 &&
			   m->note.election_epoch >= 0 && m->note.vote.zxid >= 0 &&
			   m->note.vote.peer_epoch >= 0, "vote");
	FUZZ_CHECK(m->epoch >= 0 && m->epoch <= UINT32_MAX, "epoch");

	switch (m->type)
	{
		case ZK_MSG_APPEND:
			FUZZ_CHECK(m->prev_zxid >= 0 && m->committed >= 0, "append header");
			FUZZ_CHECK((m->flags & ~ZK_APPEND_FLAGS) == 0, "append flags");
			/* fall through */
		case ZK_MSG_REQUESTS:
			FUZZ_CHECK(m->n >= 0 && m->n <= len, "item count");
			for (i = 0; i < m->n; i++)
			{
				FUZZ_CHECK(m->lens[i] >= 0 && m->lens[i] <= len, "item length");
				FUZZ_CHECK(m->items[i] >= data && m->items[i] + m->lens[i] <= data + len,
						   "an item lies outside the message");
				if (m->type == ZK_MSG_APPEND)
				{
					FUZZ_CHECK(m->zxids[i] > (i == 0 ? m->prev_zxid : m->zxids[i - 1]),
							   "append zxids do not increase");
					FUZZ_CHECK(ZK_ZXID_EPOCH(m->zxids[i]) <= m->epoch,
							   "append zxid of a later epoch");
				}
			}
			break;
		case ZK_MSG_PING:
			FUZZ_CHECK(m->n >= 0 && (int64) m->n * 8 <= len, "touch count");
			break;
		case ZK_MSG_NEWLEADER:
			FUZZ_CHECK(m->prev_zxid >= 0, "newleader zxid");
			break;
		case ZK_MSG_CANCOMMIT:
			FUZZ_CHECK(m->prev_zxid >= 0 && m->committed > m->prev_zxid &&
					   ZK_ZXID_EPOCH(m->committed) <= m->epoch, "cancommit batch");
			break;
		default:
			break;
	}
}

/* the items, decoded as the receiver decodes them */
static void
check_items(const ZkPeerMessage *m)
{
	int			i;

	for (i = 0; i < m->n; i++)
	{
		ZkRecord	rec;

		if (m->type == ZK_MSG_APPEND &&
			ZkDecodeTxn(m->items[i], m->lens[i], &rec) == NULL)
		{
			FuzzCheckTxn(&rec);
			FuzzRoundTripTxn(m->items[i], m->lens[i], &rec);
		}
		else if (m->type == ZK_MSG_REQUESTS &&
				 ZkDecodeRequest(m->items[i], m->lens[i], &rec) == NULL)
		{
			FuzzCheckRequest(&rec);
			FuzzRoundTripRequest(m->items[i], m->lens[i], &rec);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ZkPeerMessage m;
	const char *in = (const char *) data;

	if (size > ZK_MAX_RECORD_BYTES)
		return 0;
	if (ZkDecodePeerMessage(in, (int) size, &m) == NULL)
	{
		StringInfoData e1;
		StringInfoData e2;
		ZkPeerMessage again;

		check_message(&m, in, (int) size);
		initStringInfo(&e1);
		ZkEncodePeerMessage(&e1, &m);
		FUZZ_CHECK(FuzzSameBytes(&e1, in, (int) size),
				   "a peer message re-encodes to other bytes");
		FUZZ_CHECK(ZkDecodePeerMessage(e1.data, e1.len, &again) == NULL,
				   "a re-encoded peer message does not decode");
		check_message(&again, e1.data, e1.len);
		initStringInfo(&e2);
		ZkEncodePeerMessage(&e2, &again);
		FUZZ_CHECK(FuzzSameBytes(&e2, e1.data, e1.len),
				   "a peer message does not survive a round trip");
		check_items(&m);
	}
	FuzzArenaReset();
	return 0;
}
