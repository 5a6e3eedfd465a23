"""HTTP client for calls between services: timeouts, request id, caller's token."""
from __future__ import annotations

import requests
from flask import has_request_context, request
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from shared.errors import ServiceUnavailable
from shared.observability import REQUEST_ID_HEADER, current_request_id


class ServiceClient:
    """Calls one other service; every call has a connect and a read timeout."""

    def __init__(self, *, name: str, base_url: str, connect_timeout: float, read_timeout: float):
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.session = requests.Session()

    def _headers(self) -> dict[str, str]:
        headers = {}
        request_id = current_request_id()
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        # The callee verifies the caller's own token: nothing is trusted for where it comes from.
        if has_request_context() and request.headers.get("Authorization"):
            headers["Authorization"] = request.headers["Authorization"]
        return headers

    @retry(retry=retry_if_exception_type(requests.ConnectionError), reraise=True,
           stop=stop_after_attempt(2), wait=wait_exponential(multiplier=0.05, max=0.2))
    def _get(self, path: str, params: dict | None) -> requests.Response:
        return self.session.get(f"{self.base_url}{path}", params=params,
                                headers=self._headers(), timeout=self.timeout)

    def get(self, path: str, *, params: dict | None = None) -> requests.Response:
        """GET (idempotent, so retried once on a connection failure)."""
        try:
            return self._get(path, params)
        except requests.RequestException as exc:
            raise ServiceUnavailable(f"{self.name} is unavailable", code="dependency_unavailable",
                                     details=[{"dependency": self.name}]) from exc

    def check_health(self) -> None:
        """Raise ServiceUnavailable unless the service says it is alive."""
        response = self.get("/health")
        if response.status_code != 200:
            raise ServiceUnavailable(f"{self.name} answered {response.status_code}")
