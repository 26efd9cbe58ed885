#!/usr/bin/env python3
"""Run one command and report its wall time and peak RSS (the same way for every engine).

Usage: python3 bench/run_measured.py CMD [ARGS...]
The command's stdout and stderr pass through to stderr; the last line on stdout is one JSON
object {"wall_s", "peak_rss_mb", "rc", "stdout_tail"}. Peak RSS is getrusage(RUSAGE_CHILDREN)
.ru_maxrss: the largest resident set of the command's process tree (threads included).
"""
import json
import resource
import subprocess
import sys
import time

cmd = sys.argv[1:]
if not cmd:
    sys.exit(__doc__)
t0 = time.perf_counter()
p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=sys.stderr)
wall = time.perf_counter() - t0
sys.stderr.write(p.stdout.decode("utf-8", "replace"))
print(json.dumps({
    "wall_s": wall,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0,
    "rc": p.returncode,
    "stdout_tail": p.stdout.decode("utf-8", "replace")[-2000:],
}))
