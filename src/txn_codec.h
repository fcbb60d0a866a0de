/*-------------------------------------------------------------------------
 *
 * txn_codec.h
 *	  Versioned binary encoding of requests and txns.
 *
 * IDENTIFICATION
 *	  src/txn_codec.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_TXN_CODEC_H
#define ZKPG_TXN_CODEC_H

#include "lib/stringinfo.h"
#include "shmem.h"
#include "zkpg.h"

extern void ZkEncodeRequest(StringInfo buf, const ZkRecord *req);
extern const char *ZkDecodeRequest(const char *data, int len, ZkRecord *req);
extern void ZkEncodeTxn(StringInfo buf, const ZkRecord *txn);
extern const char *ZkDecodeTxn(const char *data, int len, ZkRecord *txn);
extern void ZkEncodeNotification(StringInfo buf, const ZkNotification *n);
extern const char *ZkDecodeNotification(const char *data, int len, ZkNotification *n);

#endif							/* ZKPG_TXN_CODEC_H */
