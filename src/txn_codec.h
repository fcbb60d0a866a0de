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
extern StringInfo ZkServerRequest(int type, int64 target_session, int nops, ZkOp *ops);
extern const char *ZkDecodeRequest(const char *data, int len, ZkRecord *req);
extern void ZkEncodeTxn(StringInfo buf, const ZkRecord *txn);
extern const char *ZkDecodeTxn(const char *data, int len, ZkRecord *txn);

/*
 * What peers send each other: every message is a call of the receiver's
 * zkpg.peer_message() and carries the sender's notification (its state
 * and vote); the answer carries the receiver's.
 */
typedef enum ZkPeerMsgType
{
	ZK_MSG_NOTIFICATION = 1,	/* election: the vote alone */
	ZK_MSG_PING,				/* learner -> leader, each tick: touches */
	ZK_MSG_REQUESTS,			/* learner -> leader: forwarded requests */
	ZK_MSG_SYNC,				/* learner -> leader: your committed zxid? */
	ZK_MSG_LEADERINFO,			/* leader -> learner: the new epoch */
	ZK_MSG_APPEND,				/* leader -> learner: DIFF, TRUNC, PROPOSAL,
								 * COMMIT */
	ZK_MSG_NEWLEADER,			/* leader -> learner: synced, take the epoch */
	ZK_MSG_SNAP,				/* leader -> learner: copy my tree */
	ZK_MSG_CANCOMMIT			/* 3PC coordinator -> participant: can you
								 * take the batch (prev_zxid, committed]? */
} ZkPeerMsgType;

#define ZK_APPEND_TRUNC 0x01	/* drop logged txns after prev_zxid first */
#define ZK_APPEND_PREPARE 0x02	/* 2PC/3PC: in a transaction the sender
								 * PREPAREs: the vote */
#define ZK_APPEND_DECIDED 0x04	/* 2PC/3PC: sent after COMMIT PREPARED */
#define ZK_APPEND_FLAGS (ZK_APPEND_TRUNC | ZK_APPEND_PREPARE | ZK_APPEND_DECIDED)

typedef struct ZkPeerMessage
{
	ZkPeerMsgType type;
	ZkNotification note;		/* the sender's; note.from is the sender */
	int64		epoch;			/* the epoch this message belongs to */
	/* APPEND, CANCOMMIT; NEWLEADER: where the learner's log must end */
	ZkZxid		prev_zxid;		/* the txns follow this one */
	ZkZxid		committed;		/* everything up to here is committed */
	int			flags;
	/* APPEND (txns), REQUESTS (requests), PING (touched sessions) */
	int			n;
	ZkZxid	   *zxids;
	const char **items;
	int32	   *lens;
	int64	   *touches;
} ZkPeerMessage;

typedef struct ZkPeerAnswer
{
	ZkNotification note;		/* the answering server's */
	bool		ok;				/* the message was accepted */
	int64		accepted_epoch;
	int64		current_epoch;
	ZkZxid		last_logged;
	ZkZxid		applied;
	ZkZxid		committed;
} ZkPeerAnswer;

extern void ZkEncodePeerMessage(StringInfo buf, const ZkPeerMessage *m);
extern const char *ZkDecodePeerMessage(const char *data, int len, ZkPeerMessage *m);
extern void ZkEncodePeerAnswer(StringInfo buf, const ZkPeerAnswer *a);
extern const char *ZkDecodePeerAnswer(const char *data, int len, ZkPeerAnswer *a);

#endif							/* ZKPG_TXN_CODEC_H */
