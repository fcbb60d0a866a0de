# A NOTIFY queue that cannot drain must never stop the applier.  A
# listener holds a transaction open, so the notifications queued for it
# stay in the queue; with zkpg.notify_queue_limit set so low that one
# unread notification crosses it, the applier stops sending events and
# marks the sessions that miss one.  Writes keep succeeding; once the
# listener commits and the queue drains, it receives its queued events and
# then one {"type":"EventsLost"}: the signal to re-read and re-arm.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use ZkpgNode;

my $db = $ZkpgNode::dbname;
my $node = ZkpgNode::new_standalone('evlost',
	conf => "zkpg.notify_queue_limit = 0.0000001");

sub notifications
{
	my ($out) = @_;
	return [ $out =~ /Asynchronous notification "[^"]*" with payload "([^\n]*)" received/g ];
}

# long paths make long payloads: the queue's usage counts whole 8 kB pages
my $path = '/q' . ('x' x 900);
$node->safe_psql($db, "SELECT zk_create('$path', 'v0')");
my $listener = $node->background_psql($db, on_error_stop => 0);
$listener->query_safe("SELECT zk_add_watch('$path')");

# the listener stops reading: it sits in an open transaction
$listener->query_safe('BEGIN');
$listener->query_safe('SELECT 1');

my $n = 50;
$node->safe_psql($db, "SELECT zk_set('$path', 'v$_')") for 1 .. $n;
pass("$n writes succeed while the listener holds the queue");
is($node->safe_psql($db, 'SELECT applied_zxid = last_logged_zxid FROM zkpg.status'),
	't', 'the applier keeps applying');
ok($node->safe_psql($db, 'SELECT pg_notification_queue_usage() > 0') eq 't',
	'the queue holds the unread notification');
like(slurp_file($node->logfile), qr/zkpg dropped \d+ watch events: the NOTIFY queue/,
	'the applier dropped events instead of failing its commit');

# the listener commits and reads what was queued for it
my @seen = @{ notifications($listener->query('COMMIT')) };

# the next change finds the queue drained: EventsLost, then the event
$node->poll_query_until($db, 'SELECT pg_notification_queue_usage() = 0')
  or die 'the queue never drained';
$node->safe_psql($db, "SELECT zk_set('$path', 'last')");
my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
while (!grep(/EventsLost/, @seen) && time() < $deadline)
{
	push @seen, @{ notifications($listener->query('SELECT 1')) };
	usleep(20_000);
}
ok(grep(/"type":"NodeDataChanged"/, @seen), 'the events queued before the limit arrive');
is(scalar(grep(/"type":"EventsLost"/, @seen)), 1, 'the listener gets one EventsLost');
ok($seen[-1] =~ /EventsLost|NodeDataChanged/, 'and events flow again')
  or diag explain \@seen;
cmp_ok(scalar(grep(/NodeDataChanged/, @seen)), '<', $n + 1,
	'events beyond the limit were dropped, not queued');

$listener->quit;
$node->stop;
done_testing();
