/*-------------------------------------------------------------------------
 *
 * quorum_config.h
 *	  The ensemble as configured by zkpg.servers and zkpg.myid.
 *
 * IDENTIFICATION
 *	  src/quorum_config.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_QUORUM_CONFIG_H
#define ZKPG_QUORUM_CONFIG_H

#define ZK_MAX_PEERS 32			/* = ZK_MAX_PEERS_SHM */
#define ZK_MAX_HOST 256

typedef struct ZkPeerConfig
{
	int			id;
	char		host[ZK_MAX_HOST];
	int			port;
	bool		observer;
} ZkPeerConfig;

typedef struct ZkQuorumConfig
{
	int			npeers;
	ZkPeerConfig peers[ZK_MAX_PEERS];
	int			nvoters;
	int			my_index;		/* in peers[], -1 when standalone */
} ZkQuorumConfig;

/* the peer worker's configuration (quorum_peer.c sets it) */
extern ZkQuorumConfig ZkQuorum;

extern const char *ZkParseQuorumConfig(const char *servers, int myid, ZkQuorumConfig *out);
extern void ZkStandaloneQuorumConfig(int myid, ZkQuorumConfig *out);
extern bool ZkIsQuorum(const ZkQuorumConfig *config, int nvoters_agreeing);
extern const char *ZkPeerRoleFor(const char *peer_roles, int id, char **role);

#endif							/* ZKPG_QUORUM_CONFIG_H */
