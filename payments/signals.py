"""Signals of the payments app, sent inside the transaction that stores the change.

Receivers that write rows (outbox emails) commit or roll back with it; a payment
or stream rolled back by a reorg before commit fires nothing.
"""

from django.dispatch import Signal

# sender=Payment, payment=<Payment>  (status became confirmed)
payment_confirmed = Signal()
# sender=Payment, payment=<Payment>  (a reorg orphaned a confirmed payment)
payment_orphaned = Signal()
# sender=PaymentStream, stream=<PaymentStream>  (its creation is confirmed)
stream_created = Signal()
# sender=PaymentStream, stream=<PaymentStream>  (its cancel is confirmed)
stream_cancelled = Signal()
# sender=PaymentStream, stream=<PaymentStream as it was>  (a reorg removed a stream whose creation was
# confirmed; the row is deleted right after the signal, in the same transaction)
stream_orphaned = Signal()
# sender=PaymentStream, stream=<PaymentStream as it was, still cancelled>  (a reorg undid a confirmed
# cancel: the stream runs again; the row's cancel fields are cleared right after the signal)
stream_cancel_orphaned = Signal()
