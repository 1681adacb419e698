"""Signals of the payments app, sent inside the transaction that stores the change.

Receivers that write rows (outbox emails) commit or roll back with it; a payment
or stream rolled back by a reorg before commit fires nothing.
"""

from django.dispatch import Signal

# sender=Payment, payment=<Payment>  (status became confirmed)
payment_confirmed = Signal()
# sender=Payment, payment=<Payment>  (a reorg orphaned a confirmed payment)
payment_orphaned = Signal()
# sender=PaymentStream, stream=<PaymentStream>
stream_created = Signal()
# sender=PaymentStream, stream=<PaymentStream>
stream_cancelled = Signal()
