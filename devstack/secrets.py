"""Secrets of a local stack: made once, kept in its state folder, never in the repo."""
from __future__ import annotations

import datetime
import ipaddress
import json
import os
import secrets
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from devstack.layout import Layout

_NAMES = ("supabase_db_password", "rds_admin_password", "operator_service_password",
          "supabase_jwt_secret", "demo_agent_password", "demo_operator_password",
          "gateway_token_digest_key")


def load_or_create(layout: Layout) -> dict[str, str]:
    """Passwords and the Supabase JWT secret of this stack."""
    path = layout.state / "secrets.json"
    values = json.loads(path.read_text()) if path.exists() else {}
    for name in _NAMES:
        # Mixed case and digits so the value also passes Cognito's password policy.
        values.setdefault(name, f"Dev-{secrets.token_urlsafe(24)}-9")
    # The anon and service_role keys are minted from this, so they stay the same too.
    values.setdefault("api_keys_issued_at", int(time.time()))
    path.write_text(json.dumps(values, indent=2))
    path.chmod(0o600)
    return values


def _write_private_key(path: Path, key) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def ensure_tls(layout: Layout, *, hosts: tuple[str, ...] = ()) -> None:
    """A local CA and a server certificate for 127.0.0.1/localhost (and `hosts`: the
    servers' names on a container network), so the services connect to PostgreSQL with
    sslmode=verify-full exactly as they do to RDS."""
    layout.tls.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = (layout.tls / n for n in ("ca.pem", "server.crt", "server.key"))
    if ca_path.exists() and cert_path.exists() and key_path.exists():
        return
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "travel-platform local CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
              .issuer_name(ca_name).public_key(server_key.public_key())
              .serial_number(x509.random_serial_number())
              .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
              .add_extension(x509.SubjectAlternativeName([
                  *(x509.DNSName(name) for name in ("localhost", *hosts)),
                  x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                  critical=False)
              .sign(ca_key, hashes.SHA256()))
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    _write_private_key(key_path, server_key)
    os.chmod(ca_path, 0o644)
