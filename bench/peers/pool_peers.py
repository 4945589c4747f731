#!/usr/bin/env python3
"""The Python peers bench/run sets beside jobd. Each mode prints one JSON object.

  pool_peers.py ppe_asyncio N [WORKERS]   N no-op tasks: ProcessPoolExecutor driven from
                                          asyncio (loop.run_in_executor + asyncio.as_completed)
  pool_peers.py mp_imap N [WORKERS]       N no-op tasks: multiprocessing.Pool.imap_unordered,
                                          chunksize=1
  pool_peers.py mp_apply N [WORKERS]      N one-task round trips: multiprocessing.Pool.apply;
                                          p50/p99 of each
  pool_peers.py ppe_sum N... [WORKERS=2]  the seed example: sum of 0..N+10 for each N at once,
                                          ProcessPoolExecutor + asyncio, in completion order

The no-op task returns its argument as a string, like jobd's `echo`. Pools are
started and warmed up (every worker has run a task) before the clock starts,
as jobd's workers are already running when a job arrives.
"""
import asyncio
import concurrent.futures
import json
import multiprocessing
import sys
import time


def echo(x):
    return str(x)


def sum_to_num(n):
    # The same sum as jobd's sum_to_num (0..N+10), at Python speed.
    return n, sum(range(n + 11))


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), int(-(-p * len(sorted_values) // 100))))
    return sorted_values[rank - 1]


def warm_executor(pool, workers):
    # Every worker started and answering before the clock starts.
    list(pool.map(echo, range(workers * 4)))


def ppe_asyncio(n, workers):
    async def run(pool):
        loop = asyncio.get_running_loop()
        start = time.perf_counter()
        futures = [loop.run_in_executor(pool, echo, i) for i in range(n)]
        done = 0
        for future in asyncio.as_completed(futures):
            await future
            done += 1
        return done, time.perf_counter() - start

    with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
        warm_executor(pool, workers)
        done, seconds = asyncio.run(run(pool))
    return {"mode": "ppe_asyncio", "count": n, "ok": done, "seconds": seconds,
            "tasks_per_s": done / seconds}


def mp_imap(n, workers):
    with multiprocessing.Pool(workers) as pool:
        warm_executor(pool, workers)
        start = time.perf_counter()
        done = sum(1 for _ in pool.imap_unordered(echo, range(n), chunksize=1))
        seconds = time.perf_counter() - start
    return {"mode": "mp_imap", "count": n, "ok": done, "seconds": seconds,
            "tasks_per_s": done / seconds}


def mp_apply(n, workers):
    samples = []
    with multiprocessing.Pool(workers) as pool:
        warm_executor(pool, workers)
        for i in range(n):
            start = time.perf_counter()
            pool.apply(echo, (i,))
            samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    return {"mode": "mp_apply", "count": n, "p50_us": percentile(samples, 50),
            "p90_us": percentile(samples, 90), "p99_us": percentile(samples, 99),
            "max_us": samples[-1], "mean_us": sum(samples) / len(samples)}


def ppe_sum(numbers, workers):
    async def run(pool):
        loop = asyncio.get_running_loop()
        start = time.perf_counter()
        futures = [loop.run_in_executor(pool, sum_to_num, n) for n in numbers]
        order = []
        for future in asyncio.as_completed(futures):
            n, total = await future
            order.append({"index": numbers.index(n), "result": str(total),
                          "seconds": time.perf_counter() - start})
        return order, time.perf_counter() - start

    with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
        warm_executor(pool, workers)
        order, seconds = asyncio.run(run(pool))
    return {"mode": "ppe_sum", "order": order, "seconds": seconds}


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    mode = argv[1]
    if mode == "ppe_sum":
        numbers = [int(a) for a in argv[2:]]
        result = ppe_sum(numbers, 2)
    else:
        n = int(argv[2])
        workers = int(argv[3]) if len(argv) > 3 else 2
        modes = {"ppe_asyncio": ppe_asyncio, "mp_imap": mp_imap, "mp_apply": mp_apply}
        if mode not in modes:
            sys.exit(__doc__)
        result = modes[mode](n, workers)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv)
