#!/usr/bin/env python3
"""A large environment for `pacer run`: N integrations over 10 systems on
loopback, every one due often, capacity 400, rates ample. Written to stdout.

    benches/node/generate.py 1000 > big.yaml

Seeded, so the same N gives the same file.
"""
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
port = int(sys.argv[2]) if len(sys.argv) > 2 else 19201
rng = random.Random(1)
systems = [f"s{i}" for i in range(10)]
print("environment:")
print("  name: node-scale")
print("  timezone: UTC")
print("  capacity: 400")
print("  store: sqlite://node-scale.db")
print("systems:")
for i, s in enumerate(systems):
    print(f"  {s}: {{ rate: 100000/min, base_url: \"http://127.0.0.1:{port + i}\" }}")
print("integrations:")
for i in range(n):
    source, destination = rng.sample(systems, 2)
    volume = rng.choice([100, 1000, 5000, 20000])
    freshness = rng.choice(["10m", "15m", "30m", "60m"])
    print(f"  i{i:04}:")
    print(f"    from: {source}")
    print(f"    to: {destination}")
    print(f"    volume: {volume}/day")
    print(f"    freshness: {freshness}")
