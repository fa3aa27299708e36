"""The PlanningPME emulator over real HTTP, driven like a script or curl would drive it."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from syncd.emulators.planningpme_model import WriteDefaults
from syncd.emulators.planningpme_query import parse_sort_info, sort_items
from tests.planningpme.conftest import APP_KEY, FakeClock, Pme, days_from_now

EVENT = {"label": "Revisión caldera", "start": "2026-11-23T09:00:00", "end": "2026-11-23T11:00:00"}


def _token_reply(pme: Pme, **form: str) -> httpx.Response:
    return pme.http.post("/demo/token", data=form, headers={"X-APPKEY": APP_KEY})


# Token and app key -------------------------------------------------------------------------------


def test_password_grant_gives_a_bearer_token(pme: Pme) -> None:
    reply = _token_reply(pme, grant_type="password", username="demo", password="demo")
    assert reply.status_code == 200
    body = reply.json()
    assert body["token_type"] == "bearer" and body["username"] == "demo"
    assert body["expires_in"] == 28800 and len(body["access_token"]) > 20


def test_assertion_grant_gives_a_token(pme: Pme) -> None:
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert _token_reply(pme, grant_type=grant, assertion="demo-assertion").status_code == 200
    refused = _token_reply(pme, grant_type=grant, assertion="forged")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "form",
    [
        {"grant_type": "password", "username": "demo", "password": "wrong"},
        {"grant_type": "password", "username": "nobody", "password": "demo"},
        {"grant_type": "password"},
    ],
)
def test_wrong_credentials_are_invalid_grant(pme: Pme, form: dict[str, str]) -> None:
    reply = _token_reply(pme, **form)
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_grant"


def test_unknown_grant_type_is_refused(pme: Pme) -> None:
    reply = _token_reply(pme, grant_type="client_credentials")
    assert reply.status_code == 400 and reply.json()["error"] == "unsupported_grant_type"


def test_every_call_needs_the_app_key(pme: Pme) -> None:
    token = pme.token()
    for headers in ({}, {"X-APPKEY": "wrong"}):
        reply = pme.http.get("/demo/api/config", headers={**headers, "Authorization": f"Bearer {token}"})
        assert reply.status_code == 401
        assert "X-APPKEY" in reply.json()["message"]
    no_key_token = pme.http.post("/demo/token", data={"grant_type": "password"})
    assert no_key_token.status_code == 401


def test_data_calls_need_a_valid_bearer_token(pme: Pme) -> None:
    for auth in ({}, {"Authorization": "Bearer made-up"}, {"Authorization": "Basic ZGVtbzpkZW1v"}):
        reply = pme.http.get("/demo/api/config", headers={"X-APPKEY": APP_KEY, **auth})
        assert reply.status_code == 401
        assert reply.json()["message"]


def test_tokens_expire_after_the_ttl(start_emulator: Callable[..., Pme]) -> None:
    clock = FakeClock()
    pme = start_emulator(clock=clock, token_ttl=2)
    reply = _token_reply(pme, grant_type="password", username="demo", password="demo")
    assert reply.json()["expires_in"] == 2
    with pme.api(reply.json()["access_token"]) as api:
        assert api.get("config").status_code == 200
        clock.advance(1.5)
        assert api.get("config").status_code == 200
        clock.advance(1.0)
        assert api.get("config").status_code == 401


def test_brand_is_case_insensitive_and_unknown_brands_are_404(pme: Pme) -> None:
    token = pme.token()
    headers = {"X-APPKEY": APP_KEY, "Authorization": f"Bearer {token}"}
    assert pme.http.get("/DEMO/api/config", headers=headers).status_code == 200
    assert pme.http.get("/other/api/config", headers=headers).status_code == 404


# Events --------------------------------------------------------------------------------------------


def test_event_round_trip_and_partial_put(pme: Pme) -> None:
    pme.seed(customers=2)
    with pme.api() as api:
        body = {
            **EVENT,
            "resources": [{"key": "R2"}],
            "customers": [{"key": 1}],
            "category": {"key": "C1"},
            "project": {"key": "P1"},
            "description": "Llave en recepción",
            "fields": {"PLANFIX_ID": "123", "OTHER": "x"},
        }
        created = api.post("do", json=body)
        assert created.status_code == 201
        event = created.json()
        key = event["key"]
        assert isinstance(key, int)
        assert event["resources"] == [{"key": "R2", "label": "María García"}]
        assert event["customers"][0]["key"] == 1 and event["customers"][0]["label"]
        assert event["category"] == {"key": "C1", "label": "To do"}
        assert api.get(f"do/{key}").json() == event

        changed = api.put(f"do/{key}", json={"remark": "nuevo", "fields": {"OTHER": None, "NEW": "1"}})
        assert changed.status_code == 200
        after = changed.json()
        assert after["remark"] == "nuevo"
        assert after["fields"] == {"PLANFIX_ID": "123", "NEW": "1"}
        untouched = {k: v for k, v in after.items() if k not in ("remark", "fields")}
        assert untouched == {k: v for k, v in event.items() if k not in ("remark", "fields")}

        assert api.delete(f"do/{key}").status_code == 204
        assert api.get(f"do/{key}").status_code == 404
        assert api.delete(f"do/{key}").status_code == 404
        assert api.put(f"do/{key}", json={"remark": "x"}).status_code == 404


def test_dates_are_written_in_local_time_of_the_account(pme: Pme) -> None:
    with pme.api() as api:
        event = api.post(
            "do", json={**EVENT, "start": "2026-07-01T07:00:00Z", "end": "2026-07-01T08:30:00+00:00"}
        )
        assert event.json()["start"] == "2026-07-01T09:00:00"  # Madrid is UTC+2 in July
        assert event.json()["end"] == "2026-07-01T10:30:00"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start": "2026-11-23T09:00:00", "end": "2026-11-23T10:00:00"}, "label"),
        ({**EVENT, "start": "23/11/2026"}, "start"),
        ({**EVENT, "end": "2026-11-23T08:00:00"}, "end"),
        ({**EVENT, "resources": [{"key": "R9"}]}, "resources[0].key"),
        ({**EVENT, "customers": [{"key": 999}]}, "customers[0].key"),
        ({**EVENT, "category": {"key": "C99"}}, "category.key"),
        ({**EVENT, "allDay": "yes"}, "allDay"),
        ({**EVENT, "fields": {"lower": "x"}}, "fields.lower"),
        ({**EVENT, "colour": "red"}, "colour"),
        ({**EVENT, "label": "x" * 256}, "label"),
    ],
)
def test_invalid_events_are_refused_naming_the_field(pme: Pme, body: dict[str, object], field: str) -> None:
    with pme.api() as api:
        reply = api.post("do", json=body)
    assert reply.status_code == 400
    assert reply.json()["message"].startswith(field)
    assert pme.records("events") == []


def test_a_body_that_is_not_json_is_a_400(pme: Pme) -> None:
    with pme.api() as api:
        reply = api.post("do", content=b"{label: oops", headers={"Content-Type": "application/json"})
    assert reply.status_code == 400
    assert "JSON" in reply.json()["message"]


def test_do_list_filters_and_pages(pme: Pme) -> None:
    pme.seed(customers=3)
    with pme.api() as api:
        near = days_from_now(1)
        far = days_from_now(400)
        bodies = [
            {**EVENT, "start": near, "end": near, "resources": [{"key": "R1"}], "category": {"key": "C1"}},
            {
                **EVENT,
                "start": near,
                "end": near,
                "resources": [{"key": "R2"}],
                "customers": [{"key": 2}],
                "category": {"key": "C2"},  # not C1, the category an event gets by default
            },
            {**EVENT, "start": far, "end": far, "project": {"key": "P2"}, "task": {"key": "T1"}},
        ]
        keys = [api.post("do", json=b).json()["key"] for b in bodies]

        def keys_of(body: dict[str, object], **params: int | str) -> list[int]:
            reply = api.post("do/list", json=body, params=params)
            assert reply.status_code == 200, reply.text
            return [item["key"] for item in reply.json()["items"]]

        assert keys_of({}) == keys
        assert keys_of({"dateFrom": days_from_now(-1), "dateTo": days_from_now(30)}) == keys[:2]
        assert keys_of({"dateFrom": days_from_now(300)}) == keys[2:]
        assert keys_of({"resources": ["R2", "R5"]}) == keys[1:2]
        assert keys_of({"customers": [2]}) == keys[1:2]
        assert keys_of({"categories": [{"key": "C2"}]}) == keys[1:2]
        assert keys_of({"projects": ["P2"], "tasks": ["T1"]}) == keys[2:]
        assert keys_of({}, pageIndex=1, pageSize=2, sortInfo="key+") == keys[2:]
        assert keys_of({}, sortInfo="key-") == keys[::-1]
        page = api.post("do/list", json={}, params={"pageIndex": 0, "pageSize": 2}).json()
        assert page["totalItems"] == 3 and len(page["items"]) == 2
        refused = api.post("do/list", json={"owner": "x"})
        assert refused.status_code == 400 and "owner" in refused.json()["message"]


# Customers and paging ---------------------------------------------------------------------------------


def test_customer_round_trip_search_and_partial_put(pme: Pme) -> None:
    with pme.api() as api:
        created = api.post(
            "customer",
            json={"type": "Individual", "firstName": "Begoña", "lastName": "Ibáñez", "email": "b@x.es"},
        )
        assert created.status_code == 201
        customer = created.json()
        assert customer["label"] == "Begoña Ibáñez"  # derived on create
        key = customer["key"]
        company = api.post("customer", json={"company": "ООО «Вектор»", "fields": {"PLANFIX_ID": "7"}})
        assert company.json()["label"] == "ООО «Вектор»" and company.json()["type"] == "Company"

        after = api.put(f"customer/{key}", json={"phone": "+34 600 000 000"}).json()
        assert after == {**customer, "phone": "+34 600 000 000"}
        assert api.get(f"customer/{key}").json() == after

        found = api.get("customer", params={"name": "ibáñez"}).json()
        assert [c["key"] for c in found["items"]] == [key]
        assert api.get("customer", params={"name": "вектор"}).json()["totalItems"] == 1

        bad = api.post("customer", json={"label": "X", "email": "not-an-email"})
        assert bad.status_code == 400 and bad.json()["message"].startswith("email")
        bad_type = api.put(f"customer/{key}", json={"type": "Robot"})
        assert bad_type.status_code == 400 and bad_type.json()["message"].startswith("type")
        assert api.delete(f"customer/{key}").status_code == 204
        assert api.get(f"customer/{key}").status_code == 404


def test_deleting_a_customer_unlinks_its_events(pme: Pme) -> None:
    with pme.api() as api:
        customer = api.post("customer", json={"label": "Talleres Núñez"}).json()["key"]
        event = api.post("do", json={**EVENT, "customers": [{"key": customer}]}).json()["key"]
        api.put(f"customer/{customer}", json={"label": "Talleres Núñez S.L."})
        assert api.get(f"do/{event}").json()["customers"] == [
            {"key": customer, "label": "Talleres Núñez S.L."}
        ]
        api.delete(f"customer/{customer}")
        assert api.get(f"do/{event}").json()["customers"] == []
        ops = [(e["op"], e["entity"]) for e in api.get("history").json()["items"]]
        assert ops[-2:] == [("Delete", "customer"), ("Update", "do")]


def test_pages_are_zero_based_and_bounded(pme: Pme) -> None:
    pme.seed(customers=25)
    with pme.api() as api:
        pages = [api.get("customer", params={"pageIndex": i, "pageSize": 10}).json() for i in range(4)]
        assert [len(p["items"]) for p in pages] == [10, 10, 5, 0]
        assert all(p["totalItems"] == 25 for p in pages)
        keys = [c["key"] for p in pages for c in p["items"]]
        assert keys == sorted(keys) and len(set(keys)) == 25
        assert len(api.get("customer").json()["items"]) == 25  # no paging: the whole list
        for params in ({"pageSize": 101}, {"pageSize": 0}, {"pageIndex": -1}, {"pageIndex": "x"}):
            reply = api.get("customer", params=params)
            assert reply.status_code == 400, params
            assert reply.json()["message"].split(":")[0] in ("pageSize", "pageIndex")


def test_sort_info_combines_keys_and_directions(pme: Pme) -> None:
    with pme.api() as api:
        for label, not_valid in [("b", False), ("a", True), ("c", True), ("a", False)]:
            api.post("customer", json={"label": label, "notValid": not_valid})

        def order(sort: str) -> list[tuple[str, bool]]:
            reply = api.get("customer", params={"sortInfo": sort})
            assert reply.status_code == 200, reply.text
            return [(c["label"], c["notValid"]) for c in reply.json()["items"]]

        assert order("label-") == [("c", True), ("b", False), ("a", True), ("a", False)]
        expected = [("a", True), ("c", True), ("a", False), ("b", False)]
        assert order("notValid-label+") == expected
        assert order("notValid-,label+") == expected
        assert order("notValid- label") == expected
        # An unencoded '+' arrives as a space and still means ascending.
        raw = api.get("customer?sortInfo=label+").json()["items"]
        assert [c["label"] for c in raw] == ["a", "a", "b", "c"]
        refused = api.get("customer", params={"sortInfo": "Label+"})
        assert refused.status_code == 400 and "Label" in refused.json()["message"]


# Lookups, config, history ----------------------------------------------------------------------------


def test_lookups_and_config(pme: Pme) -> None:
    with pme.api() as api:
        resources = api.get("resource").json()
        assert [r["key"] for r in resources["items"]] == ["R1", "R2", "R3", "R4", "R5", "R6"]
        assert resources["items"][0]["label"] == "Иван Петров"
        categories = {c["key"]: c["label"] for c in api.get("category").json()["items"]}
        assert categories == {
            "C1": "To do",
            "C2": "In progress",
            "C3": "Done",
            "C4": "Cancelled",
            "C5": "Draft",
        }
        assert [p["label"] for p in api.get("project").json()["items"]] == ["Maintenance", "Installations"]
        assert [t["key"] for t in api.get("task", params={"sortInfo": "label-"}).json()["items"]] == [
            "T1",
            "T2",
        ]
        assert api.get("resource/R4").json()["label"] == "John Smith"
        assert api.get("resource/R9").status_code == 404
        enums = api.get("config").json()["enums"]
        assert {"Insert", "Update", "Delete"} <= set(enums["HistoryOp"])
        assert set(enums["CustomerType"]) == {"Company", "Individual"}
        assert api.get("nothing/here").status_code == 404


def test_history_lists_operations_in_order_since_a_moment(start_emulator: Callable[..., Pme]) -> None:
    clock = FakeClock()
    pme = start_emulator(clock=clock)
    with pme.api() as api:
        event = api.post("do", json=EVENT).json()["key"]
        clock.advance(60)
        middle = api.get("history").json()["items"][0]["date"]
        customer = api.post("customer", json={"label": "Ana"}).json()["key"]
        api.put(f"do/{event}", json={"label": "Cambiado"})
        clock.advance(60)
        api.delete(f"do/{event}")
        items = api.get("history").json()["items"]
        assert [(i["op"], i["entity"], i["key"]) for i in items] == [
            ("Insert", "do", event),
            ("Insert", "customer", customer),
            ("Update", "do", event),
            ("Delete", "do", event),
        ]
        assert items[2]["label"] == "Cambiado" and items[2]["start"] == EVENT["start"]
        assert items[1]["start"] is None and all(i["user"] == "demo" for i in items)
        assert [i["date"] for i in items] == sorted(i["date"] for i in items)
        later = api.get("history", params={"since": items[1]["date"]}).json()
        assert later["totalItems"] == 3
        assert later["items"][0]["date"] > middle
        paged = api.get("history", params={"pageIndex": 1, "pageSize": 3}).json()
        assert paged["totalItems"] == 4 and [i["op"] for i in paged["items"]] == ["Delete"]
        assert api.get("history", params={"since": "yesterday"}).status_code == 400


def test_history_is_kept_for_the_retention_only(start_emulator: Callable[..., Pme]) -> None:
    clock = FakeClock()
    pme = start_emulator(clock=clock, history_days=1, token_ttl=10 * 86400)
    with pme.api() as api:
        api.post("customer", json={"label": "old"})
        clock.advance(2 * 86400)
        api.post("customer", json={"label": "new"})
        assert [i["label"] for i in api.get("history").json()["items"]] == ["new"]


def test_history_can_be_switched_off(start_emulator: Callable[..., Pme]) -> None:
    pme = start_emulator(history=False)
    with pme.api() as api:
        assert api.get("history").status_code == 404


def test_seeded_data_is_not_in_history(pme: Pme) -> None:
    pme.seed(customers=3, events=4)
    with pme.api() as api:
        assert api.get("history").json()["totalItems"] == 0


# Rate limits ------------------------------------------------------------------------------------------


def test_hourly_limit_answers_429_with_retry_after(start_emulator: Callable[..., Pme]) -> None:
    clock = FakeClock()
    pme = start_emulator(clock=clock, hourly_limit=3)
    token = pme.token()  # 1
    with pme.api(token) as api:
        assert api.get("config").status_code == 200  # 2
        clock.advance(600)
        assert api.get("config").status_code == 200  # 3
        refused = api.get("config")
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) == 3000
        clock.advance(3000)
        assert api.get("config").status_code == 200
    assert pme.control("GET", "stats")["total"] == 5  # control calls never count


def test_per_second_rate(start_emulator: Callable[..., Pme]) -> None:
    clock = FakeClock()
    pme = start_emulator(clock=clock, rate=2)
    with pme.api(pme.token()) as api:
        assert api.get("config").status_code == 200  # the token was the first of two
        refused = api.get("config")
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
        clock.advance(1.0)
        assert api.get("config").status_code == 200


# Faults and the control API ----------------------------------------------------------------------------


def test_injected_errors(pme: Pme) -> None:
    with pme.api() as api:
        pme.faults(fail_next=1, error=502)
        assert api.get("config").status_code == 502
        pme.faults(fail_next=1, error="0007")
        assert api.get("config").status_code == 500
        pme.faults(fail_next=1, error=503)
        reply = api.post("do", json=EVENT)
        assert reply.status_code == 503 and reply.headers["Retry-After"] == "1"
        assert pme.records("events") == []  # a faulted write changes nothing
        assert api.get("config").status_code == 200


def test_drop_malformed_and_unauthorized(pme: Pme) -> None:
    token = pme.token()
    with pme.api(token) as api:
        pme.faults(drop_next=1)
        with pytest.raises(httpx.TransportError):  # cut short or reset, depending on timing
            api.post("do", json=EVENT)
        pme.faults(malformed_next=1)
        reply = api.post("do", json=EVENT)
        assert reply.status_code == 200
        with pytest.raises(ValueError):
            reply.json()
        assert pme.records("events") == []
        pme.faults(unauthorized_next=1)
        assert api.get("config").status_code == 401
        assert api.get("config").status_code == 401  # that token was revoked
    with pme.api() as fresh:
        assert fresh.get("config").status_code == 200


def test_stats_use_path_templates_and_count_writes(pme: Pme) -> None:
    with pme.api() as api:
        key = api.post("do", json=EVENT).json()["key"]
        api.get(f"do/{key}")
        api.put(f"do/{key}", json={"remark": "x"})
        api.post("do/list", json={})
        api.get("customer")
        api.delete(f"do/{key}")
    stats = pme.control("GET", "stats")
    assert stats["by_method"] == {
        "POST /token": 1,
        "POST /api/do": 1,
        "GET /api/do/{key}": 1,
        "PUT /api/do/{key}": 1,
        "POST /api/do/list": 1,
        "GET /api/customer": 1,
        "DELETE /api/do/{key}": 1,
    }
    assert stats["writes"] == 3 and stats["total"] == 7
    pme.control("POST", "stats/reset")
    assert pme.control("GET", "stats")["total"] == 0


def test_seed_records_and_reset(pme: Pme) -> None:
    reply = pme.control("POST", "seed", {"customers": 12, "events": 30, "seed": 4})
    assert reply["created"] == {"customers": 12, "events": 30}
    customers, events = pme.records("customers"), pme.records("events")
    assert len(customers) == 12 and len(events) == 30
    assert {c["type"] for c in customers} == {"Company", "Individual"}
    labels = " ".join(e["label"] for e in events) + " ".join(c["label"] for c in customers)
    assert any("а" <= ch <= "я" for ch in labels.lower())  # some Cyrillic
    assert any(ch in "áéíóúñ" for ch in labels.lower())  # and Spanish
    assert any(not e["customers"] for e in events) and any(e["customers"] for e in events)
    assert any(e["description"] == "" for e in events)
    assert all(e["resources"] and e["category"] for e in events)
    assert pme.http.get("/_emulator/records/tasks").status_code == 404
    assert pme.http.post("/_emulator/seed", json={"people": 1}).status_code == 400
    pme.control("POST", "reset")
    assert pme.records("customers") == [] and pme.records("events") == []


def test_text_sorts_ignore_accents_and_case() -> None:
    items = [{"key": i, "label": label} for i, label in enumerate(["Zoë", "Ángel", "ana", "Bea", "Иван"])]
    ordered = sort_items(items, parse_sort_info("label+"), {"key", "label"})
    assert [i["label"] for i in ordered] == ["ana", "Ángel", "Bea", "Zoë", "Иван"]


# What the emulator fills in and normalises (WriteDefaults) ------------------------------------------


def test_an_event_created_without_a_category_gets_the_default_one_but_may_be_cleared(pme: Pme) -> None:
    with pme.api() as api:
        made = api.post("do", json={**EVENT, "label": "  Revisión caldera \n"}).json()
        assert made["category"] == {"key": "C1", "label": made["category"]["label"]}
        assert made["label"] == "Revisión caldera"
        cleared = api.put(f"do/{made['key']}", json={"category": None, "label": " Otra "}).json()
        assert cleared["category"] is None, "an update leaves a cleared category empty"
        assert cleared["label"] == "Otra"
        chosen = api.post("do", json={**EVENT, "category": {"key": "C3"}}).json()
        assert chosen["category"]["key"] == "C3"


def test_customer_labels_and_names_are_stored_trimmed(pme: Pme) -> None:
    with pme.api() as api:
        body = {"label": " Ana López ", "type": "Individual", "firstName": " Ana", "lastName": "López  "}
        made = api.post("customer", json=body).json()
        assert (made["label"], made["firstName"], made["lastName"]) == ("Ana López", "Ana", "López")


def test_the_defaults_can_be_switched_off(start_emulator: Callable[..., Pme]) -> None:
    raw = start_emulator(defaults=WriteDefaults(event_category=None, trim_labels=False, trim_names=False))
    with raw.api() as api:
        made = api.post("do", json={**EVENT, "label": " as sent "}).json()
        assert (made["category"], made["label"]) == (None, " as sent ")
        customer = api.post("customer", json={"label": " x ", "firstName": " y "}).json()
        assert (customer["label"], customer["firstName"]) == (" x ", " y ")
