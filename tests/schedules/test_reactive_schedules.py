"""Reactive (datastore) schedules: one run per added or changed file, exactly once, through outages."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from headrace.errors import NotFoundError, PathEscapeError, ScheduleError
from headrace.services import schedules as svc_schedules
from headrace.storage.records import TickOutcome


def create(svc, published, **options):
    options.setdefault("path_on_datastore", "incoming")
    options.setdefault("polling_interval", 0.05)  # 3 s
    options.setdefault("data_path_parameter_name", "input_data")
    return svc_schedules.create_schedule(svc, name="on-file", experiment_name="files",
                                         published_pipeline_id=published, datastore="workspaceblobstore", **options)


def touch(path, text="x", mtime=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def poll(clock, sch, seconds=3):
    clock.advance(seconds=seconds)
    return sch.run_pending().runs


def test_new_and_changed_files_fire_once_each(svc, published, incoming, clock, scheduler, runs):
    s = create(svc, published)
    sch = scheduler()
    assert poll(clock, sch) == []  # old.csv was there at creation
    touch(incoming / "new.csv")
    [first] = poll(clock, sch)
    assert poll(clock, sch) == []
    touch(incoming / "new.csv", "changed", mtime=1_900_000_000)
    [second] = poll(clock, sch)
    (incoming / "old.csv").unlink()
    assert poll(clock, sch) == []  # deletions do not fire
    made = runs.of(s.id)
    assert [r.id for r in made] == [first, second]
    assert made[0].parameters["input_data"] == {"datastore": "workspaceblobstore", "path": "incoming/new.csv"}
    assert made[0].tags["headrace.path"] == "incoming/new.csv" and made[0].tags["headrace.trigger"] == "file"
    assert svc.store.get_schedule_files(s.id).keys() == {"incoming/new.csv"}
    reasons = [t.reason for t in svc.store.list_schedule_ticks(s.id)]
    assert "1 file(s) deleted (deletions do not fire)" in reasons[0]


def test_polling_interval_is_respected(svc, published, incoming, clock, scheduler):
    create(svc, published, polling_interval=5)
    touch(incoming / "a.csv")
    sch = scheduler()
    assert poll(clock, sch, seconds=299) == []
    assert len(poll(clock, sch, seconds=1)) == 1


def test_each_of_several_files_is_one_run(svc, published, incoming, clock, scheduler, runs):
    s = create(svc, published)
    for i in range(5):
        touch(incoming / f"f{i}.csv")
    assert len(poll(clock, scheduler())) == 5
    paths = sorted(r.parameters["input_data"]["path"] for r in runs.of(s.id))
    assert paths == [f"incoming/f{i}.csv" for i in range(5)]


def test_sub_folders_only_when_recursive(svc, published, incoming, clock, scheduler, runs):
    flat = create(svc, published)
    deep = create(svc, published, recursive=True)
    touch(incoming / "sub" / "deep.csv")
    poll(clock, scheduler())
    assert runs.of(flat.id) == []
    assert [r.parameters["input_data"]["path"] for r in runs.of(deep.id)] == ["incoming/sub/deep.csv"]


def test_batch_mode_is_one_run_per_poll(svc, published, incoming, clock, scheduler, runs):
    s = create(svc, published, batch=True)
    touch(incoming / "a.csv")
    touch(incoming / "b.csv")
    assert len(poll(clock, scheduler())) == 1
    [run] = runs.of(s.id)
    assert json.loads(run.tags["headrace.files"]) == ["incoming/a.csv", "incoming/b.csv"]
    assert run.parameters["input_data"] == {"datastore": "workspaceblobstore", "path": "incoming"}


def test_outage_is_recorded_retried_and_loses_nothing(svc, published, incoming, clock, scheduler, runs):
    s = create(svc, published)
    sch = scheduler()
    moved = incoming.with_name("incoming.offline")
    incoming.rename(moved)  # the store "goes away"
    assert poll(clock, sch) == []
    assert poll(clock, sch) == []
    ticks = svc.store.list_schedule_ticks(s.id)
    assert [t.outcome for t in ticks] == [TickOutcome.FAILED, TickOutcome.FAILED]
    assert "listing failed" in ticks[0].reason and "incoming" in ticks[0].reason
    assert svc.store.get_schedule(s.id).failures == 2
    assert svc.store.get_schedule_files(s.id).keys() == {"incoming/old.csv"}  # cursor untouched
    touch(moved / "during.csv")  # a change made while unreachable
    moved.rename(incoming)
    [run] = poll(clock, sch)
    assert runs.of(s.id)[0].parameters["input_data"]["path"] == "incoming/during.csv"
    assert run == runs.of(s.id)[0].id
    assert svc.store.get_schedule(s.id).failures == 0


class Crash(BaseException):
    pass


def test_crash_between_run_and_cursor_save_makes_no_duplicate(svc, published, incoming, clock, scheduler, runs):
    s = create(svc, published)
    touch(incoming / "a.csv")
    touch(incoming / "b.csv")
    clock.advance(seconds=3)

    def die_after_second(_record, _run, seen=[]):  # noqa: B006 - counts calls
        seen.append(1)
        if len(seen) == 2:
            raise Crash

    with pytest.raises(Crash):
        scheduler(after_fire=die_after_second).run_pending()
    assert len(runs.of(s.id)) == 2
    assert "incoming/a.csv" not in svc.store.get_schedule_files(s.id)  # cursor not saved
    clock.advance(seconds=61)  # the dead owner's lease expires
    again = scheduler().run_pending().runs
    assert sorted(again) == sorted(r.id for r in runs.of(s.id))
    assert len(runs.of(s.id)) == 2
    assert {"incoming/a.csv", "incoming/b.csv"} <= svc.store.get_schedule_files(s.id).keys()


def test_enable_rebaselines(svc, published, incoming, clock, scheduler, runs):
    s = create(svc, published)
    svc_schedules.set_status(svc, s.id, "Disabled")
    touch(incoming / "while-off.csv")
    svc_schedules.set_status(svc, s.id, "Active")
    assert poll(clock, scheduler()) == []
    assert "incoming/while-off.csv" in svc.store.get_schedule_files(s.id)


@pytest.mark.parametrize(
    ("options", "error", "field"),
    [
        ({"polling_interval": 0}, ScheduleError, "polling_interval"),
        ({"polling_interval": "5"}, ScheduleError, "polling_interval"),
        ({"data_path_parameter_name": "when"}, ScheduleError, "data_path_parameter_name"),
        ({"data_path_parameter_name": "nope"}, ScheduleError, "data_path_parameter_name"),
        ({"path_on_datastore": "incoming/old.csv"}, ScheduleError, "path_on_datastore"),  # a file
        ({"path_on_datastore": "../outside"}, PathEscapeError, None),
        ({"path_on_datastore": "incoming/old.csv"}, ScheduleError, "path_on_datastore"),
    ],
)
def test_bad_input(svc, published, incoming, clock, options, error, field):
    with pytest.raises(error) as info:
        create(svc, published, **options)
    if field:
        assert info.value.field == field
    assert svc.store.list_schedules() == []


def test_folder_that_does_not_exist_yet_is_watched(svc, published, incoming, clock, scheduler, runs):
    s = create(svc, published, path_on_datastore="later/drop")  # accepted, as in Azure ML
    assert svc.store.get_schedule_files(s.id) == {}
    sch = scheduler()
    assert poll(clock, sch) == []
    [tick] = svc.store.list_schedule_ticks(s.id)
    assert tick.outcome is not TickOutcome.FAILED  # not there yet is not an outage
    touch(incoming.parent / "later" / "drop" / "first.csv")
    [fired] = poll(clock, sch)
    assert poll(clock, sch) == []
    [run] = runs.of(s.id)
    assert run.id == fired and run.parameters["input_data"]["path"] == "later/drop/first.csv"
    shutil.rmtree(incoming.parent / "later")  # once files were seen, a vanished folder is an outage again
    poll(clock, sch)
    assert svc.store.list_schedule_ticks(s.id)[0].outcome is TickOutcome.FAILED


def test_unknown_datastore(svc, published, clock):
    with pytest.raises(NotFoundError, match="datastore 'nope'"):
        svc_schedules.create_schedule(svc, name="x", experiment_name="e", published_pipeline_id=published,
                                      datastore="nope")


def test_watched_datastore_removed_is_a_failure_not_deletions(svc, published, incoming, clock, scheduler, runs):
    s = create(svc, published)
    shutil.rmtree(incoming)
    poll(clock, scheduler())
    [tick] = svc.store.list_schedule_ticks(s.id)
    assert tick.outcome is TickOutcome.FAILED
    assert svc.store.get_schedule_files(s.id).keys() == {"incoming/old.csv"}


def test_watched_folder_replaced_by_a_file_is_a_failed_tick_not_a_run(svc, published, incoming, clock, scheduler,
                                                                      runs):
    s = create(svc, published)
    shutil.rmtree(incoming)
    incoming.write_text("now a file")
    assert poll(clock, scheduler()) == []
    assert runs.of(s.id) == []
    [tick] = svc.store.list_schedule_ticks(s.id)
    assert tick.outcome is TickOutcome.FAILED and "watched folder 'incoming' is not a folder" in tick.reason
    assert str(svc.home) not in tick.reason
    assert svc.store.get_schedule_files(s.id).keys() == {"incoming/old.csv"}


def test_watched_folder_turned_into_an_outward_link_is_a_failed_tick(svc, published, incoming, clock, scheduler,
                                                                     runs, tmp_path):
    s = create(svc, published)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("x")
    shutil.rmtree(incoming)
    os.symlink(outside, incoming)
    assert poll(clock, scheduler()) == []
    [tick] = svc.store.list_schedule_ticks(s.id)
    assert tick.outcome is TickOutcome.FAILED and "symbolic link" in tick.reason
    assert str(tmp_path) not in tick.reason


def test_works_on_a_non_local_fsspec_datastore(svc, published, clock, scheduler, runs):
    """The watch goes through the Datastore interface only: an in-memory fsspec store (etag versions)
    behaves like a local folder. S3 and Azure Blob take the same path."""
    import uuid

    import fsspec

    from headrace.storage.records import DatastoreRecord

    root = f"memory://watch-{uuid.uuid4().hex[:8]}"
    svc.store.create_datastore(DatastoreRecord("mem", "memory", root, {}, clock.now))
    fs = fsspec.filesystem("memory")
    fs.pipe(f"{root}/incoming/old.csv", b"1")
    s = svc_schedules.create_schedule(svc, name="mem", experiment_name="files", published_pipeline_id=published,
                                      datastore="mem", path_on_datastore="incoming", polling_interval=0.05,
                                      data_path_parameter_name="input_data")
    sch = scheduler()
    assert poll(clock, sch) == []
    fs.pipe(f"{root}/incoming/new.csv", b"2")
    assert len(poll(clock, sch)) == 1
    fs.pipe(f"{root}/incoming/new.csv", b"3")  # new content, new etag
    assert len(poll(clock, sch)) == 1
    assert poll(clock, sch) == []
    assert [r.parameters["input_data"] for r in runs.of(s.id)] == [{"datastore": "mem", "path": "incoming/new.csv"}] * 2
    fs.rm(root, recursive=True)
