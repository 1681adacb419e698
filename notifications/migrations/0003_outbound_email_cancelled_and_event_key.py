"""Emails a reorg made untrue: a `cancelled` state (with its reason) and the chain event each email is about."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0002_sweeper_schedule'),
    ]

    operations = [
        migrations.AddField(
            model_name='outboundemail',
            name='event_key',
            field=models.CharField(blank=True, db_index=True, help_text='the chain event this email is about (chain id:contract:tx:log index:block hash)', max_length=255),
        ),
        migrations.AlterField(
            model_name='outboundemail',
            name='status',
            field=models.CharField(choices=[('queued', 'Queued'), ('sending', 'Sending'), ('sent', 'Sent'), ('failed', 'Failed'), ('cancelled', 'Cancelled')], default='queued', max_length=10),
        ),
        migrations.AddConstraint(
            model_name='outboundemail',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'cancelled'), _negated=True), models.Q(('last_error', ''), _negated=True), _connector='OR'), name='notif_email_cancelled_has_reason'),
        ),
    ]
