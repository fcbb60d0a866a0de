# ZAB's recovery paths on ensembles whose network the test can really cut
# (NetSplit relays between every pair of peers): a partitioned leader
# stops serving (ZK004) while the majority elects another and goes on; the
# txn the cut-off leader logged alone is truncated when it rejoins (TRUNC);
# a follower behind the leader's purged log catches up by SNAP; five peers
# with an observer keep serving with a voter down.  After each step all
# peers converge to the same tree and no ephemeral belongs to a dead
# session.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ZkpgNode;

my $db = $ZkpgNode::dbname;
my $SYNC = "DO \$\$BEGIN PERFORM zk_sync('/'); END\$\$;";

# --- partition: the leader alone on one side -------------------------------
my @nodes = ZkpgNode::create_ensemble(3, relays => 1,
	conf => "zkpg.session_timeout = 2000\nzkpg.request_timeout = 3000\n");
ZkpgNode::start_and_create_extension($_) for @nodes;
my $leader = ZkpgNode::wait_for_leader(\@nodes);
ok(defined $leader, "3 peers over relays: leader $leader");
ZkpgNode::wait_serving($_) for @nodes;
my $L = $nodes[ $leader - 1 ];
my @rest = grep { $_ != $L } @nodes;
$rest[0]->safe_psql($db, "SELECT zk_create('/before', 'b')");

ZkpgNode::isolate(\@nodes, $leader);
# a write on the cut-off leader: it may log it, but no quorum acks it
my ($ret, $out, $err) = $L->psql($db, "SELECT zk_create('/lost-in-partition', 'x')");
like($err, qr/did not complete|not serving|lost its leader/, 'the isolated leader does not acknowledge a write');
ok($L->poll_query_until($db, "SELECT state <> 'leading' FROM zkpg.status"),
	'the isolated leader steps down');
($ret, $out, $err) = $L->psql($db, "SET zkpg.request_timeout = 1000; SELECT zk_create('/minority', 'x')");
like($err, qr/not serving/, 'the minority refuses writes with ZK004');
my $new = ZkpgNode::wait_for_leader(\@rest);
ok(defined $new && $new != $leader, "the majority elects server $new");
ZkpgNode::wait_serving($_) for @rest;
$rest[1]->safe_psql($db, "SELECT zk_create('/majority$_', 'm')") for 1 .. 20;
is($rest[0]->safe_psql($db, "$SYNC SELECT count(*) FROM zk_get_children('/') c WHERE c LIKE 'majority%'"),
	'20', 'the majority goes on writing');

# the old leader dies with its unacknowledged txn, then comes back healed
ZkpgNode::kill9_server($L);
ZkpgNode::heal_all(\@nodes);
$L->start;
ok(ZkpgNode::wait_serving($L), 'the old leader rejoins after the partition heals');
is($L->safe_psql($db, "$SYNC SELECT count(*) FROM zk_get_children('/') c WHERE c LIKE 'majority%'"),
	'20', 'it has the writes made while it was cut off');
for my $n (@nodes)
{
	is($n->safe_psql($db, "$SYNC SELECT zk_exists('/lost-in-partition') IS NULL"),
		't', 'the unacknowledged txn is nowhere: ' . $n->name);
}
ZkpgNode::converged('after the partition', @nodes);

# --- SNAP: a follower behind the purged log -----------------------------------
$leader = ZkpgNode::wait_for_leader(\@nodes);
$L = $nodes[ $leader - 1 ];
my ($F) = grep { $_ != $L } @nodes;
$F->stop('fast');
$L->append_conf('postgresql.conf', "zkpg.log_retain = 10\n");
$L->reload;
$L->safe_psql($db, "SELECT zk_create('/snap')");
$L->safe_psql($db, "SELECT zk_create('/snap/n$_', 'v$_')") for 1 .. 100;
# the leader purges every 50 ticks
ok($L->poll_query_until($db,
		"SELECT count(*) < 60 FROM zkpg.txnlog"), 'the leader purged its log');
$F->start;
ok(ZkpgNode::wait_serving($F), 'the follower behind the purged log serves again');
like(slurp_file($L->logfile), qr/syncs by SNAP/, 'it was synced by SNAP');
is($F->safe_psql($db, "$SYNC SELECT count(*) FROM zk_get_children('/snap')"),
	'100', 'it has every node');
$L->safe_psql($db, "SELECT zk_create('/after-snap', 'a')");
ZkpgNode::converged('after SNAP', @nodes);

# --- a sync-phase crash point (ZOOKEEPER-3911) ----------------------------------
# A follower that was down misses writes, rejoins (DIFF, then NEWLEADER
# acked), and is killed at once with the leader: the writes acknowledged
# while it was down must survive on the two that are left.
$leader = ZkpgNode::wait_for_leader(\@nodes);
$L = $nodes[ $leader - 1 ];
($F) = grep { $_ != $L } @nodes;
my ($G) = grep { $_ != $L && $_ != $F } @nodes;
$F->stop('fast');
$L->safe_psql($db, "SELECT zk_create('/crashpoint')");
$L->safe_psql($db, "SELECT zk_create('/crashpoint/n$_', 'v')") for 1 .. 30;
my $log_pos = -s $F->logfile;
$F->start;
ok($F->poll_query_until($db, "SELECT state = 'following' FROM zkpg.status"),
	'the follower rejoins');
# kill both as soon as the follower has acked NEWLEADER
for (1 .. 200)
{
	last if substr(slurp_file($F->logfile), $log_pos) =~ /serves as following/;
	select(undef, undef, undef, 0.01);
}
ZkpgNode::kill9_server($F);
ZkpgNode::kill9_server($L);
$F->start;
ok(ZkpgNode::wait_serving($F) && ZkpgNode::wait_serving($G), 'the rejoined follower and the other one serve again');
for my $n ($F, $G)
{
	is($n->safe_psql($db, "$SYNC SELECT count(*) FROM zk_get_children('/crashpoint')"),
		'30', 'the writes acknowledged while it was down survive: ' . $n->name);
}
$L->start;
ZkpgNode::wait_serving($L);
ZkpgNode::converged('after the sync-phase crash point', @nodes);

# --- TRUNC when the new leader needs the truncated peer for its quorum -----------
# A leads and is cut off, logging a txn no one acks; B and C go on and
# commit W; B dies; A comes back.  C (the later epoch) must lead with A,
# which first drops its txn (TRUNC) and then takes W: W must survive.
$leader = ZkpgNode::wait_for_leader(\@nodes);
my $A = $nodes[ $leader - 1 ];
my ($B, $C) = grep { $_ != $A } @nodes;
ZkpgNode::isolate(\@nodes, $leader);
($ret, $out, $err) = $A->psql($db, "SELECT zk_create('/trunc2-unacked', 'x')");
ok($ret != 0, 'the cut-off leader acknowledges nothing');
ok(defined ZkpgNode::wait_for_leader([ $B, $C ]), 'the other two elect a leader');
ZkpgNode::wait_serving($B);
$B->safe_psql($db, "SELECT zk_create('/trunc2-w', 'acked')");
my $bl = ZkpgNode::leaders($B, $C);
my ($bid) = grep { $bl->{$_}[0] eq 'leading' } keys %$bl;
my $BL = $nodes[ $bid - 1 ];
my ($BF) = grep { $_ != $BL } ($B, $C);
# the new leader dies; the cut-off old leader comes back
ZkpgNode::kill9_server($BL);
ZkpgNode::heal_all(\@nodes);
ok(defined ZkpgNode::wait_for_leader([ $A, $BF ]), 'the old leader and the survivor elect a leader');
ok(ZkpgNode::wait_serving($A) && ZkpgNode::wait_serving($BF), 'they serve');
for my $n ($A, $BF)
{
	is($n->safe_psql($db,
			"$SYNC SELECT (zk_exists('/trunc2-w') IS NOT NULL)::text || (zk_exists('/trunc2-unacked') IS NULL)::text"),
		'truetrue', 'the acknowledged write is there and the unacknowledged one is not: ' . $n->name);
}
$BL->start;
ZkpgNode::wait_serving($BL);
ZkpgNode::converged('after TRUNC with the truncated peer in the quorum', @nodes);

$_->stop('immediate') for @nodes;
ZkpgNode::stop_relays(\@nodes);

# --- five peers, one of them an observer ----------------------------------------
my @five = ZkpgNode::create_ensemble(5, name => 'five', observers => [5],
	conf => "zkpg.session_timeout = 2000\nzkpg.request_timeout = 5000\n");
ZkpgNode::start_and_create_extension($_) for @five;
$leader = ZkpgNode::wait_for_leader(\@five);
ok(defined $leader && $leader != 5, "five peers: leader $leader, never the observer");
ZkpgNode::wait_serving($_) for @five;
is($five[4]->safe_psql($db, "SELECT state FROM zkpg.status"), 'observing', 'server 5 observes');
$five[4]->safe_psql($db, "SELECT zk_create('/via-observer', 'o')");
is($five[0]->safe_psql($db, "$SYNC SELECT zk_exists('/via-observer') IS NOT NULL"), 't',
	'a write through the observer is replicated');
# one voter down: three of four voters remain, a quorum
my @down = (grep { $_ + 1 != $leader } 0 .. 3)[0];
ZkpgNode::kill9_server($five[ $down[0] ]);
$five[ $leader - 1 ]->safe_psql($db, "SELECT zk_create('/three-of-four', 't')");
is($five[4]->safe_psql($db, "$SYNC SELECT zk_exists('/three-of-four') IS NOT NULL"), 't',
	'writes go on with one of four voters down');
$five[ $down[0] ]->start;
ZkpgNode::wait_serving($five[ $down[0] ]);
ZkpgNode::converged('five peers after restarts', @five);

done_testing();
