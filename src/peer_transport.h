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

/* called with each answer: peer index, bytes */
typedef void (*ZkTransportAnswer) (int peer, const char *data, int len, void *arg);

/* called by the peer worker */
extern void ZkTransportInit(const ZkQuorumConfig *config);
extern void ZkTransportSend(int peer, StringInfo msg);
extern void ZkTransportWait(long timeout_ms, ZkTransportAnswer answer, void *arg);
extern bool ZkTransportConnected(int peer);

#endif							/* ZKPG_PEER_TRANSPORT_H */
