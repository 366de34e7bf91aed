"""The fast path (the model compiled to Python, ``linkage.store._fast``) scores every pair
exactly as splink's SQL does: the same level for every comparison, the same decision and
reason, a match weight within 1e-9; and it serves many threads at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

import linkage
from linkage.datasets import generate_accounts, generate_leads
from linkage.store import RecordStore

# Records made to reach the rare levels: a heteronym read two ways, an honorific, one
# company in two regions, the last eight digits of a mobile, a local part that is only
# the name at two companies, a credit code one typo away.
PEOPLE = [
    {"name": "曾伟", "mobile": "13957264810", "company": "华信科技(北京)有限公司"},
    {"name": "Ceng Wei", "mobile": "15857264810", "company": "华信科技(上海)有限公司"},
    {"name": "张先生", "mobile": "13700001111", "email": "fenghua@anrui.cn"},
    {"name": "张伟", "mobile": "13700001112", "email": "zw1985@anrui.cn"},
    {"name": "冯华", "email": "fenghua@anrui.cn", "city": "北京市"},
    {"name": "冯华", "email": "fenghua@dinghaicheng.cn", "city": "北京市"},
    {"name": "李娜", "credit_code": "91510102158167782R", "phone": "010-62345678"},
    {"name": "李娜", "credit_code": "91510102158167783R", "phone": "010-62345678"},
]


# Organizations: a typo, one name inside another, two or one words in common.
ACCOUNTS = [
    {"company": "Northwestern Memorial Hospital", "city": "Chicago"},
    {"company": "Northwestern Memorial Hospitel", "city": "Chicago"},
    {"company": "Bethel New Life", "city": "Chicago"},
    {"company": "Bethel New Life Lake And Pulaski", "city": "Chicago"},
    {"company": "Acme Global Trading", "city": "Chicago"},
    {"company": "Acme Global Logistics", "city": "Chicago"},
    {"company": "Bakery Sunrise", "city": "Chicago"},
    {"company": "Zenith Sunrise Hardware Supply", "city": "Chicago"},
    {"company": "Pulaski Tools", "address": "1600 N Pulaski Rd", "city": "Chicago"},
    {"company": "Pulaski Tools", "address": "1600 N Pulaski", "city": "Chicago"},
    {"company": "Mart Office", "address": "Merchandise Mart Plaza", "city": "Chicago"},
    {"company": "Mart Office", "address": "Merchandise Mart Plaz", "city": "Chicago"},
]


def _people(n: int) -> pd.DataFrame:
    leads = generate_leads(n, seed=5).drop(columns=["true_person_id", "true_account_id"])
    crafted = pd.DataFrame(PEOPLE)
    crafted["lead_id"] = [f"X{i}" for i in range(len(crafted))]
    return pd.concat([leads, crafted], ignore_index=True)


def _accounts(n: int) -> pd.DataFrame:
    accounts = generate_accounts(n, seed=5)
    # The store checks roles only: the generator's industry would be an extra comparison.
    accounts = accounts.drop(columns=[c for c in accounts.columns if c.startswith("true_")])
    crafted = pd.DataFrame(ACCOUNTS)
    crafted["account_id"] = [f"X{i}" for i in range(len(crafted))]
    return pd.concat([accounts.drop(columns=["industry"]), crafted], ignore_index=True)


def _store(tmp_path, records: pd.DataFrame) -> RecordStore:
    path = tmp_path / "crm.linkage"
    result = linkage.link(records, seed=0, queue=path)
    RecordStore.build(result).close()
    return RecordStore.open(path)


def _pairs(store: RecordStore, n_pairs: int, seed: int) -> pd.DataFrame:
    """Every pair of records sharing a blocking key (as many as ``n_pairs`` allows), pairs
    of the crafted records, and random pairs (most levels of "anything else")."""
    con = store._cursor()
    keys = con.execute("SELECT lookup, rid FROM store_keys").df()
    blocked = keys.merge(keys, on="lookup")[["rid_x", "rid_y"]].drop_duplicates()
    blocked = blocked[blocked["rid_x"] < blocked["rid_y"]]
    blocked = blocked.sample(min(len(blocked), n_pairs // 2), random_state=seed)
    rids = con.execute("SELECT rid, record_key FROM store_lookup ORDER BY rid").df()
    crafted = rids.loc[rids["record_key"].astype(str).str.contains("X"), "rid"].to_numpy()
    rng = np.random.default_rng(seed)
    picked = rng.choice(rids["rid"].to_numpy(), size=(n_pairs - len(blocked), 2))
    left = np.concatenate([blocked["rid_x"], picked[:, 0], np.repeat(crafted, len(crafted))])
    right = np.concatenate([blocked["rid_y"], picked[:, 1], np.tile(crafted, len(crafted))])
    pairs = pd.DataFrame({"rid_l": np.minimum(left, right), "rid_r": np.maximum(left, right)})
    return pairs[pairs["rid_l"] != pairs["rid_r"]].drop_duplicates(ignore_index=True)


def _assert_equal(store: RecordStore, pairs: pd.DataFrame) -> None:
    con, scorer = store._cursor(), store._scorer()
    assert scorer.fast is not None, "the model did not compile: every check would use SQL"
    used = np.unique(np.concatenate([pairs["rid_l"], pairs["rid_r"]]))
    empty = np.array([], dtype=np.int64)
    scorer.stage_batch(con, empty, [], np.array([], dtype=bool), [], used, store._state.totals)
    sql = scorer.score_levels(con, pairs["rid_l"], pairs["rid_r"])
    sql = sql.sort_values(["rid_l", "rid_r"], ignore_index=True)
    payloads = dict(
        con.execute(
            "SELECT rid, payload FROM store_lookup WHERE rid IN (SELECT unnest(?::BIGINT[]))",
            [used.tolist()],
        ).fetchall()
    )
    rows = scorer.fast_rows(
        store._index().counts.get,
        [],
        [],
        [],
        [],
        used.tolist(),
        [payloads[r] for r in used.tolist()],
        store._state.totals,
    )
    fast = [scorer.fast.score(rows[a], rows[b]) for a, b in zip(sql["rid_l"], sql["rid_r"])]
    assert len(fast) == len(pairs)
    gammas = np.array([p.gammas for p in fast])
    positions = np.array([p.levels for p in fast])
    for j, comparison in enumerate(scorer.fast.comparisons):
        differ = gammas[:, j] != sql[f"gamma_{comparison.name}"].to_numpy()
        assert not differ.any(), (
            f"{comparison.name}: {int(differ.sum())} pairs at another level, first "
            f"{sql.loc[np.flatnonzero(differ)[0], ['rid_l', 'rid_r']].tolist()}"
        )
        # Every level of every comparison is reached (null levels and tf levels too).
        missing = set(range(len(comparison.levels))) - set(positions[:, j].tolist())
        assert not missing, f"{comparison.name}: levels {sorted(missing)} never reached"
    weights = np.array([p.match_weight for p in fast])
    assert np.abs(weights - sql["match_weight"].to_numpy()).max() < 1e-9
    probabilities = np.array([p.match_probability for p in fast])
    assert np.abs(probabilities - sql["match_probability"].to_numpy()).max() < 1e-9
    assert [p.decision for p in fast] == sql["decision"].tolist()
    assert [p.reason for p in fast] == sql["reason"].tolist()
    assert sql["decision"].nunique() == 3  # the pairs span every decision
    has_tf = [c for c in scorer.fast.comparisons if any(lvl.tf_column for lvl in c.levels)]
    assert has_tf, "no term-frequency level in the model"


def test_fast_path_equals_sql_people(tmp_path) -> None:
    with _store(tmp_path, _people(2500)) as store:
        _assert_equal(store, _pairs(store, 12_000, seed=1))


@pytest.mark.slow  # 15-40 s on the 2-core machine: the quick tier stays under 5 min
def test_fast_path_equals_sql_organizations(tmp_path) -> None:
    with _store(tmp_path, _accounts(2500)) as store:
        _assert_equal(store, _pairs(store, 12_000, seed=2))


@pytest.mark.slow
@pytest.mark.parametrize("level", ["person", "organization"])
def test_fast_path_equals_sql_on_100000_pairs(tmp_path, level) -> None:
    records = _people(12_000) if level == "person" else _accounts(12_000)
    with _store(tmp_path, records) as store:
        pairs = _pairs(store, 110_000, seed=3)
        assert len(pairs) >= 100_000
        _assert_equal(store, pairs)


@pytest.mark.slow  # 15-40 s on the 2-core machine: the quick tier stays under 5 min
def test_a_check_answers_as_sql_does(tmp_path) -> None:
    """check_one through the fast path and through SQL: the same candidates, decisions,
    reasons and weights, for known people under new ids and strangers."""
    records = _people(2000)
    with _store(tmp_path, records.iloc[:1800]) as store:
        forms = records.iloc[1800:2000].to_dict("records")
        scorer = store._scorer()
        fast_answers = [store.check_one(form) for form in forms]
        compiled, scorer.fast = scorer.fast, None
        try:
            sql_answers = [store.check_one(form) for form in forms]
        finally:
            scorer.fast = compiled
    matched = 0
    for fast, sql in zip(fast_answers, sql_answers, strict=True):
        assert (fast.decision, fast.reason, fast.entity_id) == (
            sql.decision,
            sql.reason,
            sql.entity_id,
        )
        a, b = fast.candidates, sql.candidates
        assert a[["entity_id", "decision", "reason"]].equals(b[["entity_id", "decision", "reason"]])
        assert np.allclose(a["match_weight"], b["match_weight"], rtol=0, atol=1e-9)
        matched += fast.decision != "distinct"
    assert matched > 20


def test_many_threads_score_alike(tmp_path) -> None:
    records = _people(1500)
    with _store(tmp_path, records.iloc[:1300]) as store:
        forms = records.iloc[1300:1500].to_dict("records")

        def answer(form: dict) -> tuple:
            found = store.check_one(form)
            weight = None if found.match_weight is None else round(found.match_weight, 9)
            return found.decision, found.entity_id, weight, found.reason

        alone = [answer(form) for form in forms]
        with ThreadPoolExecutor(max_workers=8) as pool:
            together = list(pool.map(answer, forms * 3))
    assert together == alone * 3


def _answers_as_sql(store: RecordStore, forms: list[dict]) -> list:
    """Check ``forms`` on the rows held in memory and on SQL (the file's rows): the same
    answers, and golden records as the file holds them."""
    from linkage.store._records import golden_rows

    scorer = store._scorer()
    held = [store.check_one(form) for form in forms]
    compiled, scorer.fast = scorer.fast, None
    try:
        sql = [store.check_one(form) for form in forms]
    finally:
        scorer.fast = compiled
    for a, b in zip(held, sql, strict=True):
        assert (a.decision, a.reason, a.entity_id, a.matched_record) == (
            b.decision,
            b.reason,
            b.entity_id,
            b.matched_record,
        )
        if a.entity_id is not None:
            assert a.golden == golden_rows(store._cursor(), [a.entity_id])[a.entity_id]
            assert a.owner == a.golden.get("owner")
        assert a.candidates["entity_id"].tolist() == b.candidates["entity_id"].tolist()
    return held


@pytest.mark.slow  # 15-40 s on the 2-core machine: the quick tier stays under 5 min
def test_held_rows_follow_imports_edits_and_erasures(tmp_path) -> None:
    """The candidates' values and golden records a check reads from memory follow every
    write, by this store object and by another one on the same file."""
    records = _people(1400)
    store = _store(tmp_path, records.iloc[:1000])
    with store, RecordStore.open(store.queue.path) as other:
        assert store._current().payloads is not None and store._current().golden is not None
        _answers_as_sql(other, records.iloc[1000:1050].to_dict("records"))
        # Import: the new records are candidates at once, in both store objects.
        store.add(records.iloc[1100:1300])
        twins = records.iloc[1100:1300].copy()
        twins["lead_id"] = [f"T{i}" for i in range(len(twins))]
        for checker in (store, other):
            found = _answers_as_sql(checker, twins.to_dict("records"))
            assert sum(f.decision == "auto_merge" for f in found) > len(twins) // 2
        # Edit: a record's new number finds it; its entity's golden record follows.
        edited = records.iloc[1100]
        lead_id = str(edited["lead_id"])
        store.edit(lead_id, {"mobile": "13912345678", "email": "moved@example.cn"})
        probe = {"name": edited["name"], "mobile": "13912345678", "email": "moved@example.cn"}
        for checker in (store, other):
            (found,) = _answers_as_sql(checker, [probe])
            assert lead_id in found.golden["record_ids"]
        # Erasure: the record is no candidate any more.
        store.forget(lead_id)
        for checker in (store, other):
            (found,) = _answers_as_sql(checker, [probe])
            assert found.matched_record != lead_id


# SQL the compiler must answer as DuckDB does on every combination of the values below,
# NULLs included: three-valued logic, strict functions, comparisons.
_LOGIC = [
    '"p_l" AND "q_r"',
    '"p_l" OR "q_r"',
    'NOT "p_l"',
    'NOT ("p_l" AND "q_l") OR "q_r"',
    '("p_l" OR "q_l") AND NOT "q_r"',
    'coalesce("p_l", "q_r", false)',
    '"p_l" IS NULL OR "q_r" IS NULL',
    '"p_l" = "q_r"',
]
_TEXT = [
    '"s_l" = "s_r"',
    '"s_l" <> "s_r"',
    '"s_l" < "s_r"',
    'jaro_winkler_similarity("s_l", "s_r") >= 0.9',
    'damerau_levenshtein("s_l", "s_r") <= 1',
    'right("s_l", 2) = right("s_r", 2)',
    'left("s_l", 2) = left("s_r", 2)',
    '"s_l" || "s_r" = \'abcabd\'',
    'length("s_l") >= 3 AND "s_l" = "s_r"',
    "regexp_replace(\"s_l\", '[a-b]', 'x', 'g') = \"s_r\"",
    "replace(\"s_l\", 'b', 'd') = \"s_r\"",
    'greatest(length("s_l"), length("s_r")) >= 4 OR least(length("s_l"), length("s_r")) = 0',
    'coalesce("s_l", "t_r") = "s_r"',
    'length("s_l") - 2 = length("s_r") OR length("s_r") - length("s_l") = 1',
]


def _one_edit_sql() -> str:
    from linkage.comparisons import _one_edit_level

    return _one_edit_level("s").get_comparison_level("duckdb").sql_condition


@pytest.mark.parametrize(
    ("sql", "column", "values"),
    [(s, "p", [True, False, None]) for s in _LOGIC]
    + [(s, "s", ["abc", "abd", "abdc", "", "张伟", None]) for s in _TEXT]
    + [(_one_edit_sql(), "s", ["abcdefg", "abcdefgh", "abdcefg", "xbcdefg", "ab", None])],
)
def test_compiled_sql_answers_as_duckdb(sql, column, values) -> None:
    import itertools

    import duckdb

    from linkage.store import _fast

    assert _fast._calibrated()
    other = "q" if column == "p" else "t"
    names = [f"{column}_l", f"{other}_l", f"{column}_r", f"{other}_r"]
    grid = list(itertools.product(values, repeat=4))
    kind = "BOOLEAN" if column == "p" else "VARCHAR"
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t ({', '.join(f'{n} {kind}' for n in names)})")
    con.executemany(f"INSERT INTO t VALUES ({', '.join('?' * 4)})", grid)
    expected = [r[0] for r in con.execute(f"SELECT {sql} FROM t").fetchall()]
    compiled = _fast._compile_sql(sql, columns={column, other})
    for row, want in zip(grid, expected, strict=True):
        left = {column: row[0], other: row[1]}
        right = {column: row[2], other: row[3]}
        got = compiled(left, right)
        assert got == want and (got is None) == (want is None), (sql, row, got, want)
