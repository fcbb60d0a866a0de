# FastLeaderElection among PostgreSQL instances (the first part of the
# ensemble issue): every start order elects one leader that all agree on;
# kill -9 of the leader elects another among the survivors; a restarted
# peer joins the sitting leader without a new election; an observer never
# leads and follows the voters' choice; a leader cut off from its quorum
# steps down; a misconfigured peer says so and stays down; a client of a
# survivor that retries at once gets its write acknowledged after each of
# several leader kills.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ZkpgNode;

my $db = $ZkpgNode::dbname;

sub start_all
{
	my (@nodes) = @_;
	ZkpgNode::start_and_create_extension($_) for @nodes;
}

sub election_epoch_log
{
	my ($node) = @_;
	my @lines = grep { /is (leading|following|observing); leader/ }
	  split /\n/, slurp_file($node->logfile);
	return scalar @lines;
}

# --- every start order of three peers --------------------------------
my @nodes = ZkpgNode::create_ensemble(3);
for my $order ([ 1, 2, 3 ], [ 1, 3, 2 ], [ 2, 1, 3 ], [ 2, 3, 1 ], [ 3, 1, 2 ], [ 3, 2, 1 ])
{
	my @started = map { $nodes[ $_ - 1 ] } @$order;
	for my $node (@started)
	{
		if (defined $node->{_pid}) { next; }
		if (-d $node->data_dir . '/base' && $node->{_zk_created})
		{
			$node->start;
		}
		else
		{
			ZkpgNode::start_and_create_extension($node);
			$node->{_zk_created} = 1;
		}
	}
	my $leader = ZkpgNode::wait_for_leader(\@nodes);
	ok(defined $leader, "start order @$order: one leader, all agree ("
		  . ($leader // 'none') . ")");

	# whatever the order, the ensemble serves: a write through server 1
	my $path = "/order-" . join('', @$order);
	ok($nodes[0]->poll_query_until($db,
			"SELECT coalesce((SELECT true WHERE zk_exists('$path') IS NOT NULL), "
			  . "zk_create('$path') = '$path')"),
		"start order @$order: the ensemble serves writes");

	$_->stop('immediate') for @nodes;
}

# --- kill -9 of the leader, then its restart --------------------------
$_->start for @nodes;
my $leader = ZkpgNode::wait_for_leader(\@nodes);
ok(defined $leader, "leader $leader elected");
ZkpgNode::kill9_server($nodes[ $leader - 1 ]);
my @survivors = grep { $_ != $nodes[ $leader - 1 ] } @nodes;
my $next = ZkpgNode::wait_for_leader(\@survivors);
ok(defined $next && $next != $leader,
	"after kill -9 of leader $leader, the survivors elect " . ($next // 'none'));

my $before = election_epoch_log($nodes[ $next - 1 ]);
$nodes[ $leader - 1 ]->start;
is(ZkpgNode::wait_for_leader(\@nodes, $next), $next,
	"restarted peer $leader follows the sitting leader $next");
is(election_epoch_log($nodes[ $next - 1 ]), $before,
	'the sitting leader kept its role: no new election');

# --- failover as a client sees it, several times ------------------------
# A client of a survivor, connected and with its session open before the
# kill, retries its write at once, as a ZooKeeper client does on a lost
# connection (a sequential node: the attempt that failed with "outcome
# unknown" may have been applied, and a retry must not fail on it).  The
# retry must be acknowledged by the new leader, not lost: a request
# forwarded in the few ms between the learner's sync and the leader's
# quorum was once refused and dropped, leaving its writer waiting for
# zkpg.request_timeout (set high here, so that the statement_timeout
# catches such a loss).
for my $round (1 .. 4)
{
	my $old = ZkpgNode::wait_for_leader(\@nodes);
	my $victim = $nodes[ $old - 1 ];
	my ($client_node) = grep { $_ != $victim } @nodes;
	my $client = $client_node->background_psql($db, on_error_stop => 0);
	$client->query_safe("SET zkpg.request_timeout = '120s'");
	$client->query_safe("SET statement_timeout = '30s'");
	$client->query_safe("SELECT zk_session_id()");

	# the client retries as soon as the leader is killed, not once its
	# processes are gone
	my $retry = sub {
		$client->query_until(qr/sent/, "\\echo sent\n"
		  . "DO \$\$DECLARE n int := 0; BEGIN LOOP BEGIN "
		  . "PERFORM zk_create('/failover-$round-', '', 'persistent_sequential'); EXIT; "
		  . "EXCEPTION WHEN others THEN n := n + 1; IF n <= 3 OR n % 10000 = 0 THEN "
		  . "RAISE LOG 'zkpg test: attempt % failed: % %', n, SQLSTATE, SQLERRM; END IF; "
		  . "END; END LOOP; END\$\$;\n"
		  . "SELECT 'acked ' || count(*) FROM zkpg.znode WHERE path LIKE '/failover-$round-%';\n"
		  . "\\echo done\n");
	};
	ZkpgNode::kill9_server($victim, after_kill => $retry);
	pump_until($client->{run}, $client->{timeout}, \$client->{stdout}, qr/done/);
	like($client->{stdout}, qr/acked [12]/,
		"failover $round: the survivor's client gets its retried write acknowledged");
	is($client->{stderr}, '', "failover $round: no error reached the client");
	$client->quit;
	$victim->start;
}
ok(defined ZkpgNode::wait_for_leader(\@nodes), 'after the failovers, one leader');
ZkpgNode::converged('after the failovers', @nodes);

# --- a leader that loses its quorum steps down -------------------------
my @followers = grep { $_ != $nodes[ $next - 1 ] } @nodes;
$_->stop('immediate') for @followers;
ok( $nodes[ $next - 1 ]->poll_query_until(
		$db, "SELECT state = 'looking' FROM zkpg.status"),
	'a leader without a quorum steps down to looking');
$_->start for @followers;
ok(defined ZkpgNode::wait_for_leader(\@nodes), 'the ensemble recovers a leader');
$_->stop('immediate') for @nodes;

# --- an observer --------------------------------------------------------
my @with_observer = ZkpgNode::create_ensemble(4, observers => [4], name => 'obs');
start_all(@with_observer);
my $l4 = ZkpgNode::wait_for_leader(\@with_observer);
ok(defined $l4 && $l4 != 4, "with an observer, a participant leads ($l4)");
is($with_observer[3]->safe_psql($db, 'SELECT state FROM zkpg.status'),
	'observing', 'the observer observes');
is( $with_observer[3]->safe_psql(
		$db, "SELECT string_agg(id || ':' || role, ',' ORDER BY id) FROM zkpg.peers"),
	'1:participant,2:participant,3:participant,4:observer',
	'zkpg.peers lists roles');
# one participant and the observer left: two of four servers, but one of
# three voters, so no quorum (observers do not count)
my ($keep) = grep { $_ != $l4 } 1 .. 3;
ZkpgNode::kill9_server($with_observer[ $_ - 1 ]) for grep { $_ != $keep } 1 .. 3;
ok( $with_observer[ $keep - 1 ]->poll_query_until(
		$db, "SELECT state = 'looking' FROM zkpg.status"),
	'one participant and an observer have no quorum: observers do not count');
$_->stop('immediate') for grep { defined $_->{_pid} } @with_observer;

# --- misconfiguration ---------------------------------------------------
my $bad = ZkpgNode::create_node('badconf',
	conf => "zkpg.myid = 7\nzkpg.servers = '1=localhost:1,2=localhost:2'");
ZkpgNode::start_and_create_extension($bad);
ok( $bad->poll_query_until(
		$db, "SELECT state = 'starting' AND NOT EXISTS (SELECT 1 FROM zkpg.peers) FROM zkpg.status"),
	'a server whose myid is not in zkpg.servers does not join');
my $log = slurp_file($bad->logfile);
like($log, qr/zkpg configuration is invalid: zkpg.myid 7 is not in zkpg.servers/,
	'it says why, once');
unlike($log, qr/terminated by signal|exited with exit code 1.*quorum peer/,
	'and does not crash-loop');
$bad->stop;

done_testing();
