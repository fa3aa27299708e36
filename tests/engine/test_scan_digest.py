"""What a full scan's raw digest depends on: the record, the mapping in force and the links its
related records resolve to — a record unchanged in itself is mapped again when any of them changed."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from mappings.engine import Mapper, MappingContext, StaticLinks
from mappings.loading import load_mapping
from state.store import Store
from syncd.connectors.base import RemoteRecord
from syncd.engine.pairs import Pair
from syncd.engine.scan import FullScan

ROOT = Path(__file__).resolve().parents[2]
EVENT = RemoteRecord(
    "7",
    {"key": 7, "label": "Visit", "customers": [{"key": 5, "label": "Ana"}], "fields": {"PLANFIX_ID": "70"}},
)


def _digest(tmp_path: Path, links: dict[tuple[str, str], str], zone: str = "Europe/Madrid") -> str:
    spec = load_mapping("default:tasks", ROOT)
    ctx = MappingContext(ZoneInfo("Europe/Moscow"), ZoneInfo(zone), StaticLinks(links))
    with Store.open(tmp_path / "state.db") as store:
        scan = FullScan(
            store, Pair("tasks", Mapper(spec, ctx), {}), "planningpme", needed=(), observe=str, write=False
        )
        return scan.digest(EVENT)


def test_the_digest_follows_the_record_the_mapping_and_the_related_links(tmp_path: Path) -> None:
    linked = {("contact", "50"): "5"}
    first = _digest(tmp_path, linked)
    assert _digest(tmp_path, linked) == first, "the same inputs give the same digest"
    assert _digest(tmp_path, {("contact", "51"): "5"}) != first, "its customer is now another contact"
    assert _digest(tmp_path, {}) != first, "its customer is no longer linked"
    assert _digest(tmp_path, linked, zone="Europe/Paris") != first, "the mapping's time zone changed"
