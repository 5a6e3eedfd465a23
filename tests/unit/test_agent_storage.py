"""S3 keys and presigned forms of agents' documents (signing is local: no network)."""
from __future__ import annotations

import base64
import json

import boto3
import pytest
from agent_service.storage import DocumentStore, storage_file_name


@pytest.mark.parametrize("name, content_type, stored", [
    ("licence.pdf", "application/pdf", "licence.pdf"),
    ("Licence.PDF", "application/pdf", "Licence.PDF"),
    ("photo.jpeg", "image/jpeg", "photo.jpeg"),
    ("photo", "image/jpeg", "photo.jpg"),
    ("evil.exe", "application/pdf", "evil.exe.pdf"),
    ("../../etc/passwd", "image/png", "passwd.png"),
    ("C:\\Users\\me\\scan.png", "image/png", "scan.png"),
    ("Licença de agência.pdf", "application/pdf", "Licenca_de_agencia.pdf"),
    ('a"b;c\r\n.pdf', "application/pdf", "a_b_c.pdf"),
    ("...", "application/pdf", "file.pdf"),
    ("日本.png", "image/png", "file.png"),
])
def test_storage_names_are_safe_and_end_in_their_type(name, content_type, stored):
    assert storage_file_name(name, content_type) == stored


def test_storage_names_are_bounded_and_keep_their_extension():
    stored = storage_file_name("x" * 300 + ".pdf", "application/pdf")
    assert len(stored) == 100 and stored.endswith(".pdf")


def test_the_upload_form_admits_only_the_announced_type_and_size():
    client = boto3.client("s3", region_name="eu-west-1", aws_access_key_id="k",
                          aws_secret_access_key="s",
                          endpoint_url="https://s3.eu-west-1.amazonaws.com")
    form = DocumentStore(client, bucket="bucket").upload_form(
        key="agents/s/documents/d/a.pdf", content_type="application/pdf", size=1234,
        expires_in=300)
    conditions = json.loads(base64.b64decode(form["fields"]["policy"]))["conditions"]
    assert ["content-length-range", 1234, 1234] in conditions
    assert {"Content-Type": "application/pdf"} in conditions
    assert {"bucket": "bucket"} in conditions
    assert {"key": "agents/s/documents/d/a.pdf"} in conditions
    assert form["fields"]["Content-Type"] == "application/pdf"


def test_forms_and_links_are_made_for_the_address_browsers_use():
    # Inside a container network the service reaches S3 (moto) by name; browsers by the
    # published address: presigning is for theirs.
    def client(endpoint):
        return boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint,
                            aws_access_key_id="k", aws_secret_access_key="s")

    store = DocumentStore(client("http://moto:5050"), presigner=client("http://127.0.0.1:5050"),
                          bucket="bucket")
    form = store.upload_form(key="k.pdf", content_type="application/pdf", size=3, expires_in=60)
    link = store.download_url(key="k.pdf", file_name="k.pdf", content_type="application/pdf",
                              expires_in=60)
    assert form["url"].startswith("http://127.0.0.1:5050/")
    assert link.startswith("http://127.0.0.1:5050/")
