/*-------------------------------------------------------------------------
 *
 * fuzz_peer_answer.c
 *	  libFuzzer target: ZkDecodePeerAnswer (txn_codec.c), the decoder of
 *	  what zkpg.peer_message() returns to the peer that called it (read
 *	  by quorum_peer.c): the answering server's notification and where
 *	  its log, its tree and its commits stand.
 *
 * When the decoder accepts the input, the fields must be in range (the
 * notification as get_notification() promises, the positions not
 * negative), re-encode to exactly the input bytes and survive a second
 * decode/encode unchanged.
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_peer_answer.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fuzz_common.h"

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ZkPeerAnswer a;

	if (size > ZK_MAX_RECORD_BYTES)
		return 0;
	if (ZkDecodePeerAnswer((const char *) data, (int) size, &a) == NULL)
	{
		StringInfoData e1;
		StringInfoData e2;
		ZkPeerAnswer again;

		FUZZ_CHECK(a.note.from >= 1 && a.note.from <= 255, "answer sender");
		FUZZ_CHECK(a.note.state == ZK_STATE_LOOKING || a.note.state == ZK_STATE_FOLLOWING ||
				   a.note.state == ZK_STATE_LEADING || a.note.state == ZK_STATE_OBSERVING,
				   "answer state");
		FUZZ_CHECK(a.note.replication >= ZK_REPLICATION_ZAB &&
				   a.note.replication <= ZK_REPLICATION_3PC, "answer replication");
		FUZZ_CHECK(a.note.vote.leader >= -1 && a.note.vote.leader <= 255 &&
				   a.note.election_epoch >= 0 && a.note.vote.zxid >= 0 &&
				   a.note.vote.peer_epoch >= 0, "answer vote");
		FUZZ_CHECK(a.accepted_epoch >= 0 && a.current_epoch >= 0 && a.last_logged >= 0 &&
				   a.applied >= 0 && a.committed >= 0, "answer positions");

		initStringInfo(&e1);
		ZkEncodePeerAnswer(&e1, &a);
		FUZZ_CHECK(FuzzSameBytes(&e1, (const char *) data, (int) size),
				   "an answer re-encodes to other bytes");
		FUZZ_CHECK(ZkDecodePeerAnswer(e1.data, e1.len, &again) == NULL,
				   "a re-encoded answer does not decode");
		initStringInfo(&e2);
		ZkEncodePeerAnswer(&e2, &again);
		FUZZ_CHECK(FuzzSameBytes(&e2, e1.data, e1.len), "an answer does not survive a round trip");
	}
	FuzzArenaReset();
	return 0;
}
