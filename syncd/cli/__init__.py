"""The command line: argument parsing, the commands, reports, ``syncd check`` and ``syncd init``.

The top of the tree: it may import every other part, and nothing imports it.
"""
