/*-------------------------------------------------------------------------
 *
 * fuzz_request.c
 *	  libFuzzer target: ZkDecodeRequest (txn_codec.c), the decoder of the
 *	  requests a learner forwards to its leader (zkpg.peer_message()
 *	  REQUESTS, peer_functions.c) and of those the peer worker takes off
 *	  the shared ring (quorum_peer.c).
 *
 * The input is one encoded request.  When the decoder accepts it, the
 * record must pass ZkCheckRequest again and the checks of fuzz_common.c
 * (paths, ACLs as the leader will expand them with the request's
 * identities), re-encode to the input bytes (the superuser flag is
 * normalised to 0/1) and survive a second decode/encode unchanged.
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_request.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fuzz_common.h"

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ZkRecord	req;

	if (size > ZK_MAX_RECORD_BYTES)
		return 0;
	if (ZkDecodeRequest((const char *) data, (int) size, &req) == NULL)
	{
		FuzzCheckRequest(&req);
		FuzzRoundTripRequest((const char *) data, (int) size, &req);
	}
	FuzzArenaReset();
	return 0;
}
