--
-- zk_election: FastLeaderElection (election.c) as a state machine, driven
-- by scripts.  A step is a notification received or time passing; each
-- answers with the proposal and, once there is one, the decision.
-- Zxids are hex.
--
-- An election: three looking servers agree, the proposal waits 200 ms for
-- a better vote, then decides.
SELECT * FROM zkpg.election_script($$
servers 1=a:1,2=b:2,3=c:3
start 1 100000005 1 0
recv 2 looking 1 3 100000009 1
recv 3 looking 1 3 100000009 1
advance 100
advance 100
$$);

-- A vote equals another only with the same history (ZooKeeper's
-- Vote.equals): of five servers, three vote for server 3 but one with a
-- stale zxid for it; that makes no quorum.
SELECT * FROM zkpg.election_script($$
servers 1=a:1,2=b:2,3=c:3,4=d:4,5=e:5
start 1 100000005 1 0
recv 2 looking 1 3 100000009 1
recv 4 looking 1 3 100000007 1
advance 300
recv 5 looking 1 3 100000009 1
advance 300
$$);

-- Out of the election, a note counts only for the leader's epoch: server 2
-- following 3 in epoch 2 and server 3 leading in epoch 3 are not a quorum;
-- once 2 follows 3 in epoch 3, server 1 joins.
SELECT * FROM zkpg.election_script($$
servers 1=a:1,2=b:2,3=c:3
start 1 100000005 1 4
recv 2 following 5 3 200000001 2
recv 3 leading 6 3 300000001 3
recv 2 following 6 3 300000001 3
$$);

-- A server that stepped down says looking (with no vote): its old note
-- no longer counts, and a stale note of a follower of it does not make
-- server 1 follow a leader that is gone.
SELECT * FROM zkpg.election_script($$
servers 1=a:1,2=b:2,3=c:3
start 1 100000005 1 4
recv 3 leading 6 3 300000001 3
recv 3 looking 7 -1 0 0
recv 2 following 6 3 300000001 3
$$);

-- Votes for ourselves count only from this election (ZooKeeper's
-- checkLeader): server 3 ended its role and looks again (election epoch
-- 5); servers 1 and 2 still follow it, in election 4, and do not make it
-- lead again before they look too.
SELECT * FROM zkpg.election_script($$
servers 1=a:1,2=b:2,3=c:3
start 3 300000001 3 4
recv 1 following 4 3 300000001 3
recv 2 following 4 3 300000001 3
recv 1 looking 5 3 300000001 3
recv 2 looking 5 3 300000001 3
advance 300
$$);
