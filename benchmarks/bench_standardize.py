"""Benchmark ``linkage.standardize.standardize`` on a realistic 1,000,000-row CRM frame.

Usage::

    python benchmarks/bench_standardize.py [--rows 1000000] [--seed 0]

The frame comes from ``linkage.datasets.generate_leads`` when it is importable, otherwise
from sampling messy example values (with realistic numbers of distinct values, since the
standardizer's cost grows with distinct values, not rows).  Only ``standardize()`` is timed.
The target is at most 30 s for 1M rows with every role present.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from linkage.standardize import standardize  # noqa: E402

ROLES = {
    "record_id": "lead_id",
    "company": "company",
    "credit_code": "credit_code",
    "person_name": "name",
    "mobile": "mobile",
    "phone": "phone",
    "email": "email",
    "wechat_unionid": "wechat_unionid",
    "province": "province",
    "city": "city",
    "address": "address",
    "source": "source",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "owner": "owner",
}
"""Role -> column of the generated lead frame."""

TARGET_SECONDS = 30.0
"""Budget for 1,000,000 rows on a 2-core machine."""

_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董")
_GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建国志飞鹏")
_SURNAME_PINYIN = ["wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou"]
_GIVEN_PINYIN = ["wei", "fang", "na", "min", "jing", "li", "qiang", "lei", "jun", "yang"]
_BRANDS = ["华信", "恒通", "金科", "蓝天", "瑞丰", "博盛", "安讯", "联光", "宏远", "鼎新"]
_INDUSTRIES = ["科技", "贸易", "电子", "软件", "物流", "医药", "建设工程", "汽车零部件"]
_CITIES = ["北京", "上海", "深圳", "广州", "杭州", "南京", "成都", "武汉", "苏州", "厦门"]
_PROVINCES = ["北京市", "上海", "广东省", "广东", "浙江省", "Jiangsu", "四川省", "湖北", "福建"]
_FORMS = ["有限公司", "股份有限公司", "有限责任公司", "集团有限公司"]
_SOURCES = ["web", "trade_show", "wechat", "referral", "cold_call", "livestream"]


def _fallback_frame(n: int, seed: int) -> pd.DataFrame:
    """Messy leads built by sampling value patterns (used when generate_leads is missing)."""
    rng = np.random.default_rng(seed)

    def pick(values: list[str], size: int) -> np.ndarray:
        return np.asarray(values, dtype=object)[rng.integers(0, len(values), size)]

    def blank(values: np.ndarray, share: float) -> np.ndarray:
        out = values.astype(object)
        out[rng.random(len(out)) < share] = None
        return out

    people = max(1, int(n * 0.75))
    person = rng.integers(0, people, n)
    mobile_p = rng.choice(np.array([138, 139, 150, 186, 188, 177, 135]), people) * 10**8
    mobile_p = (mobile_p + rng.integers(0, 10**8, people)).astype(str).astype(object)
    surname = pick(_SURNAMES, people)
    given = pick(_GIVEN, people) + np.where(rng.random(people) < 0.6, pick(_GIVEN, people), "")
    name = surname + given
    latin = pick(_GIVEN_PINYIN, people) + " " + pick(_SURNAME_PINYIN, people)
    name = np.where(rng.random(people) < 0.15, latin, name)
    company_p = (
        pick(_CITIES, people) + pick(_BRANDS, people) + pick(_BRANDS, people)
        + pick(_INDUSTRIES, people) + pick(_FORMS, people)
    )  # fmt: skip
    mobile = mobile_p[person]
    style = rng.random(n)
    mobile = np.where(style < 0.1, "+86 " + mobile, mobile)
    mobile = np.where((style > 0.1) & (style < 0.15), mobile + ".0", mobile)
    mobile[rng.random(n) < 0.01] = "13800000000"
    area = pick(["010", "021", "0755", "020", "0571"], n)
    local = rng.integers(2 * 10**7, 10**8, n).astype(str).astype(object)
    phone = area + "-" + local
    phone = np.where(rng.random(n) < 0.2, phone + " 转 " + rng.integers(100, 999, n).astype(str),
                     phone)  # fmt: skip
    email = pick(_GIVEN_PINYIN, n) + rng.integers(1, 10**5, n).astype(str) + "@"
    email = email + pick(["qq.com", "163.com", "huaxin.com.cn", "QQ.COM", "test.com"], n)
    seconds = rng.integers(1_640_995_200, 1_735_689_600, n).astype("datetime64[s]")
    created = pd.Series(seconds).dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(dtype=object)
    created = np.where(rng.random(n) < 0.2, pd.Series(seconds).dt.strftime("%Y/%m/%d %H:%M"),
                       created)  # fmt: skip
    updated = pd.Series(seconds + rng.integers(0, 10**7, n)).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return pd.DataFrame(
        {
            "lead_id": [f"L{i:07d}" for i in range(n)],
            "company": blank(company_p[person], 0.1),
            "credit_code": blank(
                np.asarray(["91110000600037341L", "91110000600037341M", "9111000060003734"])[
                    rng.integers(0, 3, n)
                ],
                0.7,
            ),
            "name": blank(name[person], 0.05),
            "mobile": blank(mobile, 0.1),
            "phone": blank(phone, 0.4),
            "email": blank(email, 0.5),
            "wechat_unionid": blank(
                np.asarray([f"oX2k-{i:023d}" for i in range(1000)], dtype=object)[
                    rng.integers(0, 1000, n)
                ],
                0.8,
            ),
            "province": blank(pick(_PROVINCES, n), 0.3),
            "city": blank(pick(_CITIES, n) + "市", 0.3),
            "address": blank(
                pick(_CITIES, n) + "市中山路" + rng.integers(1, 500, n).astype(str) + "号", 0.5
            ),  # fmt: skip
            "source": pick(_SOURCES, n),
            "created_at": created,
            "updated_at": updated.to_numpy(dtype=object),
            "owner": pick(["孙嘉怡", "林志强", "高俊杰"], n),
        }
    )


def build_frame(n: int, seed: int) -> tuple[pd.DataFrame, str]:
    """The benchmark frame and a word on where it came from."""
    try:
        from linkage.datasets import generate_leads
    except ImportError:
        return _fallback_frame(n, seed), "sampled example values (generate_leads not found)"
    return generate_leads(n, seed=seed), "linkage.datasets.generate_leads"


def main(argv: list[str] | None = None) -> int:
    """Build the frame, time ``standardize()`` once and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to standardize")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the data")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    frame, origin = build_frame(args.rows, args.seed)
    built = time.perf_counter() - started
    roles = {role: column for role, column in ROLES.items() if column in frame.columns}

    started = time.perf_counter()
    result = standardize(frame, roles)
    seconds = time.perf_counter() - started

    rows = len(frame)
    print(f"data:        {origin} (built in {built:.1f} s)")
    print(f"roles:       {', '.join(sorted(roles))}")
    print(f"rows:        {rows:,}")
    print(f"seconds:     {seconds:.2f}")
    print(f"rows/s:      {rows / seconds:,.0f}")
    print(f"problems:    {len(result.problems):,}")
    print(f"derived:     {result.frame.shape[1] - frame.shape[1]} columns")
    print(f"machine:     {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")  # fmt: skip
    budget = TARGET_SECONDS * rows / 1_000_000
    verdict = "OK" if seconds <= budget else "TOO SLOW"
    print(f"target:      <= {budget:.1f} s for {rows:,} rows -> {verdict}")
    return 0 if seconds <= budget else 1


if __name__ == "__main__":
    raise SystemExit(main())
