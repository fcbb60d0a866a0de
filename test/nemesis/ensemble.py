"""A zkpg ensemble on this machine for the nemesis harness: peers and relays.

Each peer is its own initdb'd PostgreSQL 15 instance (copied from one
template), listening on 127.0.0.1 only; peer i reaches peer j through a
relay process of its own (relay.py), so zkpg.servers differs per peer and
the harness can cut any directed link by stopping that relay's process
group.  Clients and the harness connect to peers directly.

The harness is a child subreaper (prctl), so postmasters started by pg_ctl
and the backends of a killed postmaster are reparented to it and reaped
here: this machine's init does not reap orphans, and a zombie postmaster
would keep its successor from starting (postmaster.pid names a live pid).
"""

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pgconn

PG_BIN = "/usr/lib/postgresql/15/bin"
HERE = os.path.dirname(os.path.abspath(__file__))
PR_SET_CHILD_SUBREAPER = 36
SERVING = ("leading", "following", "observing")


def become_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def reap_any():
    """Reaps every exited child nobody waits for (orphans reparented here)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _proc_state(pid):
    """The /proc state letter of pid, or None when it does not exist."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def _proc_ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def wait_gone(pids, timeout):
    """Waits until none of pids runs (reaping those that are our children);
    returns those still running after timeout."""
    deadline = time.monotonic() + timeout
    alive = list(pids)
    while True:
        for pid in alive:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        alive = [p for p in alive if _proc_state(p) not in (None, "Z", "X")]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.02)


def wait_reaped(pids, timeout):
    """Waits until pids are gone for good, zombies included."""
    deadline = time.monotonic() + timeout
    pending = list(pids)
    while pending and time.monotonic() < deadline:
        for pid in pending:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        pending = [p for p in pending if _proc_state(p) is not None]
        if pending:
            time.sleep(0.02)
    return pending


class Ports:
    """Free TCP ports of 127.0.0.1 in [first, last], handed out once each."""

    def __init__(self, first=16000, last=16999):
        self.next, self.last = first, last

    def take(self):
        while self.next <= self.last:
            port = self.next
            self.next += 1
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                    return port
                except OSError:
                    continue
        raise RuntimeError("no free port left in 16000-16999")


class Relay:
    """The relay process of one directed link; its own process group."""

    def __init__(self, listen_port, target_port, logfile):
        self.port, self.target = listen_port, target_port
        self.cut_now = False
        with open(logfile, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "relay.py"),
                 str(listen_port), str(target_port)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                start_new_session=True)
        if self.proc.stdout.readline().strip() != b"listening":
            raise RuntimeError("relay on port %d did not start" % listen_port)
        self.proc.stdout.close()

    def _signal(self, sig):
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def cut(self):
        self.cut_now = True
        self._signal(signal.SIGSTOP)

    def heal(self):
        self._signal(signal.SIGCONT)
        self.cut_now = False

    def stop(self):
        self._signal(signal.SIGCONT)
        self._signal(signal.SIGKILL)
        self.proc.wait()


class Peer:
    """One PostgreSQL instance with zkpg: a member of the ensemble."""

    def __init__(self, myid, port, datadir, observer):
        self.id, self.port, self.datadir = myid, port, datadir
        self.observer = observer
        self.logfile = datadir + ".log"
        self.relays = {}            # peer id -> Relay of the link self -> it
        self.paused = []            # pids SIGSTOPped by pause()

    def __repr__(self):
        return "peer%d" % self.id

    def postmaster_pid(self):
        try:
            with open(os.path.join(self.datadir, "postmaster.pid")) as f:
                pid = int(f.readline())
        except (OSError, ValueError):
            return None
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmdline = f.read()
        except OSError:
            return None
        if self.datadir.encode() not in cmdline or _proc_state(pid) in ("Z", "X"):
            return None
        return pid

    def pids(self):
        """[postmaster, children...], or [] when not running."""
        pm = self.postmaster_pid()
        if pm is None:
            return []
        children = [int(p) for p in os.listdir("/proc")
                    if p.isdigit() and _proc_ppid(int(p)) == pm]
        return [pm] + sorted(children)

    def running(self):
        return self.postmaster_pid() is not None

    def start(self):
        subprocess.run([PG_BIN + "/pg_ctl", "-D", self.datadir, "-l", self.logfile,
                        "-w", "-t", "60", "start"],
                       check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def kill9(self):
        """kill -9 of the postmaster; its children exit by themselves
        (postmaster death); stragglers after 10 s are killed too."""
        pids = self.pids()
        if not pids:
            return []
        self.resume()
        os.kill(pids[0], signal.SIGKILL)
        stragglers = wait_gone(pids[1:], 10)
        for pid in stragglers:
            os.kill(pid, signal.SIGKILL)
        wait_reaped(pids, 30)
        return stragglers

    def pause(self):
        """SIGSTOP of the postmaster, then of its children (twice, for a
        child forked meanwhile)."""
        for _ in range(2):
            for pid in self.pids():
                if pid not in self.paused:
                    os.kill(pid, signal.SIGSTOP)
                    self.paused.append(pid)

    def resume(self):
        for pid in self.paused:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.paused = []

    def stop(self):
        """pg_ctl stop -m immediate (after resuming it, if paused)."""
        pids = self.pids()
        self.resume()
        if not pids:
            return
        subprocess.run([PG_BIN + "/pg_ctl", "-D", self.datadir, "-m", "immediate",
                        "-w", "-t", "30", "stop"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        for pid in wait_gone(pids, 10):
            os.kill(pid, signal.SIGKILL)
        wait_reaped(pids, 30)

    def status(self, timeout=2.0):
        """zkpg.status as a dict, or None when the peer does not answer."""
        try:
            rows = pgconn.query_once(
                self.port, "SELECT state, leader_id, applied_zxid, epoch FROM zkpg.status",
                timeout=timeout)
        except (pgconn.Timeout, pgconn.psycopg2.Error):
            return None
        state, leader, applied, epoch = rows[0]
        return {"state": state, "leader": leader, "applied": applied, "epoch": epoch}

    def zk_sync(self, timeout=3.0):
        try:
            pgconn.query_once(self.port, "SELECT zk_sync('/')", timeout=timeout)
            return True
        except (pgconn.Timeout, pgconn.psycopg2.Error):
            return False


class Ensemble:
    """n peers (the last one an observer when observer=True) with relays."""

    def __init__(self, outdir, n, observer, ports, settings):
        self.outdir = outdir
        self.peers = []
        self.session_timeout_s = int(settings["zkpg.session_timeout"]) / 1000.0
        os.makedirs(outdir, exist_ok=True)
        template = os.path.join(outdir, "template")
        subprocess.run([PG_BIN + "/initdb", "-D", template, "-U", "postgres",
                        "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"],
                       check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        for i in range(1, n + 1):
            datadir = os.path.join(outdir, "peer%d" % i)
            shutil.copytree(template, datadir, symlinks=True)
            os.chmod(datadir, 0o700)
            self.peers.append(Peer(i, ports.take(), datadir, observer and i == n))
        shutil.rmtree(template)
        for p in self.peers:
            for q in self.peers:
                if q is not p:
                    p.relays[q.id] = Relay(ports.take(), q.port,
                                           os.path.join(outdir, "relays.log"))
            self._configure(p, settings)

    def _configure(self, peer, settings):
        servers = ",".join(
            "%d=127.0.0.1:%d%s" % (q.id, q.port if q is peer else peer.relays[q.id].port,
                                   ":observer" if q.observer else "")
            for q in self.peers)
        lines = [
            "shared_preload_libraries = 'zkpg'",
            "zkpg.database = 'postgres'",
            "listen_addresses = '127.0.0.1'",
            "port = %d" % peer.port,
            "unix_socket_directories = ''",
            "restart_after_crash = off",
            "shared_buffers = '32MB'",
            "max_connections = 60",
            "log_line_prefix = '%m [%p] '",
            "zkpg.myid = %d" % peer.id,
            "zkpg.servers = '%s'" % servers,
        ] + ["%s = %s" % kv for kv in settings.items()]
        with open(os.path.join(peer.datadir, "postgresql.conf"), "a") as f:
            f.write("\n# nemesis\n" + "\n".join(lines) + "\n")

    def peer(self, myid):
        return self.peers[myid - 1]

    def start(self):
        for p in self.peers:
            p.start()
        for p in self.peers:
            pgconn.query_once(p.port, "CREATE EXTENSION IF NOT EXISTS zkpg", timeout=30)

    def cut(self, a, b):
        """Cuts both directions between peers a and b (ids)."""
        self.peer(a).relays[b].cut()
        self.peer(b).relays[a].cut()

    def partition(self, *groups):
        """Cuts every link between peers of different groups (lists of ids)."""
        for gi, g in enumerate(groups):
            for h in groups[gi + 1:]:
                for a in g:
                    for b in h:
                        self.cut(a, b)

    def heal(self):
        for p in self.peers:
            for r in p.relays.values():
                r.heal()

    def statuses(self):
        return {p.id: p.status() for p in self.peers}

    def leader(self):
        """The id of the peer that says it leads, or None."""
        for pid, st in self.statuses().items():
            if st and st["state"] == "leading":
                return pid
        return None

    def serving(self):
        """True when every peer runs, one leads, the others follow it (the
        observer observes) and zk_sync works on each."""
        sts = self.statuses()
        leaders = [i for i, st in sts.items() if st and st["state"] == "leading"]
        if len(leaders) != 1:
            return False
        for p in self.peers:
            st = sts[p.id]
            want = "leading" if p.id == leaders[0] else (
                "observing" if p.observer else "following")
            if not st or st["state"] != want or st["leader"] != leaders[0]:
                return False
        return all(p.zk_sync() for p in self.peers)

    def wait_serving(self, timeout):
        """Waits until serving(); True if it came within timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.serving():
                return True
            time.sleep(0.1)
        return False

    def restore(self):
        """Heals every link, resumes and starts every peer."""
        self.heal()
        for p in self.peers:
            p.resume()
        reap_any()      # a postmaster that exited by itself (a crash)
        for p in self.peers:
            if not p.running():
                p.start()

    def shutdown(self):
        """Stops every peer (immediate) and every relay; never raises."""
        for p in self.peers:
            for r in p.relays.values():
                try:
                    r.heal()
                except Exception:
                    pass
        for p in self.peers:
            try:
                p.stop()
            except Exception as e:
                print("nemesis: stopping %r: %s" % (p, e), file=sys.stderr)
        for p in self.peers:
            for r in p.relays.values():
                try:
                    r.stop()
                except Exception:
                    pass
