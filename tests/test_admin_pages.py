"""The admin in a real browser."""

import pytest

from accounts.models import User
from tests.fixtures.browser import save_screenshot

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_staff_signs_in_to_the_admin(page, live_server):
    User.objects.create_superuser(email="staff@example.com", password="a-long-staff-password")
    page.goto(f"{live_server.url}/admin/")
    assert "Flowcast admin" in page.title()
    page.fill("#id_username", "staff@example.com")
    page.fill("#id_password", "a-long-staff-password")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    assert "Run the platform" in page.content()
    assert page.locator("a", has_text="Users").count() >= 1
    save_screenshot(page, "admin-index")
