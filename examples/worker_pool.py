#!/usr/bin/python3
"""worker_pool.py - a worker pool with an elected leader and a job queue on zkpg.

N worker processes, each with its own connection (so its own zkpg session),
spread over the --dsn peers of an ensemble.  They elect a leader with
zk_elect; the leader puts jobs job-1..job-M into a queue (zk_queue_put) and
every worker, the leader too, takes jobs (zk_queue_take) and processes them.
With --kill-every the parent kills a random worker with SIGKILL, the leader
included, and starts a fresh one; the pool still finishes.  See README.md.

The tree under --path (deleted and rebuilt at start):
    leader/          the election: one ephemeral-sequential node per candidate
    jobs/            the queue: one persistent-sequential node per put
    done/job-<i>     "processing" job-<i> is creating this node
    log/leader-..., log/duplicate-..., log/requeue-...   the report, in the tree

What is guaranteed, and why:
1. Each job is put once.  Only a leader puts, and it learns how many puts
   were made before it from the Stat of jobs/: every put creates a child,
   and cversion + num_children = 2 * (children ever created).  That count
   changes atomically with the put itself, so a leader killed between two
   puts leaves nothing ambiguous: the next one continues exactly where it
   stopped.  (A separate "produced" counter is a second write: a kill
   between put and counter would make the next leader put a job twice, or,
   counter first, never.)  So jobs/ is a persistent node, as a container
   vanishes when empty and its count with it, and only leaders write under
   it; re-puts (point 3) come after all M puts, when the count is >= M.
   A killed leader cannot put any more (its session is gone, so are its
   calls), and while its session lives no one else leads.
2. Each queue item goes to exactly one taker (zk_queue_take), and a job is
   done when done/<job> exists: a second record of the same job fails with
   ZK110 (NODEEXISTS), is reported as a duplicate and makes the run fail.
3. A job can be lost: a worker killed after zk_queue_take removed the item
   but before it created done/<job> (during its --work, or with the take's
   answer on its way).  The leader repairs this: when the queue is idle, a
   job that is neither queued nor done for GRACE seconds (3 s + twice
   --work) is put again and logged as a requeue.  So every job is delivered
   at least once and done exactly once; a worker that is alive but stalls
   longer than that between take and record turns up as a duplicate.

Exit status 0 only if all M jobs are done and there was no duplicate.
Needs psycopg 3 (Debian 12: apt-get install python3-psycopg).
"""

import argparse
import multiprocessing
import os
import random
import signal
import sys
import time

import psycopg

GRACE = 3.0    # seconds (plus twice --work) a job may be missing before a re-put


def one(conn, sql, *params):
    """First column of the first row of sql (None if no row)."""
    row = conn.execute(sql, params).fetchone()
    return row[0] if row else None


def children(conn, path):
    return [r[0] for r in conn.execute("SELECT zk_get_children(%s)", (path,))]


def count_done(conn, path):
    return one(conn, "SELECT num_children FROM zk_exists(%s)", path + '/done')


def log(conn, path, kind, text):
    """Append an entry to the report in the tree: survives the worker."""
    conn.execute("SELECT zk_create(%s, %s, 'persistent_sequential')",
                 (f'{path}/log/{kind}-', text))


# ---------------------------------------------------------------- a worker

def produce(conn, path, jobs, name):
    """Leader: put the jobs that no leader has put yet (point 1 above)."""
    queue = path + '/jobs'
    conn.execute("SELECT zk_sync(%s)", (queue,))  # see every earlier put
    cversion, num_children = conn.execute(
        "SELECT cversion, num_children FROM zk_exists(%s)", (queue,)).fetchone()
    put = (cversion + num_children) // 2           # items ever created
    if put < jobs:
        print(f"{name}: putting job-{put + 1}..job-{jobs}", flush=True)
    for i in range(put + 1, jobs + 1):
        item = one(conn, "SELECT zk_queue_put(%s, %s)", queue, f'job-{i}')
        if int(item[-10:]) != i - 1:   # the sequence number is the count
            print(f"{name}: {item} for job-{i}: someone else writes to "
                  f"{queue}", flush=True)


def recover(conn, path, jobs, work, name, missing_since):
    """Leader, queue idle: re-put jobs taken but never done (point 3)."""
    queue = path + '/jobs'
    conn.execute("SELECT zk_sync(%s)", (queue,))
    try:
        # read the queue before done/: a job moving from one to the other
        # between the two reads is then seen in done/, not lost
        queued = {bytes(r[0]).decode() for r in conn.execute(
            "SELECT g.data FROM zk_get_children(%s) c,"
            " zk_get(%s || '/' || c) g", (queue, queue))}
    except psycopg.Error as e:
        if e.sqlstate == 'ZK101':   # an item was taken while we read
            return
        raise
    done = set(children(conn, path + '/done'))
    now, grace = time.monotonic(), GRACE + 2 * work
    for i in range(1, jobs + 1):
        job = f'job-{i}'
        if job in queued or job in done:
            missing_since.pop(job, None)
        elif now - missing_since.setdefault(job, now) >= grace:
            one(conn, "SELECT zk_queue_put(%s, %s)", queue, job)
            log(conn, path, 'requeue', f'{job} by {name}')
            print(f"{name}: {job} taken but not done for {grace:g} s: "
                  "put again", flush=True)
            del missing_since[job]


def worker(n, dsn, path, jobs, work):
    """One worker process.  An error it does not expect (its server went
    away, its session expired) ends it; the parent then starts a new one."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the parent handles ^C
    try:
        run(f'worker-{n}', dsn, path, jobs, work)
    except psycopg.Error as e:
        print(f"worker-{n}: {e.sqlstate or type(e).__name__}: "
              f"{str(e).strip()}", flush=True)
        sys.exit(1)


def run(name, dsn, path, jobs, work):
    # Autocommit: zk_* writes are not transactional anyway, and an open
    # transaction would hold back the session's notifications.
    conn = psycopg.connect(dsn, autocommit=True)
    # A backend notices a dead (SIGKILLed) client only when it next talks to
    # it; with this check it also ends a zk_queue_take that is still waiting,
    # instead of taking an item for a client that will never see it.
    conn.execute("SET client_connection_check_interval = '100ms'")
    print(f"{name}: pid {os.getpid()}, session "
          f"{one(conn, 'SELECT zk_session_id()'):#x}", flush=True)
    token = None          # fencing token once this session leads
    idle = True           # the last take found the queue empty
    missing_since = {}    # leader: job -> when first seen neither queued nor done
    while True:
        # Leadership matters only when there is no work: a dead leader shows
        # up as an empty queue.  zk_elect joins the election on the first
        # call and, while another session leads, returns NULL after 1 s; we
        # stay a candidate, and once every candidate before us is gone the
        # next call returns our token at once.  (A busy worker could learn
        # it sooner from the LeadershipAcquired notification; polling when
        # idle is simpler.)
        if token is None and idle:
            token = one(conn, "SELECT zk_elect(%s, %s, interval '1 second')",
                        path + '/leader', name)
            if token is not None:
                print(f"{name}: leader now, token {token}", flush=True)
                log(conn, path, 'leader', f'{name} token {token}')
                produce(conn, path, jobs, name)
        data = one(conn, "SELECT zk_queue_take(%s, interval '1 second')",
                   path + '/jobs')
        idle = data is None
        if idle:
            if count_done(conn, path) >= jobs:
                break                              # the pool is finished
            if token is not None:
                recover(conn, path, jobs, work, name, missing_since)
            continue
        job = bytes(data).decode()
        time.sleep(work)                           # the "work"
        try:
            conn.execute("SELECT zk_create(%s, %s)", (f'{path}/done/{job}', name))
        except psycopg.Error as e:
            if e.sqlstate != 'ZK110':
                raise
            print(f"{name}: DUPLICATE {job}: already done", flush=True)
            log(conn, path, 'duplicate', f'{job} by {name}')
    conn.close()          # ends the session: leaves the election


# ---------------------------------------------------------------- the parent

def reset(conn, path):
    """Delete path and everything below it, then create the layout."""
    def delete(p):
        try:
            for c in children(conn, p):
                delete(f'{p}/{c}')
            conn.execute("SELECT zk_delete(%s)", (p,))
        except psycopg.Error as e:
            if e.sqlstate != 'ZK101':
                raise
    delete(path)
    for p in (path, path + '/jobs', path + '/done', path + '/log'):
        conn.execute("SELECT zk_create(%s)", (p,))   # persistent (point 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--dsn', action='append', help='a peer; repeat for several '
                    '(default: the PG* environment)')
    ap.add_argument('--workers', type=int, default=4)
    ap.add_argument('--jobs', type=int, default=100)
    ap.add_argument('--path', default='/pool')
    ap.add_argument('--work', type=float, default=0.05,
                    help='seconds each job takes (default 0.05)')
    ap.add_argument('--kill-every', type=float, default=0, metavar='SECONDS',
                    help='SIGKILL a random worker this often, start a new one')
    ap.add_argument('--max-kills', type=int, default=None, metavar='N',
                    help='with --kill-every: stop killing after N kills')
    ap.add_argument('--kill-leader', action='store_true',
                    help='with --kill-every: every other kill is the leader')
    ap.add_argument('--duration', type=float, default=120,
                    help='give up after this many seconds (default 120)')
    args = ap.parse_args()
    dsns = args.dsn or ['']
    path = args.path.rstrip('/')

    conn = psycopg.connect(dsns[0], autocommit=True)
    reset(conn, path)
    ctx = multiprocessing.get_context('spawn')   # fresh processes, no shared state
    workers = {}                                 # n -> Process
    started = 0

    def start():
        nonlocal started
        started += 1
        p = ctx.Process(target=worker, args=(started, dsns[(started - 1) % len(dsns)],
                                             path, args.jobs, args.work))
        p.start()
        workers[started] = p

    for _ in range(args.workers):
        start()
    t0 = time.monotonic()
    next_kill = t0 + args.kill_every if args.kill_every > 0 else float('inf')
    next_show = t0
    kills = failures = last_done = 0
    progress_at = t0
    try:
        while (done := count_done(conn, path)) < args.jobs:
            now = time.monotonic()
            if now - t0 > args.duration:
                print(f"gave up after {args.duration:g} s", flush=True)
                break
            # zk_leader names the lowest candidate; after a leader's death
            # it may name a worker that has not yet called zk_elect again,
            # so it has not yet acted as leader (nor logged log/leader-).
            leader = one(conn, "SELECT candidate FROM zk_leader(%s)", path + '/leader')
            if now >= next_show:
                print(f"[{now - t0:5.1f} s] done {done}/{args.jobs}, "
                      f"leader {leader or '-'}", flush=True)
                next_show += 1
            if done > last_done:
                last_done, failures, progress_at = done, 0, now
            for n, p in list(workers.items()):
                if p.exitcode is None:
                    continue
                del workers[n]                   # finished (0), or failed:
                if p.exitcode != 0:              # then replace it
                    failures += 1
                    print(f"worker-{n} failed (exit {p.exitcode})", flush=True)
                    time.sleep(0.5)
                    start()
            if failures > 3 * args.workers and now - progress_at > 15:
                print("workers keep failing; giving up", flush=True)
                break
            if now >= next_kill and workers and kills != args.max_kills:
                n = random.choice(list(workers))
                if args.kill_leader and kills % 2 == 0 and leader:
                    n = next((w for w in workers if leader == f'worker-{w}'), n)
                workers[n].kill()                # SIGKILL: no goodbye at all
                workers.pop(n).join()
                kills += 1
                role = 'the leader' if leader == f'worker-{n}' else 'a follower'
                print(f"killed worker-{n} ({role}); starting worker-{started + 1}",
                      flush=True)
                start()
                next_kill += args.kill_every
            time.sleep(0.1)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    # Finished workers exit by themselves; stop the others.
    stop = time.monotonic() + (5 if count_done(conn, path) >= args.jobs else 0)
    for p in workers.values():
        p.join(timeout=max(0, stop - time.monotonic()))
        if p.exitcode is None:
            p.terminate()
            p.join()

    # The report, from the tree (a killed worker could not have told us).
    done = set(children(conn, path + '/done'))
    lost = [f'job-{i}' for i in range(1, args.jobs + 1) if f'job-{i}' not in done]
    entries = conn.execute(
        "SELECT c, convert_from(g.data, 'UTF8') FROM zk_get_children(%s) c,"
        " zk_get(%s || '/' || c) g", (path + '/log', path + '/log')).fetchall()
    log_of = {k: [text for c, text in entries if c.startswith(k + '-')]
              for k in ('leader', 'duplicate', 'requeue')}
    print(f"jobs done: {len(done)} of {args.jobs} in {time.monotonic() - t0:.1f} s; "
          f"workers started {started}, killed {kills}")
    print(f"leaders that took office: {len(log_of['leader'])}:",
          ', '.join(log_of['leader']))
    print(f"lost and put again: {len(log_of['requeue'])}", *log_of['requeue'][:10])
    print(f"duplicates: {len(log_of['duplicate'])}", *log_of['duplicate'][:10])
    if lost:
        print(f"not done: {len(lost)}", *lost[:10])
    ok = not lost and not log_of['duplicate']
    print("OK: every job done exactly once" if ok else "FAILED")
    conn.close()
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
