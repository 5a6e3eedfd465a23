"""operator-service through the gateway with real tokens: the operator's profile and
packages, who may touch which package, the catalogue, and the batch read for services."""
from __future__ import annotations

import datetime
import uuid

import pytest
import requests

from tests.builders.operators import Operator
from tests.builders.packages import Package, draft_package, package_fields, publish_package
from tests.helpers import api as call
from tests.helpers import bearer, logged_request_ids
from travel_platform.clock import utc_today

pytestmark = pytest.mark.stack

TODAY = utc_today()  # the services' clock


def days(n: int) -> str:
    return str(TODAY + datetime.timedelta(days=n))


@pytest.fixture(scope="module")
def op_x(new_operator) -> Operator:
    return new_operator()


@pytest.fixture(scope="module")
def op_y(new_operator) -> Operator:
    return new_operator()


def stop(city: str, country: str = "PT", nights: int = 2, stars: int = 4) -> dict:
    return {"city": city, "country": country, "nights": nights, "hotel_name": f"Hotel {city}",
            "star_rating": stars}


def package_body(**overrides) -> dict:
    """A complete, publishable package with a unique title: three cities by train."""
    return package_fields(**{
        "price": "1290.50", "capacity": 20,
        "title": f"Iberia {uuid.uuid4().hex[:8]}", "description": "Three cities by train",
        "first_departure_date": days(10), "last_departure_date": days(120),
        "stops": [stop("Lisbon", nights=3, stars=5), stop("Porto"), stop("Seville", "ES", 4)],
        "addons": [{"name": "Airport transfer", "price": "35.10", "pricing": "per_booking"},
                   {"name": "Fado evening", "price": 49, "pricing": "per_traveller"}],
        "exclusions": [{"text": "International flights"}, {"text": "City taxes"}],
        **overrides})


def create(gateway: str, operator: Operator, **overrides) -> Package:
    assert operator.token, "the operator has not signed in"
    return draft_package(gateway, operator.token, package_body(**overrides))


def published(gateway: str, operator: Operator, **overrides) -> Package:
    assert operator.token, "the operator has not signed in"
    return publish_package(gateway, operator.token, package_body(**overrides))


def own(package_id: str, suffix: str = "") -> str:
    return f"/api/operators/me/packages/{package_id}{suffix}"


def problems(response: requests.Response) -> dict[str, str]:
    return {d["field"]: d["problem"] for d in response.json()["error"]["details"]}


# The operator's profile -----------------------------------------------------------------------

def test_profile_is_made_on_first_write_from_the_token_and_can_be_changed(gateway, new_operator):
    operator = new_operator(active=False)
    for _ in range(2):  # reading never creates the profile
        first = call(gateway, "GET", "/api/operators/me", operator.token)
        assert first.status_code == 200, first.text
        assert first.json()["profile"] is None
        assert first.json()["identity"]["subject"] == operator.id
        assert first.json()["identity"]["email"] == operator.email

    made = call(gateway, "PATCH", "/api/operators/me", operator.token, json={})
    assert made.status_code == 200, made.text
    profile = call(gateway, "GET", "/api/operators/me", operator.token).json()["profile"]
    assert (profile["id"], profile["contact_email"], profile["company_name"],
            profile["contact_phone"]) == (operator.id, operator.email, operator.email, None)

    changed = call(gateway, "PATCH", "/api/operators/me", operator.token,
                   json={"company_name": "Sol Tours", "contact_phone": "+351 21 000 0000"})
    assert changed.status_code == 200, changed.text
    again = call(gateway, "GET", "/api/operators/me", operator.token).json()["profile"]
    assert (again["company_name"], again["contact_phone"], again["contact_email"]) == (
        "Sol Tours", "+351 21 000 0000", operator.email)
    assert again["updated_at"] > again["created_at"]


def test_profile_changes_are_validated(gateway, op_x):
    response = call(gateway, "PATCH", "/api/operators/me", op_x.token,
                    json={"company_name": None, "contact_email": "nope", "id": op_x.id})
    assert response.status_code == 400
    assert set(problems(response)) == {"company_name", "contact_email", "id"}


# Creating, reading and changing packages -----------------------------------------------------

def test_a_package_is_created_with_its_parts_in_one_request(gateway, op_x):
    body = package_body()
    response = call(gateway, "POST", "/api/operators/me/packages", op_x.token, json=body)
    assert response.status_code == 201, response.text
    package = response.json()
    assert response.headers["Location"] == own(package["id"])
    assert (package["status"], package["operator_id"], package["title"]) == (
        "draft", op_x.id, body["title"])
    assert package["price_per_traveller"] == "1290.50"
    assert [(s["position"], s["city"], s["nights"]) for s in package["stops"]] == [
        (1, "Lisbon", 3), (2, "Porto", 2), (3, "Seville", 4)]
    assert package["total_nights"] == 9
    assert [(a["name"], a["price"], a["pricing"]) for a in package["addons"]] == [
        ("Airport transfer", "35.10", "per_booking"), ("Fado evening", "49.00", "per_traveller")]
    assert [e["text"] for e in package["exclusions"]] == ["International flights", "City taxes"]

    assert call(gateway, "GET", own(package["id"]), op_x.token).json() == package
    assert call(gateway, "GET", f"/api/packages/{package['id']}", op_x.token).json() == package
    drafts = call(gateway, "GET", "/api/operators/me/packages?status=draft&limit=100",
                  op_x.token).json()
    assert package["id"] in [p["id"] for p in drafts["data"]]
    assert {p["status"] for p in drafts["data"]} == {"draft"}


def test_a_draft_needs_only_a_title(gateway, op_x):
    response = call(gateway, "POST", "/api/operators/me/packages", op_x.token,
                    json={"title": "Bare idea"})
    assert response.status_code == 201, response.text
    package = response.json()
    assert (package["stops"], package["price_per_traveller"], package["total_nights"],
            package["currency"]) == ([], None, 0, "EUR")


def test_patch_changes_given_fields_and_replaces_given_lists(gateway, op_x):
    package = create(gateway, op_x)
    response = call(gateway, "PATCH", own(package.id), op_x.token,
                    json={"price_per_traveller": 999.99, "stops": [stop("Madrid", "ES", 5)],
                          "addons": []})
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["price_per_traveller"] == "999.99"
    assert [(s["city"], s["position"]) for s in changed["stops"]] == [("Madrid", 1)]
    assert changed["total_nights"] == 5 and changed["addons"] == []
    assert changed["exclusions"] == package.answer["exclusions"]          # not given: kept
    assert (changed["title"], changed["description"]) == (package.title,
                                                          package.answer["description"])
    assert changed["updated_at"] > package.answer["updated_at"]


def test_stops_addons_and_exclusions_can_be_added_and_removed_one_by_one(gateway, op_x):
    package = create(gateway, op_x)
    added = call(gateway, "POST", own(package.id, "/stops"), op_x.token,
                 json={**stop("Madrid", "ES", 1), "position": 1})
    assert added.status_code == 201, added.text
    assert added.headers["Location"] == own(package.id)
    assert [s["city"] for s in added.json()["stops"]] == ["Madrid", "Lisbon", "Porto", "Seville"]
    assert added.json()["total_nights"] == 10

    last = call(gateway, "POST", own(package.id, "/stops"), op_x.token, json=stop("Faro"))
    assert [s["position"] for s in last.json()["stops"]] == [1, 2, 3, 4, 5]
    porto = next(s for s in last.json()["stops"] if s["city"] == "Porto")
    removed = call(gateway, "DELETE", own(package.id, f"/stops/{porto['id']}"), op_x.token)
    assert removed.status_code == 200, removed.text
    assert [(s["position"], s["city"]) for s in removed.json()["stops"]] == [
        (1, "Madrid"), (2, "Lisbon"), (3, "Seville"), (4, "Faro")]

    addon = call(gateway, "POST", own(package.id, "/addons"), op_x.token,
                 json={"name": "Wine tasting", "price": "12.5", "pricing": "per_traveller"})
    assert addon.status_code == 201 and addon.headers["Location"] == own(package.id)
    assert addon.json()["addons"][-1]["price"] == "12.50"
    exclusion = call(gateway, "POST", own(package.id, "/exclusions"), op_x.token,
                     json={"text": "Travel insurance"})
    assert exclusion.status_code == 201 and exclusion.headers["Location"] == own(package.id)
    assert [e["text"] for e in exclusion.json()["exclusions"]][-1] == "Travel insurance"
    first_addon = addon.json()["addons"][0]["id"]
    after = call(gateway, "DELETE", own(package.id, f"/addons/{first_addon}"), op_x.token).json()
    assert [a["name"] for a in after["addons"]] == ["Fado evening", "Wine tasting"]
    exclusion_id = exclusion.json()["exclusions"][0]["id"]
    after = call(gateway, "DELETE", own(package.id, f"/exclusions/{exclusion_id}"),
                 op_x.token).json()
    assert [e["text"] for e in after["exclusions"]] == ["City taxes", "Travel insurance"]

    gone = call(gateway, "DELETE", own(package.id, f"/stops/{porto['id']}"), op_x.token)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "stop_not_found"
    past_end = call(gateway, "POST", own(package.id, "/stops"), op_x.token,
                    json={**stop("Evora"), "position": 9})
    assert past_end.status_code == 422 and "position" in problems(past_end)


def test_a_package_has_at_most_thirty_stops(gateway, op_x):
    package = create(gateway, op_x, stops=[stop(f"Town {i}", nights=1) for i in range(30)])
    response = call(gateway, "POST", own(package.id, "/stops"), op_x.token,
                    json=stop("One more"))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "too_many_parts"
    too_many = call(gateway, "POST", "/api/operators/me/packages", op_x.token,
                    json=package_body(stops=[stop(f"Town {i}", nights=1) for i in range(31)]))
    assert too_many.status_code == 400 and set(problems(too_many)) == {"stops"}


# Validation --------------------------------------------------------------------------------

def test_invalid_bodies_are_400_listing_each_bad_field(gateway, op_x):
    body = package_body(title="", currency="euro", price_per_traveller="12.345",
                        min_travellers=0, first_departure_date="next week", colour="blue",
                        stops=[{**stop("Lisbon"), "country": "PRT", "star_rating": 6}],
                        addons=[{"name": "Transfer", "price": -1, "pricing": "sometimes"}])
    response = call(gateway, "POST", "/api/operators/me/packages", op_x.token, json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_failed"
    assert set(problems(response)) == {
        "title", "currency", "price_per_traveller", "min_travellers", "first_departure_date",
        "colour", "stops.0.country", "stops.0.star_rating", "addons.0.price", "addons.0.pricing"}
    long_title = call(gateway, "POST", "/api/operators/me/packages", op_x.token,
                      json={"title": "x" * 201})
    assert set(problems(long_title)) == {"title"}
    not_json = call(gateway, "POST", "/api/operators/me/packages", op_x.token, data="title=x",
                    headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "invalid_json"


def test_contradicting_fields_are_422(gateway, op_x):
    response = call(gateway, "POST", "/api/operators/me/packages", op_x.token,
                    json=package_body(min_travellers=5, max_travellers=2,
                                      first_departure_date=days(30), last_departure_date=days(20)))
    assert response.status_code == 422
    assert set(problems(response)) == {"max_travellers", "last_departure_date"}
    package = create(gateway, op_x)
    over = call(gateway, "PATCH", own(package.id), op_x.token,
                json={"capacity_per_departure": 3})        # max_travellers is 6
    assert over.status_code == 422 and set(problems(over)) == {"max_travellers"}


# Publishing and the life of a package ---------------------------------------------------------

def test_publishing_needs_a_complete_package_and_lists_what_is_missing(gateway, op_x):
    bare = call(gateway, "POST", "/api/operators/me/packages", op_x.token,
                json={"title": "Not ready"}).json()
    response = call(gateway, "POST", own(bare["id"], "/publish"), op_x.token)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "package_incomplete"
    assert set(problems(response)) == {
        "stops", "price_per_traveller", "first_departure_date", "last_departure_date",
        "capacity_per_departure", "min_travellers", "max_travellers"}

    stale = create(gateway, op_x, first_departure_date=days(-60), last_departure_date=days(-2))
    response = call(gateway, "POST", own(stale.id, "/publish"), op_x.token)
    assert response.status_code == 422 and set(problems(response)) == {"last_departure_date"}
    assert call(gateway, "GET", own(stale.id), op_x.token).json()["status"] == "draft"


def test_status_moves_draft_to_published_to_archived_and_no_other_way(gateway, op_x):
    package = published(gateway, op_x)
    assert package.answer["status"] == "published"
    again = call(gateway, "POST", own(package.id, "/publish"), op_x.token)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_status_transition"
    assert again.json()["error"]["details"][0]["current_status"] == "published"
    not_deleted = call(gateway, "DELETE", own(package.id), op_x.token)
    assert not_deleted.status_code == 409

    archived = call(gateway, "POST", own(package.id, "/archive"), op_x.token)
    assert archived.status_code == 200 and archived.json()["status"] == "archived"
    for method, suffix, body in (("POST", "/publish", None), ("POST", "/archive", None),
                                 ("PATCH", "", {"title": "Revived"}),
                                 ("POST", "/exclusions", {"text": "Anything"}),
                                 ("DELETE", "", None)):
        refused = call(gateway, method, own(package.id, suffix), op_x.token, json=body)
        assert refused.status_code == 409, (method, suffix, refused.text)
        assert refused.json()["error"]["code"] == "invalid_status_transition"
        assert refused.json()["error"]["details"][0]["current_status"] == "archived"
    assert call(gateway, "GET", own(package.id), op_x.token).json()["title"] == package.title


def test_only_drafts_can_be_deleted(gateway, op_x):
    package = create(gateway, op_x)
    assert call(gateway, "DELETE", own(package.id), op_x.token).status_code == 204
    assert call(gateway, "GET", own(package.id), op_x.token).status_code == 404


def test_a_published_package_must_stay_complete(gateway, op_x):
    package = published(gateway, op_x, stops=[stop("Lisbon")])
    only_stop = package.answer["stops"][0]["id"]
    removed = call(gateway, "DELETE", own(package.id, f"/stops/{only_stop}"), op_x.token)
    assert removed.status_code == 422 and set(problems(removed)) == {"stops"}
    emptied = call(gateway, "PATCH", own(package.id), op_x.token,
                   json={"stops": [], "price_per_traveller": None})
    assert emptied.status_code == 422
    assert set(problems(emptied)) == {"stops", "price_per_traveller"}
    after = call(gateway, "GET", own(package.id), op_x.token).json()
    assert (after["stops"], after["price_per_traveller"]) == (package.answer["stops"], "1290.50")


def test_changes_to_a_published_package_are_audited(gateway, op_x):
    package = create(gateway, op_x)
    call(gateway, "PATCH", own(package.id), op_x.token, json={"title": "Draft edit"})
    assert call(gateway, "GET", own(package.id, "/changes"), op_x.token).json()["total"] == 0

    call(gateway, "POST", own(package.id, "/publish"), op_x.token)
    changed = call(gateway, "PATCH", own(package.id), op_x.token,
                   json={"price_per_traveller": "1399.00"}).json()
    call(gateway, "POST", own(package.id, "/exclusions"), op_x.token, json={"text": "Tips"})
    changes = call(gateway, "GET", own(package.id, "/changes"), op_x.token).json()
    assert changes["total"] == 3
    newest, price, publish = changes["data"]
    assert publish["change"] == {"table": "multi_city_hotel_packages", "operation": "update",
                                 "fields": {"status": {"old": "draft", "new": "published"}}}
    assert price["change"]["fields"] == {"price_per_traveller": {"old": "1290.50",
                                                                 "new": "1399.00"}}
    assert (newest["change"]["table"], newest["change"]["operation"]) == (
        "multi_city_hotel_package_exclusions", "insert")
    assert newest["change"]["new"][0]["text"] == "Tips"
    assert {c["changed_by"] for c in changes["data"]} == {op_x.id}
    assert changed["updated_at"] > package.answer["updated_at"]


# Who may touch which package ------------------------------------------------------------------

def _attempts(package: Package) -> list[tuple[str, str, dict | None]]:
    stop_id, addon_id = package.answer["stops"][0]["id"], package.addon_ids[0]
    exclusion_id = package.answer["exclusions"][0]["id"]
    return [("GET", "", None), ("PATCH", "", {"title": "Taken over"}), ("DELETE", "", None),
            ("POST", "/publish", None), ("POST", "/archive", None), ("GET", "/changes", None),
            ("POST", "/stops", stop("Intruder")),
            ("POST", "/addons", {"name": "Intruder", "price": "1", "pricing": "per_booking"}),
            ("POST", "/exclusions", {"text": "Intruder"}),
            ("DELETE", f"/stops/{stop_id}", None), ("DELETE", f"/addons/{addon_id}", None),
            ("DELETE", f"/exclusions/{exclusion_id}", None)]


@pytest.mark.parametrize("status", ["draft", "published"])
def test_another_operators_package_is_404_on_every_operator_route(gateway, op_x, op_y, status):
    package = published(gateway, op_x) if status == "published" else create(gateway, op_x)
    for method, suffix, body in _attempts(package):
        response = call(gateway, method, own(package.id, suffix), op_y.token, json=body)
        assert response.status_code == 404, (method, suffix, response.text)
        assert response.json()["error"]["code"] == "package_not_found"
    assert call(gateway, "GET", own(package.id), op_x.token).json() == package.answer


def test_an_agent_token_is_refused_on_operator_routes_by_the_gateway(
        gateway, test_layout, agent_token, op_x):
    package = create(gateway, op_x)
    attempts = [("GET", "/api/operators/me/packages", None),
                ("POST", "/api/operators/me/packages", package_body()),
                ("PATCH", "/api/operators/me", {"company_name": "Agents Inc"}),
                *((method, own(package.id, suffix), body)
                  for method, suffix, body in _attempts(package))]
    for method, path, body in attempts:
        response = call(gateway, method, path, agent_token, json=body)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["error"]["code"] == "wrong_token_issuer"
    assert response.headers["X-Request-ID"] not in logged_request_ids(test_layout.logs,
                                                                      "operator-service")


def test_drafts_and_archived_packages_are_invisible_to_others(
        gateway, op_x, op_y, agent_token):
    draft = create(gateway, op_x)
    live = published(gateway, op_x)
    archived = published(gateway, op_x)
    call(gateway, "POST", own(archived.id, "/archive"), op_x.token)
    for token in (op_y.token, agent_token):
        assert call(gateway, "GET", f"/api/packages/{draft.id}", token).status_code == 404
        assert call(gateway, "GET", f"/api/packages/{archived.id}", token).status_code == 404
        seen = call(gateway, "GET", f"/api/packages/{live.id}", token)
        assert seen.status_code == 200 and seen.json()["stops"] == live.answer["stops"]
        listed = call(gateway, "GET", f"/api/packages?operator_id={op_x.id}&limit=100",
                      token).json()
        assert live.id in {p["id"] for p in listed["data"]}
        assert {p["status"] for p in listed["data"]} == {"published"}
    for package in (draft, archived):
        assert call(gateway, "GET", f"/api/packages/{package.id}", op_x.token).status_code == 200
    # A draft of another operator answers exactly as an id that does not exist.
    unknown = call(gateway, "GET", f"/api/packages/{uuid.uuid4()}", op_y.token).json()["error"]
    hidden = call(gateway, "GET", f"/api/packages/{draft.id}", op_y.token).json()["error"]
    assert {**unknown, "request_id": None} == {**hidden, "request_id": None}
    assert hidden["code"] == "package_not_found"


def test_own_list_shows_only_own_packages(gateway, op_y, op_x):
    create(gateway, op_x)
    mine = published(gateway, op_y)
    listed = call(gateway, "GET", "/api/operators/me/packages?limit=100", op_y.token).json()
    assert {p["operator_id"] for p in listed["data"]} == {op_y.id}
    assert mine.id in [p["id"] for p in listed["data"]]
    assert listed["total"] == len(listed["data"])


# The catalogue -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def catalogue_set(gateway, new_operator):
    """One operator's published packages with distinct cities, prices, lengths and windows
    (plus a draft that must never show)."""
    operator = new_operator()
    tag = uuid.uuid4().hex[:6]
    specs = {
        "alpine": dict(title=f"Alpine lakes {tag}", price_per_traveller="2100.00",
                       stops=[stop(f"Zurich-{tag}", "CH", 3), stop(f"Lucerne-{tag}", "CH", 2)],
                       first_departure_date=days(5), last_departure_date=days(40)),
        "baltic": dict(title=f"Baltic capitals {tag}", price_per_traveller="890.00",
                       stops=[stop(f"Tallinn-{tag}", "EE", 2), stop(f"Riga-{tag}", "LV", 2),
                              stop(f"Vilnius-{tag}", "LT", 2)],
                       first_departure_date=days(30), last_departure_date=days(90)),
        "coast": dict(title=f"Coast of light {tag}", price_per_traveller="1290.50",
                      stops=[stop(f"Lisbon-{tag}", "PT", 4), stop(f"Faro-{tag}", "PT", 6)],
                      first_departure_date=days(60), last_departure_date=days(200)),
        "danube": dict(title=f"Danube cities {tag}", price_per_traveller="1290.49",
                       stops=[stop(f"Vienna-{tag}", "AT", 1), stop(f"Budapest-{tag}", "HU", 1)],
                       first_departure_date=days(1), last_departure_date=days(300)),
        "elbe": dict(title=f"Elbe by rail {tag}", price_per_traveller="450.00", currency="CZK",
                     stops=[stop(f"Dresden-{tag}", "DE", 2), stop(f"Prague-{tag}", "CZ", 5)],
                     first_departure_date=days(100), last_departure_date=days(101)),
    }
    ids = {name: published(gateway, operator, **spec).id for name, spec in specs.items()}
    ids["draft"] = create(gateway, operator, title=f"Draft {tag}",
                          stops=[stop(f"Lisbon-{tag}", "PT", 4)]).id
    return operator, tag, ids


def _names(catalogue_set, response: requests.Response) -> list[str]:
    """The catalogue_set names of the packages of a catalogue answer, in order."""
    assert response.status_code == 200, response.text
    by_id = {v: k for k, v in catalogue_set[2].items()}
    return [by_id.get(p["id"], "other") for p in response.json()["data"]]


@pytest.mark.parametrize("filters, expected", [
    ("", {"alpine", "baltic", "coast", "danube", "elbe"}),
    ("city=lisbon-{tag}", {"coast"}),
    ("city=RIGA-{tag}", {"baltic"}),
    ("country=CH", {"alpine"}),
    ("country=PT", {"coast"}),
    ("min_price=1290.50", {"alpine", "coast"}),
    ("max_price=1290.49", {"baltic", "danube", "elbe"}),
    ("min_price=500&max_price=1290.50&currency=EUR", {"baltic", "coast", "danube"}),
    ("currency=CZK", {"elbe"}),
    ("min_nights=6", {"baltic", "coast", "elbe"}),
    ("max_nights=5", {"alpine", "danube"}),
    ("min_nights=6&max_nights=7", {"baltic", "elbe"}),
    ("travel_date={d35}", {"alpine", "baltic", "danube"}),
    ("travel_date={d101}", {"coast", "danube", "elbe"}),
    ("travel_date={d102}&country=DE", set()),
])
def test_catalogue_filters(gateway, agent_token, catalogue_set, filters, expected):
    operator, tag, _ = catalogue_set
    query = filters.format(tag=tag, d35=days(35), d101=days(101), d102=days(102))
    response = call(gateway, "GET", f"/api/packages?operator_id={operator.id}&limit=100&{query}",
                    agent_token)
    names = _names(catalogue_set, response)
    assert set(names) == expected and len(names) == len(expected)
    assert response.json()["total"] == len(expected)


def test_catalogue_city_filter_alone_finds_the_package_of_any_operator(
        gateway, agent_token, catalogue_set):
    _, tag, ids = catalogue_set
    response = call(gateway, "GET", f"/api/packages?city=Vienna-{tag}", agent_token)
    assert [p["id"] for p in response.json()["data"]] == [ids["danube"]]


def test_catalogue_shows_only_published_packages_even_to_their_operator(catalogue_set, gateway):
    operator, tag, _ = catalogue_set
    mine = call(gateway, "GET", f"/api/packages?operator_id={operator.id}", operator.token)
    assert sorted(_names(catalogue_set, mine)) == ["alpine", "baltic", "coast", "danube", "elbe"]
    lisbon = call(gateway, "GET", f"/api/packages?city=Lisbon-{tag}", operator.token)
    assert _names(catalogue_set, lisbon) == ["coast"]        # the draft stops in Lisbon too


@pytest.mark.parametrize("sort, expected", [
    ("sort=price", ["elbe", "baltic", "danube", "coast", "alpine"]),
    ("sort=price&order=desc", ["alpine", "coast", "danube", "baltic", "elbe"]),
    ("sort=duration", ["danube", "alpine", "baltic", "elbe", "coast"]),
    ("sort=duration&order=desc", ["coast", "elbe", "baltic", "alpine", "danube"]),
    ("sort=title", ["alpine", "baltic", "coast", "danube", "elbe"]),
    ("sort=title&order=desc", ["elbe", "danube", "coast", "baltic", "alpine"]),
    ("sort=newest", ["elbe", "danube", "coast", "baltic", "alpine"]),
    ("", ["elbe", "danube", "coast", "baltic", "alpine"]),
    ("sort=newest&order=asc", ["alpine", "baltic", "coast", "danube", "elbe"]),
])
def test_catalogue_sorting(gateway, operator_token, catalogue_set, sort, expected):
    operator = catalogue_set[0]
    response = call(gateway, "GET", f"/api/packages?operator_id={operator.id}&{sort}",
                    operator_token)
    assert _names(catalogue_set, response) == expected


def test_catalogue_pages_cover_everything_once(gateway, agent_token, catalogue_set):
    operator = catalogue_set[0]
    seen, offset, pages = [], 0, []
    while offset is not None:
        response = call(gateway, "GET", f"/api/packages?operator_id={operator.id}&sort=price"
                        f"&limit=2&offset={offset}", agent_token)
        seen += _names(catalogue_set, response)
        page = response.json()
        pages.append((page["offset"], page["limit"], page["total"], page["next_offset"]))
        offset = page["next_offset"]
    assert pages == [(0, 2, 5, 2), (2, 2, 5, 4), (4, 2, 5, None)]
    assert seen == ["elbe", "baltic", "danube", "coast", "alpine"]
    beyond = call(gateway, "GET", f"/api/packages?operator_id={operator.id}&offset=10",
                  agent_token).json()
    assert (beyond["data"], beyond["total"], beyond["next_offset"]) == ([], 5, None)


@pytest.mark.parametrize("query, field", [("limit=101", "limit"), ("limit=0", "limit"),
                                          ("offset=-1", "offset"), ("sort=cheapest", "sort"),
                                          ("country=Portugal", "country"),
                                          ("travel_date=soon", "travel_date"),
                                          ("min_price=abc", "min_price"),
                                          ("operator_id=42", "operator_id"),
                                          ("colour=blue", "colour")])
def test_catalogue_refuses_bad_queries_naming_the_parameter(gateway, agent_token, query, field):
    response = call(gateway, "GET", f"/api/packages?{query}", agent_token)
    assert response.status_code == 400
    assert set(problems(response)) == {field}


def test_catalogue_amounts_are_exact_strings(gateway, agent_token, catalogue_set):
    _, _, ids = catalogue_set
    package = call(gateway, "GET", f"/api/packages/{ids['coast']}", agent_token).json()
    assert package["price_per_traveller"] == "1290.50"
    assert [a["price"] for a in package["addons"]] == ["35.10", "49.00"]
    assert package["total_nights"] == 10


# The batch read for other services ------------------------------------------------------------

@pytest.mark.devstack  # a service's own port, or its process
def test_batch_read_returns_the_visible_packages_in_the_order_asked(
        test_layout, gateway, agent_token, catalogue_set):
    operator, _, ids = catalogue_set
    unknown = str(uuid.uuid4())
    asked = [ids["elbe"], ids["draft"], ids["alpine"], unknown, ids["coast"], ids["alpine"]]
    url = f"{test_layout.url('operator-service')}/internal/packages"
    response = requests.get(url, params=[("id", i) for i in asked], headers=bearer(agent_token),
                            timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [p["id"] for p in body["data"]] == [ids["elbe"], ids["alpine"], ids["coast"]]
    assert body["missing"] == [ids["draft"], unknown]
    elbe = body["data"][0]
    assert (elbe["operator_id"], elbe["price_per_traveller"], elbe["currency"],
            elbe["capacity_per_departure"], elbe["min_travellers"], elbe["max_travellers"],
            elbe["first_departure_date"], elbe["last_departure_date"]) == (
        operator.id, "450.00", "CZK", 20, 1, 6, days(100), days(101))
    assert [s["country"] for s in elbe["stops"]] == ["DE", "CZ"]

    as_owner = requests.get(url, params={"id": ids["draft"]}, headers=bearer(operator.token),
                            timeout=10).json()
    assert [p["id"] for p in as_owner["data"]] == [ids["draft"]]


@pytest.mark.devstack  # a service's own port, or its process
def test_batch_read_is_bounded_and_checks_ids(test_layout, gateway, agent_token):
    url = f"{test_layout.url('operator-service')}/internal/packages"
    hundred = [("id", str(uuid.uuid4())) for _ in range(100)]
    ok = requests.get(url, params=hundred, headers=bearer(agent_token), timeout=10)
    assert ok.status_code == 200 and len(ok.json()["missing"]) == 100
    too_many = requests.get(url, params=hundred + [("id", str(uuid.uuid4()))],
                            headers=bearer(agent_token), timeout=10)
    assert too_many.status_code == 400 and set(problems(too_many)) == {"id"}
    bad = requests.get(url, params={"id": "not-a-uuid"}, headers=bearer(agent_token), timeout=10)
    assert bad.status_code == 400 and set(problems(bad)) == {"id.0"}
    none = requests.get(url, headers=bearer(agent_token), timeout=10)
    assert none.status_code == 400
    assert requests.get(url, params={"id": str(uuid.uuid4())}, timeout=10).status_code == 401


def test_the_gateway_does_not_expose_the_internal_routes(gateway, agent_token):
    response = call(gateway, "GET", f"/internal/packages?id={uuid.uuid4()}", agent_token)
    assert response.status_code == 404
