"""The Travel Agent Dashboard in a real browser (chromium), served by the gateway at `/`:
an agent's journey, an operator's, an upload straight to S3, an administrator's approval,
the app at a phone's width, and CORS as a browser enforces it."""
from __future__ import annotations

import datetime
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from http.server import HTTPServer, SimpleHTTPRequestHandler

import pytest
import requests
from playwright.sync_api import Page, expect

from devstack.api import auth_mail_file
from tests.builders.admins import new_admin
from tests.builders.agents import PASSWORD, Agent, active_agent, new_agent, new_email
from tests.builders.packages import Package, package_fields, publish_package
from tests.e2e.browser import browser_fixture, page_fixture, screenshot, sign_in  # noqa: F401
from tests.helpers import api
from travel_platform.clock import utc_today

pytestmark = pytest.mark.stack

DEPARTURE = str(utc_today() + datetime.timedelta(days=30))


@pytest.fixture(scope="module")
def city() -> str:
    """A city only this module's package stops in, to find it in the catalogue."""
    return f"Testburg{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def package(gateway, operator_token, city) -> Package:
    fields = package_fields(capacity=20)
    fields["stops"][0]["city"] = city
    return publish_package(gateway, operator_token, fields)


@pytest.fixture
def browsing_agent(gateway, stack_env) -> Agent:
    """An active agent of the agency the dashboard greets."""
    return active_agent(gateway, stack_env, agency_name="Browser Travel")


def _bookings(gateway: str, token: str) -> list[dict]:
    return api(gateway, "GET", "/api/bookings", token).json()["data"]


def test_an_agent_finds_a_package_books_it_once_sees_it_and_cancels(
        page: Page, gateway, package, city, browsing_agent):
    sign_in(page, gateway, browsing_agent.email, PASSWORD)
    expect(page.get_by_role("heading", name="Welcome, Browser Travel")).to_be_visible()
    expect(page.locator("[data-figure=pending] b")).to_have_text("0")
    # The tokens stay in the page's memory.
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert page.evaluate("document.cookie") == ""
    screenshot(page, "agent-home")

    page.get_by_role("link", name="Packages", exact=True).click()
    page.get_by_label("City").fill(city)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("1 package", exact=True)).to_be_visible()
    screenshot(page, "catalogue")
    page.get_by_role("link", name=package.title).click()
    expect(page.get_by_role("heading", name="Stops")).to_be_visible()
    expect(page.get_by_text("Flights")).to_be_visible()   # an exclusion

    page.get_by_label("Departure date").fill(DEPARTURE)
    page.get_by_label("Travellers").fill("2")
    page.get_by_label("Lead traveller's full name").fill("Ana Lima")
    page.get_by_label("Lead traveller's e-mail").fill("ana@example.com")
    page.get_by_label("Traveller 2's full name").fill("Rui Lima")
    page.get_by_label("Insurance").check()
    page.get_by_role("button", name="Preview price").click()
    expect(page.locator("[data-total]")).to_have_text("Total EUR 2090.00")  # 2x1000 + 2x45
    screenshot(page, "booking")
    page.get_by_role("button", name="Book").dblclick()
    expect(page.get_by_text("Booked: EUR 2090.00")).to_be_visible()
    assert len(_bookings(gateway, browsing_agent.token)) == 1   # the double click booked once

    page.get_by_role("link", name="See my bookings", exact=True).click()
    row = page.locator("tr[data-booking]")
    expect(row).to_have_count(1)
    expect(row.locator(".badge")).to_have_text("pending")
    screenshot(page, "my-bookings")
    row.get_by_role("button", name="Cancel").click()
    expect(row.locator(".badge")).to_have_text("cancelled")
    assert _bookings(gateway, browsing_agent.token)[0]["status"] == "cancelled"


def test_api_errors_are_shown_in_the_apis_words(page: Page, gateway, package):
    agent = new_agent(gateway)   # pending: not yet approved
    page.goto(f"{gateway}/#/login")
    page.get_by_label("E-mail").fill(agent.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("invalid e-mail or password")

    sign_in(page, gateway, agent.email, PASSWORD)
    expect(page.get_by_text("Your account is pending")).to_be_visible()
    page.goto(f"{gateway}/#/packages/{package.id}")
    page.get_by_label("Departure date").fill(DEPARTURE)
    page.get_by_label("Lead traveller's full name").fill("Ana Lima")
    page.get_by_label("Lead traveller's e-mail").fill("ana@example.com")
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_role("alert")).to_contain_text("only active agents can book")


def test_an_agent_signs_up_confirms_and_signs_in(page: Page, gateway):
    email = new_email()
    page.goto(f"{gateway}/#/signup")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Agency name").fill("Signup Travel")
    page.get_by_label("Country").fill("PT")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Confirm your account")).to_be_visible()
    page.get_by_role("button", name="Send a new code").click()
    expect(page.get_by_text("a new code is on its way")).to_be_visible()
    # The code confirms only with the account's password (no squatter's account is captured).
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Code from the e-mail").fill("123456")   # moto checks no codes
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    sign_in(page, gateway, email, PASSWORD)
    expect(page.get_by_role("heading", name="Welcome, Signup Travel")).to_be_visible()


def test_an_upload_goes_straight_to_s3_and_is_confirmed(page: Page, gateway, tmp_path):
    agent = new_agent(gateway)
    licence = tmp_path / "licence.pdf"
    licence.write_bytes(b"%PDF-1.4\n" + b"0" * 2000 + b"\n%%EOF\n")
    sign_in(page, gateway, agent.email, PASSWORD)
    page.get_by_role("link", name="Documents", exact=True).click()
    expect(page.get_by_text("No documents yet")).to_be_visible()
    page.get_by_label("File (PDF, JPEG or PNG, at most 10 MB)").set_input_files(str(licence))
    page.get_by_role("button", name="Upload").click()
    row = page.locator("tr[data-document]")
    expect(row.locator(".badge")).to_have_text("uploaded")
    screenshot(page, "documents")
    [document] = api(gateway, "GET", "/api/agents/me/documents", agent.token).json()["data"]
    assert (document["file_name"], document["status"]) == ("licence.pdf", "uploaded")


def test_an_operator_creates_and_publishes_a_package_an_agent_books_the_operator_confirms(
        page: Page, gateway, stack_env, browsing_agent):
    email, password, company = new_email("operator"), "operator-pass-2024", "Fjord Browser Tours"
    title = f"Fjords {uuid.uuid4().hex[:6]}"
    page.goto(f"{gateway}/#/signup?as=operator")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Company name").fill(company)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="My packages")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, gateway, email, password, operator=True)   # supabase-js signInWithPassword
    expect(page.get_by_text("No packages yet")).to_be_visible()

    page.get_by_role("link", name="New package", exact=True).click()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Price per traveller").fill("800.00")
    page.get_by_label("Seats per departure").fill("10")
    page.get_by_label("Min travellers").fill("1")
    page.get_by_label("Max travellers").fill("4")
    page.get_by_label("First departure").fill(str(utc_today() + datetime.timedelta(days=7)))
    page.get_by_label("Last departure").fill(str(utc_today() + datetime.timedelta(days=90)))
    page.get_by_role("button", name="Add stop").click()
    stop = page.locator("[data-part=stops]")
    stop.get_by_label("City").fill("Bergen")
    stop.get_by_label("Country").fill("NO")
    stop.get_by_label("Nights").fill("3")
    stop.get_by_label("Hotel").fill("Bryggen")
    stop.get_by_label("Stars").fill("4")
    page.get_by_role("button", name="Add exclusion").click()
    page.get_by_label("Not included").fill("Flights")
    screenshot(page, "operator-package-editor")
    page.get_by_role("button", name="Save and publish").click()
    # A new operator is pending: the draft is kept, publishing waits for an administrator.
    expect(page.get_by_role("alert")).to_contain_text("cannot publish packages")
    page.get_by_role("button", name="Sign out").click()
    # An administrator of this test's own: signing out in the page ends all their sessions.
    admin = new_admin(gateway, stack_env)
    sign_in(page, gateway, admin.email, PASSWORD)
    pending = api(gateway, "GET", "/api/operators", admin.token, params={"status": "pending"})
    page.goto(f"{gateway}/#/admin/operators?status=pending&offset={pending.json()['total'] - 1}")
    applicant = page.locator(f"tr[data-row='{email}']")
    # The address Supabase Auth verified, beside the one the operator typed.
    expect(applicant.locator("td[data-label='Signs in as']")).to_have_text(email)
    screenshot(page, "admin-operator-approvals")
    applicant.get_by_role("button", name="Approve").click()
    expect(applicant).to_have_count(0)   # no longer pending
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, gateway, email, password, operator=True)
    draft = page.locator("tr[data-package]", has_text=title)
    draft.get_by_role("button", name="Publish").click()
    expect(draft.locator(".badge")).to_have_text("published")

    catalogue = api(gateway, "GET", "/api/packages", browsing_agent.token,
                    params={"city": "Bergen", "limit": 100}).json()["data"]
    [listed] = [p for p in catalogue if p["title"] == title]
    booked = api(gateway, "POST", "/api/bookings", browsing_agent.token,
                 headers={"Idempotency-Key": uuid.uuid4().hex},
                 json={"package_id": listed["id"], "departure_date": DEPARTURE,
                       "travellers": [{"full_name": "Ola Nordmann", "email": "ola@example.com"}]})
    assert booked.status_code == 201, booked.text

    page.get_by_role("link", name="Bookings", exact=True).click()
    row = page.locator(f"tr[data-booking='{booked.json()['id']}']")
    expect(row).to_contain_text("Browser Travel")
    screenshot(page, "operator-bookings")
    row.get_by_role("button", name="Confirm").click()
    expect(row).to_have_count(0)   # no longer pending
    assert api(gateway, "GET", f"/api/bookings/{booked.json()['id']}",
               browsing_agent.token).json()["status"] == "confirmed"
    page.get_by_role("link", name="Profile", exact=True).click()
    expect(page.get_by_label("Company name")).to_have_value(company)


def test_an_operator_resets_a_forgotten_password_with_the_mailed_code(
        page: Page, gateway, stack_env, test_layout):
    email = new_email("operator")
    key = stack_env["SUPABASE_SERVICE_ROLE_KEY"]
    created = requests.post(f"{stack_env['SUPABASE_URL']}/auth/v1/admin/users", timeout=10,
                            headers={"apikey": key, "Authorization": f"Bearer {key}"},
                            json={"email": email, "password": "forgotten-2024",
                                  "email_confirm": True})
    assert created.status_code == 200, created.text
    page.goto(f"{gateway}/#/forgot?as=operator")   # supabase-js in the page from here on
    page.get_by_label("E-mail").fill(email)
    page.get_by_role("button", name="E-mail me a code").click()
    expect(page.get_by_text(f"If {email} has an account")).to_be_visible()
    mails = [json.loads(line) for line in auth_mail_file(test_layout).read_text().splitlines()]
    [code] = [m["code"] for m in mails if m["to"] == email and m["type"] == "recovery"]
    page.get_by_label("Code from the e-mail").fill(code)
    page.get_by_label("New password").fill("remembered-2025")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("heading", name="My packages")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, gateway, email, "remembered-2025", operator=True)


def test_an_administrator_approves_a_pending_agent(page: Page, gateway, admin):
    agent = new_agent(gateway, agency_name=f"Pending {uuid.uuid4().hex[:6]}")
    sign_in(page, gateway, admin.email, PASSWORD)
    expect(page.get_by_role("heading", name="Travel agents")).to_be_visible()
    expect(page.locator("tr[data-row]").first).to_be_visible()
    screenshot(page, "admin-approvals")
    # Oldest first: the newest pending agent is on the last page.
    pending = api(gateway, "GET", "/api/agents", admin.token, params={"status": "pending"})
    page.goto(f"{gateway}/#/admin/agents?status=pending&offset={pending.json()['total'] - 1}")
    row = page.locator(f"tr[data-row='{agent.email}']")
    row.get_by_role("button", name="Approve").click()
    expect(row).to_have_count(0)
    me = api(gateway, "GET", "/api/agents/me", agent.token).json()
    assert me["profile"]["status"] == "active"


def test_the_app_fits_a_phones_width(browser, gateway, browsing_agent, package):
    context = browser.new_context(viewport={"width": 375, "height": 812}, is_mobile=True)
    phone = context.new_page()
    try:
        sign_in(phone, gateway, browsing_agent.email, PASSWORD)
        for route in ("/home", "/catalogue", f"/packages/{package.id}", "/bookings",
                      "/documents", "/profile"):
            phone.goto(f"{gateway}/#{route}")
            expect(phone.get_by_role("heading").first).to_be_visible()
            phone.wait_for_load_state("networkidle")
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, (route, width)
            if route.startswith("/packages/"):
                screenshot(phone, "phone-package")
    finally:
        context.close()


# --- CORS, as a browser enforces it ----------------------------------------------------------

PROBE = """<!doctype html><meta charset="utf-8"><title>probe</title><pre id="out">…</pre>
<script>
  const params = new URLSearchParams(location.search);
  fetch(params.get("api") + "/api/packages?limit=1",
        {headers: {Authorization: "Bearer " + params.get("token")}})
    .then(r => r.json().then(body => "read " + r.status + " total=" + body.total))
    .catch(e => "refused: " + e.name)
    .then(text => { document.getElementById("out").textContent = text; });
</script>"""


@pytest.fixture
def probe_server(tmp_path) -> Iterator[Callable[[int], str]]:
    """Serve the probe page on a port of our choice (another origin than the gateway)."""
    (tmp_path / "probe.html").write_text(PROBE)
    servers = []

    def serve(port: int = 0) -> str:
        handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
        server = HTTPServer(("127.0.0.1", port), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def _probe(page: Page, origin: str, gateway: str, token: str) -> str:
    page.goto(f"{origin}/probe.html?api={gateway}&token={token}")
    out = page.locator("#out")
    expect(out).not_to_have_text("…")
    return out.inner_text()


def test_a_page_on_an_allowed_origin_reads_the_api_and_another_is_refused(
        page: Page, gateway, stack_env, test_layout, agent_token, probe_server):
    allowed = probe_server(test_layout.port("vite-dev"))
    assert allowed in stack_env["CORS_ALLOWED_ORIGINS"].split(",")
    assert _probe(page, allowed, gateway, agent_token).startswith("read 200 total=")

    stranger = probe_server()   # any free port
    assert stranger not in stack_env["CORS_ALLOWED_ORIGINS"].split(",")
    assert _probe(page, stranger, gateway, agent_token) == "refused: TypeError"

