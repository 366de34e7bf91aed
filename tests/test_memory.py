"""Memory as a setting: DuckDB's limit, spilling to a directory that is removed, and the
run's peak memory in its own field."""

from __future__ import annotations

import gc
import os

import pandas as pd
import pytest

import linkage
from linkage import _memory
from linkage.datasets import generate_leads
from linkage.errors import ConfigError


@pytest.fixture(scope="module")
def leads():
    return generate_leads(3000, seed=5)


def _setting(con, name: str) -> str:
    return con.execute(f"SELECT current_setting('{name}')").fetchall()[0][0]


def test_a_run_under_a_tight_limit_completes_and_finds_the_same_entities(leads):
    roomy = linkage.link(leads, seed=1)
    # 300 MB: a fraction of what DuckDB takes by default (80% of the machine). Much lower
    # fails in blocking, which DuckDB cannot spill (RESULTS.md).
    tight = linkage.link(leads, seed=1, memory_limit="300MB")
    con = tight.connection
    assert _setting(con, "memory_limit") == "286.1 MiB"
    spill = _setting(con, "temp_directory")
    assert os.path.basename(spill).startswith("linkage-spill-")
    assert (tight.entities["entity_id"] == roomy.entities["entity_id"]).all()
    assert len(tight.golden) == tight.n_entities
    # The spill directory goes with the connection.
    del tight, con
    gc.collect()
    assert not os.path.exists(spill)


def test_work_beyond_the_limit_spills_to_a_directory_that_is_removed():
    con = _memory.connect("64MB")
    spill = _setting(con, "temp_directory")
    # Grouping ~150 MB of distinct strings cannot stay within 64 MB: DuckDB spills to `spill`
    # (it leaves an owner file there once it has spilled).
    groups = con.execute(
        "SELECT count(*) FROM (SELECT s, count(*) FROM (SELECT md5(i::VARCHAR) || "
        "md5((i + 1)::VARCHAR) AS s FROM range(1500000) t(i)) GROUP BY s)"
    ).fetchall()[0][0]
    assert groups == 1_500_000
    assert os.listdir(spill), "nothing was spilled: the limit did not bind"
    con.close()
    del con
    gc.collect()
    assert not os.path.exists(spill)


def test_peak_memory_is_its_own_field_and_not_a_timing(leads):
    result = linkage.link(leads.head(500), seed=1)
    assert "peak_memory" not in result.timings
    rss = _memory.current_rss()
    if rss is None:
        pytest.skip("no /proc on this platform: the peak falls back to the process's lifetime")
    # At least what the process held before the run, at most its lifetime peak.
    # (/proc and getrusage count pages a little differently: a few MB of slack.)
    assert 50e6 < result.peak_memory <= _memory.lifetime_peak() + 16e6
    assert "peak memory:" in result.summary()
    # Seconds add up to the timings alone.
    seconds = float(result.summary().split("seconds:")[1].split()[0])
    assert seconds == pytest.approx(sum(result.timings.values()), abs=0.06)


def test_the_default_limit_and_the_environment_variable(monkeypatch, leads):
    monkeypatch.delenv("LINKAGE_MEMORY_LIMIT", raising=False)
    assert _memory.resolve_limit(None) == _memory.parse_size(_memory.DEFAULT_MEMORY_LIMIT)
    monkeypatch.setenv("LINKAGE_MEMORY_LIMIT", "300MB")
    result = linkage.link(leads.head(300), seed=1)
    assert _setting(result.connection, "memory_limit") == "286.1 MiB"


def test_a_callers_connection_keeps_its_settings_unless_a_limit_is_given(leads):
    import duckdb

    con = duckdb.connect(config={"memory_limit": "3GB"})
    linkage.link(leads.head(300), seed=1, connection=con)
    assert _setting(con, "memory_limit") == "2.7 GiB"
    con2 = duckdb.connect()
    linkage.link(leads.head(300), seed=1, connection=con2, memory_limit="500MB")
    assert _setting(con2, "memory_limit") == "476.8 MiB"


@pytest.mark.parametrize(
    ("value", "words"),
    [("lots", "is not a size"), ("10MB", "too small"), (-5, "positive"), (True, "a size")],
)
def test_a_bad_limit_is_a_clear_error(leads, value, words):
    with pytest.raises(ConfigError, match=words):
        linkage.link(leads.head(50), memory_limit=value)


def test_sizes_parse_in_decimal_and_binary_units():
    assert _memory.parse_size("2GB") == 2_000_000_000
    assert _memory.parse_size("1.5 gb") == 1_500_000_000
    assert _memory.parse_size("512MiB") == 512 * 1024**2
    assert _memory.parse_size(10**9) == 10**9


def test_the_store_and_its_project_file_are_held_to_the_limit(tmp_path, monkeypatch, leads):
    from linkage import RecordStore

    monkeypatch.delenv("LINKAGE_MEMORY_LIMIT", raising=False)
    path = tmp_path / "crm.linkage"
    stored, incoming = leads.iloc[:2500], leads.iloc[2500:]
    result = linkage.link(stored, seed=1, queue=path, memory_limit="400MB")
    assert _setting(result.queue.file.connect(), "memory_limit") == "381.4 MiB"
    with RecordStore.build(result, memory_limit="300MB") as store:
        assert _setting(store._cursor(), "memory_limit") == "286.1 MiB"
        built = store.check(incoming)
    # Opened again: the default, not DuckDB's 80% of the machine; a given limit wins.
    with RecordStore.open(path) as store:
        assert _setting(store._cursor(), "memory_limit") == "1.3 GiB"
    with RecordStore.open(path, memory_limit="250MB") as store:
        assert _setting(store._cursor(), "memory_limit") == "238.4 MiB"
        again = store.check(incoming)
    # The limit changes where DuckDB may keep its work, never an answer.
    pd.testing.assert_frame_equal(built, again)
    assert (~built["is_new"]).any() and built["is_new"].any()
    with pytest.raises(ConfigError, match="is not a size"):
        RecordStore.open(path, memory_limit="lots")


def test_the_command_line_takes_a_limit_for_runs_and_stores(tmp_path, capsys, leads):
    from linkage.cli import main

    source, incoming = tmp_path / "leads.csv", tmp_path / "new.csv"
    leads.iloc[:1000].to_csv(source, index=False)
    leads.iloc[1000:1100].to_csv(incoming, index=False)
    project = tmp_path / "crm.linkage"
    run = ["run", str(source), "-o", str(tmp_path / "out"), "--project", str(project)]
    assert main([*run, "--store", "lead", "--memory-limit", "300MB"]) == 0
    assert main(["check", str(project), str(incoming), "--memory-limit", "250MB"]) == 0
    capsys.readouterr()
    # The option reaches link and the store: a bad size is their error, named.
    assert main([*run, "--memory-limit", "lots"]) == 2
    assert "memory_limit 'lots' is not a size" in capsys.readouterr().err
    assert main(["check", str(project), str(incoming), "--memory-limit", "9MB"]) == 2
    assert "too small" in capsys.readouterr().err
