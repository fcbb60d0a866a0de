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
use IPC::Run;

my $db = $ZkpgNode::dbname;
my $SYNC = "DO \$\$BEGIN PERFORM zk_sync('/'); END\$\$;";

my @nodes = ZkpgNode::create_ensemble(3,
	conf => "zkpg.session_timeout = 2000\nzkpg.request_timeout = 5000\n");
ZkpgNode::start_and_create_extension($_) for @nodes;
my $leader = ZkpgNode::wait_for_leader(\@nodes);
ok(defined $leader, "one leader ($leader)");

sub node_by_id { return $nodes[ $_[0] - 1 ]; }

# --- writes through every peer ------------------------------------------
ZkpgNode::wait_serving($_) for @nodes;
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
		"DO \$\$BEGIN PERFORM zk_sync('/'); END\$\$; SELECT string_agg(convert_from(data, 'UTF8'), ',' ORDER BY 1) FROM "
		  . "(SELECT (zk_get('/via' || g)).data FROM generate_series(1,3) g) s");
	is($got, 'from 1,from 2,from 3', "server " . ($i + 1) . " reads all three writes after zk_sync");
}
ZkpgNode::converged('after writes', @nodes);

# --- a follower's session, its ephemeral and its watch -------------------
my @followers = grep { $_ != $leader } 1 .. 3;
my $f1 = node_by_id($followers[0]);
my $f2 = node_by_id($followers[1]);
my $bg = $f1->background_psql($db, on_error_stop => 0);
$bg->query_safe("SELECT zk_create('/eph', 'e', 'ephemeral')");
$bg->query_safe("SELECT zk_create('/watched', 'w')");
$bg->query_safe("SELECT data FROM zk_get('/watched', true)");
$f2->safe_psql($db, "SELECT zk_set('/watched', 'changed')");
my $seen = 0;
for (1 .. 50)
{
	my $out = $bg->query("SELECT 1");
	# psql prints asynchronous notifications after the query result
	if ($bg->{stdout} =~ /NodeDataChanged/ || $out =~ /NodeDataChanged/) { $seen = 1; last; }
	sleep 0.1;
}
ok($seen, 'a watch set on a follower fires for a change made through the other follower');
is(node_by_id($leader)->safe_psql($db, "DO \$\$BEGIN PERFORM zk_sync('/'); END\$\$; SELECT zk_exists('/eph') IS NOT NULL"),
	't', "the follower's ephemeral is on the leader");

# kill -9 the follower that holds the session: the ephemeral goes away
# everywhere within the session timeout and a margin
my $t0 = time();
ZkpgNode::kill9_server($f1);
eval { $bg->quit };
my $gone = node_by_id($leader)->poll_query_until($db,
	"SELECT zk_exists('/eph') IS NULL");
my $took = time() - $t0;
ok($gone, "ephemeral of a killed follower's session is gone ($took s)");
cmp_ok($took, '<', 2 + 10, 'within session timeout plus a margin');
is($f2->safe_psql($db, "DO \$\$BEGIN PERFORM zk_sync('/'); END\$\$; SELECT zk_exists('/eph') IS NULL"),
	't', 'and gone on the other follower too');

# writes go on with two of three; the restarted follower catches up (DIFF)
for my $i (1 .. 50)
{
	$f2->safe_psql($db, "SELECT zk_create('/diff$i', 'd')") if $i % 2;
	node_by_id($leader)->safe_psql($db, "SELECT zk_create('/diff$i', 'd')") unless $i % 2;
}
$f1->start;
ok(ZkpgNode::wait_serving($f1), 'restarted follower serves again');
is($f1->safe_psql($db, "DO \$\$BEGIN PERFORM zk_sync('/'); END\$\$; SELECT count(*) FROM zk_get_children('/') c WHERE c LIKE 'diff%'"),
	'50', 'restarted follower caught up by DIFF');
like(slurp_file($f1->logfile), qr/serves as following/, 'it rejoined as a follower');
ZkpgNode::converged('after follower restart', @nodes);

# --- kill -9 of the leader under a write load ------------------------------
# one writer per peer; each prints the paths the server acknowledged
$f2->safe_psql($db, "SELECT zk_create('/load')");
my @writers;
for my $id (1 .. 3)
{
	my $script = "SET zkpg.request_timeout = 4000;\n\\set ON_ERROR_STOP 0\n";
	$script .= "SELECT zk_create('/load/w$id-$_', 'x');\n" for 1 .. 400;
	my ($in, $out, $err) = ($script, '', '');
	my $h = IPC::Run::start(
		[ 'psql', '-XAt', '-d', node_by_id($id)->connstr($db) ],
		'<', \$in, '>', \$out, '2>', \$err);
	push @writers, { id => $id, h => $h, out => \$out, err => \$err };
}
sleep 1.5;
my $old_leader = $leader;
my $t_kill = time();
ZkpgNode::kill9_server(node_by_id($old_leader));
my @survivors = map { node_by_id($_) } grep { $_ != $old_leader } 1 .. 3;
my $new_leader = ZkpgNode::wait_for_leader(\@survivors);
ok(defined $new_leader && $new_leader != $old_leader,
	"a new leader ($new_leader) after kill -9 of leader $old_leader");
$_->{h}->finish for @writers;

my @acked = map { split /\n/, ${ $_->{out} } } @writers;
@acked = grep { m{^/load/} } @acked;
cmp_ok(scalar(@acked), '>', 100, scalar(@acked) . ' creates acknowledged around the failover');
for my $n (@survivors)
{
	my %have = map { $_ => 1 } split /\n/, $n->safe_psql($db,
		"DO \$\$BEGIN PERFORM zk_sync('/'); END\$\$; SELECT '/load/' || c FROM zk_get_children('/load') c");
	my @missing = grep { !$have{$_} } @acked;
	is(scalar(@missing), 0, 'every acknowledged write is on server ' . $n->name)
	  or diag "missing: @missing[0 .. (@missing > 10 ? 9 : $#missing)]";
}
my $epochs = join ' ', map { $_->safe_psql($db, 'SELECT epoch FROM zkpg.status') } @survivors;
node_by_id($old_leader)->start;
ok(ZkpgNode::wait_serving(node_by_id($old_leader)), 'the old leader rejoins');
ZkpgNode::converged('after leader failover', @nodes);

# --- the whole ensemble killed and restarted -------------------------------
# every peer's sessions die with it; their ephemerals must go once the
# ensemble serves again (ZOOKEEPER-2355, -1367)
my @holders;
for my $i (0 .. 2)
{
	my $h = $nodes[$i]->background_psql($db, on_error_stop => 0);
	$h->query_safe("SELECT zk_create('/full-restart-$i', 'e', 'ephemeral')");
	push @holders, $h;
}
ZkpgNode::kill9_server($_) for @nodes;
eval { $_->quit } for @holders;
$_->start for @nodes;
ok(defined ZkpgNode::wait_for_leader(\@nodes), 'the restarted ensemble elects a leader');
ZkpgNode::wait_serving($_) for @nodes;
for my $i (0 .. 2)
{
	ok($nodes[0]->poll_query_until($db,
			"SELECT zk_exists('/full-restart-$i') IS NULL FROM (SELECT zk_sync('/')) s"),
		"ephemeral $i of a session that died with the ensemble is gone");
}
ZkpgNode::converged('after a full restart', @nodes);

# --- zkpg.peer_message faces the network ------------------------------------
# only superusers and members of zkpg_peer may call it; malformed input
# and messages from servers that are not peers are errors, never a crash
my $p1 = $nodes[0];
$p1->safe_psql($db,
	"CREATE ROLE peer_bob LOGIN IN ROLE zkpg_peer; CREATE ROLE carol LOGIN");
my ($r, $o, $e) = $p1->psql($db, "SELECT zkpg.peer_message('\\x5001')",
	extra_params => [ '-U', 'carol' ]);
like($e, qr/permission denied for function peer_message/,
	'a role outside zkpg_peer may not call peer_message');
($r, $o, $e) = $p1->psql($db, "SELECT zkpg.peer_message('\\x5001')",
	extra_params => [ '-U', 'peer_bob' ]);
like($e, qr/malformed zkpg peer message/,
	'a member of zkpg_peer may, and a truncated message is refused');
# a well-formed notification from server 9, which is not in zkpg.servers
# (magic, version, type, from, state, replication, election epoch, vote, epoch)
my $from9 = '50' . '01' . '01' . '00000009' . '02' . '00' . ('00' x 7) . '01' . '00000009'
  . ('00' x 24);
($r, $o, $e) = $p1->psql($db, "SELECT zkpg.peer_message('\\x$from9')");
like($e, qr/from server 9, which is not a peer/, 'a message from a stranger is refused');
($r, $o, $e) = $p1->psql($db, "SELECT zkpg.peer_message('\\x${from9}00')");
like($e, qr/malformed zkpg peer message: trailing bytes/, 'trailing bytes are refused');
ok(ZkpgNode::wait_serving($p1), 'the server still serves after hostile peer messages');
$p1->safe_psql($db, "SELECT zk_create('/after-hostile', 'ok')");
ZkpgNode::converged('after hostile peer messages', @nodes);

done_testing();
