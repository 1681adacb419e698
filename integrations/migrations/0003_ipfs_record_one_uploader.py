"""Each upload is its uploader's own record: the CID is no longer unique per backend, and `uploaded_by`
becomes one user. A record that several users shared is split into one record per uploader (same CID,
status and pin), so nobody keeps access to another user's record; pins are counted across records by CID."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def split_shared_records(apps, schema_editor):
    IPFSRecord = apps.get_model("integrations", "IPFSRecord")
    Through = IPFSRecord.uploaded_by.through
    for record in IPFSRecord.objects.filter(pk__in=Through.objects.values("ipfsrecord_id")).order_by("pk"):
        uploaders = Through.objects.filter(ipfsrecord_id=record.pk).order_by("id")
        user_ids = list(uploaders.values_list("user_id", flat=True))
        IPFSRecord.objects.filter(pk=record.pk).update(uploader_id=user_ids[0])
        for user_id in user_ids[1:]:
            record.pk = record.id = None
            record.uploader_id = user_id
            record.save(force_insert=True)


def join_split_records(apps, schema_editor):
    IPFSRecord = apps.get_model("integrations", "IPFSRecord")
    for record in IPFSRecord.objects.exclude(uploader=None):
        record.uploaded_by.add(record.uploader_id)


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0002_ipfs_sweeper_schedule"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="ipfsrecord", name="integrations_ipfsrecord_cid_backend_unique"),
        migrations.AddField(
            model_name="ipfsrecord",
            name="uploader",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                    related_name="+", to=settings.AUTH_USER_MODEL),
        ),
        migrations.RunPython(split_shared_records, join_split_records),
        migrations.RemoveField(model_name="ipfsrecord", name="uploaded_by"),
        migrations.RenameField(model_name="ipfsrecord", old_name="uploader", new_name="uploaded_by"),
        migrations.AlterField(
            model_name="ipfsrecord",
            name="uploaded_by",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                    related_name="ipfs_uploads", to=settings.AUTH_USER_MODEL),
        ),
    ]
