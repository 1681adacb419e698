"""The app's URLs plus three test pages for the wallet bundles (tests/test_wallet_browser.py sets ROOT_URLCONF
to this module), so the browser tests do not depend on the watch page's template.

The pages carry no inline script (the app's CSP applies to them too): the checkout's configuration is a JSON
data block (`json_script`), the bundles come from /static/wallet/. The playback stand-in answers like
GET /api/videos/{id}/playback: 403 `payment_required` until `PLAYBACK["playable"]()` says yes, then 200.
"""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from django.templatetags.static import static
from django.urls import path
from django.utils.html import format_html, json_script

from config.urls import urlpatterns as app_urlpatterns

CHECKOUT = {"config": {}}
PLAYBACK = {"playable": lambda: False, "polls": 0}


def checkout_page(request):
    return HttpResponse(format_html(
        '<!doctype html><html><head><meta charset="utf-8"><title>Checkout test</title></head><body>'
        '<div id="paywall" data-checkout data-checkout-config="checkout-config"></div>{}'
        '<script src="{}"></script></body></html>',
        json_script(CHECKOUT["config"], "checkout-config"), static("wallet/checkout.js"),
    ))


def siwe_page(request):
    return HttpResponse(format_html(
        '<!doctype html><html><head><meta charset="utf-8"><title>SIWE test</title></head><body>'
        '<div id="siwe" data-siwe data-statement="Sign in to Flowcast."><button type="button">Sign in with Ethereum</button></div>'
        '<script src="{}"></script></body></html>',
        static("wallet/siwe.js"),
    ))


def playback(request):
    PLAYBACK["polls"] += 1
    if not PLAYBACK["playable"]():
        return JsonResponse({"code": "payment_required", "message": "Pay to watch this video."}, status=403)
    return JsonResponse({"master_url": "/play/test/master.m3u8", "variants": []})


urlpatterns = [
    path("test-wallet/checkout/", checkout_page),
    path("test-wallet/siwe/", siwe_page),
    path("test-wallet/playback/", playback),
    *app_urlpatterns,
]
