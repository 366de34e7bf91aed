"""Files in and files out, as a user meets them on the command line (linkage.files,
linkage.outputs, linkage.cli): exports in the encodings Chinese Excel saves, Excel files with
a title row, outputs that Excel opens and that keep the user's own headers, exit codes, the
configuration file, and progress on a terminal."""

from __future__ import annotations

import json
import logging
import os
import sys
import time

import pandas as pd
import pytest

from linkage import files
from linkage.cli import cli_hint, exit_code, main
from linkage.errors import (
    ConfigError,
    InputError,
    ProjectBusyError,
    ProjectDataError,
    SchemaError,
)

# A CRM export as a Chinese sales team keeps it: Chinese headers, an id, a phone column.
HEADERS = {
    "lead_id": "线索编号",
    "name": "姓名",
    "mobile": "手机",
    "company": "公司名称",
    "email": "邮箱",
    "city": "城市",
}


@pytest.fixture
def leads(sample) -> pd.DataFrame:
    """600 leads with Chinese headers (every value also encodable in GBK)."""
    frame = sample.head(600)[[*HEADERS, "true_person_id"]].rename(columns=HEADERS)
    gbk_safe = frame.map(
        lambda v: v if not isinstance(v, str) else v.encode("gbk", "replace").decode("gbk")
    )
    return gbk_safe.rename(columns={"true_person_id": "cluster"})


TRADITIONAL = pd.DataFrame(
    {
        "客戶編號": ["T1", "T2", "T3"],
        "姓名": ["陳志明", "陳志明", "林淑芬"],
        "公司名稱": ["台灣積體電路製造股份有限公司", "台積電", "鴻海精密工業股份有限公司"],
        "地址": ["新竹科學園區力行六路8號", "新竹市力行六路八號", "新北市土城區自由街2號"],
    }
)


# -- reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_a_simplified_chinese_export_reads_in_each_encoding_excel_saves(
    leads, tmp_path, encoding
) -> None:
    path = tmp_path / f"leads_{encoding}.csv"
    leads.to_csv(path, index=False, encoding=encoding)
    frame, source = files.read_source(path)
    assert list(frame.columns) == list(leads.columns)  # no BOM glued to the first header
    assert frame["公司名称"].tolist() == leads["公司名称"].astype(object).tolist()
    assert frame["手机"].iloc[0] == str(leads["手机"].iloc[0])  # text, leading zeros kept
    assert source.encoding == ("gb18030" if encoding.startswith("gb") else "utf-8")
    assert source.encoding_detected


def test_gb18030_characters_outside_gbk_read_back(tmp_path) -> None:
    path = tmp_path / "rare.csv"
    text = "编号,姓名,手机\nA1,王𠀾,13800138000\nA2,李䶮,13900139000\n"  # 𠀾 and 䶮 need GB18030
    path.write_bytes(text.encode("gb18030"))
    assert files.read_table(path)["姓名"].tolist() == ["王𠀾", "李䶮"]


def test_big5_is_told_from_gbk_and_read_right(tmp_path) -> None:
    path = tmp_path / "tw.csv"
    TRADITIONAL.to_csv(path, index=False, encoding="big5")
    frame, source = files.read_source(path)
    assert source.encoding == "big5"
    assert frame["公司名稱"].tolist() == TRADITIONAL["公司名稱"].tolist()
    # The same bytes read as GBK would be other, rare characters: never silently.
    assert files.detect_encoding(path.read_bytes()) == "cp950"


def test_a_one_line_file_gbk_or_big5_still_comes_out_right(tmp_path) -> None:
    for text, encoding in (("客户,手机\n王伟,138\n", "gbk"), ("客戶,手機\n王偉,138\n", "big5")):
        path = tmp_path / f"one_{encoding}.csv"
        path.write_bytes(text.encode(encoding))
        assert list(files.read_table(path).columns) == text.splitlines()[0].split(",")


def test_encoding_can_be_given_and_a_wrong_one_is_an_error_naming_the_file(leads, tmp_path) -> None:
    path = tmp_path / "leads.csv"
    leads.to_csv(path, index=False, encoding="gbk")
    assert files.read_table(path, encoding="GBK")["姓名"].iloc[0] == leads["姓名"].iloc[0]
    with pytest.raises(InputError) as caught:
        files.read_table(path, encoding="utf-8")
    message = str(caught.value)
    assert str(path) in message and "not utf-8 text" in message and "(line 1)" in message
    with pytest.raises(ConfigError, match="unknown encoding 'klingon'"):
        files.read_table(path, encoding="klingon")


def test_bytes_no_encoding_explains_are_not_guessed(tmp_path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("id,Name\n1,Müller Café\n".encode("cp1252"))
    with pytest.raises(InputError) as caught:
        files.read_table(path)
    assert str(path) in str(caught.value) and "--encoding" in str(caught.value)
    assert files.read_table(path, encoding="cp1252")["Name"].tolist() == ["Müller Café"]


def test_a_csv_title_row_is_skipped_or_chosen(leads, tmp_path) -> None:
    path = tmp_path / "titled.csv"
    body = leads.head(5).to_csv(index=False)
    path.write_text("客户线索导出 2024-05-01\n\n" + body, encoding="utf-8-sig")
    frame, source = files.read_source(path)
    assert list(frame.columns) == list(leads.columns) and len(frame) == 5
    assert source.header_row == 3
    assert list(files.read_table(path, header_row=3).columns) == list(leads.columns)


def _excel_with_title(path, frame: pd.DataFrame, sheet: str = "线索") -> None:
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"x": ["说明"]}).to_excel(writer, sheet_name="说明", index=False)
        frame.to_excel(writer, sheet_name=sheet, index=False, startrow=1)
        writer.sheets[sheet]["A1"] = "客户线索导出（销售部）2024-05-01"


@pytest.mark.parametrize("reader", ["calamine", "openpyxl"])
def test_an_xlsx_with_a_title_row_and_several_sheets(leads, tmp_path, reader, monkeypatch) -> None:
    if reader == "openpyxl":
        monkeypatch.setitem(sys.modules, "python_calamine", None)  # as when not installed
    else:
        pytest.importorskip("python_calamine")
    path = tmp_path / "export.xlsx"
    frame = leads.head(30).copy()
    frame["手机"] = pd.to_numeric(frame["手机"], errors="coerce")  # Excel stores numbers
    _excel_with_title(path, frame)
    read, source = files.read_source(path, sheet="线索")
    assert list(read.columns) == list(leads.columns)
    assert source.header_row == 2 and source.sheet == "线索"
    phones = read["手机"].dropna()
    assert not phones.str.endswith(".0").any()  # 13800138000, not 13800138000.0
    assert files.read_table(path, sheet="2", header_row=2).shape == read.shape
    with pytest.raises(ConfigError, match="no sheet 'leads'.*'说明', '线索'"):
        files.read_table(path, sheet="leads")


@pytest.mark.parametrize("reader", ["calamine", "openpyxl"])
def test_unreadable_files_are_one_clear_input_error_naming_them(
    tmp_path, reader, monkeypatch
) -> None:
    if reader == "openpyxl":
        monkeypatch.setitem(sys.modules, "python_calamine", None)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"this is not a zip file")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("id,name\n1,a\n2,b,c,d\n", encoding="utf-8")
    (tmp_path / "x.json").write_text("{}", encoding="utf-8")
    for path, words in (
        (broken, "not a readable .xlsx"),
        (empty, "empty"),
        (tmp_path / "missing.csv", "does not exist"),
        (tmp_path, "folder"),
        (tmp_path / "x.json", "expected a .csv"),
        (ragged, "line 3 has 4 fields where the header has 2"),
    ):
        with pytest.raises(InputError) as caught:
            files.read_table(path)
        assert str(path) in str(caught.value) and words in str(caught.value)


# -- the command line: reading and writing -----------------------------------------------------


def test_run_on_a_gbk_export_writes_outputs_excel_opens_with_the_users_headers(
    leads, tmp_path, capsys
) -> None:
    source = tmp_path / "线索.csv"
    leads.to_csv(source, index=False, encoding="gbk")
    out = tmp_path / "out"
    assert main(["run", str(source), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "entities:" in captured.out and "'cluster'" in captured.out  # unused, with why
    assert "GB18030 (detected)" in captured.err  # the stage line says how it was read
    for name in ("entities", "golden", "review", "problems", "pairs"):
        raw = (out / f"{name}.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), name  # the BOM Excel needs
    review = pd.read_csv(out / "review.csv", encoding="utf-8-sig", dtype=str)
    assert {"线索编号_l", "线索编号_r", "姓名_l", "姓名_r", "手机_l", "公司名称_r"} <= set(review)
    assert not any(c.startswith(("person_name", "mobile_", "company_")) for c in review)
    golden = pd.read_csv(out / "golden.csv", encoding="utf-8-sig", dtype=str)
    assert {"entity_id", "姓名", "手机", "手机_all", "线索编号_all"} <= set(golden)
    merged = golden[golden["n_records"].astype(int) > 1]  # lists as "a; b" text, one id each
    ids = merged["线索编号_all"].str.split("; ")
    assert len(merged) and (ids.map(len) == merged["n_records"].astype(int)).all()
    assert set(ids.explode()) <= set(leads["线索编号"].astype(str))
    entities = pd.read_csv(out / "entities.csv", encoding="utf-8-sig", dtype=str)
    assert list(entities.columns) == ["线索编号", "entity_id"] and len(entities) == len(leads)
    problems = pd.read_csv(out / "problems.csv", encoding="utf-8-sig", dtype=str)
    assert list(problems.columns[:4]) == ["线索编号", "column", "value", "reason"]
    assert len(problems) and problems["column"].isin(leads.columns).all()  # source columns
    pairs = pd.read_csv(out / "pairs.csv", encoding="utf-8-sig", dtype=str)
    assert {"线索编号_l", "线索编号_r", "match_weight", "decision", "gamma_姓名"} <= set(pairs)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["input"]["encoding"] == "gb18030" and report["input"]["encoding_detected"]
    assert report["records"] == len(leads) and report["entities"] == len(
        entities["entity_id"].unique()
    )
    assert "cluster" in report["unused_columns"]
    assert report["inputs"]["records"]["roles"]["mobile"] == {
        "column": "手机",
        "found_by": "header",
    }
    assert set(report["seconds"]["stages"]) >= {"read", "standardize", "train", "score"}
    text = (out / "report.txt").read_text(encoding="utf-8")
    assert "columns not used:" in text and "'cluster'" in text and "gb18030 detected" in text
    assert (out / "model.json").exists()


@pytest.mark.parametrize("fmt", ["xlsx", "parquet"])
def test_run_writes_excel_or_parquet_on_request(leads, tmp_path, fmt) -> None:
    source = tmp_path / "export.xlsx"
    _excel_with_title(source, leads.head(300))
    out = tmp_path / "out"
    args = ["run", str(source), "-o", str(out), "--format", fmt, "--sheet", "线索", "-q"]
    assert main(args) == 0
    reader = files.read_table  # reads back what it wrote
    review = reader(out / f"review.{fmt}")
    assert {"线索编号_l", "姓名_r"} <= set(review.columns)
    golden = reader(out / f"golden.{fmt}")
    assert "手机_all" in golden.columns
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["input"]["header_row"] == 2


def test_the_role_option_takes_an_empty_column_for_no_id_column(leads, tmp_path, capsys) -> None:
    source = tmp_path / "dupes.csv"
    doubled = leads.head(200).copy()
    doubled.loc[1, "线索编号"] = doubled.loc[0, "线索编号"]  # a repeated id
    doubled.to_csv(source, index=False, encoding="utf-8-sig")
    assert main(["run", str(source), "-o", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "--role record_id=" in err and "roles={" not in err  # the hint in CLI form
    assert err.count("linkage: error:") == 1 and "Traceback" not in err  # one line
    assert main(["run", str(source), "-o", str(tmp_path / "b"), "--role", "record_id="]) == 0
    assert "generated 'linkage_id'" in capsys.readouterr().out


def test_check_and_add_read_files_as_run_does(leads, tmp_path, capsys) -> None:
    source, project = tmp_path / "leads.csv", tmp_path / "crm.linkage"
    leads.head(300).to_csv(source, index=False, encoding="utf-8-sig")
    args = ["run", str(source), "-o", str(tmp_path / "o"), "--project", str(project)]
    assert main([*args, "--store", "lead", "-q"]) == 0
    # New leads come as a GBK export with a title row: read like run's input.
    new = leads.iloc[300:305].copy()
    new["线索编号"] = [f"N{i}" for i in range(5)]
    incoming = tmp_path / "new.csv"
    incoming.write_bytes(("今日新线索\n" + new.to_csv(index=False)).encode("gbk"))
    checked = tmp_path / "checked.csv"
    assert main(["check", str(project), str(incoming), "-o", str(checked)]) == 0
    assert "checked 5 records" in capsys.readouterr().out
    assert len(pd.read_csv(checked, encoding="utf-8-sig")) == 5
    assert main(["add", str(project), str(incoming), "--actor", "li.na"]) == 0
    assert "added 5 records" in capsys.readouterr().out
    assert main(["check", str(project), str(tmp_path / "missing.csv")]) == 2
    assert "missing.csv" in capsys.readouterr().err


# -- the command line: basics ------------------------------------------------------------------


def test_bare_linkage_prints_help_and_version_prints_the_version(capsys) -> None:
    from linkage._version import __version__

    assert main([]) == 0
    out = capsys.readouterr().out
    assert "usage: linkage" in out and "run" in out and "Exit codes" in out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"linkage {__version__}"
    assert main(["run"]) == 2  # argparse's usage error
    assert main(["run", "x.csv", "--format", "docx"]) == 2


def test_exit_codes_a_scheduler_can_act_on() -> None:
    assert exit_code(InputError("x")) == 2
    assert exit_code(SchemaError("x")) == 2
    assert exit_code(ConfigError("x")) == 2
    assert exit_code(ProjectBusyError("x")) == 3  # retry later
    assert exit_code(ProjectDataError("x")) == 4  # needs a person


def test_an_unexpected_error_is_one_line_exit_1_and_a_traceback_with_v(
    leads, tmp_path, capsys, monkeypatch
) -> None:
    import linkage

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    source = tmp_path / "leads.csv"
    leads.head(50).to_csv(source, index=False)
    monkeypatch.setattr(linkage, "link", broken)
    assert main(["run", str(source), "-o", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "unexpected error: RuntimeError: boom" in err and "Traceback" not in err
    assert main(["run", str(source), "-o", str(tmp_path / "o"), "-v"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_hints_speak_the_command_line() -> None:
    assert cli_hint("pass roles={'record_id': None} to have") == "pass --role record_id= to have"
    assert (
        cli_hint("Pass roles={'mobile': '<column>', 'email': '<column>'} to say")
        == "Pass --role mobile=COLUMN --role email=COLUMN to say"
    )
    assert cli_hint("link with queue='crm.linkage'") == "link with --project crm.linkage"
    assert "--config linkage.toml" in cli_hint("Lower max_block_size, or raise max_pairs.")


def test_no_third_party_log_noise_even_with_v(leads, tmp_path, capsys, monkeypatch) -> None:
    import linkage

    real_link = linkage.link

    def noisy(*args, **kwargs):
        logging.getLogger("sqlglot").warning(
            "Skipping normalization because distance 130 exceeds max 128"
        )
        logging.getLogger("splink").info("splink's own chatter")
        return real_link(*args, **kwargs)

    source = tmp_path / "leads.csv"
    leads.head(300).to_csv(source, index=False)
    monkeypatch.setattr(linkage, "link", noisy)
    assert main(["run", str(source), "-o", str(tmp_path / "o"), "-v"]) == 0
    captured = capsys.readouterr()
    assert "Skipping normalization" not in captured.err + captured.out
    assert "splink's own chatter" not in captured.err
    assert "blocking:" in captured.err  # -v shows linkage's own stage details
    assert main(["run", str(source), "-o", str(tmp_path / "q"), "-q"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "linkage:" not in captured.err


# -- the configuration file --------------------------------------------------------------------


def test_init_writes_a_config_that_run_uses(leads, tmp_path, capsys) -> None:
    source = tmp_path / "leads.csv"
    leads.rename(columns={"手机": "Col3"}).to_csv(source, index=False, encoding="gbk")
    config = tmp_path / "linkage.toml"
    assert main(["init", str(source), "-o", str(config)]) == 0
    text = config.read_text(encoding="utf-8")
    assert 'encoding = "gb18030"' in text and 'person_name = "姓名"' in text
    assert '"Col3"' in text  # a phone column under a meaningless header, found by its values
    assert "cluster" in text  # unused, with the reason, as a comment
    assert main(["init", str(source), "-o", str(config)]) == 2  # never overwrites unasked
    capsys.readouterr()

    # Edit it as a user would: a seed, thresholds, output as parquet.
    config.write_text(
        text.replace("# seed = 0", "seed = 3")
        .replace('format = "csv"', 'format = "parquet"')
        .replace(
            "# [thresholds]   # match weights\n# review = -4.0\n# auto_merge = 0.0",
            "[thresholds]\nreview = -5.0\nauto_merge = 1.0",
        ),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert main(["run", str(source), "--config", str(config), "-o", str(out)]) == 0
    assert "mobile" in capsys.readouterr().out
    model = json.loads((out / "model.json").read_text(encoding="utf-8"))
    assert json.dumps(model).count("-5.0") >= 1
    assert (out / "review.parquet").exists()


def test_a_config_file_with_an_unknown_setting_is_a_usage_error(leads, tmp_path, capsys) -> None:
    source = tmp_path / "leads.csv"
    leads.head(50).to_csv(source, index=False)
    config = tmp_path / "bad.toml"
    config.write_text("max_block_sise = 10\n", encoding="utf-8")
    assert main(["run", str(source), "--config", str(config)]) == 2
    assert "did you mean 'max_block_size'" in capsys.readouterr().err
    config.write_text("comparisons = 1\n", encoding="utf-8")
    assert main(["run", str(source), "--config", str(config)]) == 2
    assert "Python" in capsys.readouterr().err
    config.write_text("seed = [\n", encoding="utf-8")
    assert main(["run", str(source), "--config", str(config)]) == 2
    assert "not valid TOML" in capsys.readouterr().err


# -- progress on a terminal ----------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_run_on_20000_rows_shows_progress_on_a_terminal_within_a_second(sample, tmp_path) -> None:
    import pty
    import select
    import signal
    import subprocess

    big = pd.concat([sample] * 7, ignore_index=True).head(20_000)
    big["lead_id"] = [f"L{i:07d}" for i in range(len(big))]
    source = tmp_path / "big.csv"
    big.to_csv(source, index=False)
    leader, follower = pty.openpty()
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "linkage.cli", "run", str(source), "-o", str(tmp_path / "out")],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        start_new_session=True,
    )
    os.close(follower)
    shown = b""
    try:
        while time.monotonic() - started < 10 and b"reading big.csv" not in shown:
            ready, _, _ = select.select([leader], [], [], 0.05)
            if ready:
                try:
                    shown += os.read(leader, 4096)
                except OSError:
                    break
        first = time.monotonic() - started
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        os.close(leader)
    assert b"reading big.csv" in shown, shown
    assert first < 1.0, f"first progress after {first:.2f}s"
    assert b"\x1b[" in shown  # drawn by rich (terminal control codes), not plain lines
