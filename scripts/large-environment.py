#!/usr/bin/env python3
"""Writes examples/large.yaml: a provider's environment of 200 integrations
over 10 shared systems, for timing `pacer simulate` at scale.

    scripts/large-environment.py > examples/large.yaml

Volumes are mixed as they are in the field (a few feeds of tens of
thousands of changes a day, many of hundreds), a quarter of the
integrations work office hours or follow an hourly profile, most have a
freshness, and the bulk APIs take batches. Rates are sized so the plan fits
on a normal day. Seeded: the file is the same on every run.
"""

import random

SYSTEMS = [
    ("erp", 6000, None),
    ("webshop", 8000, None),
    ("pim", 6000, 100),
    ("wms", 5000, None),
    ("crm", 3000, 50),
    ("marketplace", 6000, 100),
    ("pos", 4000, None),
    ("accounting", 2000, 50),
    ("b2b", 4000, None),
    ("search", 10000, 200),
]
VOLUMES = [(15, 2), (200, 5), (1000, 5), (5000, 4), (20000, 3), (35000, 2)]
FRESHNESS = ["15m", "30m", "1h", "4h", None]
OFFICE = [0, 0, 0, 0, 0, 0, 1, 2, 4, 4, 3, 3, 3, 3, 3, 3, 3, 2, 1, 1, 0, 0, 0, 0]


def main() -> None:
    r = random.Random(200)
    out = [
        "# A provider's environment: 200 integrations over 10 shared systems,",
        "# written by scripts/large-environment.py (seeded; run it again to get",
        "# the same file). BENCHMARKS.md times `pacer simulate` on it.",
        "environment:",
        "  name: large",
        "  timezone: Europe/Amsterdam",
        "  capacity: 24",
        "",
        "systems:",
    ]
    port = 9201
    for name, rate, _ in SYSTEMS:
        out.append(f"  {name}: {{ rate: {rate}/min, base_url: \"http://127.0.0.1:{port}\" }}")
        port += 1
    out += ["", "integrations:"]
    volumes = [v for v, weight in VOLUMES for _ in range(weight)]
    for i in range(200):
        (source, _, _), (destination, _, batch) = r.sample(SYSTEMS, 2)
        volume = r.choice(volumes)
        lines = [f"    from: {source}", f"    to: {destination}", f"    volume: {volume}/day"]
        peak = r.choice([1.0, 1.0, 1.2, 1.5])
        if peak != 1.0:
            lines.append(f"    peak_factor: {peak}")
        freshness = r.choice(FRESHNESS)
        hours = r.random()
        if hours < 0.15:
            # Office hours: what changes at night waits for the morning.
            lines.append('    active_hours: "06:00-22:00"')
        else:
            if freshness:
                lines.append(f"    freshness: {freshness}")
            if hours < 0.25:
                lines.append(f"    profile: {OFFICE}")
        if batch:
            lines.append(f"    push: {{ batch: {batch} }}")
        out.append(f"  i{i:03}_{source}_{destination}:")
        out += lines
    print("\n".join(out))


if __name__ == "__main__":
    main()
