from django.conf import settings
from ninja.throttling import SimpleRateThrottle

from core.http import client_ip


class SensitiveEndpointThrottle(SimpleRateThrottle):
    """Per client address and endpoint, for sign-in, registration, SIWE and verification.

    The rate is read from `AUTH_THROTTLE_RATE` at request time, so it can be tuned
    per deployment (and per test) without a restart of the import graph.
    """

    scope = "sensitive"

    def __init__(self):
        self.rate = None
        self.num_requests, self.duration = None, None

    def allow_request(self, request) -> bool:
        self.num_requests, self.duration = self.parse_rate(settings.AUTH_THROTTLE_RATE)
        return super().allow_request(request)

    def get_ident(self, request):
        # X-Forwarded-For only from the NINJA_NUM_PROXIES trusted proxies, read at request time.
        return client_ip(request)

    def get_cache_key(self, request):
        return self.cache_format % {"scope": f"{self.scope}:{request.path}", "ident": self.get_ident(request)}


sensitive_throttle = SensitiveEndpointThrottle()
