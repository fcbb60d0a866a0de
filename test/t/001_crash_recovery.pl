
# Copyright (c) zkpg authors

# Crash safety of a standalone zkpg server.
#
# Each round starts a write load of several concurrent clients (separate psql
# processes, one statement at a time: zk_create of unique paths, zk_set of a
# per-client node, zk_create persistent_sequential), crashes the server while
# writes are in flight, restarts it and checks the invariants:
#
#  - every acknowledged create is present with its data; every acknowledged
#    set's value (or that of a later, unacknowledged set) is present;
#  - nothing that failed, and nothing that was never sent, is present;
#  - sequential children are unique, named 0..n-1 (the parent's create count),
#    increasing per client, each applied once;
#  - tree_digest() = log_replay_digest(): the tree equals a replay of the log;
#  - applied_zxid = committed_zxid = last_logged_zxid in zkpg.status, and no
#    acknowledged zxid is above last_logged_zxid;
#  - the server takes writes again, with a zxid above every zxid before the
#    crash and an epoch (zxid >> 32) strictly greater than before the crash;
#  - the nodes of every earlier round are still intact.
#
# Crashes: kill -9 of the postmaster alone (its children must notice and
# exit), kill -9 of the postmaster and all its children at once, kill -9 of
# the postmaster again, then kill -9 of one client backend in the middle of
# a write (PostgreSQL then restarts all backends: restart_after_crash = on).
#
# A client's statement is "acknowledged" when psql printed its result row.
# psql runs its script one statement at a time, so per client at most one
# statement is in flight at the crash: the one after the last answered one.
# That one, and any that failed with a non-ZooKeeper error (connection lost,
# ZK004 CONNECTIONLOSS, ZK007 OPERATIONTIMEOUT ...), may or may not have taken
# effect; a statement that failed with a ZooKeeper error (ZK1xx, ZK008) or was
# never sent must not have.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

use ZkpgNode;

my $db = $ZkpgNode::dbname;

# Load shape.
my $n_clients = 4;
my $n_stmts = 20000;      # per client per round; far more than gets done
my $min_progress = 200;   # creates applied under the round before a crash

# Header lines of every client script, before statement 0.
my @script_header = ('\set VERBOSITY verbose');

my $node = ZkpgNode::new_standalone(
	'crash',
	conf => qq(
restart_after_crash = on
log_statement = none
));

my $scratch = PostgreSQL::Test::Utils::tempdir();

$node->safe_psql($db, q{SELECT zk_create('/crash')});

# Every round's statements, with their outcome, for the cumulative checks.
my @rounds;

my @crash_kinds = ('postmaster', 'postmaster+children', 'postmaster',
	'backend');

for my $r (1 .. scalar(@crash_kinds))
{
	my $kind = $crash_kinds[ $r - 1 ];
	my $round = run_round($r, $kind);
	last unless defined $round;
	push @rounds, $round;

	check_after_restart(\@rounds)
	  or last;
}

ok($node->stop('fast', fail_ok => 1), 'server shuts down cleanly at the end');

done_testing();


# ---------------------------------------------------------------------------
# One round: set up, load, crash, restart, classify the clients' outcomes.
# Returns the round (hashref) or undef when the server did not come back.
sub run_round
{
	my ($r, $kind) = @_;
	my $base = "/crash/r$r";

	note "=== round $r: crash by kill -9 of $kind ===";

	my $setup = "SELECT zk_create('$base'), zk_create('$base/seq')";
	$setup .= ", zk_create('$base/set$_', 'init')" for 0 .. $n_clients - 1;
	$node->safe_psql($db, $setup);

	my $round = {
		r => $r,
		kind => $kind,
		base => $base,
		clients => [],
		post => {},    # writes made after the restart
	};

	# Start the clients.
	for my $k (0 .. $n_clients - 1)
	{
		my $c = make_client($round, $k);
		push @{ $round->{clients} }, $c;
		$c->{h} = IPC::Run::start(
			[
				$node->installed_command('psql'), '-XAtq',
				'-d', $node->connstr($db) . " application_name=zkcrash-$k",
				'-f', $c->{script}
			],
			'<', '/dev/null',
			'>', $c->{out},
			'2>', $c->{err},
			IPC::Run::timeout(10 * $PostgreSQL::Test::Utils::timeout_default)
		);
	}

	# Let the load get going: wait until enough creates are applied.
	my $progressed = 0;
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
	while (time() < $deadline)
	{
		my ($rc, $n) = $node->psql($db, "SELECT zk_count_children('$base')");
		if ($rc == 0 && $n =~ /^\d+$/ && $n >= $min_progress + 1)
		{
			$progressed = 1;
			last;
		}
		usleep(50_000);
	}
	ok($progressed,
		"round $r: write load is making progress ($min_progress+ creates)");

	# Where we were just before the crash.
	my $pre = ZkpgNode::status($node);
	$round->{pre_status} = $pre;
	note "round $r: before crash: epoch $pre->{epoch}, last_logged_zxid "
	  . "$pre->{last_logged_zxid}";

	my $log_offset = -s $node->logfile;

	if ($kind eq 'backend')
	{
		# A client backend that is running a statement, i.e. mid-write.
		my $pid = '';
		for (1 .. 200)
		{
			$pid = $node->safe_psql($db,
				"SELECT pid FROM pg_stat_activity WHERE application_name = 'zkcrash-0' AND state = 'active'"
			);
			last if $pid =~ /^\d+$/;
			usleep(10_000);
		}
		ok($pid =~ /^\d+$/, "round $r: found a busy client backend")
		  or $pid = $node->safe_psql($db,
			"SELECT pid FROM pg_stat_activity WHERE application_name = 'zkcrash-0'"
		  );
		$pid =~ /^\d+$/
		  or return finish_clients_and_fail($round);
		note "round $r: kill -9 of backend $pid";
		kill 'KILL', $pid;

		# restart_after_crash: the postmaster kills everything and restarts.
		my $ok = eval {
			$node->wait_for_log(
				qr/all server processes terminated; reinitializing/,
				$log_offset);
			1;
		};
		ok($ok, "round $r: postmaster reinitializes after the backend crash")
		  or return finish_clients_and_fail($round);
	}
	else
	{
		my ($pm) = ZkpgNode::server_pids($node);
		note "round $r: kill -9 of postmaster $pm"
		  . ($kind eq 'postmaster' ? '' : ' and all its children');

		# Without their postmaster, backends and workers must exit by
		# themselves (WL_EXIT_ON_PM_DEATH); a straggler would keep the old
		# shared memory attached and the restart would be refused.
		my @stragglers = ZkpgNode::kill9_server($node,
			children => $kind ne 'postmaster');
		ok(!@stragglers,
			"round $r: every server process exits after the crash of the postmaster"
		) or diag "still alive (killed now): " . join(', ', @stragglers);
	}

	finish_clients($round);

	if ($kind ne 'backend')
	{
		ok($node->start(fail_ok => 1), "round $r: server restarts after the crash")
		  or return undef;
	}

	ok(ZkpgNode::wait_for_state($node, 'standalone'),
		"round $r: zkpg is standalone again after crash recovery")
	  or return undef;

	classify_round($round);

	# The clients' sessions died with the crash: their ephemerals go (at
	# once, or after the session timeout).
	ok( $node->poll_query_until(
			$db,
			"SELECT count(*) FROM zk_get_children('$base') AS c(name) WHERE name LIKE 'eph%'",
			'0'),
		"round $r: the ephemerals of the crashed clients' sessions are gone");

	return $round;
}

# The script of client $k: one statement per line, statement $i on line
# (header + 1 + $i) so that psql's "psql:file:LINE:" error prefix names it.
sub make_client
{
	my ($round, $k) = @_;
	my ($r, $base) = @$round{qw(r base)};
	my $c = {
		k => $k,
		script => "$scratch/r$r-c$k.sql",
		out => "$scratch/r$r-c$k.out",
		err => "$scratch/r$r-c$k.err",
		stmts => [],
	};

	open my $fh, '>', $c->{script} or die "$c->{script}: $!";
	print $fh "$_\n" for @script_header;
	# The session's ephemeral: must be gone once the session died with the crash.
	print $fh "SELECT zk_create('$base/eph$k', 'e', 'ephemeral');\n";
	$c->{hdr} = scalar(@script_header) + 1;
	for my $i (0 .. $n_stmts - 1)
	{
		my $data = "v$k-$i";
		my $s;
		my $m = $i % 4;
		if ($m <= 1)
		{
			$s = {
				kind => 'create',
				path => "$base/c$k-$i",
				data => $data
			};
			print $fh "SELECT $i, zk_create('$s->{path}', '$data');\n";
		}
		elsif ($m == 2)
		{
			$s = { kind => 'set', path => "$base/set$k", data => $data };
			print $fh "SELECT $i, (zk_set('$s->{path}', '$data')).mzxid;\n";
		}
		else
		{
			$s = { kind => 'seq', path => "$base/seq/n-", data => $data };
			print $fh
			  "SELECT $i, zk_create('$s->{path}', '$data', 'persistent_sequential');\n";
		}
		$s->{i} = $i;
		$s->{state} = 'unsent';
		push @{ $c->{stmts} }, $s;
	}
	close $fh;
	return $c;
}

sub finish_clients
{
	my ($round) = @_;

	foreach my $c (@{ $round->{clients} })
	{
		my $ok = eval { $c->{h}->finish; 1 };
		if (!$ok)
		{
			diag "client $c->{k} of round $round->{r} did not exit: $@";
			$c->{h}->kill_kill;
		}
	}
}

sub finish_clients_and_fail
{
	my ($round) = @_;

	finish_clients($round);
	return undef;
}

# Turn psql's output into per-statement states: ok (result printed, with
# the result), fail (ZooKeeper error: must not have happened), maybe
# (in flight or indeterminate error), unsent.
sub classify_round
{
	my ($round) = @_;

	foreach my $c (@{ $round->{clients} })
	{
		my $stmts = $c->{stmts};
		my $hdr = $c->{hdr};
		my $last_answered = -1;
		my $eph = "$round->{base}/eph$c->{k}";

		foreach my $line (split /\n/, slurp_file($c->{out}))
		{
			$c->{eph_created} = 1 if $line eq $eph;
			next unless $line =~ /^(\d+)\|(.*)$/;
			my ($i, $res) = ($1, $2);
			$stmts->[$i]{state} = 'ok';
			$stmts->[$i]{result} = $res;
			$last_answered = $i if $i > $last_answered;
		}

		my %errs;
		foreach my $line (split /\n/, slurp_file($c->{err}))
		{
			next unless $line =~ /^psql:[^:]*:(\d+): (.*)$/;
			my ($lineno, $msg) = ($1, $2);
			next if $msg =~ /^(WARNING|NOTICE|INFO|LOG|DEBUG)/;
			my $i = $lineno - $hdr - 1;
			next if $i < 0 || $i >= @$stmts;
			push @{ $errs{$i} }, $msg;
		}
		foreach my $i (sort { $a <=> $b } keys %errs)
		{
			my $s = $stmts->[$i];
			next if $s->{state} eq 'ok';
			my $definite = grep { /^ERROR:  ZK(1\d\d|008):/ } @{ $errs{$i} };
			$s->{state} = $definite ? 'fail' : 'maybe';
			$s->{error} = join(' / ', @{ $errs{$i} });
			$last_answered = $i if $i > $last_answered;
		}

		# The statement after the last answered one was in flight, unless
		# the last answered one is where the connection was lost.
		my $inflight = $last_answered + 1;
		my $lost_at_last = $last_answered >= 0
		  && grep { /connection to server was lost|server closed the connection|^FATAL/ }
		  @{ $errs{$last_answered} // [] };
		$stmts->[$inflight]{state} = 'maybe'
		  if $inflight < @$stmts && !$lost_at_last;

		my %n;
		$n{ $_->{state} }++ foreach @$stmts;
		$c->{n} = \%n;
		note sprintf("round %d client %d: %d acknowledged, %d failed, "
			  . "%d indeterminate, %d unsent",
			$round->{r}, $c->{k}, $n{ok} // 0, $n{fail} // 0, $n{maybe} // 0,
			$n{unsent} // 0);

		foreach my $s (grep { $_->{state} =~ /^(fail|maybe)$/ } @$stmts)
		{
			next unless defined $s->{error};
			note "round $round->{r} client $c->{k} statement $s->{i} "
			  . "($s->{kind} $s->{path}): $s->{state}: $s->{error}";
		}
	}

	my @zkerrs =
	  map { my $c = $_; grep { $_->{state} eq 'fail' } @{ $c->{stmts} } }
	  @{ $round->{clients} };
	is(scalar(@zkerrs), 0,
		"round $round->{r}: no write of the load failed with a ZooKeeper error"
	) or diag join("\n", map { "$_->{kind} $_->{path}: $_->{error}" } @zkerrs);

	is(scalar(grep { $_->{eph_created} } @{ $round->{clients} }),
		$n_clients, "round $round->{r}: every client created its ephemeral");

	my $acked = 0;
	$acked += $_->{n}{ok} // 0 foreach @{ $round->{clients} };
	ok($acked > 0, "round $round->{r}: $acked writes acknowledged before the crash");
}

# ---------------------------------------------------------------------------
# The invariants, after the restart of the last round in @$rounds; the
# nodes of earlier rounds are checked again too.
sub check_after_restart
{
	my ($rounds) = @_;
	my $cur = $rounds->[-1];
	my $r = $cur->{r};

	$node->safe_psql($db, q{SELECT zk_sync('/')});

	my $max_tree_zxid = 0;
	foreach my $round (@$rounds)
	{
		my $m = check_round_tree($round, $r);
		$max_tree_zxid = $m if $m > $max_tree_zxid;
	}

	# Background txns (e.g. the expiry of the crashed clients' sessions)
	# may be between log and tree at any one moment: poll a little, then
	# report what was seen last.
	my $digests;
	poll_until(
		sub {
			$digests = $node->safe_psql($db,
				'SELECT zkpg.tree_digest(), zkpg.log_replay_digest()');
			my ($t, $l) = split /\|/, $digests, -1;
			return $t eq $l;
		});
	my ($tree_d, $log_d) = split /\|/, $digests, -1;
	is($tree_d, $log_d,
		"after crash $r: tree digest equals the digest of a replay of the whole log"
	);

	my $st;
	poll_until(
		sub {
			$st = ZkpgNode::status($node);
			return $st->{applied_zxid} eq $st->{last_logged_zxid}
			  && $st->{committed_zxid} eq $st->{last_logged_zxid};
		});
	my $pre = $cur->{pre_status};
	is($st->{applied_zxid}, $st->{last_logged_zxid},
		"after crash $r: applied_zxid = last_logged_zxid");
	is($st->{committed_zxid}, $st->{last_logged_zxid},
		"after crash $r: committed_zxid = last_logged_zxid");
	cmp_ok($st->{last_logged_zxid}, '>=', $pre->{last_logged_zxid},
		"after crash $r: the log kept every txn logged before the crash");

	# Acknowledged zxids (results of zk_set) are in the log.
	my $max_acked = 0;
	foreach my $c (@{ $cur->{clients} })
	{
		foreach my $s (@{ $c->{stmts} })
		{
			next unless $s->{state} eq 'ok' && $s->{kind} eq 'set';
			$max_acked = $s->{result} if $s->{result} > $max_acked;
		}
	}
	cmp_ok($max_acked, '<=', $st->{last_logged_zxid},
		"after crash $r: every acknowledged zxid is at or below last_logged_zxid"
	);
	cmp_ok($max_tree_zxid, '<=', $st->{last_logged_zxid},
		"after crash $r: no znode carries a zxid above last_logged_zxid");

	# The server takes writes again, in a new epoch.
	my $pre_max = max_of($pre->{last_logged_zxid}, $max_acked, $max_tree_zxid,
		$st->{last_logged_zxid});
	# (last_logged_zxid after the restart may already be in the new epoch)
	my $pre_epoch = max_of($pre->{epoch}, $pre->{last_logged_zxid} >> 32,
		$max_acked >> 32);

	my $path = "/crash/after-$r";
	my ($rc, $out, $err) =
	  $node->psql($db, "SELECT zk_create('$path', 'after-$r')");
	is($out, $path, "after crash $r: zk_create works again")
	  or diag $err;
	my $czxid = $node->safe_psql($db, "SELECT (zk_exists('$path')).czxid");
	$czxid = 0 unless $czxid =~ /^\d+$/;
	cmp_ok($czxid, '>', $pre_max,
		"after crash $r: the new write's zxid is above every zxid before the crash"
	);
	cmp_ok($czxid >> 32, '>', $pre_epoch,
		"after crash $r: the new write's epoch (zxid >> 32) is above the epoch before the crash"
	);
	my $st2 = ZkpgNode::status($node);
	cmp_ok($st2->{epoch}, '>', $pre->{epoch},
		"after crash $r: zkpg.status epoch went up");

	($rc, $out, $err) = $node->psql($db,
		"SELECT (zk_set('$path', 'set-$r')).mzxid");
	cmp_ok(($out =~ /^\d+$/ ? $out : 0), '>', $czxid,
		"after crash $r: zk_set works again, with a later zxid")
	  or diag $err;

	# A sequential create continues the parent's create count.
	my $seqbase = "$cur->{base}/seq";
	my $nseq = $node->safe_psql($db,
		"SELECT count(*) FROM zk_get_children('$seqbase')");
	($rc, $out, $err) = $node->psql($db,
		"SELECT zk_create('$seqbase/n-', 'post-$r', 'persistent_sequential')");
	is( $out,
		sprintf('%s/n-%010d', $seqbase, $nseq),
		"after crash $r: the next sequential child is numbered by the parent's create count"
	) or diag $err;
	$cur->{post}{seq} = { name => $out, data => "post-$r" }
	  if $rc == 0;

	# Check the tree once more, now including the new sequential child.
	check_round_tree($cur, $r, 'after new writes');

	return 1;
}

# The children of a round's parent and of its seq parent, checked against
# what its clients were told.  Returns the largest czxid/mzxid seen.
sub check_round_tree
{
	my ($round, $after, $label) = @_;
	my ($r, $base) = @$round{qw(r base)};
	my $what = "after crash $after, round $r" . ($label ? " ($label)" : '');
	my $max_zxid = 0;

	my %tree = read_children($base, \$max_zxid);
	my %seqtree = read_children("$base/seq", \$max_zxid);

	my (@missing, @wrong, @unexpected, @badset);
	my (@seq_missing, @seq_wrong, @seq_dup_name, @seq_order);
	my %seq_ok_names;

	foreach my $c (@{ $round->{clients} })
	{
		my $k = $c->{k};
		my @set_ok = grep { $_->{kind} eq 'set' && $_->{state} eq 'ok' }
		  @{ $c->{stmts} };
		my $last_set_i = @set_ok ? $set_ok[-1]{i} : -1;
		my %set_allowed = ((@set_ok ? $set_ok[-1]{data} : 'init') => 1);
		my $prev_seq_name = '';

		foreach my $s (@{ $c->{stmts} })
		{
			my $st = $s->{state};
			if ($s->{kind} eq 'create')
			{
				my $name = "c$k-$s->{i}";
				if ($st eq 'ok')
				{
					if (!exists $tree{$name})
					{
						push @missing, $s->{path};
					}
					elsif ($tree{$name}{data} ne $s->{data})
					{
						push @wrong,
						  "$s->{path}: '$tree{$name}{data}' instead of '$s->{data}'";
					}
					elsif ($s->{result} ne $s->{path})
					{
						push @wrong,
						  "$s->{path}: zk_create returned '$s->{result}'";
					}
				}
				elsif ($st ne 'maybe' && exists $tree{$name})
				{
					push @unexpected, "$s->{path} ($st)";
				}
				elsif ($st eq 'maybe' && exists $tree{$name}
					&& $tree{$name}{data} ne $s->{data})
				{
					push @wrong,
					  "$s->{path}: '$tree{$name}{data}' instead of '$s->{data}'";
				}
			}
			elsif ($s->{kind} eq 'set')
			{
				$set_allowed{ $s->{data} } = 1
				  if $st eq 'maybe' && $s->{i} > $last_set_i;
			}
			else    # seq
			{
				if ($st eq 'ok')
				{
					my $name = $s->{result};
					$name =~ s{^\Q$base/seq/\E}{};
					if (exists $seq_ok_names{$name})
					{
						push @seq_dup_name, "$s->{result} (also $seq_ok_names{$name})";
					}
					$seq_ok_names{$name} = $s->{data};
					push @seq_order, "client $k: $name after $prev_seq_name"
					  if $name le $prev_seq_name;
					$prev_seq_name = $name;
					if (!exists $seqtree{$name})
					{
						push @seq_missing, $s->{result};
					}
					elsif ($seqtree{$name}{data} ne $s->{data})
					{
						push @seq_wrong,
						  "$s->{result}: '$seqtree{$name}{data}' instead of '$s->{data}'";
					}
				}
			}
		}

		my $sv = $tree{"set$k"};
		if (!defined $sv)
		{
			push @badset, "$base/set$k is missing";
		}
		elsif (!$set_allowed{ $sv->{data} })
		{
			push @badset,
			  "$base/set$k = '$sv->{data}', expected one of: "
			  . join(', ', sort keys %set_allowed);
		}
	}

	# Nothing else under the round's parent.
	my %known = (seq => 1, map { ("set$_" => 1) } 0 .. $n_clients - 1);
	foreach my $c (@{ $round->{clients} })
	{
		$known{"c$c->{k}-$_->{i}"} = 1
		  foreach grep { $_->{kind} eq 'create' } @{ $c->{stmts} };
	}
	foreach my $name (sort keys %tree)
	{
		push @unexpected, "$base/$name (never written)" unless $known{$name};
	}

	# Sequential children: each write applied once, from a statement that
	# was acknowledged or in flight, names 0..n-1.
	my %seq_maybe;
	my %stmt_of_data;
	foreach my $c (@{ $round->{clients} })
	{
		foreach my $s (grep { $_->{kind} eq 'seq' } @{ $c->{stmts} })
		{
			$stmt_of_data{ $s->{data} } = $s;
		}
	}
	my %seen_data;
	my (@seq_dup_apply, @seq_unexpected);
	foreach my $name (sort keys %seqtree)
	{
		my $d = $seqtree{$name}{data};
		push @seq_dup_apply, "'$d' in $seen_data{$d} and $name"
		  if exists $seen_data{$d};
		$seen_data{$d} = $name;
		next if defined $round->{post}{seq} && $d eq $round->{post}{seq}{data};
		my $s = $stmt_of_data{$d};
		if (!defined $s || $s->{state} !~ /^(ok|maybe)$/)
		{
			push @seq_unexpected,
			  "$base/seq/$name = '$d' (" . ($s ? $s->{state} : 'never written') . ")";
		}
	}
	my @names = sort keys %seqtree;
	my @expect_names = map { sprintf('n-%010d', $_) } 0 .. $#names;
	my $post = $round->{post}{seq};
	if (defined $post)
	{
		my $pname = $post->{name};
		$pname =~ s{^\Q$base/seq/\E}{};
		push @seq_missing, $post->{name} unless exists $seqtree{$pname};
	}

	my $ok = 1;
	$ok &= is(scalar(@missing), 0,
		"$what: every acknowledged create is present")
	  || diag "missing: @missing[0 .. min_of(19, $#missing)]";
	$ok &= is(scalar(@wrong), 0,
		"$what: created nodes hold the data written")
	  || diag join("\n", @wrong[0 .. min_of(19, $#wrong)]);
	$ok &= is(scalar(@unexpected), 0,
		"$what: no node from a failed or unsent create")
	  || diag join("\n", @unexpected[0 .. min_of(19, $#unexpected)]);
	$ok &= is(scalar(@badset), 0,
		"$what: each set node holds its last acknowledged value or a later one")
	  || diag join("\n", @badset);
	$ok &= is(scalar(@seq_missing) + scalar(@seq_wrong), 0,
		"$what: every acknowledged sequential create is present with its data")
	  || diag join("\n", @seq_missing, @seq_wrong);
	$ok &= is(scalar(@seq_dup_name) + scalar(@seq_dup_apply), 0,
		"$what: sequential names are unique, each write applied once")
	  || diag join("\n", @seq_dup_name, @seq_dup_apply);
	$ok &= is(scalar(@seq_order), 0,
		"$what: each client's sequential names increase")
	  || diag join("\n", @seq_order[0 .. min_of(19, $#seq_order)]);
	$ok &= is(scalar(@seq_unexpected), 0,
		"$what: no sequential child from a failed or unsent create")
	  || diag join("\n", @seq_unexpected[0 .. min_of(19, $#seq_unexpected)]);
	$ok &= is_deeply(\@names, \@expect_names,
		"$what: sequential children are numbered 0..n-1 without gaps")
	  || diag "children: @names[0 .. min_of(9, $#names)] ...";
	return $max_zxid;
}

# name => {data, czxid, mzxid} of the children of $parent.
sub read_children
{
	my ($parent, $max_ref) = @_;
	my %h;

	my $out = $node->safe_psql(
		$db, qq{
SELECT c.name, convert_from(g.data, 'UTF8'), g.czxid, g.mzxid
FROM zk_get_children('$parent') AS c(name),
     LATERAL zk_get('$parent/' || c.name) AS g});
	foreach my $line (split /\n/, $out)
	{
		my ($name, $data, $czxid, $mzxid) = split /\|/, $line, -1;
		$h{$name} = { data => $data, czxid => $czxid, mzxid => $mzxid };
		$$max_ref = $czxid if $czxid > $$max_ref;
		$$max_ref = $mzxid if $mzxid > $$max_ref;
	}
	return %h;
}

# Calls $cond until it returns true, for up to 10 s.
sub poll_until
{
	my ($cond) = @_;
	my $deadline = time() + 10;

	for (;;)
	{
		return 1 if $cond->();
		return 0 if time() >= $deadline;
		usleep(100_000);
	}
}

sub max_of
{
	my $m = shift;
	foreach (@_) { $m = $_ if $_ > $m; }
	return $m;
}

sub min_of
{
	my $m = shift;
	foreach (@_) { $m = $_ if $_ < $m; }
	return $m;
}
