"""The separate gateway origin (IPFS_GATEWAY_ORIGIN): Kubo's subdomain gateway, served by the same gateway code.

`<cidv1>.<gateway host>/<path>` serves `/ipfs/<cid>/<path>`, each root CID its own origin; a path request
`<gateway host>/ipfs/<cid>/<path>` redirects there (a CIDv0 becomes its base32 CIDv1: host names are
case-insensitive). These requests never reach the app's sessions, CSRF or pages: this middleware answers them
right after SecurityMiddleware (HTTPS redirect and HSTS still apply).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponsePermanentRedirect

from pinning import gateway
from integrations.ipfs.cid import InvalidCID, cid_parse, cid_to_str, cid_to_v1, cid_version


class SubdomainGatewayMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        origin = settings.IPFS_GATEWAY_ORIGIN
        if not origin:
            return self.get_response(request)
        gateway_host = urlsplit(origin).hostname
        host = request.get_host().rsplit(":", 1)[0].lower()
        if host == gateway_host:
            return gateway.confine(self.path_request(request, origin), separate_origin=True)
        if host.endswith("." + gateway_host):
            label = host[: -len(gateway_host) - 1]
            if "." in label:
                return gateway.confine(gateway.plain(404, f"unknown host {host}"), separate_origin=True)
            return self.subdomain_request(request, label)
        return self.get_response(request)

    @staticmethod
    def path_request(request, origin: str):
        prefix, _, rest = request.path.lstrip("/").partition("/")
        cid, _, path = rest.partition("/")
        if prefix != "ipfs" or not cid:
            return gateway.plain(404, "this host is an IPFS gateway: ask for /ipfs/<cid>/<path>")
        try:
            root = cid_parse(cid)
        except InvalidCID as error:
            return gateway.plain(400, f"invalid CID: {error}")
        query = request.META.get("QUERY_STRING", "")
        parts = urlsplit(origin)
        location = f"{parts.scheme}://{cid_to_str(cid_to_v1(root))}.{parts.netloc}/{path}"
        return HttpResponsePermanentRedirect(location + (f"?{query}" if query else ""))

    @staticmethod
    def subdomain_request(request, label: str):
        from pinning import services

        try:
            if cid_version(cid_parse(label)) == 0:
                raise InvalidCID("a host name needs a CIDv1 (base32): ask for /ipfs/<cid> on the gateway host")
        except InvalidCID as error:
            return gateway.confine(gateway.plain(400, f"invalid CID: {error}"), separate_origin=True)
        return gateway.ipfs_gateway(request, label, request.path.lstrip("/"), node=services.ipfs_node(),
                                    separate_origin=True)
