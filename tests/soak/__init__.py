"""The soak run: ``python -m tests.soak --minutes N`` (``make soak SOAK_ARGS="--minutes 30"``).

Not part of ``make test`` (pytest ignores this directory). It runs the daemon in-process against
both emulators on 127.0.0.1 while random faults, outages and edits hit both sides, then stops the
chaos, lets a fault-free pair of cycles run and reports memory growth, cycles, failures and
whether both sides converged.
"""
