"""Agents' documents: announced, uploaded with the presigned POST straight to S3 (moto),
and confirmed, as the dashboard does."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import requests

from tests.helpers import api

PDF = b"%PDF-1.7\n" + os.urandom(2000) + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(500)


@dataclass(frozen=True)
class Document:
    """A confirmed document, as the confirm step answered."""

    id: str
    answer: dict[str, Any]


def announce(gateway, token, *, content=PDF, content_type="application/pdf",
             file_name="licence.pdf", kind="licence", size=None):
    """POST /me/documents for a file; returns the response."""
    return api(gateway, "POST", "/api/agents/me/documents", token, json={
        "file_name": file_name, "content_type": content_type,
        "size": len(content) if size is None else size, "kind": kind})


def upload(form: dict, content: bytes, **field_overrides):
    """Send the file with the presigned POST, as a browser would."""
    return requests.post(form["url"], data={**form["fields"], **field_overrides},
                         files={"file": ("upload", content)}, timeout=10)


def uploaded_document(gateway, token, content=PDF, **kwargs) -> Document:
    """A document announced, uploaded and confirmed."""
    announced = announce(gateway, token, content=content, **kwargs)
    assert announced.status_code == 201, announced.text
    document_id = announced.json()["document"]["id"]
    assert announced.headers["Location"] == f"/api/agents/me/documents/{document_id}/download"
    assert upload(announced.json()["upload"], content).status_code == 204
    confirmed = api(gateway, "POST", f"/api/agents/me/documents/{document_id}/confirm", token)
    assert confirmed.status_code == 200, confirmed.text
    return Document(id=document_id, answer=confirmed.json())
