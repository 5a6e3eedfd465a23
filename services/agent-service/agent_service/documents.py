"""An agent's documents (licence, ID, contract) on S3: announced, uploaded with a
presigned POST, checked, downloaded through short-lived links, deleted."""
from __future__ import annotations

import uuid

from agent_service import repository
from agent_service.administration import find_agent
from agent_service.profiles import own_agent
from agent_service.rules import ensure_may_change_documents, ensure_room_for_document
from agent_service.schemas import DocumentUploadRequest
from agent_service.storage import DocumentStore, storage_file_name
from travel_platform.auth import Identity
from travel_platform.errors import Conflict, NotFound, Unprocessable

UPLOAD_FORM_SECONDS = 300
DOWNLOAD_LINK_SECONDS = 120
# How each accepted type starts: the Content-Type header is only what the client declared.
_SIGNATURES = {"application/pdf": b"%PDF-", "image/jpeg": b"\xff\xd8\xff",
               "image/png": b"\x89PNG\r\n\x1a\n"}


def _document_view(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("agent_id", "s3_key")}


def _document(*, conn, agent_id, document_id) -> dict:
    document = repository.get_document(conn=conn, agent_id=agent_id, document_id=document_id)
    if document is None:
        raise NotFound("no such document", code="document_not_found")
    return document


def request_upload(*, pool, store: DocumentStore, identity: Identity,
                   request: DocumentUploadRequest) -> dict:
    """Record a document and hand out a form that uploads exactly that file to S3."""
    with pool.connection() as conn, conn.transaction():
        # The row lock makes the count below hold against concurrent requests.
        agent = own_agent(conn=conn, identity=identity, for_update=True)
        ensure_may_change_documents(agent)
        ensure_room_for_document(repository.count_documents(conn=conn, agent_id=agent["id"]))
        document_id = uuid.uuid4()
        key = _upload_key(agent=agent, document_id=document_id,
                          file=storage_file_name(request.file_name, request.content_type))
        document = repository.insert_document(
            conn=conn, document_id=document_id, agent_id=agent["id"], s3_key=key,
            file_name=request.file_name, content_type=request.content_type,
            size_bytes=request.size, kind=request.kind)
        # Signing is local; inside the transaction, a failure leaves no row behind.
        form = store.upload_form(key=key, content_type=request.content_type,
                                 size=request.size, expires_in=UPLOAD_FORM_SECONDS)
    return {"document": _document_view(document),
            "upload": {"url": form["url"], "fields": form["fields"],
                       "expires_in": UPLOAD_FORM_SECONDS}}


def _upload_key(*, agent: dict, document_id, file: str) -> str:
    # Where the presigned POST writes; the form stays usable for its whole lifetime.
    return f"agents/{agent['cognito_sub']}/documents/{document_id}/{file}"


def _checked_key(*, agent: dict, document_id, file: str) -> str:
    # Where a checked file is kept: no upload form names this key, so nobody can write it.
    return f"agents/{agent['cognito_sub']}/checked/{document_id}/{file}"


def _file_part(key: str) -> str:
    return key.rsplit("/", 1)[1]


def _upload_problems(*, store: DocumentStore, document: dict, key: str,
                     stored: dict) -> list[dict]:
    problems = []
    if stored["size"] != document["size_bytes"]:
        problems.append({"field": "size", "problem": f"announced {document['size_bytes']} "
                                                     f"bytes, uploaded {stored['size']}"})
    stored_type = stored["content_type"].split(";")[0].strip().lower()
    if stored_type != document["content_type"]:
        problems.append({"field": "content_type", "problem": f"announced "
                         f"{document['content_type']}, uploaded {stored_type or 'none'}"})
    else:
        signature = _SIGNATURES[document["content_type"]]
        if store.first_bytes(key=key, count=len(signature)) != signature:
            problems.append({"field": "content", "problem": "the file is not really "
                             f"{document['content_type']}"})
    return problems


def confirm_upload(*, pool, store: DocumentStore, identity: Identity, document_id) -> dict:
    """Check with S3 that the announced file arrived (size, type, first bytes) and mark the
    document uploaded; a wrong file is deleted and the document stays pending.

    The upload form stays usable until it expires, and S3 lets it overwrite its key, so
    the file is first copied to a key no form can write, and that copy is what is checked
    and, from then on, downloaded: what was checked is what is served, whatever is
    uploaded to the form's key afterwards."""
    with pool.connection() as conn:
        agent = own_agent(conn=conn, identity=identity)
        ensure_may_change_documents(agent)
        document = _document(conn=conn, agent_id=agent["id"], document_id=document_id)
        if document["status"] == "uploaded":
            return _document_view(document)
        upload_key = document["s3_key"]
        checked_key = _checked_key(agent=agent, document_id=document["id"],
                                   file=_file_part(upload_key))
        if not store.copy(source=upload_key, target=checked_key):
            raise Conflict("no file has been uploaded for this document yet",
                           code="document_not_uploaded")
        stored = store.describe(key=checked_key)
        problems = (_upload_problems(store=store, document=document, key=checked_key,
                                     stored=stored) if stored is not None
                    else [{"field": "content", "problem": "the copied file vanished"}])
        if problems:
            # What S3 holds is not what was announced: it must not stay where it could be
            # taken for the checked document. The upload form can be used again.
            store.delete(key=checked_key)
            store.delete(key=upload_key)
            raise Unprocessable("the uploaded file is not the one announced; it was removed",
                                code="upload_mismatch", details=problems)
        checked = repository.mark_document_uploaded(conn=conn, document_id=document["id"],
                                                    s3_key=checked_key)
        # Nothing reads the form's key any more; what the form may still write there is
        # removed with the document.
        store.delete(key=upload_key)
        return _document_view(checked)


def _documents_of(*, conn, agent_id) -> dict:
    return {"data": [_document_view(d) for d in repository.list_documents(conn=conn,
                                                                         agent_id=agent_id)]}


def _download(*, store: DocumentStore, document: dict) -> dict:
    if document["status"] != "uploaded":
        raise Conflict("the document's file has not been uploaded and checked yet",
                       code="document_not_uploaded")
    url = store.download_url(
        key=document["s3_key"], content_type=document["content_type"],
        file_name=_file_part(document["s3_key"]),
        expires_in=DOWNLOAD_LINK_SECONDS)
    return {"url": url, "expires_in": DOWNLOAD_LINK_SECONDS}


def list_documents(*, pool, identity: Identity) -> dict:
    """The caller's documents, newest first."""
    with pool.connection() as conn:
        agent = own_agent(conn=conn, identity=identity)
        return _documents_of(conn=conn, agent_id=agent["id"])


def download_link(*, pool, store: DocumentStore, identity: Identity, document_id) -> dict:
    """A short-lived link to one of the caller's checked documents."""
    with pool.connection() as conn:
        agent = own_agent(conn=conn, identity=identity)
        document = _document(conn=conn, agent_id=agent["id"], document_id=document_id)
    return _download(store=store, document=document)


def delete_document(*, pool, store: DocumentStore, identity: Identity, document_id) -> None:
    """Delete one of the caller's documents: the S3 object first, so that a failure leaves
    a row to retry with rather than an object nobody knows of."""
    with pool.connection() as conn:
        agent = own_agent(conn=conn, identity=identity)
        ensure_may_change_documents(agent)
        document = _document(conn=conn, agent_id=agent["id"], document_id=document_id)
        store.delete(key=document["s3_key"])
        # A checked document's upload form may have written its key again since.
        store.delete(key=_upload_key(agent=agent, document_id=document["id"],
                                     file=_file_part(document["s3_key"])))
        repository.delete_document(conn=conn, document_id=document["id"])


def agent_documents(*, pool, agent_id) -> dict:
    """An agent's documents, for administrators reviewing them."""
    with pool.connection() as conn:
        find_agent(conn=conn, agent_id=agent_id)
        return _documents_of(conn=conn, agent_id=agent_id)


def agent_document_link(*, pool, store: DocumentStore, agent_id, document_id) -> dict:
    """A short-lived link to an agent's checked document, for administrators."""
    with pool.connection() as conn:
        find_agent(conn=conn, agent_id=agent_id)
        document = _document(conn=conn, agent_id=agent_id, document_id=document_id)
    return _download(store=store, document=document)
