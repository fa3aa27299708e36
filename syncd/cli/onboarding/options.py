"""The options of ``syncd init``, apart from its work so that building the CLI parser imports
nothing heavy: each option sets one key of ``[planfix]`` or ``[planningpme]``."""

from __future__ import annotations

import argparse


def option_dest(option: str) -> str:
    """Where argparse keeps ``--planfix-url``: ``init_planfix_url`` (apart from other commands' names)."""
    return "init_" + option.removeprefix("--").replace("-", "_")


OPTIONS: tuple[tuple[str, str, str, str], ...] = (
    # (option, section, key, help)
    ("--planfix-url", "planfix", "url", "Planfix XML API URL (default https://api.planfix.com/xml/)"),
    ("--planfix-account", "planfix", "account", "Planfix account name (the NAME of NAME.planfix.com)"),
    ("--planfix-api-key-file", "planfix", "api_key_file", "file holding the Planfix API key"),
    ("--planfix-token-file", "planfix", "token_file", "file holding the Planfix user token"),
    ("--planfix-timezone", "planfix", "timezone", "the Planfix account's time zone (IANA name)"),
    ("--planningpme-url", "planningpme", "url", "PlanningPME API URL (default https://api.planningpme.com)"),
    ("--brand", "planningpme", "brand", "PlanningPME brand (account) name"),
    ("--app-key-file", "planningpme", "app_key_file", "file holding the PlanningPME application key"),
    ("--username", "planningpme", "username", "PlanningPME user name"),
    ("--password-file", "planningpme", "password_file", "file holding the PlanningPME password"),
    ("--planningpme-timezone", "planningpme", "timezone", "the PlanningPME account's time zone (IANA)"),
)
FILE_KEYS = frozenset(key for _, _, key, _ in OPTIONS if key.endswith("_file")) | {"assertion_file"}
"""Keys that name a secret's file: a partial config's relative paths are made absolute."""


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", "-c", help="a partial syncd.toml with the [planfix] and [planningpme] connection keys"
    )
    parser.add_argument("--out", required=True, help="directory to write syncd.toml and the mappings into")
    for option, _, key, text in OPTIONS:
        parser.add_argument(option, dest=option_dest(option), help=text, metavar=key.upper())
