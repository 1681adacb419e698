"""Signal receivers of payments (dispatch only). Connected in `PaymentsConfig.ready()`."""

from django.dispatch import receiver

from accounts.signals import wallet_linked
from payments import services


@receiver(wallet_linked, dispatch_uid="payments.wallet_linked")
def on_wallet_linked(sender, user, address, **kwargs):
    # In the linking transaction: the account and its payment rows change together or not at all.
    services.wallet_rows_link(user=user, address=address)
