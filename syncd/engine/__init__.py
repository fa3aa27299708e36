"""The sync engine: one cycle of one pair, from reading both systems to committing cursors.

It knows connectors (through their protocol), mappings and the state store, and nothing of how it
is run: the service, the push endpoint and the command line drive it, never the other way round
(tests/unit/test_architecture.py keeps it so).
"""
