"""The served programme set as a shared fact: publish, generation check, rebuild from text.

Each ``Registry`` below plays one worker; two of them on one database are two
workers (or two hosts). Run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine

import engine.registry
from engine.errors import UnknownProgramme
from engine.ledger.programmes import ProgrammeStore
from engine.policy.loader import validate_paths
from engine.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
EARN = "earn:\n  points: 1\n  per: 1\n"
DOUBLE_EARN = "earn:\n  points: 2\n  per: 1\n"


class Clock:
    """A monotonic clock the test moves by hand, to step over the check interval."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    for name in ("coffee-shop", "recommended"):
        shutil.copytree(ROOT / "rules" / name, folder / name, ignore=shutil.ignore_patterns("sc*"))
    return folder


def worker(rules: Path, database: Engine, clock: Clock | None = None) -> Registry:
    registry = Registry(
        rules, matcher="python", store=ProgrammeStore(database), clock=clock or Clock()
    )
    registry.start()
    return registry


def edit(rules: Path, old: str, new: str, programme: str = "coffee-shop") -> None:
    main = rules / programme / "programme.yaml"
    text = main.read_text(encoding="utf-8")
    assert old in text
    main.write_text(text.replace(old, new), encoding="utf-8")


def test_a_published_programme_is_rebuilt_from_its_stored_text_to_the_same_version(database, rules):
    report = validate_paths([rules])
    published = ProgrammeStore(database).publish(report.programmes, report, "test")
    assert published.generation == 1
    assert set(published.changed) == {"coffee-shop", "recommended"}

    snapshot = ProgrammeStore(database).snapshot()
    assert snapshot.generation == 1
    for programme in report.programmes:
        stored = snapshot.versions[programme.id]
        rebuilt = stored.rebuild()
        assert rebuilt.version == stored.version == programme.version
        assert rebuilt.files == programme.files
        assert rebuilt.document == programme.document
    # recommended includes campaigns.yaml: both files are stored, by their relative names.
    assert set(snapshot.versions["recommended"].sources) == {"programme.yaml", "campaigns.yaml"}


def test_publishing_the_same_versions_again_changes_no_generation(database, rules):
    store, report = ProgrammeStore(database), validate_paths([rules])
    store.publish(report.programmes, report, "test")
    again = store.publish(report.programmes, report, "test")
    assert (again.generation, again.changed) == (1, {})
    assert sorted(again.unchanged) == ["coffee-shop", "recommended"]
    assert store.generation() == 1


def test_a_starting_worker_never_replaces_a_published_version(database, rules):
    first = worker(rules, database)
    served = first["coffee-shop"].programme.version
    edit(rules, EARN, DOUBLE_EARN)

    second = worker(rules, database)

    assert second["coffee-shop"].programme.version == served
    assert ProgrammeStore(database).generation() == 1
    assert [v.version for v in ProgrammeStore(database).history("coffee-shop")] == [served]


def test_a_reload_reaches_another_worker_at_its_next_check(database, rules):
    clock = Clock()
    answering, other = worker(rules, database), worker(rules, database, clock)
    old = other["coffee-shop"].programme.version
    edit(rules, EARN, DOUBLE_EARN)

    report = answering.reload(actor="test")

    new = report.loaded["coffee-shop"]
    assert new != old and answering["coffee-shop"].programme.version == new
    assert report.generation == 2 and report.unchanged == ["recommended"]
    other.refresh()  # checked at start: not due yet
    assert other["coffee-shop"].programme.version == old
    clock.now += other.check_every
    other.refresh()
    assert other["coffee-shop"].programme.version == new
    assert other.generation == 2
    assert other.serving("coffee-shop").actor == "test"


def test_a_worker_starting_over_broken_files_serves_the_last_good_version(database, rules):
    good = worker(rules, database)["coffee-shop"].programme.version
    edit(rules, EARN, "earn:\n  points: many\n  per: 1\n")
    shutil.rmtree(rules / "recommended")

    restarted = worker(rules, database)

    assert restarted["coffee-shop"].programme.version == good
    assert restarted["recommended"].programme.id == "recommended"  # its files are gone
    assert restarted["coffee-shop"].programme.files[0].endswith("coffee-shop/programme.yaml")


def test_a_refused_reload_publishes_nothing_and_every_worker_keeps_its_version(database, rules):
    clock = Clock()
    answering, other = worker(rules, database), worker(rules, database, clock)
    good = answering["coffee-shop"].programme.version
    edit(rules, EARN, "earn:\n  points: many\n  per: 1\n")

    report = answering.reload(actor="test")

    assert report.refused and report.loaded == {} and report.generation == 1
    clock.now += 10
    other.refresh()
    for registry in (answering, other):
        assert registry["coffee-shop"].programme.version == good


def test_a_programme_with_neither_files_nor_a_published_version_is_not_served(database, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    registry = worker(empty, database)
    with pytest.raises(UnknownProgramme):
        registry["coffee-shop"]
    assert registry.generation == 0


def test_concurrent_reloads_publish_one_generation_each(database, rules):
    versions = []
    for points in range(2, 6):
        edit(rules, f"earn:\n  points: {points - 1}\n", f"earn:\n  points: {points}\n")
        versions.append(validate_paths([rules]))
    barrier = threading.Barrier(len(versions))

    def publish(each) -> None:
        barrier.wait()
        ProgrammeStore(database).publish(each.programmes, each, "race")

    threads = [threading.Thread(target=publish, args=(v,)) for v in versions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    history = ProgrammeStore(database).history("coffee-shop")
    assert [v.generation for v in history] == [1, 2, 3, 4]
    assert ProgrammeStore(database).generation() == 4


def test_a_publish_of_files_read_before_another_publish_is_refused_as_stale(database, rules):
    store, report = ProgrammeStore(database), validate_paths([rules])
    store.publish(report.programmes, report, "first")
    edit(rules, EARN, DOUBLE_EARN)
    newer = validate_paths([rules])

    stale = store.publish(newer.programmes, newer, "late", read_at=0)

    assert stale.stale and stale.changed == {} and store.generation() == 1
    assert not store.publish(newer.programmes, newer, "on time", read_at=1).stale


def test_a_reload_never_publishes_files_read_before_a_newer_reload(database, rules, monkeypatch):
    slow, fast = worker(rules, database), worker(rules, database)
    edit(rules, EARN, DOUBLE_EARN)
    read = engine.registry.validate_paths

    def read_then_lose_the_race(paths):
        report = read(paths)  # the slow worker has read points: 2 ...
        monkeypatch.setattr(engine.registry, "validate_paths", read)
        edit(rules, DOUBLE_EARN, "earn:\n  points: 3\n  per: 1\n")
        fast.reload(actor="fast")  # ... and another publishes points: 3 before it does
        return report

    monkeypatch.setattr(engine.registry, "validate_paths", read_then_lose_the_race)
    report = slow.reload(actor="slow")

    newest = fast["coffee-shop"].programme.version
    assert ProgrammeStore(database).snapshot().versions["coffee-shop"].version == newest
    assert slow["coffee-shop"].programme.version == newest
    assert report.loaded == {} and "coffee-shop" in report.unchanged
