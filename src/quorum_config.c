/*-------------------------------------------------------------------------
 *
 * quorum_config.c
 *	  Parses and checks zkpg.servers (ZooKeeper's QuorumPeerConfig):
 *	  "1=host:port,2=host:port,3=host:port:observer".
 *
 * Pure: returns the reason a configuration is refused, so that the peer
 * worker can log it once and stay down instead of crash-looping.  The
 * port is the peer's PostgreSQL port: peers talk over libpq.
 *
 * IDENTIFICATION
 *	  src/quorum_config.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "quorum_config.h"

ZkQuorumConfig ZkQuorum;

static const char *parse_entry(char *entry, ZkPeerConfig *peer);
static char *trim_spaces(char *s);

/* s without its leading and trailing spaces (trimmed in place) */
static char *
trim_spaces(char *s)
{
	while (*s == ' ')
		s++;
	while (s[0] != '\0' && s[strlen(s) - 1] == ' ')
		s[strlen(s) - 1] = '\0';
	return s;
}

static const char *
parse_entry(char *entry, ZkPeerConfig *peer)
{
	char	   *eq = strchr(entry, '=');
	char	   *end;
	char	   *colon;
	long		v;
	size_t		len;

	memset(peer, 0, sizeof(ZkPeerConfig));
	if (eq == NULL)
		return psprintf("entry \"%s\" is not id=host:port", entry);
	*eq = '\0';
	v = strtol(entry, &end, 10);
	if (end == entry || *end != '\0' || v < 1 || v > 255)
		return psprintf("server id \"%s\" is not an integer in [1, 255]", entry);
	peer->id = (int) v;

	entry = eq + 1;
	len = strlen(entry);
	if (len > 9 && strcmp(entry + len - 9, ":observer") == 0)
	{
		peer->observer = true;
		entry[len - 9] = '\0';
	}
	else if (len > 12 && strcmp(entry + len - 12, ":participant") == 0)
		entry[len - 12] = '\0';

	colon = strrchr(entry, ':');
	if (colon == NULL || colon == entry)
		return psprintf("server %d: \"%s\" is not host:port", peer->id, entry);
	*colon = '\0';
	v = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end != '\0' || v < 1 || v > 65535)
		return psprintf("server %d: port \"%s\" is not in [1, 65535]", peer->id, colon + 1);
	peer->port = (int) v;
	if (strlen(entry) >= ZK_MAX_HOST)
		return psprintf("server %d: host name too long", peer->id);
	/* [v6addr] */
	if (entry[0] == '[' && entry[strlen(entry) - 1] == ']')
	{
		entry[strlen(entry) - 1] = '\0';
		entry++;
	}
	if (entry[0] == '\0' || strpbrk(entry, " '\\=") != NULL)
		return psprintf("server %d: invalid host \"%s\"", peer->id, entry);
	strlcpy(peer->host, entry, ZK_MAX_HOST);
	return NULL;
}

/*
 * Parse servers for this myid.  An empty list is a standalone server.
 */
const char *
ZkParseQuorumConfig(const char *servers, int myid, ZkQuorumConfig *out)
{
	char	   *copy;
	char	   *save = NULL;
	char	   *entry;
	int			i;
	int			j;

	memset(out, 0, sizeof(ZkQuorumConfig));
	out->my_index = -1;
	if (servers == NULL || servers[0] == '\0')
		return NULL;

	copy = pstrdup(servers);
	for (entry = strtok_r(copy, ",", &save); entry != NULL; entry = strtok_r(NULL, ",", &save))
	{
		const char *reason;

		entry = trim_spaces(entry);
		if (entry[0] == '\0')
			continue;
		if (out->npeers == ZK_MAX_PEERS)
			return psprintf("more than %d servers", ZK_MAX_PEERS);
		reason = parse_entry(entry, &out->peers[out->npeers]);
		if (reason != NULL)
			return reason;
		out->npeers++;
	}
	for (i = 0; i < out->npeers; i++)
	{
		for (j = i + 1; j < out->npeers; j++)
			if (out->peers[i].id == out->peers[j].id)
				return psprintf("server id %d appears twice", out->peers[i].id);
		if (!out->peers[i].observer)
			out->nvoters++;
		if (out->peers[i].id == myid)
			out->my_index = i;
	}
	if (out->npeers == 0)
		return "zkpg.servers lists no server";
	if (out->nvoters == 0)
		return "zkpg.servers lists only observers";
	if (myid <= 0)
		return "zkpg.myid must be set (1-255) when zkpg.servers is set";
	if (out->my_index < 0)
		return psprintf("zkpg.myid %d is not in zkpg.servers", myid);
	return NULL;
}

/*
 * A standalone server, as the leader runs it: an ensemble of one voter,
 * itself, whose quorum is its own log.
 */
void
ZkStandaloneQuorumConfig(int myid, ZkQuorumConfig *out)
{
	memset(out, 0, sizeof(ZkQuorumConfig));
	out->npeers = 1;
	out->nvoters = 1;
	out->my_index = 0;
	out->peers[0].id = myid;
}

/* Do n voters form a majority of the voters? */
bool
ZkIsQuorum(const ZkQuorumConfig *config, int nvoters_agreeing)
{
	return nvoters_agreeing * 2 > config->nvoters;
}

/*
 * zkpg.peer_roles: the role server id logs in as, into *role (NULL when
 * the list names none for it).  Returns the reason the list is malformed,
 * or NULL.
 */
const char *
ZkPeerRoleFor(const char *peer_roles, int id, char **role)
{
	char	   *copy;
	char	   *save = NULL;
	char	   *entry;

	*role = NULL;
	if (peer_roles == NULL)
		return NULL;
	copy = pstrdup(peer_roles);
	for (entry = strtok_r(copy, ",", &save); entry != NULL; entry = strtok_r(NULL, ",", &save))
	{
		char	   *eq;
		char	   *end;
		char	   *name;
		long		v;

		entry = trim_spaces(entry);
		if (entry[0] == '\0')
			continue;
		eq = strchr(entry, '=');
		if (eq == NULL)
			return psprintf("entry \"%s\" is not id=role", entry);
		*eq = '\0';
		v = strtol(entry, &end, 10);
		if (end == entry || *end != '\0' || v < 1 || v > 255)
			return psprintf("server id \"%s\" is not an integer in [1, 255]", entry);
		name = eq + 1;
		if (name[0] == '\0' || strlen(name) >= NAMEDATALEN)
			return psprintf("server %ld: invalid role name \"%s\"", v, name);
		if (v == id)
			*role = pstrdup(name);
	}
	return NULL;
}
