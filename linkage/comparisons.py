"""CRM-aware comparisons, one per role, built from splink's comparison libraries.

Each comparison reads the *standardized* columns that :mod:`linkage.standardize` derives
(``mobile_e164``, ``company_core``, ``person_name_key`` ...), never the raw input, and turns a
pair of records into an agreement level. Levels are listed in each builder's docstring in the
order splink evaluates them (first match wins); the null level is always first, the
"anything else" level always last.

Users can replace any default by passing their own splink comparison for that role, or add
comparisons on further columns::

    import splink.comparison_library as cl
    linkage.link(df, comparisons={"email": cl.ExactMatch("email_clean")})
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl

from linkage._splink import ComparisonCreator
from linkage.errors import ConfigError
from linkage.roles import REGISTRY

# Comparison output names are fixed: decisions and routing rules refer to them
# (``gamma_mobile``, ``gamma_company`` ...).


def _one_edit_level(column: str) -> Any:
    """splink's ``DamerauLevenshteinLevel(column, 1)`` (one character typed wrong, added,
    dropped, or two neighbours swapped), with a test in front that settles most pairs
    without computing the distance: DuckDB's ``damerau_levenshtein`` costs about 3 us a
    pair, a third of an import's scoring at a million records.

    The test is exact, not a heuristic. Let L be the shorter length. Two strings one edit
    apart agree on their first L - 5 characters or on their last 4: the edit sits in one
    window of at most two neighbouring characters, and whatever lies before it agrees
    left-aligned, whatever lies after it agrees right-aligned; when fewer than L - 5
    characters lie before it, 4 or more lie after it. The long prefix is the selective
    side for the codes it serves (a mobile's country code and carrier are shared by most
    pairs; its last 4 digits and a credit code's serial are not), and the "same last 8
    digits" level before this one has already taken the pairs whose tails agree. Strings
    shorter than 6 go to the distance unfiltered. Same label as splink's level, so charts
    and the decision rules that name it are unchanged."""
    left, right = f'"{column}_l"', f'"{column}_r"'
    shorter = f"least(length({left}), length({right}))"
    return cll.CustomLevel(
        f"({shorter} < 6 "
        f"OR left({left}, {shorter} - 5) = left({right}, {shorter} - 5) "
        f"OR right({left}, 4) = right({right}, 4)) "
        f"AND damerau_levenshtein({left}, {right}) <= 1",
        label_for_charts=f"Damerau-Levenshtein distance of {column} <= 1",
    )


def account_comparison(roles: Iterable[str]) -> ComparisonCreator:
    """The account (company) a record belongs to, judged once from every account-level field.

    Colleagues share their company's name, credit code, address, city, switchboard and
    website.
    Compared one by one, those fields would each add their weight and a pair of colleagues
    would outscore a pair of sparse records of one person: Fellegi-Sunter assumes fields
    are independent given match status, and account fields are anything but. So they form
    one comparison, whose best level counts once.

    Levels (those whose columns are present):
        1. null: no account field is filled on both sides
        2. same unified social credit code
        3. same company core name and same address
        4. same company core name, no conflicting region (``华信科技(北京)有限公司`` ~
           ``北京華信科技有限公司``)
        5. credit codes one character apart (a typo)
        6. same address
        7. same shared switchboard number
        8. same website domain
        9. same core name, different regions (often a namesake in another city)
        10. company core names Jaro-Winkler >= 0.9
        11. same city
        12. anything else (the account fields that both sides have all differ)
    """
    roles = set(roles)
    has = {
        "company": "company" in roles,
        "credit": "credit_code" in roles,
        "address": "address" in roles,
        "phone": "phone" in roles,
        "city": "city" in roles,
        "website": "website" in roles,
    }
    both = {
        "company": '("company_core_l" IS NOT NULL AND "company_core_r" IS NOT NULL)',
        "credit": '("credit_code_clean_l" IS NOT NULL AND "credit_code_clean_r" IS NOT NULL)',
        "address": '("address_clean_l" IS NOT NULL AND "address_clean_r" IS NOT NULL)',
        "phone": '("phone_e164_l" IS NOT NULL AND "phone_e164_r" IS NOT NULL)',
        "city": '("city_clean_l" IS NOT NULL AND "city_clean_r" IS NOT NULL)',
        "website": '("website_domain_l" IS NOT NULL AND "website_domain_r" IS NOT NULL)',
    }
    comparable = " OR ".join(both[k] for k, present in has.items() if present)
    same_region = (
        '("company_region_l" IS NULL OR "company_region_r" IS NULL '
        'OR "company_region_l" = "company_region_r")'
    )
    levels = [cll.CustomLevel(f"NOT ({comparable})").configure(is_null_level=True)]
    if has["credit"]:
        levels.append(cll.ExactMatchLevel("credit_code_clean"))
    if has["company"] and has["address"]:
        levels.append(
            cll.CustomLevel(
                '"company_core_l" = "company_core_r" AND "address_clean_l" = "address_clean_r"',
                label_for_charts="same company and address",
            )
        )
    if has["company"]:
        levels.append(
            cll.CustomLevel(
                f'"company_core_l" = "company_core_r" AND {same_region}',
                label_for_charts="same company",
            )
        )
    if has["credit"]:
        levels.append(_one_edit_level("credit_code_clean"))
    if has["address"]:
        levels.append(cll.ExactMatchLevel("address_clean"))
    if has["phone"]:
        levels.append(
            cll.CustomLevel('"phone_e164_l" = "phone_e164_r"', label_for_charts="same switchboard")
        )
    if has["website"]:
        levels.append(
            cll.CustomLevel(
                '"website_domain_l" = "website_domain_r"', label_for_charts="same website"
            )
        )
    if has["company"]:
        # Before the fuzzy name: identical cores would reach Jaro-Winkler >= 0.9 first, and
        # a namesake in another region would get the weight of a near-identical name.
        levels.append(
            cll.CustomLevel(
                '"company_core_l" = "company_core_r"',
                label_for_charts="same company name, different region",
            )
        )
        levels.append(cll.JaroWinklerLevel("company_core", 0.9))
    if has["city"]:
        levels.append(cll.ExactMatchLevel("city_clean"))
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(
        output_column_name="account",
        comparison_description="account: company, credit code, address, switchboard, city",
        comparison_levels=levels,
    )


def credit_code_comparison() -> ComparisonCreator:
    """Unified social credit code.

    Levels:
        1. null
        2. exact match
        3. one character different (a typo: the standardizer flags its bad checksum)
        4. anything else
    """
    return _exact_then(
        "credit_code",
        "credit_code_clean",
        "unified social credit code",
        [_one_edit_level("credit_code_clean")],
    )


def person_name_comparison() -> ComparisonCreator:
    """Person name, Chinese or latin, through pinyin.

    Levels:
        1. null
        2. same cleaned name (``张伟`` ~ ``張偉``), term-frequency adjusted, so ``张伟``
           counts for less than a rare name
        3. same pinyin (``张伟`` ~ ``Zhang Wei`` ~ ``Wei ZHANG``, or a homophone typo
           ``张玮``), term-frequency adjusted
        4. same pinyin under another reading of a heteronym (曾 zeng/ceng, 单 shan/dan)
        5. an honorific form (``张先生``) against a name with the same surname
        6. pinyin Jaro-Winkler >= 0.88
        7. anything else
    """
    neither_honorific = (
        'NOT coalesce("person_name_is_honorific_l", false) '
        'AND NOT coalesce("person_name_is_honorific_r", false)'
    )
    return cl.CustomComparison(
        output_column_name="person_name",
        comparison_description="person name (pinyin-aware)",
        comparison_levels=[
            cll.NullLevel("person_name_key"),
            cll.ExactMatchLevel("person_name_clean", term_frequency_adjustments=True),
            cll.ExactMatchLevel("person_name_key", term_frequency_adjustments=True),
            cll.CustomLevel(
                'len(list_intersect("person_name_keys_l", "person_name_keys_r")) > 0',
                label_for_charts="same pinyin, another reading",
            ),
            cll.CustomLevel(
                '"person_surname_l" = "person_surname_r" AND '
                '(coalesce("person_name_is_honorific_l", false) '
                'OR coalesce("person_name_is_honorific_r", false))',
                label_for_charts="honorific, same surname",
            ),
            cll.CustomLevel(
                f'jaro_winkler_similarity("person_name_key_l", "person_name_key_r") >= 0.88 '
                f"AND {neither_honorific}",
                label_for_charts="pinyin Jaro-Winkler >= 0.88",
            ),
            cll.ElseLevel(),
        ],
    )


def first_name_comparison() -> ComparisonCreator:
    """Given name (separate first and last name columns): splink's NameComparison,
    exact (term-frequency adjusted) / Jaro-Winkler >= 0.92 / >= 0.88 / >= 0.7 / else."""
    return cl.NameComparison("first_name_clean").configure(term_frequency_adjustments=True)


def last_name_comparison() -> ComparisonCreator:
    """Family name: as :func:`first_name_comparison`, plus a level for first and last
    name swapped between the two records.

    Levels: null / exact (tf) / swapped with the first name / Jaro-Winkler >= 0.92 /
    >= 0.88 / >= 0.7 / else.
    """
    return cl.CustomComparison(
        output_column_name="last_name",
        comparison_description="family name",
        comparison_levels=[
            cll.NullLevel("last_name_clean"),
            cll.ExactMatchLevel("last_name_clean", term_frequency_adjustments=True),
            cll.CustomLevel(
                '"last_name_clean_l" = "first_name_clean_r" '
                'AND "first_name_clean_l" = "last_name_clean_r"',
                label_for_charts="first and last name swapped",
            ),
            cll.JaroWinklerLevel("last_name_clean", 0.92),
            cll.JaroWinklerLevel("last_name_clean", 0.88),
            cll.JaroWinklerLevel("last_name_clean", 0.7),
            cll.ElseLevel(),
        ],
    )


def _phone_levels(column: str) -> list:
    return [
        cll.NullLevel(f"{column}_e164"),
        cll.ExactMatchLevel(f"{column}_e164", term_frequency_adjustments=True),
        cll.CustomLevel(
            f'right("{column}_e164_l", 8) = right("{column}_e164_r", 8)',
            label_for_charts="same last 8 digits",
        ),
        _one_edit_level(f"{column}_e164"),
        cll.ElseLevel(),
    ]


def mobile_comparison() -> ComparisonCreator:
    """Mobile phone, on its E.164 form (``+86 138-0013-8000`` ~ ``13800138000``).

    Levels:
        1. null (missing, unparseable or a placeholder such as ``13800000000``)
        2. exact, term-frequency adjusted (a number many records share counts for less)
        3. same last 8 digits
        4. one digit typed wrong or two swapped (Damerau-Levenshtein <= 1)
        5. anything else
    """
    return cl.CustomComparison(
        output_column_name="mobile",
        comparison_description="mobile phone (E.164)",
        comparison_levels=_phone_levels("mobile"),
    )


def phone_comparison() -> ComparisonCreator:
    """Landline phone as a *personal* line; a shared switchboard is account evidence.

    Levels:
        1. null: missing on either side, or the same number shared by several people
           (a switchboard says who the company is, not who the person is; the account
           comparison counts it)
        2. same number and extension, or same number not shared by several people
        3. anything else
    """
    shared = 'coalesce("phone_shared_l", false) OR coalesce("phone_shared_r", false)'
    return cl.CustomComparison(
        output_column_name="phone",
        comparison_description="landline phone (E.164), personal lines",
        comparison_levels=[
            cll.CustomLevel(
                '"phone_e164_l" IS NULL OR "phone_e164_r" IS NULL OR ('
                f'"phone_e164_l" = "phone_e164_r" AND ({shared}) AND '
                'NOT coalesce("phone_extension_l" = "phone_extension_r", false))'
            ).configure(is_null_level=True),
            cll.ExactMatchLevel("phone_e164").configure(label_for_charts="same personal line"),
            cll.ElseLevel(),
        ],
    )


def email_comparison(name_key: str | None = None) -> ComparisonCreator:
    """Email address.

    Most work addresses are the person's name in pinyin (``fenghua@``, ``hua.feng@``,
    ``fhua@``): two namesakes at two companies share that local part. Counted beside the
    name it would be the name's evidence twice (Fellegi-Sunter takes fields as independent),
    and it merged namesakes at different companies with different phones (issue 13). So
    with ``name_key``, a local part made of nothing but both records' name (its syllables
    and initials, no digits) is no evidence either way: the name comparison already counted
    it. A local part the name does not explain (``fh1985``, ``wang.lei.sh``) still counts.

    Args:
        name_key: the standardized column holding the person's name in pinyin, syllables
            sorted and space-separated (``person_name_key``: ``冯华`` -> ``feng hua``), when
            the data has a name; ``None`` leaves level 3 out.

    Levels:
        1. null (missing, invalid or a placeholder such as ``test@test.com``)
        2. exact, term-frequency adjusted
        3. (with ``name_key``) same local part, another domain (not a typo of a company
           domain), the local part only both records' name (``fenghua@anrui.cn`` ~
           ``fenghua@dinghaicheng.cn`` for two 冯华): a null level, no evidence beyond
           the name
        4. same local part, different domain (``zhangwei@huaxin.com`` ~ ``zhangwei@qq.com``)
        5. local parts Jaro-Winkler >= 0.88 at the same domain (a typo)
        6. anything else (a colleague's address at the same company domain is no evidence
           for the person; the account comparison covers the company)
    """
    same_local = '"email_local_l" = "email_local_r" AND length("email_local_l") >= 4'
    # A company domain one typo away (marshall.com ~ marsahmll.com) is the same mailbox:
    # the address, not the name, agrees. Free-mail domains alike (163.com, 126.com) are
    # two providers (their company_domain is null); their typos are invalid already.
    domain_typo = (
        'coalesce(jaro_winkler_similarity("company_domain_l", "company_domain_r") >= 0.9, false)'
    )
    name_levels = []
    if name_key is not None:
        name_levels.append(
            cll.CustomLevel(
                f"{same_local} AND NOT ({domain_typo}) AND {_local_part_is_name(name_key, 'l')} "
                f"AND {_local_part_is_name(name_key, 'r')}",
                label_for_charts="same local part, only the name",
            ).configure(is_null_level=True)
        )
    return cl.CustomComparison(
        output_column_name="email",
        comparison_description="email address",
        comparison_levels=[
            cll.NullLevel("email_clean"),
            cll.ExactMatchLevel("email_clean", term_frequency_adjustments=True),
            *name_levels,
            cll.CustomLevel(same_local, label_for_charts="same local part"),
            cll.CustomLevel(
                '"email_domain_l" = "email_domain_r" AND '
                'jaro_winkler_similarity("email_local_l", "email_local_r") >= 0.88',
                label_for_charts="local part Jaro-Winkler >= 0.88, same domain",
            ),
            cll.ElseLevel(),
        ],
    )


def _local_part_is_name(name_key: str, side: str) -> str:
    """SQL: the left record's email local part, without ``.``, ``_`` and ``-``, is made
    of nothing but the syllables and initials of the name on ``side`` (``fenghua``,
    ``hua.feng``, ``feng.h``, ``fhua`` for ``feng hua``). NULL without a name.

    The pattern is built from the key, whose words are letters only (the standardizer's
    tokens), so it holds no regex syntax but the ``|`` joining them.
    """
    key = f'"{name_key}_{side}"'
    syllables = f"replace({key}, ' ', '|')"
    initials = rf"replace(regexp_replace({key}, '(\w)\w*', '\1', 'g'), ' ', '|')"
    local = "regexp_replace(\"email_local_l\", '[._-]', '', 'g')"
    return f"regexp_full_match({local}, '(?:' || {syllables} || '|' || {initials} || ')+')"


def wechat_comparison() -> ComparisonCreator:
    """WeChat UnionID: null / exact / anything else."""
    return _exact_then("wechat_unionid", "wechat_unionid_clean", "WeChat UnionID")


def national_id_comparison() -> ComparisonCreator:
    """Personal id number: null / exact / one character different / anything else."""
    return _exact_then(
        "national_id",
        "national_id_clean",
        "personal id number",
        [_one_edit_level("national_id_clean")],
    )


def dob_comparison() -> ComparisonCreator:
    """Date of birth: splink's DateOfBirthComparison on the parsed date
    (exact / within 1 month / within 1 year / within 10 years / else)."""
    return cl.DateOfBirthComparison("dob_date", input_is_string=False)


def location_comparison(has_city: bool = True, has_province: bool = True) -> ComparisonCreator:
    """City and province together (with whichever of the two the data has).

    Levels: null (neither side has a city or province) / same city (tf) / same province /
    anything else.
    """
    columns = [c for c, has in (("city_clean", has_city), ("province_clean", has_province)) if has]
    null_sql = " AND ".join(f'("{c}_l" IS NULL OR "{c}_r" IS NULL)' for c in columns)
    levels = [cll.CustomLevel(null_sql).configure(is_null_level=True)]
    if has_city:
        levels.append(cll.ExactMatchLevel("city_clean", term_frequency_adjustments=True))
    if has_province:
        levels.append(cll.ExactMatchLevel("province_clean"))
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(
        output_column_name="location",
        comparison_description="city and province",
        comparison_levels=levels,
    )


def address_comparison() -> ComparisonCreator:
    """Street address: null / exact (tf) / Jaro-Winkler >= 0.9 / >= 0.75 / else."""
    return _exact_then(
        "address",
        "address_clean",
        "street address",
        [cll.JaroWinklerLevel("address_clean", 0.9), cll.JaroWinklerLevel("address_clean", 0.75)],
        term_frequency_adjustments=True,
    )


def postcode_comparison() -> ComparisonCreator:
    """Postcode: null / exact (tf) / one character different / anything else."""
    return _exact_then(
        "postcode",
        "postcode_clean",
        "postcode",
        [cll.DamerauLevenshteinLevel("postcode_clean", 1)],
        term_frequency_adjustments=True,
    )


def gender_comparison() -> ComparisonCreator:
    """Gender: null / exact / anything else."""
    return _exact_then("gender", "gender_clean", "gender")


def job_title_comparison() -> ComparisonCreator:
    """Job title / occupation: null / exact (tf) / Jaro-Winkler >= 0.88 / anything else."""
    return _exact_then(
        "job_title",
        "job_title_clean",
        "job title",
        [cll.JaroWinklerLevel("job_title_clean", 0.88)],
        term_frequency_adjustments=True,
    )


def _exact_then(
    name: str,
    column: str,
    description: str,
    middle_levels: Sequence[Any] = (),
    *,
    term_frequency_adjustments: bool = False,
) -> ComparisonCreator:
    """null / exact / ``middle_levels`` / anything else, on one column."""
    return cl.CustomComparison(
        output_column_name=name,
        comparison_description=description,
        comparison_levels=[
            cll.NullLevel(column),
            cll.ExactMatchLevel(column, term_frequency_adjustments=term_frequency_adjustments),
            *middle_levels,
            cll.ElseLevel(),
        ],
    )


def organization_name_comparison(columns: Iterable[str]) -> ComparisonCreator:
    """An organization's name, when the records *are* organizations (accounts, sites).

    Levels:
        1. null
        2. same core name (legal form, region and noise removed), term-frequency adjusted
        3. core names Jaro-Winkler >= 0.95 (a typo)
        4. the same name tokens in another order, or all of the shorter name's tokens
           (``bethel new life`` ~ ``bethel new life lake and pulaski``)
        5. at least two name tokens in common
        6. core names Jaro-Winkler >= 0.85
        7. one name token in common
        8. anything else
    """
    columns = set(columns)
    levels = [
        cll.NullLevel("company_core"),
        cll.ExactMatchLevel("company_core", term_frequency_adjustments=True),
        cll.JaroWinklerLevel("company_core", 0.95),
    ]
    if "company_tokens" in columns:
        tokens_l, tokens_r = '"company_tokens_l"', '"company_tokens_r"'
        common = f"len(list_intersect({tokens_l}, {tokens_r}))"
        shorter = f"least(len({tokens_l}), len({tokens_r}))"
        levels += [
            cll.CustomLevel(
                f"{common} = {shorter} AND {shorter} >= 2",
                label_for_charts="same name tokens, or all of the shorter name's",
            ),
            cll.CustomLevel(f"{common} >= 2", label_for_charts="two name tokens in common"),
            cll.JaroWinklerLevel("company_core", 0.85),
            cll.CustomLevel(f"{common} >= 1", label_for_charts="one name token in common"),
        ]
    else:
        levels.append(cll.JaroWinklerLevel("company_core", 0.85))
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(
        output_column_name="company",
        comparison_description="organization name",
        comparison_levels=levels,
    )


#: The share of an organization's records whose house numbers differ (a typo, a second
#: entrance): a fixed m, so a different house number weighs strongly against a match.
DIFFERENT_HOUSE_NUMBER_M = 0.01


def organization_address_comparison(columns: Iterable[str]) -> ComparisonCreator:
    """An organization's street address, from its parsed house number and street.

    A different house number on the same street is strong evidence of another site
    (neighbours), so it has its own level for EM to weigh rather than joining the
    anything-else level.

    Levels:
        1. null
        2. same address
        3. same house number and street
        4. same house number, streets Jaro-Winkler >= 0.85 (``pulaski rd`` ~ ``pulaski``)
        5. same street, different house numbers
        6. different house numbers (both parsed): another site, whatever the street
        7. addresses Jaro-Winkler >= 0.9 (no number parsed on one side)
        8. anything else
    """
    columns = set(columns)
    levels = [
        cll.NullLevel("address_clean"),
        cll.ExactMatchLevel("address_clean", term_frequency_adjustments=True),
    ]
    if {"address_number", "address_street"} <= columns:
        same_number = '"address_number_l" = "address_number_r"'
        levels += [
            cll.CustomLevel(
                f'{same_number} AND "address_street_l" = "address_street_r"',
                label_for_charts="same number and street",
            ),
            cll.CustomLevel(
                f"{same_number} AND "
                'jaro_winkler_similarity("address_street_l", "address_street_r") >= 0.85',
                label_for_charts="same number, similar street",
            ),
            cll.CustomLevel(
                '"address_street_l" = "address_street_r" AND "address_number_l" <> '
                '"address_number_r"',
                label_for_charts="same street, another house number",
            ),
            # Fixed, not learned: where one organization shares a phone across its sites,
            # EM reads the sites as one and learns that house numbers often differ.
            cll.CustomLevel(
                '"address_number_l" <> "address_number_r"',
                label_for_charts="different house numbers",
            ).configure(m_probability=DIFFERENT_HOUSE_NUMBER_M, fix_m_probability=True),
        ]
    levels += [cll.JaroWinklerLevel("address_clean", 0.9), cll.ElseLevel()]
    return cl.CustomComparison(
        output_column_name="address",
        comparison_description="street address (house number and street)",
        comparison_levels=levels,
    )


def organization_phone_comparison(role: str = "phone") -> ComparisonCreator:
    """An organization's phone (its main line): the account's own number.

    Reads ``<role>_e164`` and ``<role>_tail``, the last seven digits as written, so that a
    local number without its area code (``265-3830``) still meets its full form.

    Levels: null / same number (tf) / same last 7 digits / anything else.
    """
    tail = f"{role}_tail"
    return cl.CustomComparison(
        output_column_name=role,
        comparison_description=f"{role} (E.164, last seven digits)",
        comparison_levels=[
            cll.NullLevel(tail),
            cll.ExactMatchLevel(f"{role}_e164", term_frequency_adjustments=True),
            cll.ExactMatchLevel(tail, term_frequency_adjustments=True).configure(
                label_for_charts="same last 7 digits"
            ),
            cll.ElseLevel(),
        ],
    )


def website_comparison() -> ComparisonCreator:
    """Website, on its domain: null / same domain (tf) / anything else."""
    return _exact_then(
        "website", "website_domain", "website domain", term_frequency_adjustments=True
    )


def email_domain_comparison() -> ComparisonCreator:
    """An organization's email, on its company domain (free-mail domains are null):
    null / same address / same company domain / anything else."""
    return cl.CustomComparison(
        output_column_name="email",
        comparison_description="email (company domain)",
        comparison_levels=[
            cll.CustomLevel('("email_clean_l" IS NULL OR "email_clean_r" IS NULL)').configure(
                is_null_level=True
            ),
            cll.ExactMatchLevel("email_clean"),
            cll.ExactMatchLevel("company_domain", term_frequency_adjustments=True),
            cll.ElseLevel(),
        ],
    )


def birth_place_comparison() -> ComparisonCreator:
    """Place of birth: null / exact (tf) / Jaro-Winkler >= 0.9 / anything else."""
    return _exact_then(
        "birth_place",
        "birth_place_clean",
        "place of birth",
        [cll.JaroWinklerLevel("birth_place_clean", 0.9)],
        term_frequency_adjustments=True,
    )


def middle_name_comparison() -> ComparisonCreator:
    """Middle name: null / exact / same initial (``J.`` ~ ``James``) / anything else."""
    return _exact_then(
        "middle_name",
        "middle_name_clean",
        "middle name",
        [
            cll.CustomLevel(
                'left("middle_name_clean_l", 1) = left("middle_name_clean_r", 1)',
                label_for_charts="same initial",
            )
        ],
    )


def birth_year_comparison() -> ComparisonCreator:
    """Year of birth: null / same year / one year apart / within five years / anything
    else (a namesake born decades apart is another person)."""
    return _number_bands("birth_year", "birth_year_clean", "year of birth", (1, 5))


def fax_comparison() -> ComparisonCreator:
    """Fax number: null / same number / anything else."""
    return _exact_then("fax", "fax_clean", "fax number")


def coordinates_comparison() -> ComparisonCreator:
    """Coordinates: null / within 100 m / within 1 km / within 10 km / anything else."""
    distance = (
        "6371000 * 2 * asin(sqrt(pow(sin(radians({lat_r} - {lat_l}) / 2), 2)"
        " + cos(radians({lat_l})) * cos(radians({lat_r}))"
        " * pow(sin(radians({lng_r} - {lng_l}) / 2), 2)))"
    ).format(
        **{
            f"{c}_{side}": f'"{name}_num_{side}"'
            for c, name in (("lat", "latitude"), ("lng", "longitude"))
            for side in ("l", "r")
        }
    )
    null = " OR ".join(
        f'"{name}_num_{side}" IS NULL OR isnan("{name}_num_{side}")'
        for name in ("latitude", "longitude")
        for side in ("l", "r")
    )
    return cl.CustomComparison(
        output_column_name="coordinates",
        comparison_description="coordinates (distance)",
        comparison_levels=[
            cll.CustomLevel(null).configure(is_null_level=True),
            cll.CustomLevel(f"{distance} <= 100", label_for_charts="within 100 m"),
            cll.CustomLevel(f"{distance} <= 1000", label_for_charts="within 1 km"),
            cll.CustomLevel(f"{distance} <= 10000", label_for_charts="within 10 km"),
            cll.ElseLevel(),
        ],
    )


def extra_comparison(name: str, kind: str, description: str) -> ComparisonCreator:
    """A comparison for a column no role claims, chosen by the kind of its values
    (:mod:`linkage.profiling`); it reads ``<name>`` (and ``<name>_tokens`` for text).

    Levels by kind:
        text: null / exact (tf) / Jaro-Winkler >= 0.92 / two tokens in common /
            Jaro-Winkler >= 0.8 / else
        code, category, phone, email, website: null / exact (tf) / else
        year: null / same / one apart / within five / else
        number: null / same / within 5% / else
        date: null / same day / within 30 days / within a year / else
        list: null / two items in common / one item in common / else
    """
    column = f"{name}_value"
    if kind == "text":
        common = f'len(list_intersect("{name}_tokens_l", "{name}_tokens_r"))'
        middle = [
            cll.JaroWinklerLevel(column, 0.92),
            cll.CustomLevel(f"{common} >= 2", label_for_charts="two words in common"),
            cll.JaroWinklerLevel(column, 0.8),
        ]
        return _exact_then(name, column, description, middle, term_frequency_adjustments=True)
    if kind == "year":
        return _number_bands(name, column, description, (1, 5))
    if kind == "number":
        return cl.CustomComparison(
            output_column_name=name,
            comparison_description=description,
            comparison_levels=[
                cll.NullLevel(column),
                cll.ExactMatchLevel(column),
                cll.CustomLevel(
                    f'abs("{column}_l" - "{column}_r") <= 0.05 * '
                    f'greatest(abs("{column}_l"), abs("{column}_r"))',
                    label_for_charts="within 5%",
                ),
                cll.ElseLevel(),
            ],
        )
    if kind == "date":
        days = f'abs(date_diff(\'day\', "{column}_l", "{column}_r"))'
        return cl.CustomComparison(
            output_column_name=name,
            comparison_description=description,
            comparison_levels=[
                cll.NullLevel(column),
                cll.ExactMatchLevel(column),
                cll.CustomLevel(f"{days} <= 30", label_for_charts="within 30 days"),
                cll.CustomLevel(f"{days} <= 366", label_for_charts="within a year"),
                cll.ElseLevel(),
            ],
        )
    if kind == "list":
        common = f'len(list_intersect("{column}_l", "{column}_r"))'
        return cl.CustomComparison(
            output_column_name=name,
            comparison_description=description,
            comparison_levels=[
                cll.CustomLevel(
                    f'"{column}_l" IS NULL OR "{column}_r" IS NULL '
                    f'OR len("{column}_l") = 0 OR len("{column}_r") = 0'
                ).configure(is_null_level=True),
                cll.CustomLevel(f"{common} >= 2", label_for_charts="two items in common"),
                cll.CustomLevel(f"{common} >= 1", label_for_charts="one item in common"),
                cll.ElseLevel(),
            ],
        )
    return _exact_then(name, column, description, term_frequency_adjustments=True)


def _number_bands(
    name: str, column: str, description: str, bands: Sequence[float]
) -> ComparisonCreator:
    # Values may be held as text (a year column read from CSV): compared as numbers.
    number_l, number_r = f'TRY_CAST("{column}_l" AS DOUBLE)', f'TRY_CAST("{column}_r" AS DOUBLE)'
    levels = [
        cll.CustomLevel(f"{number_l} IS NULL OR {number_r} IS NULL").configure(is_null_level=True),
        cll.CustomLevel(f"{number_l} = {number_r}", label_for_charts="same"),
    ]
    for band in bands:
        levels.append(
            cll.CustomLevel(
                f"abs({number_l} - {number_r}) <= {band}", label_for_charts=f"within {band}"
            )
        )
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(
        output_column_name=name, comparison_description=description, comparison_levels=levels
    )


#: comparison name -> its builder (a role's comparison is named in :mod:`linkage.roles`).
#: The location comparison serves city and province.
BUILDERS: dict[str, Callable[[], ComparisonCreator]] = {
    "credit_code": credit_code_comparison,
    "person_name": person_name_comparison,
    "first_name": first_name_comparison,
    "last_name": last_name_comparison,
    "mobile": mobile_comparison,
    "phone": phone_comparison,
    "email": email_comparison,
    "wechat_unionid": wechat_comparison,
    "national_id": national_id_comparison,
    "dob": dob_comparison,
    "location": location_comparison,
    "address": address_comparison,
    "postcode": postcode_comparison,
    "gender": gender_comparison,
    "job_title": job_title_comparison,
    "middle_name": middle_name_comparison,
    "birth_year": birth_year_comparison,
    "birth_place": birth_place_comparison,
    "website": website_comparison,
    "fax": fax_comparison,
}

# role -> (comparison name, builder), person level, from the registry.
_DEFAULTS: dict[str, tuple[str, Callable[[], ComparisonCreator]]] = {
    role.name: (role.comparison, BUILDERS[role.comparison])
    for role in REGISTRY
    if role.comparison is not None
}

# Roles judged together as the person level's one account comparison.
_ACCOUNT_ROLES = {role.name for role in REGISTRY if role.account_field}

# Roles from which the standardizer derives the person_name_* columns.
_NAME_ROLES = {"person_name", "first_name", "last_name"}


def default_comparisons(
    roles: Iterable[str],
    overrides: Mapping[str, ComparisonCreator | None] | None = None,
    *,
    level: str = "person",
    columns: Iterable[str] = (),
    extras: Sequence[Any] = (),
) -> dict[str, ComparisonCreator]:
    """The comparisons for the roles present: name -> splink comparison.

    Args:
        roles: the roles present in the data.
        overrides: role (or comparison name) -> a splink comparison to use instead, or
            ``None`` to drop that comparison. Keys that are not roles add a comparison
            under that name (for columns ``linkage`` has no role for).
        level: ``"person"`` (leads, contacts: account fields judged together as one
            comparison) or ``"organization"`` (accounts, sites: name, address, phone and
            website each compared).
        columns: the standardized columns available (levels that need a column the
            standardizer did not derive are left out).
        extras: columns no role claims (:class:`linkage.schema.ExtraColumn`), each compared
            by the kind of its values.

    Raises:
        ConfigError: an override that is not a splink comparison.
    """
    roles = set(roles)
    columns = set(columns)
    # Any name role makes the standardizer derive person_name_key (the email reads it).
    has_name = "person_name_key" in columns or bool(roles & _NAME_ROLES)
    # With a full name present, first/last name columns are folded into it by the
    # standardizer, so one name comparison is enough.
    if "person_name" in roles:
        roles -= {"first_name", "last_name"}
    comparisons: dict[str, ComparisonCreator] = {}
    if level == "organization":
        comparisons.update(_organization_comparisons(roles, columns))
        roles -= _ORGANIZATION_ROLES
    # With a company, company-level fields are judged together as one account comparison.
    elif "company" in roles or "credit_code" in roles:
        comparisons["account"] = account_comparison(roles)
        roles -= _ACCOUNT_ROLES
    for role, (name, builder) in _DEFAULTS.items():
        if role in roles and name not in comparisons:
            if name == "location":
                comparisons[name] = location_comparison("city" in roles, "province" in roles)
            elif name == "email":
                comparisons[name] = email_comparison("person_name_key" if has_name else None)
            else:
                comparisons[name] = builder()
    if {"latitude", "longitude"} <= roles:
        comparisons["coordinates"] = coordinates_comparison()
    for extra in extras:
        comparisons[extra.name] = extra_comparison(
            extra.name, extra.kind, f"{extra.column} ({extra.kind})"
        )
    for key, comparison in (overrides or {}).items():
        name = _DEFAULTS[key][0] if key in _DEFAULTS else key
        if comparison is None:
            comparisons.pop(name, None)
            continue
        if not isinstance(comparison, (ComparisonCreator, dict)):
            raise ConfigError(
                f"comparisons[{key!r}] must be a splink comparison (for example "
                f"splink.comparison_library.ExactMatch('...')), not {type(comparison).__name__}"
            )
        comparisons[name] = comparison
    if not comparisons:
        raise ConfigError("no comparisons: the data has no column linkage can compare")
    return comparisons


# Roles the organization level compares with its own comparisons.
_ORGANIZATION_ROLES = {role.name for role in REGISTRY if role.organization_comparison}


def _organization_comparisons(roles: set[str], columns: set[str]) -> dict[str, ComparisonCreator]:
    out: dict[str, ComparisonCreator] = {}
    if "company" in roles:
        out["company"] = organization_name_comparison(columns)
    if "credit_code" in roles:
        out["credit_code"] = credit_code_comparison()
    if "address" in roles:
        out["address"] = organization_address_comparison(columns)
    for phone in ("phone", "mobile"):
        if phone in roles:
            out[phone] = organization_phone_comparison(phone)
    if "website" in roles:
        out["website"] = website_comparison()
    if "email" in roles:
        out["email"] = email_domain_comparison()
    if "city" in roles or "province" in roles:
        out["location"] = location_comparison("city" in roles, "province" in roles)
    return out
