"""Errors from the engine underneath (pandas, pyarrow, splink, DuckDB, json) reach the user
as linkage errors that name the column, row or file and say what to do (issue 13): ids that
are one id once read as text, a saved model on an export that lacks a column it compares,
a lone surrogate in a value, and a tampered model file."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pandas as pd
import pytest

import linkage
from linkage import InputError, ModelError, SchemaError
from linkage.model import LinkageModel
from linkage.standardize import standardize


@pytest.fixture(scope="module")
def leads(sample) -> pd.DataFrame:
    return sample.head(300).drop(columns=["true_person_id", "true_account_id"])


@pytest.fixture(scope="module")
def model_file(leads, tmp_path_factory) -> Path:
    """A model trained on 300 leads (mobile, name, email, company ...), saved as JSON."""
    path = tmp_path_factory.mktemp("model") / "model.json"
    linkage.link(leads, seed=0).model.save(path)
    return path


# -- 1. ids 2 and "2" in one id column ------------------------------------------------------


def test_an_int_and_a_str_id_that_read_alike_are_duplicate_ids(leads) -> None:
    mixed = leads.head(20).copy()
    mixed["lead_id"] = mixed["lead_id"].astype(object)
    mixed.loc[5, "lead_id"] = 2
    mixed.loc[6, "lead_id"] = "2"
    with pytest.raises(InputError) as caught:
        linkage.link(mixed)
    message = str(caught.value)
    assert "'lead_id'" in message  # the column
    assert "rows [5, 6]" in message  # both rows
    assert "2 (int)" in message and "'2' (str)" in message  # the mixed types
    assert "as text" in message and "roles={'record_id': None}" in message  # why, and the fix


# -- 2. a saved model on an export that lacks a column it compares --------------------------


def test_a_model_on_records_without_a_column_it_compares_names_the_role(leads, model_file) -> None:
    model = LinkageModel.load(model_file)
    without_email = leads.drop(columns=["email"])
    with pytest.raises(SchemaError) as caught:
        linkage.link(without_email, model=model)
    message = str(caught.value)
    assert "email" in message  # the missing role
    assert "email_clean" in message  # what the model's comparison reads
    assert "roles={'email':" in message  # what to pass
    assert "'lead_id'" in message  # the columns present, to choose from

    # The fix the message gives works: the column under another header, mapped by roles=.
    renamed = leads.rename(columns={"email": "联系信息"})
    result = linkage.link(renamed, model=model, roles={"email": "联系信息"})
    assert len(result.entities) == len(leads)


# -- 3. a lone surrogate in a value ----------------------------------------------------------


def test_a_lone_surrogate_is_flagged_as_a_problem_and_the_run_goes_on(
    leads, model_file, caplog
) -> None:
    broken = leads.head(120).copy()
    broken["name"] = broken["name"].astype(object)
    broken["owner"] = broken["owner"].astype(object)
    broken.loc[3, "name"] = "张\ud800三"
    broken.loc[4, "owner"] = "\udc00销售"
    before = broken.copy()
    result = linkage.link(broken, model=LinkageModel.load(model_file))

    assert broken.equals(before)  # the caller's frame is not changed
    assert len(result.entities) == len(broken)  # no record is dropped
    problems = result.problems
    flagged = problems[(problems["record_id"] == broken.loc[3, "lead_id"])]
    flagged = flagged[flagged["role"] == "person_name"]
    assert len(flagged) == 1
    assert flagged["value"].iloc[0] == "张\ufffd三"  # kept, the unreadable character marked
    assert "U+FFFD" in flagged["reason"].iloc[0]
    # a column no role matches on is read the same way, and the log names column and row
    assert result.records.loc[4, "owner"] == "\ufffd销售"
    warned = [r.getMessage() for r in caplog.records if "surrogate" in r.getMessage()]
    assert any("'owner'" in message and "[4]" in message for message in warned), warned


def test_standardize_flags_a_lone_surrogate_in_a_role_column() -> None:
    frame = pd.DataFrame(
        {"id": ["a", "b", "c"], "mobile": ["13800138000", "1380013\udfff8001", None]},
        dtype=object,
    )
    std = standardize(frame, {"record_id": "id", "mobile": "mobile"}, country="CN")
    assert list(std.problems["record_id"]) == ["b"]
    assert std.problems["value"].iloc[0] == "1380013\ufffd8001"
    reason = std.problems["reason"].iloc[0]
    assert "U+FFFD" in reason and "not a phone number" in reason  # one row, both reasons
    assert std.frame["mobile_e164"].iloc[0] == "+8613800138000"


def test_a_csv_export_that_is_not_utf8_is_read_or_an_input_error_naming_the_file(
    tmp_path,
) -> None:
    # GBK (Excel's default on Chinese Windows) is detected and read (linkage.files) ...
    path = tmp_path / "线索.csv"
    path.write_bytes("线索ID,公司名称,手机号码\nA1,华信科技有限公司,13800138000\n".encode("gbk"))
    assert linkage.files.read_table(path)["公司名称"].tolist() == ["华信科技有限公司"]
    # ... and bytes that are neither UTF-8, GBK nor Big5 are an error naming file and fix.
    path.write_bytes("id,Name\n1,Müller Café\n".encode("cp1252"))
    with pytest.raises(InputError) as caught:
        linkage.link(path)
    assert str(path) in str(caught.value)
    assert "UTF-8" in str(caught.value) and "--encoding" in str(caught.value)


# -- 4. a tampered model file ----------------------------------------------------------------


def _level(data: dict, comparison: str, position: int = 1) -> dict:
    settings = data["splink_settings"]
    found = next(c for c in settings["comparisons"] if c["output_column_name"] == comparison)
    return found["comparison_levels"][position]


def _set(key: str, value: object):
    return lambda data, level: level.__setitem__(key, value)


TAMPERED = {
    "m of 0": (_set("m_probability", 0), r"m_probability.*\b0\b"),
    "m above 1": (_set("m_probability", 1.5), r"m_probability.*1\.5"),
    "negative u": (_set("u_probability", -0.1), r"u_probability.*-0\.1"),
    "m as text": (_set("m_probability", "0.5"), r"m_probability.*'0\.5'"),
    "prior of 0": (
        lambda data, level: data["splink_settings"].__setitem__(
            "probability_two_random_records_match", 0
        ),
        r"probability_two_random_records_match.*\b0\b",
    ),
    "prior of 1": (
        lambda data, level: data["splink_settings"].__setitem__(
            "probability_two_random_records_match", 1
        ),
        r"probability_two_random_records_match.*\b1\b",
    ),
    "no policy": (lambda data, level: data.pop("policy"), r"'policy'"),
    "no splink settings": (lambda data, level: data.pop("splink_settings"), r"'splink_settings'"),
    "no config": (lambda data, level: data.pop("config"), r"'config'"),
    "policy as text": (lambda data, level: data.__setitem__("policy", "strict"), r"'policy'"),
    "threshold as text": (
        lambda data, level: data["policy"]["thresholds"].__setitem__("review", "low"),
        r"policy.*review",
    ),
    "comparisons as text": (
        lambda data, level: data["splink_settings"].__setitem__("comparisons", "x"),
        r"comparisons",
    ),
    "level without SQL": (lambda data, level: level.pop("sql_condition"), r"sql_condition"),
    "SQL that does not parse": (
        _set("sql_condition", '"mobile_e164_l" = = "x'),
        r"mobile",
    ),
    "format version as text": (
        lambda data, level: data.__setitem__("format_version", "one"),
        r"format_version",
    ),
    "config as a list": (lambda data, level: data.__setitem__("config", []), r"'config'"),
    "training log of the wrong shape": (
        lambda data, level: data["training_log"].__setitem__("estimates", [1, 2]),
        r"training_log",
    ),
}


@pytest.mark.parametrize("case", list(TAMPERED))
def test_a_hand_edited_model_file_is_a_model_error_naming_the_file(
    model_file, tmp_path, case
) -> None:
    tamper, what = TAMPERED[case]
    data = json.loads(model_file.read_text(encoding="utf-8"))
    tamper(data, _level(data, "mobile"))
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelError) as caught:
        LinkageModel.load(path)
    message = str(caught.value)
    assert str(path) in message  # the file
    assert re.search(what, message), message  # what is wrong in it
    assert "save" in message or "retrain" in message or "restore" in message  # what to do


@pytest.mark.parametrize(
    "content",
    [b"", b"hello", b"[1, 2]", b'"a model"', b"\xff\xfe\x00\x89PNG", None],
    ids=["empty", "not JSON", "a list", "a string", "binary", "truncated"],
)
def test_a_file_that_is_not_a_model_is_a_model_error_naming_the_file(
    model_file, tmp_path, content
) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(model_file.read_bytes()[:700] if content is None else content)
    with pytest.raises(ModelError) as caught:
        LinkageModel.load(path)
    assert str(path) in str(caught.value)


def test_an_untampered_model_file_loads_the_same(model_file) -> None:
    model = LinkageModel.load(model_file)
    again = LinkageModel.from_dict(copy.deepcopy(model.to_dict()))
    assert again.to_dict() == model.to_dict()


# -- 5. a tampered or damaged project file ----------------------------------------------------


@pytest.fixture(scope="module")
def project_file(leads, tmp_path_factory) -> Path:
    """A project file after one run of link, with a record store."""
    path = tmp_path_factory.mktemp("project") / "crm.linkage"
    result = linkage.link(leads, queue=path, seed=0)
    linkage.RecordStore.build(result).close()
    return path


def _copy(project_file: Path, tmp_path: Path) -> Path:
    path = tmp_path / "crm.linkage"
    path.write_bytes(project_file.read_bytes())
    return path


def _tamper(path: Path, *statements: str) -> None:
    import duckdb

    con = duckdb.connect(str(path))
    for statement in statements:
        con.execute(statement)
    con.close()


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("truncated", "damaged or not a DuckDB file"),
        ("garbage", "damaged or not a DuckDB file"),
    ],
)
def test_a_damaged_project_file_is_a_project_error(project_file, tmp_path, how, message) -> None:
    path = _copy(project_file, tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3] if how == "truncated" else b"not a database" * 999)
    for open_it in (linkage.ReviewQueue.open, linkage.RecordStore.open):
        with pytest.raises(linkage.ProjectDataError, match=message) as caught:
            open_it(path)
        assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("statements", "message"),
    [
        (["UPDATE linkage_meta SET value = 'abc' WHERE key = 'runs'"], "runs is 'abc'"),
        (["UPDATE linkage_meta SET value = 'v1' WHERE key = 'format_version'"], "format"),
        (["UPDATE linkage_meta SET value = '{' WHERE key = 'id_columns'"], "id_columns"),
        (["ALTER TABLE review_items DROP COLUMN reason"], "table review_items"),
    ],
)
def test_a_tampered_project_file_is_refused_with_what_is_wrong(
    project_file, tmp_path, statements, message
) -> None:
    path = _copy(project_file, tmp_path)
    _tamper(path, *statements)
    with pytest.raises(linkage.ProjectDataError, match=message):
        linkage.ReviewQueue.open(path)


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM linkage_meta WHERE key = 'store_rules'",
        "UPDATE linkage_meta SET value = '[{' WHERE key = 'store_columns'",
        "UPDATE linkage_meta SET value = 'many' WHERE key = 'store_n_records'",
    ],
)
def test_a_tampered_store_is_a_store_error(project_file, tmp_path, statement) -> None:
    path = _copy(project_file, tmp_path)
    _tamper(path, statement)
    with pytest.raises(linkage.ProjectError, match="damaged") as caught:
        linkage.RecordStore.open(path)
    assert str(path) in str(caught.value)
