"""Benchmarks run by ``make bench``; each module reports ratios against a
baseline timed in the same run, since the machines are noisy."""
