"""Demo data: a travel agent in Cognito and a tour operator in Supabase Auth, with the
rows that make them useful. Safe to run again."""
from __future__ import annotations

import boto3
import psycopg
import requests

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


def seed_demo_data(env: dict[str, str], keys: dict[str, str]) -> dict[str, str]:
    """Create the demo accounts and rows; return their credentials for stack.env."""
    seed_agents(env, keys)
    operator_id = ensure_supabase_user(
        supabase_url=env["SUPABASE_URL"], service_key=env["SUPABASE_SERVICE_ROLE_KEY"],
        email=DEMO_OPERATOR_EMAIL, password=keys["demo_operator_password"])
    with psycopg.connect(env["SUPABASE_DB_ADMIN_URL"]) as conn:
        conn.execute(
            """insert into public.users (id, company_name, contact_email)
               values (%s, 'Demo Tours', %s) on conflict (id) do nothing""",
            (operator_id, DEMO_OPERATOR_EMAIL))
        conn.execute(
            """insert into public.multi_city_hotel_packages
                 (operator_id, title, description, status, price_per_traveller, currency)
               select %s, 'Lisbon, Porto and Seville', 'Nine nights, three cities, four-star hotels',
                      'published', 1290.00, 'EUR'
                where not exists (select 1 from public.multi_city_hotel_packages
                                   where operator_id = %s)""",
            (operator_id, operator_id))
    return {"DEMO_AGENT_EMAIL": DEMO_AGENT_EMAIL, "DEMO_AGENT_PASSWORD": keys["demo_agent_password"],
            "DEMO_ADMIN_EMAIL": DEMO_ADMIN_EMAIL, "DEMO_ADMIN_PASSWORD": keys["demo_agent_password"],
            "DEMO_OPERATOR_EMAIL": DEMO_OPERATOR_EMAIL,
            "DEMO_OPERATOR_PASSWORD": keys["demo_operator_password"]}
