"""The command line: demo on the shipped sample, run on a file."""

from __future__ import annotations

import pandas as pd

from linkage.cli import main


def test_demo_prints_the_summary_and_accuracy(capsys, tmp_path) -> None:
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for word in (
        "records:",
        "entities:",
        "auto-merged:",
        "for review:",
        "distinct:",
        "seconds:",
        "clustered",
    ):
        assert word in out
    entities = pd.read_csv(tmp_path / "entities.csv")
    assert len(entities) == 3000 and entities["lead_id"].is_unique
    assert (tmp_path / "model.json").exists()


def test_run_links_a_csv_with_a_role_mapping(sample, tmp_path, capsys) -> None:
    source = tmp_path / "leads.csv"
    sample.head(1000).rename(columns={"mobile": "Cell"}).to_csv(source, index=False)
    assert main(["run", str(source), "-o", str(tmp_path / "out"), "--role", "mobile=Cell"]) == 0
    out = capsys.readouterr().out
    assert "mobile          <- 'Cell' (given)" in out
    review = pd.read_csv(tmp_path / "out" / "review.csv")
    assert {"lead_id_l", "lead_id_r", "reason"} <= set(review.columns)


def test_errors_are_one_clear_line_and_exit_code_2(tmp_path, capsys) -> None:
    assert main(["run", str(tmp_path / "missing.csv"), "-o", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "x.csv"), "-o", str(tmp_path), "--role", "oops"]) == 2


def test_run_chooses_and_prints_the_level_and_takes_a_country(sample, tmp_path, capsys) -> None:
    source = tmp_path / "accounts.csv"
    sample.head(800)[["lead_id", "company", "phone", "address", "city"]].to_csv(source, index=False)
    assert main(["run", str(source), "-o", str(tmp_path / "out")]) == 0
    assert "entity level: organization" in capsys.readouterr().out
    args = ["run", str(source), "-o", str(tmp_path / "o2"), "--level", "person"]
    assert main([*args, "--country", "CN"]) == 0
    assert "entity level: person (given)" in capsys.readouterr().out
