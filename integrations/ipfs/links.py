"""The link handed out for a CID: pure, the gateway's addresses are passed in."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from integrations.ipfs.cid import cid_parse, cid_to_str, cid_to_v1


def content_url(cid: str, *, gateway_url: str, gateway_origin: str = "", directory: bool = False,
                filename: str = "") -> str:
    """On the separate gateway origin when one is given (`<cidv1>.<host>`, Kubo's subdomain form), else
    under the path gateway `gateway_url`. A file's `filename` names the type the gateway serves it as."""
    if gateway_origin:
        parts = urlsplit(gateway_origin)
        url = f"{parts.scheme}://{cid_to_str(cid_to_v1(cid_parse(cid)))}.{parts.netloc}/"
    else:
        url = f"{gateway_url.rstrip('/')}/{cid}" + ("/" if directory else "")
    return url + (f"?filename={quote(filename)}" if filename and not directory else "")
