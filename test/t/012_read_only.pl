# Read-only mode (zkpg.read_only, ZooKeeper's readonlymode.enabled): a peer
# cut off from the quorum serves reads from its applied state, to new
# connections too (a read opens no session), and refuses writes, session
# opens and watches with ZK004 at once, without waiting for the request
# timeout; zkpg.status says it serves reads only and why.  With
# zkpg.read_only = off its reads fail with ZK004 as well.  Healed, it
# serves everything again and has every write the majority took meanwhile.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use ZkpgNode;

my $db = $ZkpgNode::dbname;

# a long request timeout, so that "at once" cannot be confused with it
my @nodes = ZkpgNode::create_ensemble(3, relays => 1, tick_ms => 100,
	conf => "zkpg.request_timeout = 30000\n");
ZkpgNode::start_and_create_extension($_) for @nodes;
my $leader = ZkpgNode::wait_for_leader(\@nodes);
ok(defined $leader, "a leader ($leader)");
ok(ZkpgNode::wait_serving($_), $_->name . ' serves') for @nodes;
my ($cut_id) = grep { $_ != $leader } 1 .. 3;
my $cut = $nodes[ $cut_id - 1 ];
my $lead = $nodes[ $leader - 1 ];

$lead->safe_psql($db, "SELECT zk_create('/ro'), zk_create('/ro/a', 'v1'), zk_create('/ro/kid', 'k')");
ZkpgNode::converged('before the partition', @nodes);
is($cut->safe_psql($db, 'SELECT read_only::text || coalesce(not_serving_reason, \'-\') FROM zkpg.status'),
	'false-', 'a serving peer is not read-only and has no reason not to serve');

# a session opened before the partition, on the peer that will be cut off
my $old = $cut->background_psql($db, on_error_stop => 0);
$old->query_safe('SELECT zk_session_id()');

ZkpgNode::isolate(\@nodes, $cut_id);
ok($cut->poll_query_until($db, "SELECT read_only AND state = 'looking' FROM zkpg.status"),
	"the cut-off server $cut_id goes read-only and stays looking");
like($cut->safe_psql($db, 'SELECT not_serving_reason FROM zkpg.status'), qr/no quorum/,
	'zkpg.status says why it does not serve writes');

# the majority goes on
ok(ZkpgNode::wait_serving($lead), 'the majority serves');
$lead->safe_psql($db, "SELECT zk_set('/ro/a', 'v2')");

# reads on a new connection are served from the cut-off peer's state
is($cut->safe_psql($db, "SELECT convert_from(data, 'UTF8') FROM zk_get('/ro/a')"), 'v1',
	'zk_get on a new connection is served from the applied state (v1, before the partition)');
is($cut->safe_psql($db, "SELECT (zk_exists('/ro/kid')).data_length"), '1', 'zk_exists is served');
is($cut->safe_psql($db, "SELECT string_agg(c, ',') FROM zk_get_children('/ro') c"), 'a,kid',
	'zk_get_children is served');
is($old->query_safe("SELECT convert_from(data, 'UTF8') FROM zk_get('/ro/a')"), 'v1',
	'a session opened before the partition reads too');

# what needs the quorum fails with ZK004 at once
for my $case (
	[ 'a write', "SELECT zk_create('/ro/new', 'x')" ],
	[ 'a session open', 'SELECT zk_session_id()' ],
	[ 'a watch (it needs a session)', "SELECT * FROM zk_get('/ro/a', true)" ],
	[ 'zk_sync', "SELECT zk_sync('/')" ])
{
	my ($what, $sql) = @$case;
	my $t0 = time();
	my ($ret, $out, $err) = $cut->psql($db, "\\set VERBOSITY verbose\n$sql");
	my $took = time() - $t0;
	like($err, qr/ZK004/, "$what fails with ZK004 on the read-only peer");
	cmp_ok($took, '<', 5, sprintf("%s fails at once, not after the request timeout (%.2f s)", $what, $took));
}
$old->query("SELECT zk_set('/ro/a', 'from-the-minority')");
like($old->{stderr}, qr/not serving/, 'a write in a session opened before fails too');
$old->{stderr} = '';
my ($ret, $out, $err);

# zkpg.read_only = off: no reads without a quorum either
$cut->safe_psql($db, "ALTER SYSTEM SET zkpg.read_only = off; SELECT pg_reload_conf()");
ok($cut->poll_query_until($db, 'SELECT NOT read_only FROM zkpg.status'),
	'with zkpg.read_only = off, zkpg.status no longer says read-only');
($ret, $out, $err) = $cut->psql($db, "SELECT * FROM zk_get('/ro/a')");
like($err, qr/not serving/, 'with zkpg.read_only = off, a read fails without a quorum');
$cut->safe_psql($db, "ALTER SYSTEM RESET zkpg.read_only; SELECT pg_reload_conf()");
ok($cut->poll_query_until($db, 'SELECT read_only FROM zkpg.status'), 'back to read-only');

# healed: it serves again and has the majority's write, not the refused one
ZkpgNode::heal_all(\@nodes);
ok(ZkpgNode::wait_serving($cut), "server $cut_id serves again once healed");
is($cut->safe_psql($db, "SELECT convert_from(data, 'UTF8') FROM zk_get('/ro/a')"), 'v2',
	'it has the write the majority took meanwhile');
is($cut->safe_psql($db, "SELECT zk_exists('/ro/new') IS NULL"), 't', 'the refused create was never applied');
$cut->safe_psql($db, "SELECT zk_create('/ro/after', 'x')");
ZkpgNode::converged('after the partition', @nodes);
$old->quit;

ZkpgNode::stop_relays(\@nodes);
$_->stop('immediate') for @nodes;
done_testing();
