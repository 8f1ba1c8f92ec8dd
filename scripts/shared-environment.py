#!/usr/bin/env python3
"""Writes an environment of JOBS jobs on 20 shared systems, as YAML.

    scripts/shared-environment.py JOBS > shared.yaml

Half as many integrations as jobs, each between two of 20 systems (so each
system serves about JOBS / 20 integrations, from both sides), with volumes
of 15 to 2,000 a day, a third with a freshness of an hour and a third with
active hours. Rates are sized so most systems fit: what BENCHMARKS.md times
`pacer plan` on. The same JOBS gives the same file.
"""

import random
import sys


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    jobs = int(sys.argv[1])
    r = random.Random(11)
    lines = [
        f"environment: {{ name: shared-{jobs}, timezone: UTC, capacity: {jobs // 20} }}",
        "systems:",
    ]
    for s in range(20):
        rate = r.choice([500, 1000, 2000]) * jobs // 10000 if jobs == 10000 else r.choice([50, 100, 200])
        lines.append(f"  s{s}: {{ rate: {rate}/min }}")
    lines.append("integrations:")
    for i in range(jobs // 2):
        a = r.randrange(20)
        b = (a + 1 + r.randrange(19)) % 20
        volume = r.choice([15, 200, 1000, 2000])
        extra = r.choice(["", ", freshness: 1h", ', active_hours: "06:00-22:00"'])
        lines.append(f"  i{i}: {{ from: s{a}, to: s{b}, volume: {volume}/day{extra} }}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
