"""The benchmark's daily-quota model (table 5): pure arithmetic on measured figures, so a wrong
price of a contacts read or of a write would silently misstate which accounts fit the quota."""

from __future__ import annotations

import pytest

from tests.benchmarks.quota import Coefficients, WriteCost, day, fits, largest, listings_of


def coefficients(listings: int = 2, share: float = 0.2, task_reads: float = 0.1) -> Coefficients:
    return Coefficients(WriteCost(task_reads), WriteCost(0.0), 1, listings, 0, share)


def test_a_full_batch_costs_one_read_per_batch() -> None:
    assert WriteCost(0.1).per_cycle(50) == 55
    assert WriteCost(1.1 - 1).per_cycle(30) == 33  # a measured 1.1 requests per write, in floats


def test_a_cycle_with_one_write_pays_a_whole_read_for_it() -> None:
    assert WriteCost(0.1).per_cycle(1) == 2


def test_below_one_write_per_cycle_each_write_pays_its_own_read() -> None:
    assert WriteCost(0.1).per_cycle(0.5) == pytest.approx(1.0)
    assert WriteCost(0.0).per_cycle(0.5) == pytest.approx(0.5)
    assert WriteCost(0.1).per_cycle(0) == 0


def test_people_and_companies_are_paged_separately() -> None:
    # 800 people (8 pages) + 200 companies (2 pages); one listing of everyone would be 10 too,
    # but 850 + 150 splits into 9 + 2.
    assert coefficients(share=0.2).scan(1000) == 10
    assert coefficients(share=0.15).scan(1000) == 11
    assert coefficients(listings=1, share=0.15).scan(1000) == 10


def test_a_listing_with_nothing_in_it_still_asks_once() -> None:
    assert coefficients(share=0.0).scan(1000) == 11


@pytest.mark.parametrize(
    ("measured", "people", "companies", "expected"),
    [
        (11, 750, 250, (2, 0)),  # 8 + 3 pages: people and companies listed apart
        (10, 750, 250, (1, 0)),  # 10 pages: one listing of everyone
        (12, 750, 250, (2, 1)),  # one request more than two listings' pages
    ],
)
def test_the_measured_read_tells_how_many_listings_it_made(
    measured: int, people: int, companies: int, expected: tuple[int, int]
) -> None:
    assert listings_of(measured, people, companies) == expected


def test_a_day_reads_contacts_96_times_and_everything_once_more() -> None:
    c = coefficients()
    d = day(20_000, 10_000, 0, c)
    assert d.contact_scans == 96 * c.scan(10_000)
    assert d.full_scan == 200 + c.scan(10_000)
    assert d.writes == 0


def test_the_largest_account_fits_and_100_more_contacts_do_not() -> None:
    c = coefficients()
    contacts = largest(20_000, 5_000, c)
    assert fits(2 * contacts, contacts, 5_000, 20_000, c)
    assert not fits(2 * (contacts + 100), contacts + 100, 5_000, 20_000, c)
