"""Routes of the calling agent's documents."""
from flask import jsonify, url_for

from agent_service import documents
from agent_service.routes import agents, document_store, no_content, rds_pool
from agent_service.schemas import (
    Document,
    DocumentList,
    DocumentUpload,
    DocumentUploadRequest,
    DownloadLink,
)
from travel_platform.api import body, created, responds
from travel_platform.web import AGENT, current_identity, require_identity


@agents.get("/me/documents")
@responds(200, DocumentList)
@responds(404, None, "This account has no agent profile")
@require_identity(AGENT)
def my_documents():
    """The caller's documents, newest first."""
    return jsonify(documents.list_documents(pool=rds_pool(), identity=current_identity()))


@agents.post("/me/documents")
@responds(201, DocumentUpload, "Created: upload the file with the presigned POST")
@responds(404, None, "This account has no agent profile")
@responds(409, None, "Too many documents")
@require_identity(AGENT)
@body(DocumentUploadRequest)
def request_upload(body: DocumentUploadRequest):
    """Announce a document (PDF, JPEG or PNG, at most 10 MB) and get a presigned S3 POST
    for exactly that file; then upload it and confirm. Suspended agents may not.

    `Location` is the document's download link (the one URL that reads one document)."""
    upload = documents.request_upload(pool=rds_pool(), store=document_store(),
                                      identity=current_identity(), request=body)
    return created(upload, location=url_for("agents.download_document",
                                            document_id=upload["document"]["id"]))


@agents.post("/me/documents/<uuid:document_id>/confirm")
@responds(200, Document, "Checked and marked uploaded")
@responds(409, None, "Nothing has been uploaded yet")
@responds(422, None, "What was uploaded is not what was announced (it was removed)")
@require_identity(AGENT)
def confirm_upload(document_id):
    """Check with S3 that the announced file arrived, and mark the document uploaded."""
    return jsonify(documents.confirm_upload(pool=rds_pool(), store=document_store(),
                                            identity=current_identity(), document_id=document_id))


@agents.get("/me/documents/<uuid:document_id>/download")
@responds(200, DownloadLink)
@responds(409, None, "The file has not been uploaded and checked yet")
@require_identity(AGENT)
def download_document(document_id):
    """A presigned GET, valid for two minutes, for one of the caller's documents."""
    return jsonify(documents.download_link(pool=rds_pool(), store=document_store(),
                                           identity=current_identity(), document_id=document_id))


@agents.delete("/me/documents/<uuid:document_id>")
@responds(204, None, "Deleted")
@require_identity(AGENT)
def delete_document(document_id):
    """Delete one of the caller's documents and its file."""
    documents.delete_document(pool=rds_pool(), store=document_store(), identity=current_identity(),
                              document_id=document_id)
    return no_content()
