# The comparison modes, zkpg.replication = '2pc' and '3pc' (twophase.c):
#
# 1. the API suite (pg_regress, every file of REGRESS) passes on a member
#    of a 3-peer ensemble in each mode;
# 2. 2pc: a participant down makes writes fail (ZK004/ZK007) within the
#    timeout, never hang, while reads go on; a coordinator killed after
#    some participants prepared leaves them in doubt, holding the log lock,
#    until it restarts and resolves them from its log; every acknowledged
#    write survives; a coordinator killed between its COMMIT PREPAREDs
#    leaves the participants disagreeing until its recovery commits the
#    batch everywhere; prepared transactions zkpg did not make are left
#    alone; a mode mismatch and max_prepared_transactions = 0 stop the
#    worker with a clear message; a participant synced after a coordinator
#    restart before its own connection to the coordinator is up forwards
#    its writes once it is, instead of losing them;
# 3. 3pc: a participant whose CanCommit promise is not followed by
#    PreCommit aborts on its timeout; a coordinator killed after PreCommit
#    leaves nothing in doubt: the participants commit on their own;
# 4. the partition of the notes: a participant cut off after it
#    pre-committed commits on its timeout while the coordinator aborts, and
#    the trees diverge (asserted: it is the point of 3PC); ZAB under the
#    same partition does not diverge.
#
# Slow steps are made with ordinary SQL locks on a peer (a LOCK TABLE that
# the peer's log write waits for), and partitions by cutting NetSplit
# relays, never by a code path made for tests.
use strict;
use warnings;

use File::Copy;
use File::Path qw(make_path);
use FindBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use ZkpgNode;

my $db = $ZkpgNode::dbname;
my $SYNC = "DO \$\$BEGIN PERFORM zk_sync('/'); END\$\$;";
my $root = "$FindBin::RealBin/../..";
my $LOG_LOCK_KEY = 2053861479;

sub conf_for
{
	my ($mode, $extra) = @_;
	return "zkpg.replication = '$mode'\nmax_prepared_transactions = 10\n"
	  . "zkpg.session_timeout = 2000\nzkpg.request_timeout = 3000\n" . ($extra // '');
}

sub start_all
{
	my (@nodes) = @_;
	ZkpgNode::start_and_create_extension($_) for @nodes;
	ok(ZkpgNode::wait_serving($_), $_->name . ' serves') for @nodes;
	return;
}

sub in_doubt
{
	my ($node) = @_;
	return $node->safe_psql($db, 'SELECT count(*) FROM zkpg.in_doubt WHERE coordinator = 1');
}

# wait until a backend of $node waits for a lock (its log write)
sub wait_lock_waiter
{
	my ($node) = @_;
	return $node->poll_query_until($db,
		"SELECT count(*) > 0 FROM pg_locks WHERE NOT granted AND relation = 'zkpg.txnlog'::regclass");
}

# a psql session holding a lock on $node's zkpg.txnlog, so that the log
# writes there wait (SHARE) or even its reads do (ACCESS EXCLUSIVE), until
# the test sends COMMIT
sub hold_log
{
	my ($node, $mode) = @_;
	my $h = $node->background_psql($db, on_error_stop => 0);
	$h->query_safe("BEGIN; LOCK TABLE zkpg.txnlog IN $mode MODE");
	return $h;
}

# a psql session of $node with its zkpg session open (a session is a write
# too: it must exist before the test holds anything)
sub client_with_session
{
	my ($node) = @_;
	my $h = $node->background_psql($db, on_error_stop => 0);
	$h->query_safe("\\set VERBOSITY verbose");
	$h->query_safe("SELECT zk_session_id()");
	return $h;
}

# send a statement on a background psql without waiting for its result
sub send_async
{
	my ($h, $sql) = @_;
	$h->query_until(qr/sent/, "\\echo sent\n$sql;\n\\echo done\n");
	return;
}

# the output of what send_async sent, once it is done; a psql that ends or
# times out meanwhile is reported in the output, not by dying
sub wait_async
{
	my ($h) = @_;
	my $ok = eval { pump_until($h->{run}, $h->{timeout}, \$h->{stdout}, qr/done/) };
	my $out = $h->{stdout} . $h->{stderr};
	$out .= "\n[wait_async: " . ($@ || 'psql ended or timed out') . ']' unless $ok;
	return $out;
}

# end the transaction that hold_log() began; false, with the reason in the
# test's log, when its session is gone
sub release
{
	my ($h) = @_;
	my ($failed, $err) = (1, '');
	eval { (undef, $failed) = $h->query("COMMIT"); 1 } or $err = $@;
	diag("releasing the test's lock failed: $h->{stderr} $err") if $failed;
	return !$failed;
}

# what every backend of the nodes does, for the log of a failed step
sub diag_activity
{
	my (@nodes) = @_;
	for my $node (@nodes)
	{
		my ($ret, $out, $err) = $node->psql($db,
			"SELECT state, leader_id, last_logged_zxid, committed_zxid, applied_zxid FROM zkpg.status; "
			  . "SELECT pid, backend_type, state, wait_event_type, wait_event, left(query, 80) "
			  . "FROM pg_stat_activity WHERE pid <> pg_backend_pid()");
		diag($node->name . ":\n$out$err");
	}
	return;
}

# --- 1. the API suite in 2pc and 3pc -----------------------------------------
for my $mode (qw(2pc 3pc))
{
	local $ZkpgNode::dbname = 'contrib_regression';
	my @nodes = ZkpgNode::create_ensemble(3, name => "api$mode", tick_ms => 500,
		conf => "zkpg.replication = '$mode'\nmax_prepared_transactions = 10\n");
	for my $n (@nodes)
	{
		$n->start;
		$n->safe_psql('postgres', 'CREATE DATABASE contrib_regression');
		$n->safe_psql('contrib_regression', 'CREATE EXTENSION zkpg');
	}
	ok(ZkpgNode::wait_serving($_), "$mode: " . $_->name . ' serves') for @nodes;
	is($nodes[0]->safe_psql('contrib_regression', 'SELECT replication || state FROM zkpg.status'),
		"${mode}coordinating", "$mode: server 1, the lowest id, coordinates");
	is($nodes[1]->safe_psql('contrib_regression', 'SELECT replication || state FROM zkpg.status'),
		"${mode}participating", "$mode: server 2 participates");

	# the suite's own files; zk_basic creates the extension, which the
	# peers needed before they could form the ensemble
	my $dir = "${PostgreSQL::Test::Utils::tmp_check}/regress_$mode";
	make_path("$dir/sql", "$dir/expected", "$dir/out");
	my $create = 'SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS zkpg; RESET client_min_messages;';
	for my $kind (qw(sql expected))
	{
		for my $f (glob("$root/$kind/zk_*"))
		{
			open(my $in, '<', $f) or die $!;
			open(my $out, '>', "$dir/$kind/" . (split m{/}, $f)[-1]) or die $!;
			while (<$in>) { s/^CREATE EXTENSION zkpg;$/$create/; print $out $_; }
			close $out;
		}
	}
	my ($tests) = slurp_file("$root/Makefile") =~ /^REGRESS = (.*)$/m;
	my $bindir = $nodes[1]->config_data('--bindir');
	my $rc = system_log($ENV{PG_REGRESS}, '--use-existing', '--host=' . $nodes[1]->host,
		'--port=' . $nodes[1]->port, '--dbname=contrib_regression',
		"--inputdir=$dir", "--outputdir=$dir/out", "--bindir=$bindir", split(' ', $tests));
	is($rc, 0, "$mode: the pg_regress suite passes on a participant");
	if ($rc != 0 && -f "$dir/out/regression.diffs")
	{
		diag(slurp_file("$dir/out/regression.diffs"));
	}
	ZkpgNode::converged("$mode: after the API suite", @nodes);
	$_->stop('immediate') for @nodes;
}

# --- 2. 2pc: failures, recovery, strays ----------------------------------------
my @p = ZkpgNode::create_ensemble(3, name => 'twopc', conf => conf_for('2pc'));
start_all(@p);
$p[1]->safe_psql($db, "SELECT zk_create('/w$_', 'v')") for 1 .. 20;
ZkpgNode::converged('2pc: after 20 writes', @p);

# a participant down: writes fail within the timeout, reads go on
my $reader = $p[1]->background_psql($db, on_error_stop => 0);
$reader->query_safe("SELECT zk_get_children('/')");
ZkpgNode::kill9_server($p[2]);
for my $i (0, 1)
{
	my $t0 = time();
	my ($ret, $out, $err) = $p[$i]->psql($db,
		"\\set VERBOSITY verbose\nSELECT zk_create('/while-down-$i', 'x')");
	my $took = time() - $t0;
	like($err, qr/ZK00[47]/, "2pc: a write on server " . ($i + 1) . " fails with ZK004/ZK007 while a participant is down");
	cmp_ok($took, '<', 3 + 2, "2pc: it fails within zkpg.request_timeout ($took s)");
}
is($reader->query_safe("SELECT count(*) FROM zk_get_children('/')"), '21',
	'2pc: reads still work on a session of a participant');
for my $i (0, 1)
{
	# a new connection's read needs no session, so no round of 2PC: it is
	# served; a write with a request timeout longer than the statement's
	# fails with ZK004 once the coordinator has no quorum, never by the
	# statement timeout
	my ($ret, $out, $err) = $p[$i]->psql($db,
		"SET statement_timeout = '20s';\nSELECT count(*) FROM zk_get_children('/')");
	is($out, '21', "2pc: a read on a new connection to server " . ($i + 1) . " is served while a participant is down");
	my $t0 = time();
	($ret, $out, $err) = $p[$i]->psql($db,
		"\\set VERBOSITY verbose\nSET statement_timeout = '20s';\nSET zkpg.request_timeout = '60s';\n"
		  . "SELECT zk_create('/while-down-new-$i', 'x')");
	my $took = time() - $t0;
	like($err, qr/ZK004|ZK007/, "2pc: a write on a new connection to server " . ($i + 1) . " fails with ZK004/ZK007");
	unlike($err, qr/statement timeout/, "2pc: not by the statement timeout ($took s)");
}
$p[2]->start;
ok(ZkpgNode::wait_serving($_), '2pc: serves again once every participant is back') for @p;
$p[2]->safe_psql($db, "SELECT zk_create('/after-return', 'x')");
ZkpgNode::converged('2pc: after a participant returned', @p);

# strays: prepared transactions zkpg did not make are never touched
$p[1]->safe_psql($db, "BEGIN; PREPARE TRANSACTION 'someone_else'");
$p[1]->safe_psql($db, "BEGIN; PREPARE TRANSACTION 'zkpg_1_not_hex'");
$p[1]->safe_psql($db, "BEGIN; PREPARE TRANSACTION 'zkpg_9_0000000100000001'");

# the coordinator killed after server 2 prepared, server 3 still writing:
# server 3's log write waits for a table lock taken by the test
my $writer = client_with_session($p[1]);
my $locker = hold_log($p[2], 'SHARE');
send_async($writer, "SELECT zk_create('/in-doubt', 'x')");
ok(wait_lock_waiter($p[2]), "2pc: server 3's prepare waits for the lock");
ok($p[1]->poll_query_until($db, 'SELECT count(*) = 1 FROM zkpg.in_doubt WHERE coordinator = 1'),
	'2pc: server 2 prepared the batch');
my $t_kill = time();
ZkpgNode::kill9_server($p[0]);
like(wait_async($writer), qr/ZK004/, '2pc: the writer learns the outcome is unknown (ZK004)');
release($locker);
ok($p[2]->poll_query_until($db, 'SELECT count(*) = 1 FROM zkpg.in_doubt WHERE coordinator = 1'),
	'2pc: server 3 prepared it too once the lock went');
sleep 1;
is(in_doubt($p[1]) . in_doubt($p[2]), '11', '2pc: both participants stay in doubt while the coordinator is down');
is($p[1]->safe_psql($db,
		"SELECT count(*) FROM pg_locks WHERE locktype = 'userlock' AND classid = $LOG_LOCK_KEY "
		  . "AND granted AND pid IS NULL"),
	'1', '2pc: the in-doubt transaction holds the participant\'s log lock');
# a lock tag no SQL can name: the advisory lock of the same key is free
is($p[1]->safe_psql($db, "SELECT pg_try_advisory_lock($LOG_LOCK_KEY)"), 't',
	'2pc: no advisory lock reaches the log lock');
is($p[1]->safe_psql($db, "SELECT string_agg(coordinator::text, ',' ORDER BY coordinator) FROM zkpg.in_doubt"),
	'1,9', '2pc: zkpg.in_doubt names the coordinator of each batch');
$p[0]->start;
ok(ZkpgNode::wait_serving($_), '2pc: the restarted coordinator serves') for @p;
my $held = time() - $t_kill;
note(sprintf("in doubt for %.1f s, until the coordinator restarted", $held));
for my $i (1, 2)
{
	is(in_doubt($p[$i]), '0', "2pc: nothing left in doubt at server " . ($i + 1));
}
is($p[1]->safe_psql($db, "SELECT string_agg(gid, ',' ORDER BY gid) FROM pg_prepared_xacts"),
	'someone_else,zkpg_1_not_hex,zkpg_9_0000000100000001',
	'2pc: prepared transactions zkpg did not make are left alone');
for my $n (@p)
{
	is($n->safe_psql($db, "$SYNC SELECT count(*) FROM zk_get_children('/') c WHERE c ~ '^w[0-9]+\$'"),
		'20', '2pc: every acknowledged write is on ' . $n->name);
	is($n->safe_psql($db, "SELECT zk_exists('/in-doubt') IS NULL"), 't',
		'2pc: the undecided batch was rolled back on ' . $n->name);
}
ZkpgNode::converged('2pc: after the coordinator\'s recovery', @p);
$p[1]->safe_psql($db, "ROLLBACK PREPARED '$_'")
  for qw(someone_else zkpg_1_not_hex zkpg_9_0000000100000001);
$writer->quit;
$reader->quit;
$locker->quit;

# the coordinator dies between its COMMIT PREPAREDs: server 2 committed,
# server 3 (its peer backend stopped after it voted) still holds the batch
# in doubt, so the trees disagree until the coordinator's recovery
# commits it there from its log
my $w2 = client_with_session($p[1]);
my $decider = hold_log($p[0], 'SHARE');
send_async($w2, "SELECT zk_create('/decided', 'x')");
ok($p[1]->poll_query_until($db, 'SELECT count(*) = 1 FROM zkpg.in_doubt WHERE coordinator = 1')
	  && $p[2]->poll_query_until($db, 'SELECT count(*) = 1 FROM zkpg.in_doubt WHERE coordinator = 1'),
	'2pc: both participants prepared; the decision waits');
my $peer_backend = $p[2]->safe_psql($db,
	"SELECT pid FROM pg_stat_activity WHERE application_name = 'zkpg peer 1'");
kill 'STOP', $peer_backend;
release($decider);
like(wait_async($w2), qr{/decided}, '2pc: the write is acknowledged once decided');
my $has = "SELECT count(*) FROM zkpg.znode WHERE path = '/decided'";
is($p[1]->safe_psql($db, $has) . $p[2]->safe_psql($db, $has), '10',
	'2pc: server 2 committed it, server 3 did not get its COMMIT PREPARED');
is(in_doubt($p[2]), '1', '2pc: server 3 still holds it in doubt');
isnt($p[1]->safe_psql($db, 'SELECT zkpg.tree_digest()'), $p[2]->safe_psql($db, 'SELECT zkpg.tree_digest()'),
	'2pc: the participants disagree meanwhile');
ZkpgNode::kill9_server($p[0]);
eval { $decider->quit };
$p[0]->start;
ok($p[2]->poll_query_until($db, "SELECT ($has) = 1 AND (SELECT count(*) FROM zkpg.in_doubt) = 0"),
	"2pc: the restarted coordinator's recovery commits it on server 3 from its log");
kill 'CONT', $peer_backend;
ok(ZkpgNode::wait_serving($_), '2pc: serves after the recovery') for @p;
ZkpgNode::converged('2pc: after a recovery that committed', @p);
$w2->quit;

# a peer of another mode: the worker stops with a clear message
$p[2]->stop;
$p[2]->append_conf('postgresql.conf', "zkpg.replication = 'zab'\n");
$p[2]->start;
ok($p[2]->wait_for_log(qr/zkpg server [12] uses zkpg.replication = "2pc", server 3 uses "zab"/),
	'a mode mismatch is reported in the log');
ok($p[2]->poll_query_until($db, "SELECT state = 'starting' FROM zkpg.status"),
	'the mismatched peer does not serve');
like($p[2]->safe_psql($db, 'SELECT not_serving_reason FROM zkpg.status'),
	qr/zkpg.replication mismatch: server [12] uses "2pc", this server "zab"/,
	'zkpg.status says why the mismatched peer does not serve');
{
	# it refuses at once, not after zkpg.request_timeout (set long here)
	my $t0 = time();
	my ($ret, $out, $err) = $p[2]->psql($db,
		"\\set VERBOSITY verbose\nSET zkpg.request_timeout = '60s';\nSELECT zk_create('/mismatch', 'x')");
	my $took = time() - $t0;
	like($err, qr/ZK004.*\n.*replication mismatch/, 'a write on the mismatched peer fails with ZK004 and says why');
	cmp_ok($took, '<', 10, "it fails within zkpg.init_limit ticks, not the request timeout ($took s)");
}
$_->stop('immediate') for @p;

# max_prepared_transactions = 0
my ($solo) = ZkpgNode::create_ensemble(3, name => 'noprep',
	conf => "zkpg.replication = '2pc'\nmax_prepared_transactions = 0\n");
$solo->start;
ok($solo->wait_for_log(qr/needs prepared transactions, but max_prepared_transactions is 0/),
	'max_prepared_transactions = 0 stops the worker with a clear message');
$solo->stop('immediate');

# an observer has no place where every participant votes
my ($with_observer) = ZkpgNode::create_ensemble(3, name => 'withobs', observers => [3],
	conf => "zkpg.replication = '2pc'\nmax_prepared_transactions = 10\n");
$with_observer->start;
ok($with_observer->wait_for_log(qr/zkpg.replication = "2pc" does not support observers \(server 3\)/),
	'an observer in zkpg.servers stops a 2pc worker with a clear message');
$with_observer->safe_psql('postgres', 'CREATE EXTENSION zkpg');
is($with_observer->safe_psql('postgres', 'SELECT state FROM zkpg.status'), 'starting',
	'and that server does not serve');
$with_observer->stop('immediate');

# --- 2b. 2pc: a participant synced before its own link to the coordinator -------
# After a coordinator restart, a participant is synced over the
# coordinator's connection to it, and may serve before its own connection
# to the coordinator is up.  A write it took then must not be lost (it was
# dropped, and its client waited for zkpg.request_timeout: the third of
# the throughput after a coordinator restart in docs/comparison): it is
# forwarded once the connection is up.
{
	my @r = ZkpgNode::create_ensemble(3, name => 'twopcr', relays => 1,
		conf => conf_for('2pc', "zkpg.sync_limit = 30\nzkpg.request_timeout = 600000\n"));
	start_all(@r);
	my $P = $r[1];
	my $client = client_with_session($P);
	my $plog = -s $P->logfile;
	ZkpgNode::kill9_server($r[0]);
	ok($P->wait_for_log(qr/zkpg lost (its connection to )?leader 1/, $plog),
		'2pc: the participant sees the coordinator go');
	# its own link to the coordinator stays down; the coordinator's to it works
	NetSplit::cut($P->{_links}{1});
	$plog = -s $P->logfile;
	$r[0]->start;
	ok($P->wait_for_log(qr/zkpg server 2 serves as participating of leader 1, epoch/, $plog),
		'2pc: the restarted coordinator syncs the participant while that link is cut');
	send_async($client, "SELECT zk_create('/forwarded-late', 'x')");
	ok($P->poll_query_until($db, 'SELECT outstanding_requests = 1 FROM zkpg.status'),
		'2pc: a write waits there');
	NetSplit::heal($P->{_links}{1});
	like(wait_async($client), qr{/forwarded-late}, '2pc: it is forwarded once the link is up, and done');
	ok(ZkpgNode::wait_serving($_), '2pc: ' . $_->name . ' serves') for @r;
	ZkpgNode::converged('2pc: after a participant synced before its link', @r);
	# (not quit: a client still waiting would be waited for)
	$client->{run}->kill_kill;
	ZkpgNode::stop_relays(\@r);
	$_->stop('immediate') for @r;
}

# --- 3. 3pc: the participants' timeouts ----------------------------------------
my @q = ZkpgNode::create_ensemble(3, name => 'threepc',
	conf => conf_for('3pc', "zkpg.sync_limit = 30\n"));
start_all(@q);
$q[1]->safe_psql($db, "SELECT zk_create('/base', 'b')");

# CanCommit answered by server 3, never by server 2 (its log read waits
# for the test's lock): no PreCommit comes, server 3 drops its promise
my $offset = -s $q[2]->logfile;
my $blocker = hold_log($q[1], 'ACCESS EXCLUSIVE');
my ($ret, $out, $err) = $q[0]->psql($db, "\\set VERBOSITY verbose\nSELECT zk_create('/no-precommit', 'x')");
like($err, qr/ZK00[47]/, '3pc: the write fails when a participant never answers CanCommit');
ok($q[2]->wait_for_log(qr/no PreCommit for batch 0x[0-9a-f]+ within \d+ ms; aborting it/, $offset),
	'3pc: the participant that promised aborts on its timeout');
is(in_doubt($q[2]), '0', '3pc: it prepared nothing');
release($blocker);
$blocker->quit;
ok(ZkpgNode::wait_serving($_), '3pc: serves again') for @q;

# the coordinator killed after PreCommit, before its decision (its own log
# write waits for the test's lock): the participants commit on their own
my $w3 = client_with_session($q[1]);
my $cl = hold_log($q[0], 'SHARE');
send_async($w3, "SELECT zk_create('/precommitted', 'x')");
ok($q[1]->poll_query_until($db, 'SELECT count(*) = 1 FROM zkpg.in_doubt')
	  && $q[2]->poll_query_until($db, 'SELECT count(*) = 1 FROM zkpg.in_doubt'),
	'3pc: both participants pre-committed');
ZkpgNode::kill9_server($q[0]);
eval { $cl->quit };
for my $i (1, 2)
{
	ok($q[$i]->poll_query_until($db,
			"SELECT (SELECT count(*) FROM zkpg.in_doubt) = 0 AND "
			  . "EXISTS (SELECT 1 FROM zkpg.znode WHERE path = '/precommitted')"),
		'3pc: server ' . ($i + 1) . ' committed on its own, coordinator down');
}
$w3->quit;
$q[0]->start;
ok(ZkpgNode::wait_serving($_), '3pc: the coordinator returns') for @q;
ZkpgNode::converged('3pc: after the coordinator returned', @q);
$_->stop('immediate') for @q;

# --- 4. the partition of the notes: 3pc diverges, zab does not --------------------
for my $mode (qw(3pc zab))
{
	my @r = ZkpgNode::create_ensemble(3, name => "split$mode", relays => 1,
		conf => conf_for($mode, "zkpg.sync_limit = 30\n"));
	ZkpgNode::start_and_create_extension($_) for @r;
	my $leader = $mode eq 'zab' ? ZkpgNode::wait_for_leader(\@r) : 1;
	ok(ZkpgNode::wait_serving($_), "$mode: " . $_->name . ' serves') for @r;
	my $L = $r[ $leader - 1 ];
	my ($victim) = grep { $_ != $L } @r;
	my ($other) = grep { $_ != $L && $_ != $victim } @r;
	my ($vid) = map { $_ + 1 } grep { $r[$_] == $victim } 0 .. $#r;
	$other->safe_psql($db, "SELECT zk_create('/before', 'b')");
	ZkpgNode::converged("$mode: before the partition", @r);

	# the victim's log write waits for the test's lock; the partition
	# falls while it waits, then the lock goes and it logs (3pc: prepares)
	my $wr = client_with_session($L);
	my $lk = hold_log($victim, 'SHARE');
	send_async($wr, "SELECT zk_create('/split', 'x')");
	ok(wait_lock_waiter($victim), "$mode: the victim received the batch");
	ZkpgNode::isolate(\@r, $vid);
	ok(release($lk), "$mode: the victim's log writes go on");
	my $result = wait_async($wr);
	my $victim_has = "SELECT count(*) FROM zkpg.znode WHERE path = '/split'";
	if ($mode eq '3pc')
	{
		like($result, qr/ZK00[47]/, '3pc: the coordinator aborts the batch whose vote was cut off')
		  or diag_activity(@r);
		ok($victim->poll_query_until($db, "SELECT ($victim_has) = 1"),
			'3pc: the cut-off participant commits it on its timeout');
		is($L->safe_psql($db, $victim_has) . $other->safe_psql($db, $victim_has), '00',
			'3pc: the coordinator and the other participant do not have it');
		isnt($victim->safe_psql($db, 'SELECT zkpg.tree_digest()'),
			$other->safe_psql($db, 'SELECT zkpg.tree_digest()'),
			'3pc: the trees diverge (tree digests differ)');
	}
	else
	{
		unlike($result, qr/ERROR|wait_async/, 'zab: the majority commits the write')
		  or diag_activity(@r);
		is($L->safe_psql($db, $victim_has) . $other->safe_psql($db, "$SYNC $victim_has"), '11',
			'zab: the majority has it');
		sleep 4;
		is($L->safe_psql($db, 'SELECT state FROM zkpg.status'), 'leading',
			'zab: the leader keeps its quorum without the cut-off follower');
	}
	ZkpgNode::heal_all(\@r);
	ok(ZkpgNode::wait_serving($_), "$mode: " . $_->name . ' serves after healing') for @r;
	ZkpgNode::converged("$mode: after healing", @r);
	is($victim->safe_psql($db, "$SYNC $victim_has"), $mode eq 'zab' ? '1' : '0',
		$mode eq 'zab' ? 'zab: the write is everywhere' : '3pc: the self-committed write is lost when it resyncs by SNAP');
	$lk->quit;
	$wr->quit;
	ZkpgNode::stop_relays(\@r);
	$_->stop('immediate') for @r;
}

done_testing();
