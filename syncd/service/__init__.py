"""The long-lived service: scheduling cycles, liveness, backoff, reloads, signals and systemd.

It drives the engine and the push endpoint; the command line starts it. Nothing below it (engine,
push, connectors, mappings, state) imports it.
"""
