"""Demo data: a travel agent in Cognito and a tour operator in Supabase Auth, with the
rows that make them useful. `make up` runs it once, when the data is created (a later run
would undo what users did: re-activate a suspended agent, rename an operator back).
Safe to run again."""
from __future__ import annotations

from pathlib import Path

import boto3
import psycopg
import requests

# Written once the demo data exists; its absence is what makes `up` seed.
SEEDED_MARKER = "demo-data-seeded"
DEMO_AGENT_EMAIL = "agent@demo.travel"
DEMO_ADMIN_EMAIL = "admin@demo.travel"
DEMO_OPERATOR_EMAIL = "operator@demo.travel"
# More travel agents, so the admin screens have something in each status.
OTHER_AGENTS = [
    ("active2@demo.travel", "Sol y Mar Viajes", "active", "ES", "+34911222333", "0.1200"),
    ("pending@demo.travel", "Pending Trips", "pending", "PT", "+351912345678", "0.1000"),
    ("pending2@demo.travel", "Nordic Routes", "pending", "SE", "+46812345678", "0.1000"),
    ("suspended@demo.travel", "Paused Voyages", "suspended", "FR", "+33123456789", "0.0800"),
]


def ensure_cognito_user(*, cognito, pool_id: str, email: str, password: str,
                        groups: tuple[str, ...] = ()) -> str:
    """A confirmed Cognito user with a permanent password; returns its `sub`."""
    try:
        cognito.admin_create_user(
            UserPoolId=pool_id, Username=email, MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": email},
                            {"Name": "email_verified", "Value": "true"}])
    except cognito.exceptions.UsernameExistsException:
        pass
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=password,
                                    Permanent=True)
    for group in groups:
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=group)
    attributes = cognito.admin_get_user(UserPoolId=pool_id, Username=email)["UserAttributes"]
    return next(a["Value"] for a in attributes if a["Name"] == "sub")


def ensure_supabase_user(*, supabase_url: str, service_key: str, email: str,
                         password: str) -> str:
    """A confirmed Supabase Auth user, made through the admin API; returns its id."""
    headers = {"apikey": service_key, "Authorization": f"Bearer {service_key}"}
    admin = f"{supabase_url}/auth/v1/admin/users"
    created = requests.post(admin, headers=headers, timeout=10,
                            json={"email": email, "password": password, "email_confirm": True})
    if created.status_code == 200:
        return created.json()["id"]
    users = requests.get(admin, headers=headers, params={"per_page": 1000}, timeout=10)
    users.raise_for_status()
    return next(u["id"] for u in users.json()["users"] if u["email"] == email)


def ensure_agent_row(*, conn, sub: str, email: str, agency: str, status: str, country: str,
                     phone: str, commission_rate: str) -> None:
    """The travel_agents row of a Cognito user, in the given status."""
    # A re-provisioned emulator gives the user a new sub: drop the stale row first.
    conn.execute("delete from travel_agents where email = %s and cognito_sub <> %s", (email, sub))
    conn.execute(
        """insert into travel_agents
             (cognito_sub, email, agency_name, status, country, phone, commission_rate)
           values (%s, %s, %s, %s, %s, %s, %s)
           on conflict (cognito_sub) do update set status = excluded.status""",
        (sub, email, agency, status, country, phone, commission_rate))


def seed_agents(env: dict[str, str], keys: dict[str, str]) -> None:
    """The demo agent (active), an admin, and a few agents in each status."""
    cognito = boto3.client(
        "cognito-idp", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    pool_id = env["AWS_COGNITO_USER_POOL_ID"]
    password = keys["demo_agent_password"]
    agents = [(DEMO_AGENT_EMAIL, "Demo Travel Agency", "active", "GB", "+442071234567",
               "0.1000"), *OTHER_AGENTS]
    ensure_cognito_user(cognito=cognito, pool_id=pool_id, email=DEMO_ADMIN_EMAIL,
                        password=password, groups=("admins",))
    with psycopg.connect(env["RDS_ADMIN_URL"]) as conn:
        for email, agency, status, country, phone, rate in agents:
            sub = ensure_cognito_user(cognito=cognito, pool_id=pool_id, email=email,
                                      password=password)
            ensure_agent_row(conn=conn, sub=sub, email=email, agency=agency, status=status,
                             country=country, phone=phone, commission_rate=rate)


# Operators and their published multi-city packages: (title, price, currency,
# stops (city, country, nights, hotel, stars), add-ons (name, price, pricing), exclusions).
OPERATORS = [
    (DEMO_OPERATOR_EMAIL, "Demo Tours", "+351213456789", [
        ("Lisbon, Porto and Seville", "1290.00", "EUR",
         [("Lisbon", "PT", 3, "Tivoli Avenida", 5), ("Porto", "PT", 3, "Infante Sagres", 5),
          ("Seville", "ES", 3, "Alfonso XIII", 5)],
         [("Travel insurance", "45.00", "per_traveller"),
          ("Airport transfers", "120.00", "per_booking")], ["International flights"]),
        ("Andalusian White Villages", "890.00", "EUR",
         [("Malaga", "ES", 2, "Molina Lario", 4), ("Ronda", "ES", 2, "Parador de Ronda", 4),
          ("Granada", "ES", 3, "Alhambra Palace", 4)],
         [("Alhambra guided tour", "60.00", "per_traveller")], ["Flights", "Lunches"]),
    ]),
    ("alpine@demo.travel", "Alpine Escapes", "+41441234567", [
        ("Swiss Lakes and Peaks", "2150.00", "CHF",
         [("Zurich", "CH", 2, "Storchen", 5), ("Lucerne", "CH", 2, "Schweizerhof", 5),
          ("Interlaken", "CH", 3, "Victoria-Jungfrau", 5), ("Zermatt", "CH", 2, "Cervo", 4)],
         [("Swiss Travel Pass", "340.00", "per_traveller")], ["Ski passes"]),
        ("Dolomites Road Trip", "1480.00", "EUR",
         [("Bolzano", "IT", 2, "Greif", 4), ("Cortina d'Ampezzo", "IT", 3, "Ancora", 4)],
         [("Car rental", "390.00", "per_booking")], ["Fuel", "Parking"]),
    ]),
    ("mediterraneo@demo.travel", "Mediterraneo Travel", "+390612345678", [
        ("Greek Islands Hop", "1760.00", "EUR",
         [("Athens", "GR", 2, "Grande Bretagne", 5), ("Mykonos", "GR", 3, "Cavo Tagoo", 5),
          ("Santorini", "GR", 3, "Canaves Oia", 5)],
         [("Ferry upgrade", "80.00", "per_traveller")], ["Island excursions"]),
        ("Roman Holiday and Amalfi", "1990.00", "EUR",
         [("Rome", "IT", 3, "Hotel de Russie", 5), ("Naples", "IT", 1, "Romeo", 4),
          ("Amalfi", "IT", 3, "Santa Caterina", 5)],
         [("Vatican skip-the-line", "55.00", "per_traveller"),
          ("Private boat day", "650.00", "per_booking")], ["City taxes"]),
    ]),
]


def seed_package(*, conn, operator_id: str, package: tuple) -> None:
    """A complete package, inserted as a draft and then published (skipped if present)."""
    title, price, currency, stops, addons, exclusions = package
    existing = conn.execute(
        """select p.id, count(c.id) as stops from public.multi_city_hotel_packages p
             left join public.multi_city_hotel_package_cities c on c.package_id = p.id
            where p.operator_id = %s and p.title = %s group by p.id""",
        (operator_id, title)).fetchone()
    if existing and existing[1]:
        return
    if existing:  # an incomplete one from an older seed
        conn.execute("delete from public.multi_city_hotel_packages where id = %s", (existing[0],))
    package_id = conn.execute(
        """insert into public.multi_city_hotel_packages
             (operator_id, title, description, status, price_per_traveller, currency,
              min_travellers, max_travellers, capacity_per_departure,
              first_departure_date, last_departure_date)
           values (%s, %s, %s, 'draft', %s, %s, 1, 8, 20, current_date + 14, current_date + 180)
           returning id""",
        (operator_id, title, f"{len(stops)} cities, hand-picked hotels", price, currency)
    ).fetchone()[0]
    for position, (city, country, nights, hotel, stars) in enumerate(stops, 1):
        conn.execute(
            """insert into public.multi_city_hotel_package_cities
                 (package_id, position, city, country, nights, hotel_name, star_rating)
               values (%s, %s, %s, %s, %s, %s, %s)""",
            (package_id, position, city, country, nights, hotel, stars))
    for position, (name, addon_price, pricing) in enumerate(addons, 1):
        conn.execute(
            """insert into public.multi_city_hotel_package_addons
                 (package_id, position, name, price, pricing) values (%s, %s, %s, %s, %s)""",
            (package_id, position, name, addon_price, pricing))
    for position, text in enumerate(exclusions, 1):
        conn.execute("""insert into public.multi_city_hotel_package_exclusions
                          (package_id, position, text) values (%s, %s, %s)""",
                     (package_id, position, text))
    conn.execute("update public.multi_city_hotel_packages set status = 'published' where id = %s",
                 (package_id,))


def seed_operators(env: dict[str, str], keys: dict[str, str]) -> None:
    """Tour operators in Supabase Auth with profiles and published packages."""
    with psycopg.connect(env["SUPABASE_DB_ADMIN_URL"]) as conn:
        for email, company, phone, packages in OPERATORS:
            operator_id = ensure_supabase_user(
                supabase_url=env["SUPABASE_URL"], service_key=env["SUPABASE_SERVICE_ROLE_KEY"],
                email=email, password=keys["demo_operator_password"])
            conn.execute(
                # The demo operators were approved by an administrator long ago.
                """insert into public.users (id, company_name, contact_email, contact_phone,
                                            status, status_changed_at)
                   values (%s, %s, %s, %s, 'active', now())
                   on conflict (id) do update set company_name = excluded.company_name""",
                (operator_id, company, email, phone))
            for package in packages:
                seed_package(conn=conn, operator_id=operator_id, package=package)


def seed_demo_data(env: dict[str, str], keys: dict[str, str]) -> None:
    """Create the demo accounts and rows."""
    seed_agents(env, keys)
    seed_operators(env, keys)


def seeded(state: Path) -> bool:
    """Whether this state folder's data was seeded."""
    return (state / SEEDED_MARKER).exists()


def seed_once(state: Path, env: dict[str, str], keys: dict[str, str]) -> bool:
    """Seed unless this state folder's data was seeded before; True if it seeded now.

    Once, with the data: a later `up` must not undo what a user did since (an agent
    suspended, an operator renamed). Deleting the state folder starts afresh."""
    marker = state / SEEDED_MARKER
    if marker.exists():
        return False
    seed_demo_data(env, keys)
    marker.write_text("The demo data was created; `make up` will not seed again.\n")
    return True


def demo_credentials(keys: dict[str, str]) -> dict[str, str]:
    """The demo accounts' logins, for stack.env."""
    return {"DEMO_AGENT_EMAIL": DEMO_AGENT_EMAIL,
            "DEMO_AGENT_PASSWORD": keys["demo_agent_password"],
            "DEMO_ADMIN_EMAIL": DEMO_ADMIN_EMAIL,
            "DEMO_ADMIN_PASSWORD": keys["demo_agent_password"],
            "DEMO_OPERATOR_EMAIL": DEMO_OPERATOR_EMAIL,
            "DEMO_OPERATOR_PASSWORD": keys["demo_operator_password"]}
