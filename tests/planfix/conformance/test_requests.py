"""Every element syncd sends to Planfix is documented on that method's page (issue 13).

The requests are those of one recorded exercise of syncd's real connectors (exercise.py). Each
body's element paths must all be in the documented request of its method
(``fixtures/<method>.request.xml``, copied from the page), besides the envelope (``account``,
``sid``, ``signature``), the root ``<silent>`` that XML_API_v1.md allows on any request, and a
filter's children documented on the filter pages.
"""

from __future__ import annotations

import pytest

from tests.planfix.conformance.exercise import Session
from tests.planfix.conformance.pages import METHOD_PAGES, describe, undocumented


def test_syncd_calls_exactly_the_methods_these_tests_know(session: Session) -> None:
    """A method syncd starts calling needs its page's fixture here; one it no longer calls, none."""
    called = session.recording.methods() | session.legacy.methods()
    assert called - set(METHOD_PAGES) == set(), (
        f"syncd calls methods without a documented request fixture: {sorted(called - set(METHOD_PAGES))}"
    )
    assert set(METHOD_PAGES) - called == set(), (
        f"not exercised: {sorted(set(METHOD_PAGES) - called)}" + session.failed()
    )


@pytest.mark.parametrize("method", sorted(METHOD_PAGES))
def test_every_element_syncd_sends_is_documented(session: Session, method: str) -> None:
    bodies = session.recording.raw(method) + session.legacy.raw(method)
    assert bodies, f"{method}: syncd sent no request in this exercise" + session.failed()
    problems = sorted({path for body in bodies for path in undocumented(body)})
    assert problems == [], describe(method, problems)
