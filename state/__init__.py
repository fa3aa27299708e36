"""The SQLite state: what syncd knows between cycles (links, cursors, the journal, failures, history).

Imports nothing of ``syncd``: the daemon depends on this package, not the other way round. All
reads and writes go through ``store.Store``.
"""
