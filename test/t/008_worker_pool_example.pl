# The example program of the README (examples/worker_pool.py) against a
# three-peer ensemble: a pool of workers elects a leader, which puts jobs
# on a queue that every worker takes from, while the supervisor kills a
# worker with SIGKILL every second, every other time the leader, eight
# times.  It must end with every job done exactly once.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ZkpgNode;

my $python = '/usr/bin/python3';
if (system("$python -c 'import psycopg' 2>/dev/null") != 0)
{
	plan skip_all => 'python3-psycopg is not installed';
}

my $db = $ZkpgNode::dbname;
my @nodes = ZkpgNode::create_ensemble(3, conf => "zkpg.session_timeout = 2000\n");
ZkpgNode::start_and_create_extension($_) for @nodes;
ok(defined ZkpgNode::wait_for_leader(\@nodes), "the ensemble has a leader");
ZkpgNode::wait_serving($_) for @nodes;

my $example = "$ENV{TESTDIR}/examples/worker_pool.py";
$example = "../examples/worker_pool.py" unless -f $example;
my @dsn = map { ('--dsn', "host=" . $_->host . " port=" . $_->port . " dbname=$db") } @nodes;
my ($out, $err) = ('', '');
my $ok = IPC::Run::run(
	[ $python, $example, @dsn, '--workers', 4, '--jobs', 60, '--kill-every', 1, '--kill-leader', '--max-kills', 8,
		'--duration', 150 ],
	'>', \$out, '2>', \$err);
note $out;
diag $err if $err ne '';
ok($ok, "worker_pool.py exits 0");
like($out, qr/OK: every job done exactly once/, "every job was done exactly once");
like($out, qr/duplicates: 0/, "no job was done twice");
my ($leaders) = $out =~ /leaders that took office: (\d+)/;
ok(($leaders // 0) >= 2, "the leader was killed and another worker took office (" . ($leaders // 0) . " leaders)");
ZkpgNode::converged('after the worker pool', @nodes);

done_testing();
