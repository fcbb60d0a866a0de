/*-------------------------------------------------------------------------
 *
 * fuzz_txn.c
 *	  libFuzzer target: ZkDecodeTxn (txn_codec.c), the decoder of the txns
 *	  a leader proposes (zkpg.peer_message() APPEND, peer_functions.c) and
 *	  of the records of zkpg.txnlog that the applier (applier.c) and
 *	  zkpg.txnlog_records (status.c) read back.
 *
 * The input is one encoded txn.  When the decoder accepts it, the record
 * must pass ZkCheckTxn again and the checks of fuzz_common.c (paths,
 * ACLs, which in a txn are expanded already), re-encode to exactly the
 * input bytes and survive a second decode/encode unchanged.
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_txn.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fuzz_common.h"

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ZkRecord	txn;

	if (size > ZK_MAX_RECORD_BYTES)
		return 0;
	if (ZkDecodeTxn((const char *) data, (int) size, &txn) == NULL)
	{
		FuzzCheckTxn(&txn);
		FuzzRoundTripTxn((const char *) data, (int) size, &txn);
	}
	FuzzArenaReset();
	return 0;
}
