/*-------------------------------------------------------------------------
 *
 * snap.h
 *	  A learner's SNAP: copy the leader's tree and install it.
 *
 * IDENTIFICATION
 *	  src/snap.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_SNAP_H
#define ZKPG_SNAP_H

#include "quorum_config.h"

/* called by the learner (learner.c), outside a transaction */
extern bool ZkSnapInstall(const ZkPeerConfig *peer, int64 snap_epoch);

#endif							/* ZKPG_SNAP_H */
