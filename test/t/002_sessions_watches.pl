# Copyright (c) zkpg authors

# Sessions and watches of a standalone zkpg server, where a real client
# process, a real crash or real concurrency is needed (the pg_regress files
# zk_sessions / zk_watches and the isolation specs cover the rest):
#
#  1. watch delivery to a psql that LISTENs: the event arrives as psql's
#     "Asynchronous notification" on the session's channel, once, with the
#     zxid of the change; a 1024-byte path still fits NOTIFY's 8000 bytes;
#  2. the watch registration race: a client re-arms a data watch with
#     zk_get(watch => true) while another hammers zk_set; every read must be
#     followed by exactly one event for a change after it;
#  3. a listener stuck in an open transaction (the NOTIFY queue cannot be
#     trimmed past it) does not stop the applier: writes of others keep
#     succeeding, applied_zxid keeps rising, and the stuck session gets its
#     events (or one EventsLost) once it commits;
#  4. zkpg.kill_session: the victim gets SessionExpired and ZK112 on its
#     next call, until zk_close_session();
#  5. pg_terminate_backend of a session holder closes its session;
#  6. a client that vanishes (kill -9 of psql, not of the backend): its idle
#     backend sees the socket close and exits, closing its session;
#  7. examples/watch_loop.py follows a node through create, set and
#     delete (when python3-psycopg is installed);
#  8. kill -9 of a backend holding ephemerals: PostgreSQL restarts every
#     backend; afterwards no session of the old run is left, no ephemeral
#     remains, and no node's ephemeral owner is a dead session.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

use ZkpgNode;

my $db = $ZkpgNode::dbname;

my $node = ZkpgNode::new_standalone(
	'sessw',
	conf => qq(
restart_after_crash = on
log_statement = none
));

# The invariant of DESIGN.md: no node's ephemeral owner is a dead session.
my $orphans_sql = q{SELECT count(*) FROM zkpg.znode
	WHERE ephemeral_owner <> 0
	  AND ephemeral_owner NOT IN (SELECT session_id FROM zkpg.session)};

$node->safe_psql($db, q{SELECT zk_create('/tap')});

# ---------------------------------------------------------------------------
# Helpers

# A psql in the background that keeps going after errors (ZK112 is expected
# in places), with SQLSTATEs in its messages.
sub bg_psql
{
	my $s = $node->background_psql($db, on_error_stop => 0);
	$s->query_safe('\set VERBOSITY verbose');
	return $s;
}

# Split psql output into notifications and other lines.  A notification is
# { channel, type, path, zxid, payload, pid }.
sub parse_output
{
	my ($out) = @_;
	my (@notes, @rows);

	foreach my $line (split /\n/, $out // '')
	{
		if ($line =~
			/^Asynchronous notification "([^"]*)" with payload "(.*)" received from server process with PID (\d+)\.$/
		  )
		{
			my ($channel, $payload, $pid) = ($1, $2, $3);
			my %n = (channel => $channel, payload => $payload, pid => $pid);
			$n{type} = $1 if $payload =~ /"type":"([^"]*)"/;
			$n{zxid} = $1 if $payload =~ /"zxid":(\d+)/;
			if ($payload =~ /"path":"((?:[^"\\]|\\.)*)"/)
			{
				my $p = $1;
				$p =~ s/\\(["\\\/])/$1/g;
				$n{path} = $p;
			}
			push @notes, \%n;
		}
		else
		{
			push @rows, $line;
		}
	}
	return (\@notes, \@rows);
}

# Run a query in a background psql; return (rows, notifications).
sub bg_query
{
	my ($s, $sql) = @_;
	my $out = $s->query($sql);
	my ($notes, $rows) = parse_output($out);
	return ($rows, $notes);
}

# Poll a background psql with "SELECT 1" until $pred->(\@all_notes) is true
# or $timeout seconds have passed; return all notifications seen, starting
# with those of $already (an array ref, optional).
sub collect_notes
{
	my ($s, $timeout, $pred, $already) = @_;
	my @all = @{ $already // [] };
	my $deadline = time() + $timeout;

	return \@all if $pred->(\@all);
	while (1)
	{
		my (undef, $notes) = bg_query($s, 'SELECT 1');
		push @all, @$notes;
		last if $pred->(\@all) || time() > $deadline;
		usleep(2_000);
	}
	return \@all;
}

sub poll_true
{
	my ($sql, $what) = @_;
	ok($node->poll_query_until($db, $sql), $what);
}

# ---------------------------------------------------------------------------
# 1. Watch delivery to a listening psql
{
	$node->safe_psql($db, q{SELECT zk_create('/tap/w', 'a')});
	my $l = bg_psql();
	my ($rows) = bg_query($l,
		q{SELECT zk_watch_channel() || ' ' || zk_session_id()});
	my ($chan, $sid) = split / /, $rows->[0];
	like($chan, qr/^zk_session_[0-9a-f]{16}_[0-9a-f]{32}$/, 'channel name: the session id and a secret');

	bg_query($l, q{SELECT version FROM zk_get('/tap/w', true)});
	is( $node->safe_psql($db,
			"SELECT count(*) FROM pg_stat_activity a JOIN zkpg.sessions s ON s.backend_pid = a.pid WHERE s.session_id = $sid"
		),
		1,
		'the listener session is listed with its backend');
	# a sentinel, so that we know when no further event can come
	bg_query($l, q{SELECT zk_add_watch('/tap/w_sentinel')});

	my $m1 = $node->safe_psql($db,
		q{SELECT zk_create('/tap/w_sentinel'), (zk_set('/tap/w', 'b')).mzxid});
	$m1 =~ s/.*\|//;
	$node->safe_psql($db, q{SELECT zk_set('/tap/w', 'c')});
	$node->safe_psql($db, q{SELECT zk_set('/tap/w_sentinel', 'x')});

	my $notes = collect_notes($l, 30,
		sub { grep { ($_->{path} // '') eq '/tap/w_sentinel' && $_->{type} eq 'NodeDataChanged' } @{ $_[0] } });
	my @w = grep { ($_->{path} // '') eq '/tap/w' } @$notes;
	is(scalar(@w), 1, 'one event for two sets (one-shot watch)');
	is($w[0]{type}, 'NodeDataChanged', 'event type') if @w;
	is($w[0]{channel}, $chan, 'on the session\'s channel') if @w;
	is($w[0]{zxid}, $m1, 'with the zxid of the first set') if @w;
	my @order = map { "$_->{type} " . ($_->{path} // '') } @$notes;
	is_deeply(
		\@order,
		[
			'NodeCreated /tap/w_sentinel', 'NodeDataChanged /tap/w',
			'NodeDataChanged /tap/w_sentinel'
		],
		'events in zxid order');

	# a 1024-byte path that is all quotes and backslashes
	my $long = '/tap/' . ('"\\' x 509) . '"';
	is(length($long), 1024, 'long path is 1024 bytes');
	(my $lit = $long) =~ s/'/''/g;
	bg_query($l, "SELECT zk_exists(E'" . ($lit =~ s/\\/\\\\/gr) . "', true) IS NULL");
	$node->safe_psql($db,
		"SELECT zk_create(E'" . ($lit =~ s/\\/\\\\/gr) . "')");
	$notes = collect_notes($l, 30,
		sub { grep { ($_->{path} // '') eq $long } @{ $_[0] } });
	my ($ln) = grep { ($_->{path} // '') eq $long } @$notes;
	ok($ln, 'event for the 1024-byte path arrives');
	ok($ln && length($ln->{payload}) < 8000,
		'its payload stays under 8000 bytes (' . ($ln ? length($ln->{payload}) : 0) . ')');
	is($ln->{type}, 'NodeCreated', 'NodeCreated for the long path') if $ln;
	$l->quit;
}

# ---------------------------------------------------------------------------
# 2. The watch registration race
{
	my $n_sets = 300;
	$node->safe_psql($db,
		q{SELECT zk_create('/tap/race', '0'), zk_create('/tap/race_sentinel')});
	my $watcher = bg_psql();
	# listen first (a persistent watch elsewhere), so that this part tests
	# the registration against concurrent applies and not the session's
	# first LISTEN (watch_register_race.spec has that case)
	bg_query($watcher, q{SELECT zk_add_watch('/tap/race_sentinel')});

	my ($wout, $werr) = ('', '');
	my $writer = IPC::Run::start(
		[
			$node->installed_command('psql'), '-XAtq', '-v', 'ON_ERROR_STOP=1',
			'-d', $node->connstr($db), '-c',
			"DO \$\$ BEGIN FOR i IN 1 .. $n_sets LOOP PERFORM zk_set('/tap/race', convert_to(i::text, 'UTF8')); END LOOP; PERFORM zk_set('/tap/race', 'done'); END \$\$"
		],
		'<', \undef, '>', \$wout, '2>', \$werr);

	my ($reads, $lost, $stale, $wrong) = (0, 0, 0, 0);
	my $pending = [];
	my $deadline = time() + 60;
	while (time() < $deadline)
	{
		my ($rows, $notes) = bg_query($watcher,
			q{SELECT mzxid || ' ' || convert_from(data, 'UTF8') FROM zk_get('/tap/race', true)});
		my ($seen, $data) = split / /, $rows->[0];
		$reads++;
		# events printed with this read (a watch that fired at once is
		# delivered at the end of the registering statement)
		push @$pending, @$notes;
		last if $data eq 'done';
		my $got = 0;
		my $wait_until = time() + 5;
		while (!$got)
		{
			foreach my $e (grep { ($_->{path} // '') eq '/tap/race' } @$pending)
			{
				if ($e->{zxid} <= $seen)
				{
					$stale++;
				}
				else
				{
					$wrong++ unless $e->{type} eq 'NodeDataChanged';
					$got = 1;
				}
			}
			$pending = [];
			last if $got || time() > $wait_until;
			my (undef, $more) = bg_query($watcher, 'SELECT 1');
			push @$pending, @$more;
		}
		$lost++ unless $got;
	}
	ok($writer->finish, 'the writer finished its sets') or diag $werr;
	cmp_ok($reads, '>', 1, "watcher read and re-armed $reads times");
	is($lost, 0, 'no read without its event (lost)');
	is($stale, 0, 'no duplicate event (zxid already seen)');
	is($wrong, 0, 'every event is NodeDataChanged');
	$watcher->query('SELECT zk_remove_watches(\'/tap/race\')');
	$watcher->quit;
}

# ---------------------------------------------------------------------------
# 3. A listener stuck in an open transaction does not stop the applier
{
	my $n_events = 2000;
	$node->safe_psql($db, q{SELECT zk_create('/tap/q', '0')});
	my $stuck = bg_psql();
	bg_query($stuck, q{SELECT zk_add_watch('/tap/q')});
	bg_query($stuck, 'BEGIN');
	bg_query($stuck, 'SELECT 1');

	my $before = ZkpgNode::status($node)->{applied_zxid};
	my $t0 = time();
	my ($ret, $stdout, $stderr) = $node->psql($db,
		"DO \$\$ BEGIN FOR i IN 1 .. $n_events LOOP PERFORM zk_set('/tap/q', convert_to(i::text, 'UTF8')); END LOOP; END \$\$",
		timeout => 120);
	is($ret, 0, "$n_events writes succeed while a listener is stuck in a transaction")
	  or diag $stderr;
	note sprintf('%d writes took %.1f s', $n_events, time() - $t0);
	my $after = ZkpgNode::status($node)->{applied_zxid};
	cmp_ok($after - $before, '>=', $n_events, 'applied_zxid kept rising');
	my $usage = $node->safe_psql($db, 'SELECT pg_notification_queue_usage() > 0');
	is($usage, 't', 'the NOTIFY queue holds the stuck listener\'s backlog');
	is($node->safe_psql($db, q{SELECT version FROM zk_exists('/tap/q')}),
		$n_events, 'every write applied');

	# the stuck session commits and gets its events: all of them in order,
	# or what came before an EventsLost and that EventsLost
	my ($rows, $notes) = bg_query($stuck, 'COMMIT');
	my $all = collect_notes($stuck, 30,
		sub {
			my $n = $_[0];
			scalar(grep { $_->{type} eq 'NodeDataChanged' } @$n) >= $n_events
			  || grep { $_->{type} eq 'EventsLost' } @$n;
		},
		$notes);
	my @got = @$all;
	my @changes = grep { $_->{type} eq 'NodeDataChanged' } @got;
	my @lost = grep { $_->{type} eq 'EventsLost' } @got;
	ok(scalar(@changes) == $n_events || scalar(@lost) == 1,
		sprintf('stuck listener got its %d events (%d) or one EventsLost (%d)',
			$n_events, scalar(@changes), scalar(@lost)));
	my $increasing = 1;
	for my $i (1 .. $#changes)
	{
		$increasing = 0 if $changes[$i]{zxid} <= $changes[ $i - 1 ]{zxid};
	}
	ok($increasing, 'in increasing zxid order');
	bg_query($stuck, q{SELECT zk_remove_watches('/tap/q')});
	$stuck->quit;
}

# ---------------------------------------------------------------------------
# 4. zkpg.kill_session: SessionExpired, then ZK112 until zk_close_session
{
	my $victim = bg_psql();
	my ($rows) = bg_query($victim,
		q{SELECT zk_session_id() || ' ' || zk_create('/tap/victim_e', NULL, 'ephemeral')});
	my ($sid) = split / /, $rows->[0];
	bg_query($victim, q{SELECT version FROM zk_get('/tap/w', true)});

	is($node->safe_psql($db, "SELECT zkpg.kill_session($sid)"),
		't', 'kill_session reports the kill');
	is($node->safe_psql($db, q{SELECT zk_exists('/tap/victim_e') IS NULL}),
		't', 'the victim\'s ephemeral is gone');

	my $notes = collect_notes($victim, 30,
		sub { grep { $_->{type} eq 'SessionExpired' } @{ $_[0] } });
	my @exp = grep { $_->{type} eq 'SessionExpired' } @$notes;
	is(scalar(@exp), 1, 'the victim gets one SessionExpired');
	like($exp[0]{payload}, qr/^\{"type":"SessionExpired","zxid":\d+\}$/,
		'SessionExpired payload') if @exp;

	my ($out, $err) = $victim->query(q{SELECT zk_exists('/tap')});
	like($victim->{stderr}, qr/ZK112/, 'next call fails with ZK112');
	$victim->{stderr} = '';
	$victim->query(q{SELECT * FROM zk_get('/tap')});
	like($victim->{stderr}, qr/ZK112/, 'and the one after');
	$victim->{stderr} = '';
	$victim->query_safe('SELECT zk_close_session()');
	($rows) = bg_query($victim, 'SELECT zk_session_id()');
	isnt($rows->[0], $sid, 'zk_close_session gives a new session');
	$victim->quit;
}

# ---------------------------------------------------------------------------
# 5. pg_terminate_backend of a session holder
{
	my $h = bg_psql();
	my ($rows) = bg_query($h,
		q{SELECT zk_session_id() || ' ' || pg_backend_pid() || ' ' || zk_create('/tap/term_e', NULL, 'ephemeral') || ' ' || zk_create('/tap/term_s-', NULL, 'ephemeral_sequential')}
	);
	my ($sid, $pid) = split / /, $rows->[0];
	is($node->safe_psql($db, "SELECT pg_terminate_backend($pid)"),
		't', 'terminated the holder');
	poll_true(
		"SELECT zk_exists('/tap/term_e') IS NULL AND NOT EXISTS (SELECT FROM zk_get_children('/tap') c WHERE c LIKE 'term_s-%') AND NOT EXISTS (SELECT FROM zkpg.session WHERE session_id = $sid)",
		'pg_terminate_backend closes the session and its ephemerals go');
	eval { $h->quit };
}

# ---------------------------------------------------------------------------
# 6. A client that vanishes: kill -9 of psql, its backend idle (and once
#    idle in a transaction)
foreach my $in_txn (0, 1)
{
	my $label = $in_txn ? 'idle in transaction' : 'idle';
	my ($in, $out, $err) = ('', '', '');
	my $timer = IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default);
	my $client = IPC::Run::start(
		[
			$node->installed_command('psql'), '-XAtq', '-d',
			$node->connstr($db), '-f', '-'
		],
		'<', \$in, '>', \$out, '2>', \$err, $timer);
	$in .= "BEGIN;\n" if $in_txn;
	$in .= "SELECT zk_session_id() || ' ' || pg_backend_pid() || ' ' || zk_create('/tap/gone_$in_txn', NULL, 'ephemeral');\n\\echo READY\n";
	$client->pump until $out =~ /READY/ || $timer->is_expired;
	my ($sid, $pid) = split / /, (split /\n/, $out)[0];
	ok($sid && $pid, "client ($label) holds a session");
	is($node->safe_psql($db, "SELECT zk_exists('/tap/gone_$in_txn') IS NOT NULL"),
		't', "its ephemeral exists ($label)");
	$client->signal('KILL');
	eval { $client->finish };
	poll_true(
		"SELECT zk_exists('/tap/gone_$in_txn') IS NULL AND NOT EXISTS (SELECT FROM zkpg.session WHERE session_id = $sid) AND NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $pid)",
		"vanished client ($label): backend gone, session closed, ephemeral deleted");
}

# ---------------------------------------------------------------------------
# 7. examples/watch_loop.py (when Debian's python3-psycopg is there): it
#    prints each event and the data it re-read
SKIP:
{
	my $script = -f "$ENV{TESTDIR}/examples/watch_loop.py"
	  ? "$ENV{TESTDIR}/examples/watch_loop.py"
	  : '../examples/watch_loop.py';
	skip 'python3 with psycopg 3 is not installed', 4
	  unless system('/usr/bin/python3 -c "import psycopg" 2>/dev/null') == 0;

	my ($in, $out, $err) = ('', '', '');
	my $timer = IPC::Run::timeout(60);
	my $h = IPC::Run::start(
		[
			'/usr/bin/python3', $script, '--dsn', $node->connstr($db),
			'--path', '/tap/example', '--events', '3', '--timeout', '30'
		],
		'<', \$in, '>', \$out, '2>', \$err, $timer);
	my $wait_for = sub {
		my ($re) = @_;
		$h->pump until $out =~ $re || $timer->is_expired || !$h->pumpable;
		return $out =~ $re;
	};
	ok($wait_for->(qr/does not exist; waiting for it to be created\n/),
		'watch_loop.py waits for the node') or diag $err;
	$node->safe_psql($db, q{SELECT zk_create('/tap/example', 'color=blue')});
	$wait_for->(qr/NodeCreated .*\n/);
	$node->safe_psql($db, q{SELECT zk_set('/tap/example', 'color=red')});
	$wait_for->(qr/NodeDataChanged .*\n/);
	$node->safe_psql($db, q{SELECT zk_delete('/tap/example')});
	$wait_for->(qr/NodeDeleted .*\n/);
	eval { $h->finish };
	like($out, qr{^NodeCreated /tap/example zxid=\d+ -> version 0: 'color=blue'$}m,
		'watch_loop.py: NodeCreated and the data');
	like($out, qr{^NodeDataChanged /tap/example zxid=\d+ -> version 1: 'color=red'$}m,
		'watch_loop.py: NodeDataChanged and the new data');
	like($out, qr{^NodeDeleted /tap/example zxid=\d+ -> gone$}m,
		'watch_loop.py: NodeDeleted') or diag "stdout: $out\nstderr: $err";
}

# ---------------------------------------------------------------------------
# 8. kill -9 of a backend holding ephemerals: PostgreSQL restarts every
#    backend; no session of the old run survives, no ephemeral remains.
{
	my $a = bg_psql();
	my $b = bg_psql();
	my ($rows) = bg_query($a,
		q{SELECT zk_session_id() || ' ' || pg_backend_pid() || ' ' || zk_create('/tap/crash_a', NULL, 'ephemeral') || ' ' || zk_create('/tap/crash_a-', NULL, 'ephemeral_sequential')}
	);
	my ($sid_a, $pid_a) = split / /, $rows->[0];
	($rows) = bg_query($b,
		q{SELECT zk_session_id() || ' ' || zk_create('/tap/crash_b', NULL, 'ephemeral')});
	my ($sid_b) = split / /, $rows->[0];
	my $old = $node->safe_psql($db,
		'SELECT string_agg(session_id::text, \',\') FROM zkpg.session');
	note "sessions before the crash: $old";
	is( $node->safe_psql(
			$db,
			"SELECT count(*) FROM zkpg.znode WHERE ephemeral_owner IN ($sid_a, $sid_b)"),
		3,
		'ephemerals before the crash');

	my $pre = ZkpgNode::status($node);
	note "kill -9 of backend $pid_a";
	kill 'KILL', $pid_a;
	eval { $a->quit };
	eval { $b->quit };

	ok(ZkpgNode::wait_for_state($node, 'standalone'),
		'server back after the crash restart');
	poll_true(
		"SELECT NOT EXISTS (SELECT FROM zkpg.session WHERE session_id IN ($old))",
		'no session of the old run is left');
	is($node->safe_psql($db, $orphans_sql), 0,
		'no node\'s ephemeral owner is a dead session');
	is( $node->safe_psql(
			$db,
			q{SELECT count(*) FROM zkpg.znode WHERE path LIKE '/tap/crash%'}),
		0,
		'the crashed sessions\' ephemerals are gone');
	is($node->safe_psql($db, 'SELECT count(*) FROM zkpg.znode WHERE ephemeral_owner <> 0'),
		0, 'no ephemeral at all remains');
	my $post = ZkpgNode::status($node);
	cmp_ok($post->{applied_zxid}, '>', $pre->{applied_zxid},
		'the closes were applied as txns');
	# the server takes sessions and ephemerals again
	is( $node->safe_psql(
			$db,
			q{SELECT zk_create('/tap/after_crash', NULL, 'ephemeral')}),
		'/tap/after_crash',
		'new sessions work after the restart');
	is($node->safe_psql($db, $orphans_sql), 0, 'invariant holds at the end');
}

ok($node->stop('fast', fail_ok => 1), 'server shuts down cleanly');

done_testing();
