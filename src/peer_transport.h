/*-------------------------------------------------------------------------
 *
 * peer_transport.h
 *	  Connections from the peer worker to the other peers.
 *
 * IDENTIFICATION
 *	  src/peer_transport.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_PEER_TRANSPORT_H
#define ZKPG_PEER_TRANSPORT_H

#include "lib/stringinfo.h"
#include "quorum_config.h"

/*
 * Called with each answer: peer index, the tag given to ZkTransportSend,
 * and the answer's bytes, or NULL when the call failed or was lost.
 */
typedef void (*ZkTransportAnswer) (int peer, int64 tag, const char *data, int len,
								   void *arg);

/* called by the peer worker */
extern void ZkTransportInit(const ZkQuorumConfig *config);
extern bool ZkTransportSend(int peer, StringInfo msg, int64 tag, bool replaceable);
extern bool ZkTransportSendWrapped(int peer, StringInfo msg, int64 tag,
								   const char *sql_before, const char *sql_after);
extern void ZkTransportWait(long timeout_ms, ZkTransportAnswer answer, void *arg);
extern bool ZkTransportConnected(int peer);
extern int	ZkTransportPending(int peer);
extern bool ZkTransportCarriesWork(int peer);
extern void ZkTransportReset(int peer, ZkTransportAnswer answer, void *arg);

#endif							/* ZKPG_PEER_TRANSPORT_H */
