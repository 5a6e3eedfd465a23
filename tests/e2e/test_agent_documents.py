"""Agents' documents on S3 (moto): announce, upload with the presigned POST straight to the
emulator, confirm, list, download, delete; who may; and what catches a wrong file.

moto accepts any presigned POST without checking its policy (signature, expiry,
content-length-range, Content-Type). Real S3 refuses such uploads; here the confirm step,
which checks the stored object itself, is what refuses them, and the tests say so."""
from __future__ import annotations

import base64
import json
import os

import boto3
import pytest
import requests

from tests.builders.agents import new_agent, set_status
from tests.builders.documents import PDF, PNG, announce, upload, uploaded_document
from tests.helpers import api

pytestmark = pytest.mark.stack

@pytest.fixture(scope="module")
def s3(stack_env):
    """A boto3 S3 client on the emulator, to see what the bucket really holds."""
    return boto3.client("s3", endpoint_url=stack_env["AWS_ENDPOINT_URL"],
                        region_name=stack_env["AWS_REGION"], aws_access_key_id="test",
                        aws_secret_access_key="test")


def _stored(s3, stack_env, key: str) -> bool:
    try:
        s3.head_object(Bucket=stack_env["AWS_S3_BUCKET"], Key=key)
        return True
    except s3.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "404"
        return False


def test_full_cycle_for_a_pending_agent(gateway, stack_env, s3):
    agent = new_agent(gateway)
    assert agent.profile["status"] == "pending"
    token, sub = agent.token, agent.sub

    announced = announce(gateway, token, file_name="Licença de agência.pdf")
    assert announced.status_code == 201, announced.text
    document, form = announced.json()["document"], announced.json()["upload"]
    assert document == {**document, "status": "pending_upload", "kind": "licence",
                        "file_name": "Licença de agência.pdf", "size_bytes": len(PDF),
                        "content_type": "application/pdf", "uploaded_at": None}
    key = form["fields"]["key"]
    assert key == f"agents/{sub}/documents/{document['id']}/Licenca_de_agencia.pdf"
    assert 60 <= form["expires_in"] <= 900
    path = f"/api/agents/me/documents/{document['id']}"

    early = api(gateway, "POST", f"{path}/confirm", token)
    assert early.status_code == 409 and early.json()["error"]["code"] == "document_not_uploaded"
    assert api(gateway, "GET", f"{path}/download", token).status_code == 409

    assert upload(form, PDF).status_code == 204
    confirmed = api(gateway, "POST", f"{path}/confirm", token)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "uploaded" and confirmed.json()["uploaded_at"]
    assert api(gateway, "POST", f"{path}/confirm", token).json() == confirmed.json()

    listed = api(gateway, "GET", "/api/agents/me/documents", token)
    assert listed.status_code == 200
    assert listed.json()["data"] == [confirmed.json()]

    link = api(gateway, "GET", f"{path}/download", token)
    assert link.status_code == 200, link.text
    assert 60 <= link.json()["expires_in"] <= 300
    downloaded = requests.get(link.json()["url"], timeout=10)
    assert downloaded.status_code == 200
    assert downloaded.content == PDF

    deleted = api(gateway, "DELETE", path, token)
    assert deleted.status_code == 204, deleted.text
    assert not _stored(s3, stack_env, key)
    assert api(gateway, "GET", "/api/agents/me/documents", token).json()["data"] == []
    gone = api(gateway, "GET", f"{path}/download", token)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "document_not_found"


def test_the_upload_policy_pins_key_type_and_exact_size(gateway):
    agent = new_agent(gateway)
    form = announce(gateway, agent.token, content=PNG, content_type="image/png",
                    file_name="id.png", kind="id").json()["upload"]
    policy = json.loads(base64.b64decode(form["fields"]["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", len(PNG), len(PNG)] in conditions
    assert {"Content-Type": "image/png"} in conditions
    assert {"key": form["fields"]["key"]} in conditions
    assert form["fields"]["Content-Type"] == "image/png"
    assert policy["expiration"]


@pytest.mark.parametrize("change, field", [
    ({"content_type": "text/html"}, "content_type"),
    ({"content_type": "application/x-msdownload"}, "content_type"),
    ({"size": 10 * 1024 * 1024 + 1}, "size"),
    ({"size": 0}, "size"),
    ({"size": True}, "size"),
    ({"size": "12"}, "size"),
    ({"kind": "passport"}, "kind"),
    ({"file_name": ""}, "file_name"),
    ({"file_name": "x" * 256}, "file_name"),
    ({"bucket": "another"}, "bucket"),
])
def test_wrong_types_and_sizes_are_refused_before_presigning(gateway, change, field):
    agent = new_agent(gateway)
    payload = {"file_name": "a.pdf", "content_type": "application/pdf", "size": 10, "kind": "other",
               **change}
    response = api(gateway, "POST", "/api/agents/me/documents", agent.token, json=payload)
    assert response.status_code == 400, response.text
    assert {d["field"] for d in response.json()["error"]["details"]} == {field}
    assert api(gateway, "GET", "/api/agents/me/documents", agent.token).json()["data"] == []


def test_the_largest_allowed_file_is_ten_megabytes(gateway):
    agent = new_agent(gateway)
    response = announce(gateway, agent.token, size=10 * 1024 * 1024)
    assert response.status_code == 201, response.text


def test_a_bigger_file_than_announced_is_caught_by_confirm(gateway, stack_env, s3):
    agent = new_agent(gateway)
    announced = announce(gateway, agent.token, size=len(PDF))
    form, document = announced.json()["upload"], announced.json()["document"]
    # Real S3 refuses this POST (content-length-range); moto stores it.
    assert upload(form, PDF + b"x" * 100).status_code == 204
    path = f"/api/agents/me/documents/{document['id']}"
    refused = api(gateway, "POST", f"{path}/confirm", agent.token)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "upload_mismatch"
    assert [d["field"] for d in error["details"]] == ["size"]
    assert not _stored(s3, stack_env, form["fields"]["key"])      # the wrong file is gone
    listed = api(gateway, "GET", "/api/agents/me/documents", agent.token).json()["data"]
    assert [d["status"] for d in listed] == ["pending_upload"]
    assert api(gateway, "GET", f"{path}/download", agent.token).status_code == 409

    # The same form, with the announced file, then goes through.
    assert upload(form, PDF).status_code == 204
    assert api(gateway, "POST", f"{path}/confirm", agent.token).status_code == 200


def test_another_content_type_than_announced_is_caught_by_confirm(gateway):
    agent = new_agent(gateway)
    announced = announce(gateway, agent.token)
    # Real S3 refuses a Content-Type the policy does not name; moto stores it.
    sent = upload(announced.json()["upload"], PDF, **{"Content-Type": "text/html"})
    assert sent.status_code == 204
    refused = api(gateway, "POST", f"/api/agents/me/documents/"
                  f"{announced.json()['document']['id']}/confirm", agent.token)
    assert refused.status_code == 422
    assert [d["field"] for d in refused.json()["error"]["details"]] == ["content_type"]


def test_bytes_that_are_not_the_announced_type_are_caught_by_confirm(gateway):
    # Even real S3 accepts this one: the policy cannot look inside the file.
    agent = new_agent(gateway)
    fake_png = b"<html><script>alert(1)</script></html>"
    announced = announce(gateway, agent.token, content=fake_png, content_type="image/png",
                         file_name="photo.png", kind="id")
    assert upload(announced.json()["upload"], fake_png).status_code == 204
    refused = api(gateway, "POST", f"/api/agents/me/documents/"
                  f"{announced.json()['document']['id']}/confirm", agent.token)
    assert refused.status_code == 422
    assert [d["field"] for d in refused.json()["error"]["details"]] == ["content"]


def test_file_names_are_sanitised_in_the_key_and_get_their_type_extension(gateway):
    agent = new_agent(gateway)
    announced = announce(gateway, agent.token, file_name="../../etc/pässwd .exe")
    assert announced.status_code == 201, announced.text
    key = announced.json()["upload"]["fields"]["key"]
    assert key.startswith(f"agents/{agent.sub}/documents/")
    assert key.endswith("/passwd_.exe.pdf") and ".." not in key
    assert announced.json()["document"]["file_name"] == "../../etc/pässwd .exe"


def test_another_agents_document_is_404(gateway):
    owner, other = new_agent(gateway), new_agent(gateway)
    document = uploaded_document(gateway, owner.token)
    path = f"/api/agents/me/documents/{document.id}"
    for method, suffix in (("POST", "/confirm"), ("GET", "/download"), ("DELETE", "")):
        response = api(gateway, method, f"{path}{suffix}", other.token)
        assert response.status_code == 404, (method, response.text)
        assert response.json()["error"]["code"] == "document_not_found"
    assert api(gateway, "GET", "/api/agents/me/documents", other.token).json()["data"] == []
    assert len(api(gateway, "GET", "/api/agents/me/documents", owner.token).json()["data"]) == 1


def test_a_suspended_agent_may_read_but_not_change_documents(gateway, stack_env):
    agent = new_agent(gateway)
    document = uploaded_document(gateway, agent.token)
    pending = announce(gateway, agent.token).json()["document"]
    set_status(stack_env, agent.id, "suspended")
    path = f"/api/agents/me/documents/{document.id}"
    for method, url in (("POST", "/api/agents/me/documents"),
                        ("POST", f"/api/agents/me/documents/{pending['id']}/confirm"),
                        ("DELETE", path)):
        kwargs = {"json": {"file_name": "a.pdf", "content_type": "application/pdf", "size": 9,
                           "kind": "other"}} if url.endswith("documents") else {}
        response = api(gateway, method, url, agent.token, **kwargs)
        assert response.status_code == 403, (url, response.text)
        assert response.json()["error"]["code"] == "agent_suspended"
    assert len(api(gateway, "GET", "/api/agents/me/documents", agent.token).json()["data"]) == 2
    assert api(gateway, "GET", f"{path}/download", agent.token).status_code == 200


def test_an_active_agent_may_upload(gateway, stack_env):
    agent = new_agent(gateway)
    set_status(stack_env, agent.id, "active")
    assert uploaded_document(gateway, agent.token, content=PNG, content_type="image/png",
                             file_name="id.png", kind="id").answer["status"] == "uploaded"


def test_an_agent_keeps_at_most_twenty_documents(gateway):
    agent = new_agent(gateway)
    for _ in range(20):
        assert announce(gateway, agent.token, size=100).status_code == 201
    refused = announce(gateway, agent.token, size=100)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "too_many_documents"


def test_admins_review_an_agents_documents(gateway, admin):
    agent = new_agent(gateway)
    document = uploaded_document(gateway, agent.token)
    base = f"/api/agents/{agent.id}/documents"
    listed = api(gateway, "GET", base, admin.token)
    assert listed.status_code == 200 and listed.json()["data"] == [document.answer]
    link = api(gateway, "GET", f"{base}/{document.id}/download", admin.token)
    assert link.status_code == 200, link.text
    assert requests.get(link.json()["url"], timeout=10).content == PDF
    for token in (agent.token, new_agent(gateway).token):
        refused = api(gateway, "GET", base, token)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "admin_required"


@pytest.mark.devstack  # a service's own port, or its process
def test_only_admins_download_an_agents_document_by_the_admin_route(gateway, test_layout,
                                                                    admin):
    agent = new_agent(gateway)
    document = uploaded_document(gateway, agent.token)
    path = f"/api/agents/{agent.id}/documents/{document.id}/download"
    assert api(gateway, "GET", path, admin.token).status_code == 200
    # Neither the owner (who has their own route) nor another agent, through the gateway or
    # straight to agent-service.
    for base in (gateway, test_layout.url("agent-service")):
        for token in (agent.token, new_agent(gateway).token):
            refused = api(base, "GET", path, token)
            assert refused.status_code == 403, (base, refused.text)
            assert refused.json()["error"]["code"] == "admin_required"
            assert "url" not in refused.text



def test_what_confirm_checked_is_what_downloads_serve_after_the_form_is_used_again(
        gateway, stack_env, s3, admin):
    agent = new_agent(gateway)
    announced = announce(gateway, agent.token)
    form, document = announced.json()["upload"], announced.json()["document"]
    path = f"/api/agents/me/documents/{document['id']}"
    assert upload(form, PDF).status_code == 204
    assert api(gateway, "POST", f"{path}/confirm", agent.token).status_code == 200

    # The form stays usable for its whole lifetime, on real S3 too: same key, same type,
    # same size, other bytes.
    swapped = b"%PDF-" + os.urandom(len(PDF) - 5)
    assert upload(form, swapped).status_code == 204
    assert api(gateway, "POST", f"{path}/confirm", agent.token).status_code == 200
    admin_path = f"/api/agents/{agent.id}/documents/{document['id']}/download"
    for link in (api(gateway, "GET", f"{path}/download", agent.token),
                 api(gateway, "GET", admin_path, admin.token)):
        assert link.status_code == 200, link.text
        assert requests.get(link.json()["url"], timeout=10).content == PDF

    # Deleting the document removes what the form wrote again as well.
    assert api(gateway, "DELETE", path, agent.token).status_code == 204
    assert not _stored(s3, stack_env, form["fields"]["key"])
