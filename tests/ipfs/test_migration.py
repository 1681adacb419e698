"""The IPFS records move from the old `integrations` app to `pinning`: rows, ids, permissions and the
sweeper's schedule come along (pinning/migrations/0001_initial.py)."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from pinning.models import IPFSRecord

migration = importlib.import_module("pinning.migrations.0001_initial")


def old_table_model(*, one_uploader: bool = True):
    """The record model as the old app stored it, in a throwaway migration state (named indexes dropped:
    those names belong to the new table)."""
    state = MigrationLoader(connection).project_state(("pinning", "0001_initial"))
    if not one_uploader:  # before integrations 0003 `uploaded_by` was a many-to-many
        state.models["pinning", "ipfsrecord"].fields.pop("uploaded_by")
    model = state.apps.get_model("pinning", "IPFSRecord")
    model._meta.db_table = migration.OLD_TABLE
    model._meta.indexes, model._meta.constraints = [], []
    return model


@pytest.mark.django_db(transaction=True)
def test_rows_of_the_old_table_move_to_the_new_one_with_their_ids(django_user_model):
    from django_q.models import Schedule

    user = django_user_model.objects.create_user(email="old@example.com", password="pw-123456789")
    Old = old_table_model()
    with connection.schema_editor() as editor:
        editor.create_model(Old)
    Old.objects.create(id=41, cid="QmOldRecord", kind="file", name="old.txt", backend="embedded", status="pinned",
                       size=12, import_params={"cid_version": 0}, uploaded_by_id=user.pk)
    Schedule.objects.filter(name="ipfs-records-sweep").update(func="integrations.tasks.ipfs_records_sweep")
    Schedule.objects.create(name="old pin", func="integrations.tasks.ipfs_record_pin", schedule_type="O")

    with connection.schema_editor() as editor:
        migration.ipfs_records_adopt(apps, editor)
        migration.schedules_repoint(apps, editor)

    assert migration.OLD_TABLE not in connection.introspection.table_names()
    record = IPFSRecord.objects.get(pk=41)
    assert (record.cid, record.name, record.status, record.size, record.uploaded_by_id, record.import_params) == (
        "QmOldRecord", "old.txt", "pinned", 12, user.pk, {"cid_version": 0})
    assert IPFSRecord.objects.create(kind="file", name="next", backend="embedded").pk > 41  # ids go on after the copy
    assert Schedule.objects.get(name="ipfs-records-sweep").func == "pinning.tasks.ipfs_records_sweep"
    assert Schedule.objects.get(name="old pin").func == "pinning.tasks.ipfs_record_pin"


@pytest.mark.django_db(transaction=True)
def test_without_the_old_table_there_is_nothing_to_copy():
    with connection.schema_editor() as editor:
        migration.ipfs_records_adopt(apps, editor)
    assert IPFSRecord.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_table_from_before_one_uploader_per_record_is_refused_with_the_way_out():
    Old = old_table_model(one_uploader=False)
    with connection.schema_editor() as editor:
        editor.create_model(Old)
    try:
        with pytest.raises(RuntimeError, match="release before the pinning app"), connection.schema_editor() as editor:
            migration.ipfs_records_adopt(apps, editor)
        assert migration.OLD_TABLE in connection.introspection.table_names()  # nothing dropped
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(Old)


@pytest.mark.django_db(transaction=True)
def test_staff_keep_their_ipfs_record_permissions():
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.filter(app_label="pinning", model="ipfsrecord").update(app_label="integrations")
    ContentType.objects.clear_cache()
    old_type = ContentType.objects.get(app_label="integrations", model="ipfsrecord")
    with connection.schema_editor() as editor:
        migration.content_type_rename(apps, editor)
    ContentType.objects.clear_cache()
    assert ContentType.objects.get_for_model(IPFSRecord).pk == old_type.pk
    assert Permission.objects.filter(content_type=old_type, codename="change_ipfsrecord").exists()
