#!/usr/bin/env python3
"""Times commands interleaved — A B A B … — and prints each one's median.

    scripts/interleaved-timing.py RUNS 'COMMAND A' 'COMMAND B' ...

This machine's speed drifts by tens of percent within minutes, so hyperfine,
which runs all of A and then all of B, can credit the drift to a change.
Interleaving spreads the drift over every command. Wall time and the
children's user+system CPU are reported; output of the commands is dropped.
"""

import resource
import statistics
import subprocess
import sys
import time


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    runs = int(sys.argv[1])
    commands = sys.argv[2:]
    wall = {c: [] for c in commands}
    cpu = {c: [] for c in commands}
    for _ in range(runs):
        for command in commands:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run(command, shell=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True)
            wall[command].append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[command].append(after.ru_utime - before.ru_utime
                                + after.ru_stime - before.ru_stime)
    for command in commands:
        w = wall[command]
        print(f"median {statistics.median(w):.3f} s  mean {statistics.mean(w):.3f} s  "
              f"min {min(w):.3f} s  cpu {statistics.median(cpu[command]):.2f} s  {command}")


if __name__ == "__main__":
    main()
