"""Roles from headers, explicit mappings, and input validation."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from linkage.errors import InputError, SchemaError
from linkage.schema import detect_roles, read_records, resolve_roles, validate_records


@pytest.mark.parametrize(
    ("header", "role"),
    [
        ("Lead ID", "record_id"),
        ("线索编号", "record_id"),
        ("Company Name", "company"),
        ("公司名称", "company"),
        ("企业名称", "company"),
        ("统一社会信用代码", "credit_code"),
        ("USCC", "credit_code"),
        ("姓名", "person_name"),
        ("Full Name", "person_name"),
        ("first_name", "first_name"),
        (" surname", "last_name"),
        ("Mobile Phone", "mobile"),
        ("手机号码", "mobile"),
        ("Telephone", "phone"),
        ("座机", "phone"),
        ("E-mail", "email"),
        ("电子邮箱", "email"),
        ("UnionID", "wechat_unionid"),
        ("出生日期", "dob"),
        ("省份", "province"),
        ("CITY", "city"),
        ("详细地址", "address"),
        ("邮编", "postcode"),
        ("Lead Source", "source"),
        ("创建时间", "created_at"),
        ("Last Modified", "updated_at"),
        ("负责人", "owner"),
        ("ＭＯＢＩＬＥ", "mobile"),  # full-width header
    ],
)
def test_detects_roles_from_english_and_chinese_headers(header: str, role: str) -> None:
    assert detect_roles([header]).roles == {role: header}


def test_unknown_columns_are_not_given_roles() -> None:
    mapping = detect_roles(["notes", "campaign_budget", "true_person_id"])
    assert mapping.roles == {}


def test_first_matching_column_wins() -> None:
    mapping = detect_roles(["mobile", "手机号码"])
    assert mapping.roles == {"mobile": "mobile"}


def test_explicit_roles_win_and_none_switches_a_role_off() -> None:
    mapping = resolve_roles(["id", "name", "cell"], {"mobile": "cell", "person_name": None})
    assert mapping.roles == {"record_id": "id", "mobile": "cell"}
    assert "mobile" not in mapping.detected


def test_unknown_role_names_the_closest_role() -> None:
    with pytest.raises(SchemaError, match="did you mean 'mobile'"):
        resolve_roles(["a"], {"mobil": "a"})


def test_misspelled_column_names_the_closest_column() -> None:
    with pytest.raises(SchemaError, match="'Mobile Phone'"):
        resolve_roles(["Mobile Phone", "name"], {"mobile": "Mobile Phon"})


def test_missing_id_gets_a_stable_generated_id() -> None:
    df = pd.DataFrame({"name": ["张伟", "李娜", "张伟"], "mobile": ["1", "2", "1"]})
    first = df.copy()
    mapping = validate_records(first, resolve_roles(list(first.columns)))
    again = df.copy()
    validate_records(again, resolve_roles(list(again.columns)))
    column = mapping.roles["record_id"]
    assert mapping.generated_id
    assert first[column].is_unique
    assert first[column].tolist() == again[column].tolist()
    # identical rows get distinct ids
    assert first[column][0] != first[column][2]
    assert any("generated" in note for note in mapping.notes)


def test_duplicate_ids_are_refused_with_examples() -> None:
    df = pd.DataFrame({"id": ["a", "b", "a"], "name": ["x", "y", "z"]})
    with pytest.raises(InputError, match=r"duplicated value.*'a'"):
        validate_records(df, resolve_roles(list(df.columns)))


def test_empty_ids_are_refused_with_rows() -> None:
    df = pd.DataFrame({"id": ["a", None, " "], "name": ["x", "y", "z"]})
    with pytest.raises(InputError, match=r"empty in 2 row"):
        validate_records(df, resolve_roles(list(df.columns)))


def test_empty_frame_is_refused() -> None:
    df = pd.DataFrame({"id": [], "name": []})
    with pytest.raises(InputError, match="no rows"):
        validate_records(df, resolve_roles(list(df.columns)))


def test_no_matching_column_is_refused_with_the_columns_present() -> None:
    df = pd.DataFrame({"id": ["a"], "notes": ["x"]})
    with pytest.raises(SchemaError, match="'notes'"):
        validate_records(df, resolve_roles(list(df.columns)))


def test_reads_pandas_pyarrow_duckdb_csv_and_parquet(tmp_path) -> None:
    import duckdb

    df = pd.DataFrame({"id": ["001", "002"], "mobile": ["13800138000", "13900139000"]})
    df.to_csv(tmp_path / "x.csv", index=False)
    df.to_parquet(tmp_path / "x.parquet")
    con = duckdb.connect()
    relation = con.from_df(df)
    for source in (
        df,
        pa.Table.from_pandas(df),
        relation,
        tmp_path / "x.csv",
        str(tmp_path / "x.parquet"),
    ):
        frame = read_records(source)
        assert frame["id"].tolist() == ["001", "002"]  # leading zeros kept
    pd.testing.assert_frame_equal(read_records(df), df)


def test_reads_excel_exports_as_text(tmp_path) -> None:
    """A CRM's Excel export: ids keep their zeros, phones stay digits, Chinese headers map."""
    df = pd.DataFrame({"线索编号": ["001", "002"], "手机": ["13800138000", "139-0013-9000"]})
    df["姓名"] = ["张伟", None]
    df.to_excel(tmp_path / "leads.xlsx", index=False)
    frame = read_records(tmp_path / "leads.xlsx")
    assert frame["线索编号"].tolist() == ["001", "002"]
    assert frame["手机"].tolist() == ["13800138000", "139-0013-9000"]
    assert resolve_roles(list(frame.columns)).roles["mobile"] == "手机"
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(InputError, match=r"save it as \.xlsx or \.csv"):
        read_records(tmp_path / "old.xls")


def test_unreadable_inputs_say_what_is_accepted(tmp_path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_records(tmp_path / "missing.csv")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(InputError, match=r"\.csv"):
        read_records(tmp_path / "x.json")
    with pytest.raises(InputError, match="pandas DataFrame"):
        read_records(42)


@pytest.mark.parametrize(
    ("header", "role"),
    [
        ("addr", "address"),
        ("Address Line 1", "address"),
        ("postcode_fake", "postcode"),
        ("zip_code_5", "postcode"),
        ("birth_place", "birth_place"),
        ("Fax", "fax"),
        ("Website", "website"),
        ("Site name", "company"),
        ("lat", "latitude"),
        ("lng", "longitude"),
        ("middle_name", "middle_name"),
        ("birth_year", "birth_year"),
        ("suburb", "city"),
    ],
)
def test_more_headers_are_known(header: str, role: str) -> None:
    assert detect_roles([header]).roles == {role: header}


def test_a_row_number_is_the_id_only_when_no_real_id_exists() -> None:
    assert detect_roles(["序号", "线索ID", "姓名"]).roles["record_id"] == "线索ID"
    assert detect_roles(["No.", "Customer ID"]).roles["record_id"] == "Customer ID"
    assert detect_roles(["序号", "姓名"]).roles["record_id"] == "序号"


def test_parts_of_a_name_beat_a_full_name_with_titles() -> None:
    mapping = resolve_roles(["id", "full_name", "first_name", "surname"])
    assert "person_name" not in mapping.roles
    assert mapping.roles["first_name"] == "first_name"
    assert "full_name" in mapping.notes[0]
    explicit = resolve_roles(
        ["id", "full_name", "first_name", "surname"], {"person_name": "full_name"}
    )
    assert explicit.roles["person_name"] == "full_name"


def test_a_column_that_repeats_others_is_not_compared_again() -> None:
    from linkage.schema import profile_columns

    df = pd.DataFrame(
        {
            "id": [str(i) for i in range(40)],
            "first_name": ["ann", "bob", "cid", "dan"] * 10,
            "surname": ["lee", "ng", "li", "wu", "ma"] * 8,
            "first_and_surname": [
                f"{f} {s}"
                for f, s in zip(
                    ["ann", "bob", "cid", "dan"] * 10, ["lee", "ng", "li", "wu", "ma"] * 8
                )
            ],
        }
    )
    mapping = profile_columns(df, validate_records(df, resolve_roles(list(df.columns))))
    assert "repeats first_name + last_name" in mapping.unused["first_and_surname"]
    assert mapping.extras == ()


def test_the_level_follows_who_the_records_are() -> None:
    from linkage.schema import choose_level

    people = pd.DataFrame(
        {"id": ["1", "2", "3", "4"], "姓名": ["张伟", "李娜", None, "王芳"], "公司": list("abcd")}
    )
    sites = pd.DataFrame(
        {
            "id": ["1", "2", "3", "4"],
            "Contact Name": [None, None, None, "Ann"],
            "Site name": list("abcd"),
        }
    )
    accounts = pd.DataFrame({"id": ["1", "2"], "company": ["a", "b"], "phone": ["1", "2"]})
    for frame, level in ((people, "person"), (sites, "organization"), (accounts, "organization")):
        mapping = resolve_roles(list(frame.columns))
        assert choose_level(frame, mapping, None)[0] == level
