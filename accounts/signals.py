"""Signals of the accounts app, sent inside the transaction that makes the change.

Receivers that write rows (payment rows, outbox emails) commit or roll back with it; anything
they send goes out on commit.
"""

from django.dispatch import Signal

# sender=User, user=<User>, address=<lowercase 0x address>  (the wallet is now linked to the user;
# the user row is saved already)
wallet_linked = Signal()
# sender=User, user=<User>  (an unverified, active account asked for a new verification link)
email_verification_requested = Signal()
