"""Where each log came from (the emitting contract, the cancel's log index and block hash): the parts
of an event's chain identity that outbox keys are built from (`chain_event_key`)."""

from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery


def fill_contract_address(apps, schema_editor):
    Payment = apps.get_model("payments", "Payment")
    PaymentStream = apps.get_model("payments", "PaymentStream")
    ChainDeployment = apps.get_model("payments", "ChainDeployment")
    # A Transfer log comes from the token; a withdrawal or cancel payout from the stream contract.
    Payment.objects.filter(kind="transfer").update(contract_address=F("token_address"))
    Payment.objects.filter(kind="withdrawal", stream__isnull=False).update(
        contract_address=Subquery(PaymentStream.objects.filter(pk=OuterRef("stream_id")).values("contract_address")[:1])
    )
    for deployment in ChainDeployment.objects.all():
        Payment.objects.filter(chain_id=deployment.chain_id, kind="withdrawal", contract_address="").update(
            contract_address=deployment.stream_address
        )


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0002_indexer_schedule'),
    ]

    operations = [
        migrations.AddField(
            model_name='payment',
            name='contract_address',
            field=models.CharField(blank=True, help_text='the contract that emitted the log: the token (transfers) or the stream contract', max_length=42),
        ),
        migrations.AddField(
            model_name='paymentstream',
            name='cancel_block_hash',
            field=models.CharField(blank=True, max_length=66),
        ),
        migrations.AddField(
            model_name='paymentstream',
            name='cancel_log_index',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(fill_contract_address, migrations.RunPython.noop),
    ]
