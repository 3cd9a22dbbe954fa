#!/usr/bin/env python3
"""Print the README's web section from the committed results (results/web*, results/lab-web):
    python3 scripts/readme-web-section.py
Every figure in that section comes from these files; paste the output over the section after
regenerating them (bash results/regenerate-web.sh)."""
import json, re
import os, sys
R=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'results')
def load(d): return json.load(open(f'{R}/{d}/results.json'))
def rows(d): return {(r['strategy'], r['cores']): r for r in load(d)['rows']}
def ms(x): return f"{x*1e3:.2f} ms" if x < 1 else f"{x:.2f} s"
def kib(b): return f"{b/1024:.1f} KiB" if b < 1024*1024 else f"{b/1024/1024:.1f} MiB"
web = rows('web'); md = open(f'{R}/web/report.md').read()
table = md[md.index('| strategy'):md.index('\n\n', md.index('| strategy'))]
seq = web[('sequential',1)]; t64 = web[('single-core-threaded',64)]; a64 = web[('single-thread-async',64)]
t8 = web[('single-core-threaded',8)]; p64 = web[('multi-process',64)]; m64=web[('multi-threaded',64)]
cpu = rows('web-cpu'); cpar = rows('web-cpu-parallel')
c10k = rows('web-c10k'); ol = rows('web-open-loop')
def get(d, s, c):
    return d.get((s, c))
lab = open(f'{R}/lab-web/verdicts.txt').read()
verd = {}
for line in lab.splitlines():
    m = re.match(r'^(web-server-concurrency|combined-concurrency-parallelism|c10k-memory)\s+.*\s(supported|not-supported|inconclusive|not-testable)\s*$', line)
    if m: verd[m.group(1)] = line
out = []
out.append("""## The course's first example: a web server handling many requests at once

A course's first example of concurrency is a web server that handles many clients at once; its
example of both together is a server that handles requests concurrently and uses parallelism for
the CPU-heavy work inside each. `--workload web` measures exactly that, with real requests over
real sockets: an HTTP/1.1 server on 127.0.0.1 (requests parsed by `httparse`), loaded by
concbench's own client running in its own process on a CPU the server does not use.

```sh
concbench run --workload web --wait-ms 10 --connections 64 --size 1000 --cores 8,64
```

Every request waits 10 ms (the "database": a blocking sleep for threads and processes, a timer for
the event loop), then the server answers with a body whose checksum the client checks. Each
strategy is a server architecture: `sequential` is the iterative server (one connection at a
time), `single-core-threaded` xN is N threads all on ONE core, `multi-threaded` xN threads on
their own cores, `multi-process` xN pre-forked worker processes sharing one listening socket, and
`single-thread-async` xN one event loop (tokio, one thread, one core) with a task per connection,
N at once. Every row serves the same 1,000 requests from 64 keep-alive clients, so a speedup is a
ratio of requests per second. From `results/web/` (%s):

%s

Reading it:

- The iterative server serves one request per wait: %d requests/s for a wait that really lasted
  %s (the `wait` column: the server's own clock), about 1/W.
- 64 threads on **one** core served %d requests/s, %.1fx the iterative server, with no second
  core: while a request waits, the core serves the others. That is concurrency without
  parallelism, and it is why an I/O-bound server needs threads (or tasks), not cores.
- The event loop did the same on one thread, %d requests/s, with %d context switches a second
  against %d for the 64 threads: its tasks switch in user space. It is a little slower here
  because tokio's timer rounds each 10 ms wait up to whole milliseconds (%s achieved): it
  served %.2f of C/W with that achieved wait W, the 64 threads %.2f of theirs.
- With 8 workers and 64 clients, the p99 latency is %s: connections beyond the workers wait in
  the accept queue until a worker is free. That is what a thread pool smaller than its clients
  costs, and the event loop's cheap tasks avoid.
- `mem/conn` is the server's memory per connection (its peak resident memory beyond what the
  process used before the server started): pre-forked processes pay for whole processes
  (%s per connection at x64, their whole resident memory over the connections).
""" % (f"{load('web')['machine']['cpu_model']}, {load('web')['machine']['physical_cores']} physical cores, a KVM guest",
       table, round(seq['requests_per_s']), ms(seq['wait_achieved_s']), round(t64['requests_per_s']),
       t64['requests_per_s']/seq['requests_per_s'], round(a64['requests_per_s']), round(a64['switches_per_s']),
       round(t64['switches_per_s']), ms(a64['wait_achieved_s']), a64['requests_per_s']*a64['wait_achieved_s']/64, t64['requests_per_s']*t64['wait_achieved_s']/64, ms(t8['latency']['p99_s']), kib(p64['rss_per_connection_bytes'])))
a1 = get(cpu,'single-thread-async',32); p32 = get(cpu,'multi-process',32); s1=get(cpu,'sequential',1)
pa = get(cpar,'single-thread-async',32)
out.append("""**CPU-heavy requests** (`results/web-cpu/`: 500 µs of merge sort and a 1 ms wait per request,
32 clients): the event loop on one core is capped by that core at %d requests/s (%.0f µs of
server CPU per request), while 32 worker processes over both cores served %d. Concurrency hides
the waits; only more cores lift the CPU cap. `results/web-cpu-parallel/` splits each request's
sort over the cores instead (`--cpu-parallel`, the course's "parallelism inside each request"):
%d requests/s from the one event loop.
""" % (round(a1['requests_per_s']), a1['cpu_per_request_s']*1e6, round(p32['requests_per_s']), round(pa['requests_per_s'])))
ct = get(c10k,'single-core-threaded',10000); ca = get(c10k,'single-thread-async',10000)
out.append("""**C10K** (`results/web-c10k/`: 10,000 connections, a 100 ms wait, one core): 10,000 threads served
%d requests/s with %s of resident memory and %s of kernel stack per connection; one event loop
served %d with %s and none. concbench raises the open-files soft limit to the hard one for such a
run and says so; where the hard limit is too low, it says which and stops before any work.
At 10,000 connections every request costs more CPU than at 64, on both sides of the socket (the
kernel's socket lookups and wake-ups, a timer wheel of 10,000 entries): a bare tokio server with no
concbench code loses as much, under the same wrk, and wrk itself runs out of its CPU first — so on
two CPUs the C10K figure is the load generator's ceiling at 10,000 connections, not the ceiling
measured at 64 (`bash scripts/c10k-floor/run.sh`, `results/web-c10k/floor.txt`):

```text
%s
```
""" % (round(ct['requests_per_s']), kib(ct['rss_per_connection_bytes']), kib(ct.get('kernel_stack_per_connection_bytes') or 0),
       round(ca['requests_per_s']), kib(ca['rss_per_connection_bytes']), open(f'{R}/web-c10k/floor.txt').read().strip()))
olr = [(k, r) for k, r in ol.items()]
lines = ", ".join(f"{s} p50 {ms(r['latency']['p50_s'])}, p99 {ms(r['latency']['p99_s'])}, max {ms(r['latency']['max_s'])}" for (s,c), r in sorted(ol.items()))
out.append("""**Latency under a fixed rate** (`results/web-open-loop/`: 2,000 requests a second sent at fixed
intended times, as wrk2 does, each latency measured from its intended time so that a stalled
server is charged for the requests it delayed): %s.
""" % lines)
out.append("""**One server alone**: `concbench server --strategy single-thread-async --port 8080`
prints `listening on http://127.0.0.1:8080` and serves until Ctrl-C, with the same handler flags
(`--wait-ms`, `--cpu-us`, `--cpu-kernel`, `--cpu-parallel`, `--response-bytes`), so curl, a
browser or `wrk -t1 -c64 -d5s http://127.0.0.1:8080/` can load it. Only loopback addresses are
ever used: `--bind` refuses any other.

The lab tests the three statements behind these tables (`results/lab-web/`, `concbench lab
--claim web-server-concurrency,combined-concurrency-parallelism,c10k-memory`); each model takes
its inputs (achieved wait, CPU per request, idle thread and task costs) from the same run:

```text
%s
```
""" % "\n".join(verd.get(k, k + ': see results/lab-web/verdicts.txt') for k in ['web-server-concurrency','combined-concurrency-parallelism','c10k-memory']))

print("\n".join(out))
