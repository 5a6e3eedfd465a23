"""The S3 bucket of agents' documents: presigned forms and links, and what is really stored."""
from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from travel_platform.errors import ServiceUnavailable

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
_ALSO_ACCEPTED = {"image/jpeg": (".jpeg",)}


def storage_file_name(file_name: str, content_type: str, *, max_length: int = 100) -> str:
    """A file name safe in an S3 key and a Content-Disposition header, ending in the
    extension of its content type (so `x.exe` announced as a PDF is saved as `x.exe.pdf`)."""
    base = re.split(r"[\\/]", file_name)[-1]
    ascii_name = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    safe = _UNSAFE.sub("_", ascii_name)
    stem, extension = safe, _EXTENSIONS[content_type]
    for suffix in (extension, *_ALSO_ACCEPTED.get(content_type, ())):
        if safe.lower().endswith(suffix):
            stem, extension = safe[:-len(suffix)], safe[-len(suffix):]
            break
    stem = stem.strip("._-") or "file"
    return stem[:max_length - len(extension)] + extension


@contextmanager
def _failures(operation: str) -> Iterator[None]:
    """Every S3 failure becomes a 503, never a 500."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        log.warning("S3 %s failed: %s", operation, exc)
        raise ServiceUnavailable("the document store failed, try again shortly") from exc


class DocumentStore:
    """The one bucket of agents' documents."""

    def __init__(self, client, *, bucket: str, presigner=None):
        self._client = client
        # Makes the presigned forms and links (for the address browsers use).
        self._presigner = presigner or client
        self.bucket = bucket

    def upload_form(self, *, key: str, content_type: str, size: int, expires_in: int) -> dict:
        """A presigned POST that S3 accepts only for this key, content type and exact size."""
        with _failures("presigned POST"):
            return self._presigner.generate_presigned_post(
                Bucket=self.bucket, Key=key, Fields={"Content-Type": content_type},
                Conditions=[{"Content-Type": content_type},
                            ["content-length-range", size, size]],
                ExpiresIn=expires_in)

    def download_url(self, *, key: str, file_name: str, content_type: str,
                     expires_in: int) -> str:
        """A presigned GET that downloads the file as an attachment of its checked type."""
        with _failures("presigned GET"):
            return self._presigner.generate_presigned_url(
                "get_object", ExpiresIn=expires_in, Params={
                    "Bucket": self.bucket, "Key": key, "ResponseContentType": content_type,
                    "ResponseContentDisposition": f'attachment; filename="{file_name}"'})

    def copy(self, *, source: str, target: str) -> bool:
        """Copy an object within the bucket (S3 copies one version of it, whole); False if
        there is no object at `source`."""
        with _failures("copy_object"):
            try:
                self._client.copy_object(Bucket=self.bucket, Key=target,
                                         CopySource={"Bucket": self.bucket, "Key": source})
            except ClientError as exc:
                if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                    return False
                raise
        return True

    def describe(self, *, key: str) -> dict | None:
        """Size and content type of the stored object, or None if there is none."""
        with _failures("head_object"):
            try:
                head = self._client.head_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                    return None
                raise
        return {"size": head["ContentLength"], "content_type": head.get("ContentType", "")}

    def first_bytes(self, *, key: str, count: int) -> bytes:
        """The first `count` bytes of the object."""
        with _failures("get_object"):
            response = self._client.get_object(Bucket=self.bucket, Key=key,
                                               Range=f"bytes=0-{count - 1}")
            with response["Body"] as body:
                return body.read(count)

    def delete(self, *, key: str) -> None:
        """Delete the object (S3 answers the same whether it existed or not)."""
        with _failures("delete_object"):
            self._client.delete_object(Bucket=self.bucket, Key=key)
