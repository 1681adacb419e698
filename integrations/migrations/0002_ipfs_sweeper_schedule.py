"""Schedule the IPFS pin sweeper (requeues pins whose worker died or whose retry is due)."""

from django.db import migrations


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name="ipfs-records-sweep",
        defaults={"func": "integrations.tasks.ipfs_records_sweep", "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="ipfs-records-sweep").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_ipfs_record"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
