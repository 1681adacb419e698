"""Client of the IPFS Pinning Service API (v0.1.x): pin by CID, poll, delete; bearer token.

`POST /pins` answers 202 with a PinStatus (queued → pinning → pinned | failed);
`GET /pins/{requestid}` polls it; `DELETE /pins/{requestid}` removes it. Errors
are `{"error": {"reason", "details"}}`. Connection errors, timeouts, 429 and 5xx
are transient and retried; 4xx are not (401 bad token, 409 insufficient funds).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from integrations.ipfs.cid import cid_normalize
from integrations.retry import transient_retry

STATUSES = ("queued", "pinning", "pinned", "failed")


class PinningServiceError(Exception):
    def __init__(self, message: str, *, status: int | None = None, reason: str = "", transient: bool = False):
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.transient = transient


def is_transient(error: BaseException) -> bool:
    if isinstance(error, PinningServiceError):
        return error.transient
    return isinstance(error, httpx.TransportError)


@dataclass(frozen=True)
class PinStatus:
    request_id: str
    status: str
    cid: str
    name: str = ""
    delegates: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, body: dict) -> PinStatus:
        status = body.get("status")
        if status not in STATUSES:
            raise PinningServiceError(f"pinning service answered an unknown status {status!r}")
        pin = body.get("pin") or {}
        return cls(request_id=str(body["requestid"]), status=status, cid=cid_normalize(pin.get("cid", "")),
                   name=pin.get("name") or "", delegates=list(body.get("delegates") or []), info=dict(body.get("info") or {}))


class PinningServiceClient:
    def __init__(self, base_url: str, token: str, *, timeout: float = 30.0, attempts: int = 4,
                 initial_wait: float = 0.2, max_wait: float = 5.0):
        if not base_url:
            raise ValueError("the pinning service URL is not set")
        self.base_url = base_url.rstrip("/")
        self.attempts = attempts
        self.initial_wait = initial_wait
        self.max_wait = max_wait
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout,
                                 headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})

    def close(self) -> None:
        self.http.close()

    def _request(self, method: str, path: str, **kwargs) -> httpx.Response:
        def call():
            response = self.http.request(method, path, **kwargs)
            if response.status_code >= 400:
                reason, details = "", response.text[:300]
                try:
                    error = response.json().get("error", {})
                    reason, details = error.get("reason", ""), error.get("details", "") or details
                except (ValueError, AttributeError):
                    pass
                transient = response.status_code == 429 or response.status_code >= 500
                raise PinningServiceError(f"{method} {path}: {response.status_code} {reason} {details}".strip(),
                                          status=response.status_code, reason=reason, transient=transient)
            return response

        retrying = transient_retry(is_transient, attempts=self.attempts, initial_wait=self.initial_wait, max_wait=self.max_wait)
        return retrying(call)

    def add(self, cid: str, *, name: str = "", origins: list[str] | None = None, meta: dict | None = None) -> PinStatus:
        body = {"cid": cid}
        if name:
            body["name"] = name[:255]
        if origins:
            body["origins"] = origins
        if meta:
            body["meta"] = {key: str(value) for key, value in meta.items()}
        return PinStatus.from_json(self._request("POST", "/pins", json=body).json())

    def get(self, request_id: str) -> PinStatus:
        return PinStatus.from_json(self._request("GET", f"/pins/{request_id}").json())

    def replace(self, request_id: str, cid: str, *, name: str = "") -> PinStatus:
        body = {"cid": cid, **({"name": name} if name else {})}
        return PinStatus.from_json(self._request("POST", f"/pins/{request_id}", json=body).json())

    def delete(self, request_id: str) -> None:
        try:
            self._request("DELETE", f"/pins/{request_id}")
        except PinningServiceError as error:
            if error.status != 404:  # already gone is what we wanted
                raise

    def list(self, *, cids: list[str] | None = None, status: list[str] | None = None, name: str | None = None,
             limit: int = 10) -> tuple[int, list[PinStatus]]:
        params: dict = {"limit": limit}
        if cids:
            if len(cids) > 10:
                raise ValueError("the API filters by at most 10 CIDs at once")
            params["cid"] = ",".join(cids)
        if status:
            params["status"] = ",".join(status)
        if name:
            params["name"] = name
        body = self._request("GET", "/pins", params=params).json()
        return int(body.get("count", 0)), [PinStatus.from_json(item) for item in body.get("results", [])]
