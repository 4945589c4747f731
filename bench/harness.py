#!/usr/bin/env python3
"""The engine behind bench/run (which installs the peers and builds first).

Starts jobd on a temporary ipc endpoint, runs each workload against jobd and
its peers, alternating (jobd, peer, jobd, peer, ...) for N runs, and reports
the median of every row, the jobd/peer ratio and the issue's targets, as
Markdown tables on stdout and JSON lines in a results file. Every command has
a time limit. See bench/README.md.
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"

WORKLOADS = ["throughput", "latency", "seed", "scaling", "responsiveness", "commands", "memory",
             "durability"]


class Timeout(Exception):
    pass


class RunError(Exception):
    pass


def log(message):
    print(message, file=sys.stderr, flush=True)


def run(cmd, timeout, stdout=subprocess.DEVNULL, check=True):
    """Runs cmd in its own process group; returns (seconds, stdout text or None).
    Past `timeout` seconds the whole group is killed and Timeout raised."""
    cmd = [str(c) for c in cmd]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise Timeout(f"{pathlib.Path(cmd[0]).name} took over {timeout:.0f} s")
    seconds = time.perf_counter() - start
    if check and proc.returncode != 0:
        raise RunError(f"{pathlib.Path(cmd[0]).name} exited {proc.returncode}: "
                       f"{(err or '').strip()[-300:]}")
    return seconds, out


def last_json(text):
    for line in reversed((text or "").splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise RunError("no JSON output")


def cpu_busy(seconds):
    """The fraction of all CPUs busy (any process) over the next `seconds`."""
    def sample():
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields), idle
    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 1 - (idle1 - idle0) / max(1, total1 - total0)


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def proc_status(pid):
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024
    return values


class Row:
    """One line of the report: one system on one metric, a sample per run."""

    def __init__(self, workload, label, unit, better, system="jobd", ref=None, params=None):
        self.workload = workload
        self.label = label
        self.unit = unit
        self.better = better  # "higher" or "lower"
        self.system = system
        self.ref = ref  # the jobd row this one is compared with
        self.params = params or {}
        self.samples = []
        self.notes = []

    def add(self, value):
        self.samples.append(value)

    def fail(self, why):
        self.samples.append(None)
        if why not in self.notes:
            self.notes.append(why)

    @property
    def median(self):
        values = [s for s in self.samples if s is not None]
        return statistics.median(values) if values else None

    @property
    def ratio(self):
        """jobd / peer on this row's metric (the ref row's median over ours)."""
        if self.ref is None or self.ref.median is None or not self.median:
            return None
        return self.ref.median / self.median

    def ratio_of(self, peer):
        """This (jobd) row's median over `peer`'s."""
        if self.median is None or not peer.median:
            return None
        return self.median / peer.median


class Jobd:
    """One jobd, fresh state, on an ipc endpoint in the bench's temp dir."""

    count = 0

    def __init__(self, bench, workers=2, no_store=False):
        Jobd.count += 1
        self.bench = bench
        self.workers = workers
        self.dir = bench.tmp / f"jobd{Jobd.count}"
        self.dir.mkdir()
        self.endpoint = f"ipc://{self.dir}/jobd.sock"
        cmd = [str(bench.bin / "jobd"), "--socket", self.endpoint, "--workers", str(workers),
               "--state-dir", str(self.dir / "state"), "--log-dir", str(self.dir / "log"),
               "--drain-timeout", "2s"]
        if no_store:
            cmd.append("--no-store")
        self.stderr = open(self.dir / "jobd.stderr", "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.stderr,
                                     start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RunError(f"jobd exited {self.proc.returncode}; see {self.dir}/jobd.stderr")
            try:
                if self.ping().get("workers") == workers:
                    return
            except (RunError, Timeout, ValueError):
                pass
            time.sleep(0.05)
        self.stop()
        raise RunError("jobd did not start within 30 s")

    @property
    def pid(self):
        return self.proc.pid

    def jobctl(self, *args, timeout=60, stdout=subprocess.PIPE, check=True):
        return run([str(self.bench.bin / "jobctl"), "--socket", self.endpoint, *args],
                   timeout, stdout=stdout, check=check)

    def client(self, *args, timeout=60):
        _, out = run([str(self.bench.bin / "jobd_bench_client"), "--socket", self.endpoint,
                      *args], timeout, stdout=subprocess.PIPE)
        return last_json(out)

    def ping(self):
        _, out = self.jobctl("--json", "ping", timeout=10)
        return last_json(out)

    def wait_for(self, predicate, seconds, what):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if predicate(self.ping()):
                return
            time.sleep(0.05)
        raise Timeout(f"jobd: {what} not reached in {seconds} s")

    def cancel_all(self):
        try:
            _, out = self.jobctl("--json", "jobs", "--state", "running", timeout=30)
            for line in (out or "").splitlines():
                if line.strip().startswith("{"):
                    self.jobctl("cancel", str(json.loads(line)["job"]), timeout=30, check=False)
        except (RunError, Timeout) as e:
            log(f"  (cancel: {e})")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.runs = 1 if args.quick else args.runs
        self.runs_large = 1 if args.quick else min(self.runs, args.runs_large)
        self.bin = pathlib.Path(args.bin_dir).resolve()
        self.python = args.python
        self.rows = []
        self.targets = []
        self.skipped = {}
        self.load = {}
        q = args.quick
        self.size = {
            "small": 2_000 if q else 20_000,
            "large": args.large or (20_000 if q else 1_000_000),
            "latency": 200 if q else 2_000,
            "scaling_tasks": 40 if q else 200,
            "queued": args.large or (50_000 if q else 1_000_000),
            "pings": 200 if q else 2_000,
            "stream": 50_000 if q else 500_000,  # outlasts the pings taken while it runs
            "commands": 200 if q else 2_000,
        }

    # ---- helpers ----------------------------------------------------------

    def timeout_for(self, tasks, floor=60):
        """A bound for a run of `tasks` no-op tasks: none may go slower than
        1,000 tasks/s, nor take longer than --max-timeout."""
        return min(self.args.max_timeout, max(floor, tasks / 1000))

    def row(self, *args, **kwargs):
        r = Row(*args, **kwargs)
        self.rows.append(r)
        return r

    def sample(self, row, fn):
        """Appends fn()'s value to row (None on a timeout or error)."""
        try:
            value = fn()
        except (Timeout, RunError) as e:
            log(f"  {row.label}: {e}")
            row.fail("timeout" if isinstance(e, Timeout) else "error")
            return None
        row.add(value)
        log(f"  {row.label}: {fmt(value)} {row.unit}")
        return value

    def peer(self, *args, timeout):
        _, out = run([self.python, str(BENCH / "peers" / "pool_peers.py"), *map(str, args)],
                     timeout, stdout=subprocess.PIPE)
        return last_json(out)

    def jobctl_map(self, jobd, task, items, *flags, chunk=50_000):
        """`jobctl --json map TASK ITEM... > /dev/null`, in chunks of at most
        `chunk` items (argument-list size), one after the other; seconds."""
        total = 0.0
        for first in range(0, len(items), chunk):
            part = items[first:first + chunk]
            total += jobctl_run(jobd, ["--json", "map", *flags, task, *part],
                                self.timeout_for(len(part)))
        return total

    def target(self, name, value, goal, op, unit, note=""):
        """op: '>=' or '<=' or '<'."""
        if value is None:
            ok = None
        elif op == ">=":
            ok = value >= goal
        elif op == "<=":
            ok = value <= goal
        else:
            ok = value < goal
        self.targets.append({"name": name, "value": value, "goal": goal, "op": op, "unit": unit,
                             "pass": ok, "note": note})

    def settle(self):
        """With --wait-quiet S: waits (up to S seconds) until the machine's CPUs
        are mostly idle, as they are shared. Returns the busy fraction seen last."""
        busy = cpu_busy(0.5)
        waited = 0.0
        while self.args.wait_quiet > 0 and busy > 0.25 and waited < self.args.wait_quiet:
            if waited == 0:
                log(f"  waiting for a quieter machine (CPU {busy:.0%} busy)")
            time.sleep(2)
            waited += 2.5
            busy = cpu_busy(0.5)
        return busy

    def begin(self, workload):
        busy = self.settle()
        self.load[workload] = {"loadavg": [loadavg()], "busy_before_runs": []}
        log(f"== {workload} (load average {loadavg():.2f}, CPU {busy:.0%} busy)")
        self.current = workload

    def round(self, r, runs):
        busy = self.settle() if r > 0 else cpu_busy(0.5)
        self.load[self.current]["busy_before_runs"].append(round(busy, 2))
        log(f" run {r + 1}/{runs} (CPU {busy:.0%} busy before)")

    def end(self, workload):
        self.load[workload]["loadavg"].append(loadavg())

    # ---- workloads --------------------------------------------------------

    def throughput(self):
        for size_name in ("small", "large"):
            n = self.size[size_name]
            runs = self.runs if size_name == "small" else self.runs_large
            wl = f"throughput {n:,}"
            self.begin(wl)
            items = [str(i) for i in range(n)]
            jctl = self.row(wl, "jobd: jobctl --json map echo" +
                            (" (50,000 per call)" if n > 50_000 else ""), "tasks/s", "higher")
            # The peers keep nothing on disk: --no-store is jobd on the same terms.
            jctl_ns = (self.row(wl, "jobd: jobctl --json map --no-store echo", "tasks/s", "higher")
                       if size_name == "small" else None)
            lib = self.row(wl, "jobd: client library", "tasks/s", "higher")
            lib_ns = self.row(wl, "jobd: client library, --no-store", "tasks/s", "higher")
            ppe = self.row(wl, "ProcessPoolExecutor(2) + asyncio", "tasks/s", "higher",
                           system="peer", ref=jctl)
            mp = self.row(wl, "multiprocessing.Pool(2).imap_unordered", "tasks/s", "higher",
                          system="peer", ref=jctl)
            for r in range(runs):
                self.round(r, runs)
                with Jobd(self) as j:
                    self.sample(jctl, lambda: n / self.jobctl_map(j, "echo", items))
                    j.cancel_all()
                    if jctl_ns is not None:
                        self.sample(jctl_ns, lambda: n / self.jobctl_map(j, "echo", items,
                                                                         "--no-store"))
                        j.cancel_all()
                    self.sample(lib, lambda: j.client("map", "--count", n,
                                                      timeout=self.timeout_for(n))["tasks_per_s"])
                    j.cancel_all()
                    self.sample(lib_ns, lambda: j.client(
                        "map", "--count", n, "--no-store",
                        timeout=self.timeout_for(n))["tasks_per_s"])
                self.sample(ppe, lambda: self.peer("ppe_asyncio", n,
                                                   timeout=self.timeout_for(n))["tasks_per_s"])
                self.sample(mp, lambda: self.peer("mp_imap", n,
                                                  timeout=self.timeout_for(n))["tasks_per_s"])
            self.end(wl)
            if size_name == "small":
                self.target(f"throughput {n:,}: jobctl vs multiprocessing imap_unordered",
                            jctl.ratio_of(mp), 3, ">=", "x")
                self.target(f"throughput {n:,}: jobctl vs ProcessPoolExecutor + asyncio",
                            jctl.ratio_of(ppe), 20, ">=", "x")
                self.target(f"throughput {n:,}: jobctl --no-store vs multiprocessing imap_unordered",
                            jctl_ns.ratio_of(mp), 3, ">=", "x")
                self.target(f"throughput {n:,}: jobctl --no-store vs ProcessPoolExecutor + asyncio",
                            jctl_ns.ratio_of(ppe), 20, ">=", "x")
            else:
                self.target(f"throughput {n:,}: client library, store off", lib_ns.median,
                            250_000, ">=", "tasks/s")
                self.target(f"throughput {n:,}: client library, store on", lib.median,
                            125_000, ">=", "tasks/s")

    def latency(self):
        n = self.size["latency"]
        wl = f"latency, 1 task at a time x {n:,}"
        self.begin(wl)
        rows = {}
        for key, label, system in (("nostore", "jobd: client library, --no-store", "jobd"),
                                   ("store", f"jobd: client library, store on "
                                             f"({max(50, n // 4):,} jobs)", "jobd"),
                                   ("mp", "multiprocessing.Pool(2).apply", "peer")):
            for p in ("p50", "p99"):
                ref = rows.get(("nostore", p)) if system == "peer" else None
                rows[(key, p)] = self.row(wl, f"{label}: {p}", "µs", "lower", system=system,
                                          ref=ref)

        def record(key, result):
            for p in ("p50", "p99"):
                rows[(key, p)].add(result[f"{p}_us"])
            log(f"  {key}: p50 {result['p50_us']:.0f} µs, p99 {result['p99_us']:.0f} µs")

        for r in range(self.runs):
            self.round(r, self.runs)
            with Jobd(self) as j:
                # Store on, each job waits for its commit (an fsync): fewer of them.
                for key, count, flags in (("nostore", n, ["--no-store"]),
                                          ("store", max(50, n // 4), [])):
                    try:
                        record(key, j.client("latency", "--count", count, *flags,
                                             timeout=self.timeout_for(n * 100)))
                    except (Timeout, RunError) as e:
                        log(f"  {key}: {e}")
                        for p in ("p50", "p99"):
                            rows[(key, p)].fail("timeout" if isinstance(e, Timeout) else "error")
            try:
                record("mp", self.peer("mp_apply", n, timeout=self.timeout_for(n * 20)))
            except (Timeout, RunError) as e:
                log(f"  mp: {e}")
                for p in ("p50", "p99"):
                    rows[("mp", p)].fail("error")
        self.end(wl)
        store_p99 = rows[("store", "p99")].median
        self.target("latency p50 (--no-store) vs multiprocessing apply",
                    rows[("nostore", "p50")].median, rows[("mp", "p50")].median or 0, "<=", "µs")
        self.target("latency p99 (--no-store)", rows[("nostore", "p99")].median, 200, "<", "µs",
                    note=f"store on: {fmt(store_p99)} µs" if store_p99 else "")

    def seed(self):
        numbers = ["200000000", "50000000"]
        wl = "seed: sum_to_num 200000000 50000000"
        self.begin(wl)
        jobd_row = self.row(wl, "jobd: jobctl map (2 workers)", "s", "lower")
        fork_row = self.row(wl, "C fork() per task", "s", "lower", system="peer", ref=jobd_row)
        ppe_row = self.row(wl, "ProcessPoolExecutor(2) + asyncio, Python sum()", "s", "lower",
                           system="peer", ref=jobd_row)
        orders = {"jobd": [], "fork": [], "ppe": []}

        def jobd_seed(j):
            seconds, out = j.jobctl("--json", "map", "sum_to_num", *numbers, timeout=120)
            lines = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
            orders["jobd"].append(",".join(str(l["index"]) for l in lines))
            return seconds

        def fork_seed():
            seconds, out = run([str(self.bin / "jobd_fork_baseline"), "sum", *numbers], 120,
                               stdout=subprocess.PIPE)
            result = last_json(out)
            orders["fork"].append(",".join(str(o["index"]) for o in result["order"]))
            return seconds

        def ppe_seed():
            result = self.peer("ppe_sum", *numbers, timeout=300)
            orders["ppe"].append(",".join(str(o["index"]) for o in result["order"]))
            return result["seconds"]

        for r in range(self.runs):
            self.round(r, self.runs)
            with Jobd(self) as j:
                self.sample(jobd_row, lambda: jobd_seed(j))
            self.sample(fork_row, fork_seed)
            self.sample(ppe_row, ppe_seed)
        for row, key in ((jobd_row, "jobd"), (fork_row, "fork"), (ppe_row, "ppe")):
            seen = sorted(set(orders[key]))
            row.notes.append("arrival order " + " / ".join(
                f"{o} ({orders[key].count(o)}x)" for o in seen))
        self.end(wl)

    def scaling(self):
        tasks = self.size["scaling_tasks"]
        ms = 10
        items = [str(ms)] * tasks
        for workers in (1, 2):
            wl = f"scaling: {tasks} x spin {ms}, {workers} worker{'s' if workers > 1 else ''}"
            self.begin(wl)
            ideal = tasks * ms / 1000 / workers
            jobd_row = self.row(wl, "jobd: jobctl map", "s", "lower")
            fork_row = self.row(wl, f"C fork() per task, {workers} at a time", "s", "lower",
                                system="peer", ref=jobd_row)
            ideal_row = self.row(wl, "ideal (tasks x 10 ms / workers)", "s", "lower",
                                 system="ideal", ref=jobd_row)
            for r in range(self.runs):
                self.round(r, self.runs)
                with Jobd(self, workers=workers) as j:
                    self.sample(jobd_row, lambda: j.jobctl("--json", "map", "spin", *items,
                                                           timeout=60, stdout=subprocess.DEVNULL)[0])
                self.sample(fork_row, lambda: run(
                    [str(self.bin / "jobd_fork_baseline"), "spin", str(workers), str(tasks),
                     str(ms)], 60)[0])
                ideal_row.add(ideal)
            self.end(wl)
            if workers == 2:
                self.target(f"scaling, 2 workers: jobd vs ideal {ideal:g} s",
                            jobd_row.median / ideal if jobd_row.median else None, 1.05, "<=",
                            "x ideal", note=f"fork() baseline {fmt(fork_row.median)} s")

    def responsiveness(self):
        queued = self.size["queued"]
        pings = self.size["pings"]
        stream = self.size["stream"]
        wl = f"responsiveness: ping, workers busy, {queued:,} queued"
        wl2 = f"responsiveness: ping while {stream:,} no-op tasks run"
        self.begin(wl)
        busy = {p: self.row(wl, f"jobd: ping round trip {p}", "µs", "lower")
                for p in ("p50", "p99", "max")}
        flowing = {p: self.row(wl2, f"jobd: ping round trip {p}", "µs", "lower")
                   for p in ("p50", "p99", "max")}

        def record(rows, result):
            for p, row in rows.items():
                row.add(result[f"{p}_us"])
            log(f"  ping p50 {result['p50_us']:.0f} µs, p99 {result['p99_us']:.0f} µs, "
                f"max {result['max_us']:.0f} µs")

        def fail(rows, e):
            log(f"  {e}")
            for row in rows.values():
                row.fail("timeout" if isinstance(e, Timeout) else "error")

        for r in range(self.runs_large):
            self.round(r, self.runs_large)
            with Jobd(self) as j:
                try:
                    j.jobctl("submit", "--no-store", "spin", "600000", "600000", timeout=30)
                    j.wait_for(lambda p: p["running"] == 2, 30, "both workers busy")
                    j.client("submit", "--count", queued, "--jobs", max(1, queued // 100_000),
                             timeout=self.timeout_for(queued * 10))
                    j.wait_for(lambda p: p["queued"] >= queued, 60, f"{queued} queued")
                    record(busy, j.client("ping", "--count", pings, "--interval-us", 200,
                                          timeout=120))
                except (Timeout, RunError) as e:
                    fail(busy, e)
                j.cancel_all()
            # Pings from a second client while a no-op job streams through, on
            # a fresh jobd: the cancel above leaves the store thread writing a
            # million cancelled results for a while.
            with Jobd(self) as j:
                try:
                    j.wait_for(lambda p: p["running"] == 0 and p["queued"] == 0, 30, "idle")
                    mapper = subprocess.Popen(
                        [str(self.bin / "jobd_bench_client"), "--socket", j.endpoint, "map",
                         "--count", str(stream)], stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL, start_new_session=True)
                    try:
                        j.wait_for(lambda p: p["running"] > 0, 30, "tasks running")
                        record(flowing, j.client("ping", "--count", max(100, pings // 4),
                                                 "--interval-us", 1000, timeout=120))
                        mapper.wait(timeout=self.timeout_for(stream))
                    finally:
                        if mapper.poll() is None:
                            os.killpg(mapper.pid, signal.SIGKILL)
                            mapper.wait()
                except (Timeout, RunError, subprocess.TimeoutExpired) as e:
                    fail(flowing, e)
                j.cancel_all()
        self.end(wl)
        self.target("ping p99, workers busy, queue full", busy["p99"].median, 1000, "<", "µs")
        self.target("ping max, workers busy, queue full", busy["max"].median, 10_000, "<", "µs")

    def commands(self):
        n = self.size["commands"]
        wl = f"commands: {n:,} x /bin/true"
        self.begin(wl)
        help_text = ""
        try:
            _, help_text = run([str(self.bin / "jobctl"), "map", "--help"], 10,
                               stdout=subprocess.PIPE, check=False)
        except Timeout:
            pass
        if "--exec" not in (help_text or ""):
            self.skipped[wl] = "skipped: jobctl has no --exec"
            log("  skipped: jobctl has no --exec")
            self.end(wl)
            return
        items = [str(i) for i in range(n)]
        jobd_row = self.row(wl, "jobd: jobctl map --exec", "tasks/s", "higher")
        xargs_row = self.row(wl, "xargs -P2 -n1", "tasks/s", "higher", system="peer",
                             ref=jobd_row)
        parallel_row = self.row(wl, "GNU parallel -j2", "tasks/s", "higher", system="peer",
                                ref=jobd_row)
        exec_forms = [["--exec", "/bin/true {}"], ["--exec", "/bin/true"]]
        for r in range(self.runs):
            self.round(r, self.runs)
            with Jobd(self) as j:
                form = None
                for candidate in exec_forms:
                    try:
                        j.jobctl("--json", "map", *candidate, "a", "b", timeout=30)
                        form = candidate
                        break
                    except (Timeout, RunError):
                        continue
                if form is None:
                    jobd_row.fail("jobctl map --exec failed")
                else:
                    self.sample(jobd_row, lambda: n / jobctl_run(
                        j, ["--json", "map", *form, *items], self.timeout_for(n * 5)))
            self.sample(xargs_row, lambda: n / xargs_run(n, self.timeout_for(n * 5)))
            self.sample(parallel_row, lambda: n / run(
                ["parallel", "--will-cite", "-j2", "/bin/true", "{}", ":::", *items],
                self.timeout_for(n * 20))[0])
        self.end(wl)
        self.target("commands: jobctl --exec vs xargs -P2", jobd_row.ratio_of(xargs_row), 1.5,
                    ">=", "x")
        self.target("commands: jobctl --exec vs GNU parallel -j2",
                    jobd_row.ratio_of(parallel_row), 10, ">=", "x")

    def memory(self):
        n = self.size["queued"]
        wl = f"memory: coordinator with {n:,} tasks queued"
        self.begin(wl)
        rows = {}
        for mode in ("store", "nostore"):
            name = "jobd (store on)" if mode == "store" else "jobd --no-store"
            rows[(mode, "peak")] = self.row(wl, f"{name}: peak RSS (VmHWM)", "MiB", "lower")
            rows[(mode, "peak_b")] = self.row(wl, f"{name}: peak bytes a task", "B", "lower")
            rows[(mode, "rss_b")] = self.row(wl, f"{name}: resident bytes a task after", "B",
                                             "lower")
        for r in range(self.runs_large):
            self.round(r, self.runs_large)
            for mode in ("store", "nostore"):
                with Jobd(self, no_store=(mode == "nostore")) as j:
                    try:
                        j.jobctl("submit", "--no-store", "spin", "600000", "600000", timeout=30)
                        j.wait_for(lambda p: p["running"] == 2, 30, "both workers busy")
                        before = proc_status(j.pid)["VmRSS"]
                        j.client("submit", "--count", n, "--jobs", max(1, n // 100_000),
                                 timeout=self.timeout_for(n * 10))
                        j.wait_for(lambda p: p["queued"] >= n, 60, f"{n} queued")
                        after = proc_status(j.pid)
                        rows[(mode, "peak")].add(after["VmHWM"] / 2**20)
                        rows[(mode, "peak_b")].add((after["VmHWM"] - before) / n)
                        rows[(mode, "rss_b")].add((after["VmRSS"] - before) / n)
                        log(f"  {mode}: VmHWM {after['VmHWM'] / 2**20:.1f} MiB, "
                            f"{(after['VmHWM'] - before) / n:.0f} B/task peak, "
                            f"{(after['VmRSS'] - before) / n:.0f} B/task after")
                    except (Timeout, RunError) as e:
                        log(f"  {mode}: {e}")
                        for key in ("peak", "peak_b", "rss_b"):
                            rows[(mode, key)].fail("timeout" if isinstance(e, Timeout)
                                                   else "error")
                    j.cancel_all()
        self.end(wl)
        self.target("memory: peak bytes a queued task (store on)",
                    rows[("store", "peak_b")].median, 150, "<", "B",
                    note=f"--no-store: {fmt(rows[('nostore', 'peak_b')].median)} B")

    def durability(self):
        n = self.size["small"]
        wl = f"durability: jobctl map echo x {n:,}"
        self.begin(wl)
        items = [str(i) for i in range(n)]
        on = self.row(wl, "jobd: store on", "tasks/s", "higher")
        off = self.row(wl, "jobd: jobctl map --no-store", "tasks/s", "higher", system="jobd",
                       ref=on)
        for r in range(self.runs):
            self.round(r, self.runs)
            with Jobd(self) as j:
                self.sample(on, lambda: n / self.jobctl_map(j, "echo", items))
                self.sample(off, lambda: n / self.jobctl_map(j, "echo", items, "--no-store"))
        self.end(wl)

    # ---- report -----------------------------------------------------------

    def report(self, out_path, started, wall):
        meta = machine()
        meta.update({"type": "meta", "date": started.isoformat(timespec="seconds"),
                     "quick": self.quick, "runs": self.runs, "runs_large": self.runs_large,
                     "wall_s": round(wall, 1), "load_average": self.load,
                     "skipped": self.skipped})
        with open(out_path, "w") as f:
            f.write(json.dumps(meta) + "\n")
            for r in self.rows:
                f.write(json.dumps({
                    "type": "row", "workload": r.workload, "row": r.label, "system": r.system,
                    "unit": r.unit, "better": r.better, "median": r.median,
                    "samples": r.samples, "ratio": r.ratio,
                    "ratio_vs": r.ref.label if r.ref else None, "notes": r.notes,
                    "params": r.params}) + "\n")
            for t in self.targets:
                f.write(json.dumps({"type": "target", **t}) + "\n")
            for wl, why in self.skipped.items():
                f.write(json.dumps({"type": "skipped", "workload": wl, "why": why}) + "\n")

        print(f"jobd benchmarks, {started:%Y-%m-%d %H:%M}: {meta['cpu']}, {meta['cores']} cores, "
              f"Linux {meta['kernel']}; {self.runs} runs ({self.runs_large} for the 1M-task "
              f"workloads), medians; {'QUICK (reduced sizes); ' if self.quick else ''}"
              f"took {wall / 60:.1f} min")
        print()
        print("| workload | row | median | unit | runs | jobd/peer | notes |")
        print("|---|---|---:|---|---:|---:|---|")
        for r in self.rows:
            runs_done = sum(1 for s in r.samples if s is not None)
            ratio = f"{r.ratio:.2f}" if r.ratio is not None else ""
            print(f"| {r.workload} | {r.label} | {fmt(r.median)} | {r.unit} | "
                  f"{runs_done}/{len(r.samples)} | {ratio} | {'; '.join(r.notes)} |")
        for wl, why in self.skipped.items():
            print(f"| {wl} | {why} | | | | | |")
        print()
        print("jobd/peer: the jobd row's median over the peer's (tasks/s: above 1 jobd is "
              "faster; s and µs: below 1 jobd is faster).")
        print()
        print("| target | measured | goal | result |")
        print("|---|---:|---:|---|")
        for t in self.targets:
            verdict = "n/a" if t["pass"] is None else ("PASS" if t["pass"] else "MISS")
            note = f" ({t['note']})" if t["note"] else ""
            print(f"| {t['name']} | {fmt(t['value'])} {t['unit']}{note} | {t['op']} "
                  f"{fmt(t['goal'])} {t['unit']} | {verdict} |")
        print()
        print("The machine is shared: CPU busy (all processes, 0.5 s) before each run, and the "
              "1-minute load average at start->end of each workload:")
        print()
        for wl, load in self.load.items():
            busy = " ".join(f"{b:.0%}" for b in load["busy_before_runs"])
            a = load["loadavg"][0]
            b = load["loadavg"][-1]
            print(f"- {wl}: busy {busy or '-'}; load {a:.1f}->{b:.1f}")
        print()
        print(f"Results: {out_path}")


def jobctl_run(jobd, args, timeout):
    """`jobctl --socket EP ARGS > /dev/null`: seconds."""
    seconds, _ = jobd.jobctl(*args, timeout=timeout, stdout=subprocess.DEVNULL)
    return seconds


def xargs_run(n, timeout):
    """`seq n | xargs -P2 -n1 /bin/true`: seconds."""
    start = time.perf_counter()
    proc = subprocess.Popen(["xargs", "-P2", "-n1", "/bin/true"], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, start_new_session=True, text=True)
    try:
        proc.communicate("\n".join(str(i) for i in range(n)) + "\n", timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise Timeout(f"xargs took over {timeout:.0f} s")
    if proc.returncode != 0:
        raise RunError(f"xargs exited {proc.returncode}")
    return time.perf_counter() - start


def fmt(value):
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def machine():
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    commit = ""
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "python": platform.python_version(), "commit": commit}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each row (default 5)")
    parser.add_argument("--runs-large", type=int, default=1,
                        help="runs of the 1,000,000-task rows (default 1, at most --runs)")
    parser.add_argument("--large", type=int, default=0,
                        help="the size of the large workloads (default 1,000,000 tasks)")
    parser.add_argument("--quick", action="store_true",
                        help="a short smoke run: 1 run, reduced sizes")
    parser.add_argument("--only", default="",
                        help="comma-separated workloads to run: " + ",".join(WORKLOADS))
    parser.add_argument("--out", default="", help="results file (JSON lines)")
    parser.add_argument("--max-timeout", type=float, default=600,
                        help="longest any one command may take, in seconds (default 600)")
    parser.add_argument("--wait-quiet", type=float, default=0,
                        help="before each workload and run, wait up to this many seconds for "
                             "the CPUs to be mostly idle (shared machines)")
    parser.add_argument("--plot", action="store_true", help="draw the charts (bench/plot) after")
    parser.add_argument("--bin-dir", default=str(ROOT / "build" / "bin"))
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    only = [w for w in args.only.split(",") if w] or WORKLOADS
    unknown = [w for w in only if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads: {', '.join(unknown)}")
    for program in ("jobd", "jobd-worker", "jobctl", "jobd_bench_client", "jobd_fork_baseline"):
        if not (pathlib.Path(args.bin_dir) / program).exists():
            parser.error(f"{args.bin_dir}/{program} is missing: build first (scripts/build.sh)")

    started = datetime.datetime.now()
    if args.out:
        # bench/run changes to the repository root: relative to where it was started.
        out_path = pathlib.Path(os.environ.get("JOBD_BENCH_CALLER_DIR", ".")) / args.out
    else:
        results = BENCH / "results"
        stem = f"{started:%Y-%m-%d}" + ("-quick" if args.quick else "")
        out_path = results / f"{stem}.jsonl"
        k = 2
        while out_path.exists():
            out_path = results / f"{stem}-{k}.jsonl"
            k += 1
    out_path.parent.mkdir(parents=True, exist_ok=True)

    bench = Bench(args)
    with tempfile.TemporaryDirectory(prefix="jobd-bench.") as tmp:
        bench.tmp = pathlib.Path(tmp)
        start = time.monotonic()
        try:
            for w in WORKLOADS:
                if w not in only:
                    continue
                try:
                    getattr(bench, w)()
                except (Timeout, RunError) as e:
                    log(f"{w}: {e}")
                    bench.skipped[w] = f"failed: {e}"
                except Exception as e:  # a bug here must not lose the other workloads
                    traceback.print_exc()
                    bench.skipped[w] = f"failed: {type(e).__name__}: {e}"

        except KeyboardInterrupt:
            log("interrupted: reporting what was measured")
        bench.report(out_path, started, time.monotonic() - start)
    if args.plot:
        try:
            subprocess.run([sys.executable, str(BENCH / "plot"), str(out_path)], timeout=300,
                           check=True, stdout=sys.stderr)
        except (OSError, subprocess.SubprocessError) as e:
            log(f"bench/plot: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
