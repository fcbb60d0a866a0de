# The trust boundary between peers.  Three peers talk over TLS
# (sslmode=verify-full against a CA of the test, pg_hba's cert method),
# each logging in as a role of its own that zkpg.peer_roles binds to its
# server id:
#
# 1. the ensemble elects, replicates and converges over TLS;
# 2. a peer role that claims another server's id is refused, and so is a
#    forwarded request for a session the peer does not hold; a closeSession
#    of another's session that a peer forwards for one of its own
#    (non-superuser) sessions becomes an error txn: the victim lives on;
# 3. a server with a certificate of another CA is refused by the others
#    (and cannot reach them), which go on serving without it;
# 4. a server that logs in with another peer's valid certificate and role
#    is refused: its messages claim its own id;
# 5. a NOTIFY queue that an ordinary role fills (a listener that never
#    reads) does not stop the applier;
# 6. restored, the server rejoins and every tree is equal.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use ZkpgNode;

my $db = $ZkpgNode::dbname;
my $SYNC = "DO \$\$BEGIN PERFORM zk_sync('/'); END\$\$;";

# --- certificates ---------------------------------------------------------
my $certs = PostgreSQL::Test::Utils::tempdir('certs');

sub openssl
{
	my (@args) = @_;
	my ($stdout, $stderr);
	my $ok = IPC::Run::run([ 'openssl', @args ], '>', \$stdout, '2>', \$stderr);
	die "openssl @args: $stderr" unless $ok;
	return;
}

# a CA, and certificates it signs: CN, and for servers an IP SAN
sub make_ca
{
	my ($name) = @_;
	openssl('req', '-new', '-x509', '-nodes', '-days', '2', '-newkey', 'rsa:2048',
		'-subj', "/CN=$name", '-keyout', "$certs/$name.key", '-out', "$certs/$name.crt");
	chmod 0600, "$certs/$name.key";
	return;
}

sub make_cert
{
	my ($ca, $file, $cn, $server) = @_;
	openssl('req', '-new', '-nodes', '-newkey', 'rsa:2048', '-subj', "/CN=$cn",
		'-keyout', "$certs/$file.key", '-out', "$certs/$file.csr");
	my $ext = "$certs/$file.ext";
	open(my $fh, '>', $ext) or die;
	print $fh ($server ? "subjectAltName = IP:127.0.0.1, DNS:localhost\n" : "extendedKeyUsage = clientAuth\n");
	close($fh);
	openssl('x509', '-req', '-in', "$certs/$file.csr", '-CA', "$certs/$ca.crt",
		'-CAkey', "$certs/$ca.key", '-CAcreateserial', '-days', '2',
		'-extfile', $ext, '-out', "$certs/$file.crt");
	chmod 0600, "$certs/$file.key";
	return;
}

make_ca('ca');
make_ca('rogue_ca');
make_cert('ca', 'server', '127.0.0.1', 1);
make_cert('rogue_ca', 'rogue_server', '127.0.0.1', 1);
make_cert('ca', "peer$_", "zkpg_peer$_", 0) for 1 .. 3;
make_cert('rogue_ca', 'rogue_peer3', 'zkpg_peer3', 0);

# --- the ensemble, over TLS -----------------------------------------------
my @nodes = map { ZkpgNode::create_node("tls$_") } 1 .. 3;
my $servers = join(',', map { ($_ + 1) . '=127.0.0.1:' . $nodes[$_]->port } 0 .. 2);
my $roles = join(',', map { "$_=zkpg_peer$_" } 1 .. 3);

# the configuration of server $id, as peer $as with the certificates of $kind
sub peer_conf
{
	my ($id, $as, $kind) = @_;
	my ($server, $client) =
	  $kind eq 'rogue' ? ('rogue_server', "rogue_peer$as") : ('server', "peer$as");
	return qq(
listen_addresses = '127.0.0.1'
ssl = on
ssl_cert_file = '$certs/$server.crt'
ssl_key_file = '$certs/$server.key'
ssl_ca_file = '$certs/ca.crt'
zkpg.myid = $id
zkpg.servers = '$servers'
zkpg.tick_ms = 100
zkpg.session_timeout = 2000
zkpg.request_timeout = 5000
zkpg.peer_roles = '$roles'
zkpg.peer_conninfo = 'user=zkpg_peer$as sslmode=verify-full sslrootcert=$certs/ca.crt sslcert=$certs/$client.crt sslkey=$certs/$client.key'
);
}

for my $i (0 .. 2)
{
	my $id = $i + 1;
	$nodes[$i]->append_conf('postgresql.conf', peer_conf($id, $id, 'good'));
	# peers only by certificate; the tests' own psql on the Unix socket
	open(my $hba, '>', $nodes[$i]->data_dir . '/pg_hba.conf') or die;
	print $hba "local all all trust\n";
	print $hba "hostssl all zkpg_peer1,zkpg_peer2,zkpg_peer3 127.0.0.1/32 cert\n";
	close($hba);
}
for my $n (@nodes)
{
	ZkpgNode::start_and_create_extension($n);
	$n->safe_psql($db,
		join('', map { "CREATE ROLE zkpg_peer$_ LOGIN IN ROLE zkpg_peer; " } 1 .. 3));
}
my $leader = ZkpgNode::wait_for_leader(\@nodes);
ok(defined $leader, "a leader over TLS ($leader)");
ok(ZkpgNode::wait_serving($_), $_->name . ' serves') for @nodes;

sub node_by_id { return $nodes[ $_[0] - 1 ]; }
my $L = node_by_id($leader);
my @followers = grep { $_ != $leader } 1 .. 3;

# every peer connection is TLS, as its own role
for my $n (@nodes)
{
	is( $n->safe_psql($db,
			"SELECT bool_and(s.ssl) AND count(*) >= 1 FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) "
			  . "WHERE a.application_name LIKE 'zkpg peer %'"),
		't', $n->name . ': the peers connected with TLS');
}
my $peer_of = $L->safe_psql($db,
	"SELECT string_agg(p, ',' ORDER BY p) FROM (SELECT DISTINCT usename || '=' "
	  . "|| substring(application_name FROM 'zkpg peer (\\d+)') AS p "
	  . "FROM pg_stat_activity WHERE application_name LIKE 'zkpg peer %') s");
is($peer_of, join(',', map { "zkpg_peer$_=$_" } @followers),
	'each peer logs in as the role zkpg.peer_roles names for it');

$nodes[ $followers[0] - 1 ]->safe_psql($db, "SELECT zk_create('/tls', 'over tls')");
$_->safe_psql($db, $SYNC) for @nodes;
ZkpgNode::converged('a write replicated over TLS', @nodes);

# --- 2. a peer role speaks only for its own server and sessions -----------
# zkpg.peer_message as a peer would call it: a REQUESTS message built by hand
sub note_bytes
{
	my ($from) = @_;
	# from, state FOLLOWING (3), zab, election epoch, vote (leader, zxid, epoch)
	return pack('l> c c q> l> q> q>', $from, 3, 0, 0, $leader, 0, 0);
}

sub requests_message
{
	my ($from, $epoch, @requests) = @_;
	my $m = pack('a c c', 'P', 1, 3) . note_bytes($from) . pack('q>', $epoch);
	$m .= pack('l>', scalar @requests);
	$m .= pack('l>', length $_) . $_ for @requests;
	return '\\x' . unpack('H*', $m);
}

# a closeSession request of $session for $target, without superuser
sub close_request
{
	my ($session, $target) = @_;
	return pack('a c q> l> s> q> c s>', 'R', 1, $session, 7, -11, $target, 0, 0);
}

my $X = $followers[0];
my $victim = $L->background_psql($db, on_error_stop => 0);
$victim->query_safe("SELECT zk_create('/victim', NULL, 'ephemeral')");
chomp(my $victim_sid = $victim->query_safe('SELECT zk_session_id()'));
my $own_sid = node_by_id($X)->safe_psql($db, "SELECT zk_session_id() FROM (SELECT zk_create('/x_own')) s");
my $epoch = $L->safe_psql($db, 'SELECT epoch FROM zkpg.status');

sub call_as
{
	my ($role, $msg) = @_;
	my ($ret, $stdout, $stderr) = $L->psql($db, "SELECT zkpg.peer_message('$msg'::bytea)",
		extra_params => [ '-U', $role ]);
	return $stderr;
}

my $other = (grep { $_ != $X } @followers)[0];
like(call_as("zkpg_peer$X", requests_message($other, $epoch)),
	qr/zkpg server $other must connect as role "zkpg_peer$other"/,
	"the role of server $X cannot claim to be server $other");
like(call_as("zkpg_peer$X", requests_message($X, $epoch, close_request($victim_sid, $victim_sid))),
	qr/forwarded a request of session 0x[0-9a-f]+, which it does not hold/,
	"server $X cannot forward a request of a session of server $leader");
is(call_as("zkpg_peer$X", requests_message($X, $epoch, close_request($own_sid, $victim_sid))), '',
	"server $X forwards a close of another's session for one of its own sessions");
$L->safe_psql($db, "SELECT zk_create('/after_close')");
$_->safe_psql($db, $SYNC) for @nodes;
is($L->safe_psql($db, "SELECT zk_exists('/victim') IS NOT NULL"), 't',
	'the close of another session became an error txn: the victim\'s ephemeral stays');
chomp(my $still = $victim->query_safe('SELECT zk_session_id()'));
is($still, $victim_sid, 'and its session lives on');
$victim->quit;

# a count of items the message cannot hold is refused before anything is
# allocated for them
{
	my $m = pack('a c c', 'P', 1, 3) . note_bytes($X) . pack('q> l>', $epoch, 100000);
	like(call_as("zkpg_peer$X", '\\x' . unpack('H*', $m)),
		qr/malformed zkpg peer message: item count out of range/,
		'a REQUESTS message that claims 100000 items and carries none is refused by its count');
}

# wait until $node's log, from byte $from on, matches $re
sub wait_log
{
	my ($node, $re, $from) = @_;
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
	while (time() < $deadline)
	{
		return 1 if substr(slurp_file($node->logfile), $from) =~ $re;
		usleep(100_000);
	}
	return 0;
}

# --- 3. a certificate of another CA ----------------------------------------
my $third = node_by_id($followers[1]);
my $third_id = $followers[1];
$third->stop;
$third->append_conf('postgresql.conf', peer_conf($third_id, $third_id, 'rogue'));
$third->start;
my $alive = $nodes[ $followers[0] - 1 ];
$alive->safe_psql($db, "SELECT zk_create('/without_rogue', 'x')");
is($L->safe_psql($db, "SELECT convert_from(data, 'UTF8') FROM zk_get('/without_rogue')"), 'x',
	'the others serve without the server of the rogue certificate');
ok( $L->poll_query_until($db,
		"SELECT NOT connected FROM zkpg.peers WHERE id = $third_id"),
	'the leader cannot connect to it (its server certificate is not of our CA)');
sleep 2;
isnt($third->safe_psql($db, 'SELECT state FROM zkpg.status'), 'following',
	'the server of the rogue certificate does not join');
my $czxid = $L->safe_psql($db, "SELECT czxid FROM zk_get('/without_rogue')");
cmp_ok($third->safe_psql($db, 'SELECT applied_zxid FROM zkpg.status'), '<', $czxid,
	'and receives nothing');
ok(wait_log($L, qr/could not accept SSL connection: .*certificate/, 0),
	'its connections to the leader fail the TLS handshake');

# --- 4. a valid certificate and role of another peer -----------------------
$third->stop;
$third->append_conf('postgresql.conf', peer_conf($third_id, $X, 'good'));
my $log_from = -s $L->logfile;
$third->start;
ok( wait_log($L, qr/zkpg server $third_id must connect as role "zkpg_peer$third_id"/, $log_from),
	"server $third_id logging in as zkpg_peer$X is refused: it claims its own id");
$alive->safe_psql($db, "SELECT zk_create('/still_serving', 'y')");
is($L->safe_psql($db, "SELECT convert_from(data, 'UTF8') FROM zk_get('/still_serving')"), 'y',
	'the others go on serving');

# --- 5. an ordinary role fills the NOTIFY queue ----------------------------
$L->safe_psql($db,
	"CREATE ROLE regress_filler LOGIN; ALTER SYSTEM SET zkpg.notify_queue_limit = 0.0000001; SELECT pg_reload_conf()");
my $stuck = $L->background_psql($db, on_error_stop => 0, extra_params => [ '-U', 'regress_filler' ]);
$stuck->query_safe('LISTEN regress_fill');
$stuck->query_safe('BEGIN');
$stuck->query_safe('SELECT 1');
$L->safe_psql($db, "NOTIFY regress_fill, '" . ('x' x 7000) . "'", extra_params => [ '-U', 'regress_filler' ])
  for 1 .. 20;
ok($L->safe_psql($db, 'SELECT pg_notification_queue_usage() > 0') eq 't',
	'the ordinary role filled the NOTIFY queue past zkpg.notify_queue_limit');
my $watcher = $L->background_psql($db, on_error_stop => 0);
$watcher->query_safe("SELECT zk_add_watch('/', true)");
$L->safe_psql($db, "SELECT zk_set('/tls', 'v$_')") for 1 .. 20;
is($L->safe_psql($db, 'SELECT applied_zxid = last_logged_zxid FROM zkpg.status'), 't',
	'the applier keeps applying');
$stuck->query_safe('COMMIT');
$stuck->quit;
$watcher->quit;
$L->safe_psql($db, 'ALTER SYSTEM RESET zkpg.notify_queue_limit; SELECT pg_reload_conf()');

# --- 6. restored, it rejoins ----------------------------------------------
$third->stop;
$third->append_conf('postgresql.conf', peer_conf($third_id, $third_id, 'good'));
$third->start;
ok(ZkpgNode::wait_serving($third), "server $third_id rejoins with its own certificate");
$_->safe_psql($db, $SYNC) for @nodes;
is($third->safe_psql($db, "SELECT convert_from(data, 'UTF8') FROM zk_get('/still_serving')"), 'y',
	'and catches up');
ZkpgNode::converged('after the rogue peer', @nodes);

$_->stop for @nodes;
done_testing();
