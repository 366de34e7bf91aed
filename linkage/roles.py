"""The role registry: one table that says, for each role, what it means, which headers
name it, which values give it away when no header does, how it is standardized, and how it
is compared at each entity level.

Adding a role is one entry here, plus its standardizer (a module of
:mod:`linkage.standardize`, unless it is ``simple``: NFKC, trimmed, lower case) and, for a
new kind of comparison, its builder in :mod:`linkage.comparisons`. Everything else reads
this table: :mod:`linkage.schema` (headers, values, which roles can be matched on),
:mod:`linkage.standardize` (which roles pass through or are simply cleaned) and
:mod:`linkage.comparisons` (which comparison a role gets, at each level).

Headers are compared normalized (NFKC, lower case, spaces, underscores, dashes and dots
removed), so ``Mobile Phone``, ``mobile_phone`` and ``MOBILE-PHONE`` are one header.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["REGISTRY", "Role", "by_name"]


@dataclass(frozen=True)
class Role:
    """One role and everything the stages need to know about it.

    Attributes:
        name: the role (``mobile``, ``company``, ...).
        description: what it means, for people.
        headers: normalized header words that name it (English and Chinese).
        standardizer: ``"own"`` (a module of :mod:`linkage.standardize` derives its
            columns), ``"simple"`` (``<role>_clean``: NFKC, trimmed, lower case) or
            ``"pass"`` (carried through, never compared).
        value_kind: the kind of values (:mod:`linkage.profiling`) that claims a column no
            header names for this role (a column of phone numbers is a phone).
        comparison: the comparison it gets at the person level (``None``: none of its own).
        account_field: at the person level it is judged with the other account fields in
            the one ``account`` comparison (colleagues share it).
        organization_comparison: the comparison it gets at the organization level.
        matching: it can identify a record (at least one such role must be present).
        identifies_person: a value that belongs to a person, not an organization (its
            presence keeps the person level).
    """

    name: str
    description: str
    headers: tuple[str, ...] = ()
    standardizer: str = "own"
    value_kind: str | None = None
    comparison: str | None = None
    account_field: bool = False
    organization_comparison: str | None = None
    matching: bool = False
    identifies_person: bool = False


REGISTRY: tuple[Role, ...] = (
    Role(
        "record_id",
        "unique id of the input record",
        headers=(
            "id",
            "recordid",
            "leadid",
            "customerid",
            "contactid",
            "accountid",
            "uniqueid",
            "recid",
            "线索id",
            "线索编号",
            "客户id",
            "客户编号",
            "联系人id",
            "记录id",
            "编号",
        ),
        standardizer="pass",
    ),
    Role(
        "company",
        "company / account name",
        headers=(
            "company",
            "companyname",
            "account",
            "accountname",
            "organization",
            "organisation",
            "organizationname",
            "organisationname",
            "org",
            "orgname",
            "businessname",
            "legalname",
            "sitename",
            "facilityname",
            "employer",
            "公司",
            "公司名称",
            "企业名称",
            "企业",
            "客户名称",
            "单位",
            "单位名称",
            "工作单位",
            "所属公司",
            "客户公司",
        ),
        matching=True,
        account_field=True,
        organization_comparison="company",
    ),
    Role(
        "credit_code",
        "unified social credit code (统一社会信用代码)",
        headers=(
            "creditcode",
            "uscc",
            "unifiedsocialcreditcode",
            "socialcreditcode",
            "taxid",
            "统一社会信用代码",
            "信用代码",
            "社会信用代码",
            "税号",
            "纳税人识别号",
        ),
        comparison="credit_code",
        matching=True,
        account_field=True,
        organization_comparison="credit_code",
    ),
    Role(
        "person_name",
        "full person name, Chinese or latin",
        headers=(
            "name",
            "fullname",
            "contactname",
            "personname",
            "leadname",
            "customername",
            "姓名",
            "联系人",
            "联系人姓名",
            "客户姓名",
            "名字",
        ),
        comparison="person_name",
        matching=True,
    ),
    Role(
        "first_name",
        "given name",
        headers=("firstname", "givenname", "forename", "名"),
        standardizer="simple",
        comparison="first_name",
        matching=True,
    ),
    Role(
        "last_name",
        "family name",
        headers=("lastname", "surname", "familyname", "姓"),
        standardizer="simple",
        comparison="last_name",
        matching=True,
    ),
    Role(
        "mobile",
        "mobile phone",
        headers=(
            "mobile",
            "mobilephone",
            "mobileno",
            "mobilenumber",
            "cell",
            "cellphone",
            "手机",
            "手机号",
            "手机号码",
            "移动电话",
        ),
        value_kind="phone",
        comparison="mobile",
        matching=True,
        identifies_person=True,
        organization_comparison="mobile",
    ),
    Role(
        "phone",
        "landline / switchboard phone",
        headers=(
            "phone",
            "telephone",
            "tel",
            "landline",
            "officephone",
            "workphone",
            "phonenumber",
            "businessphone",
            "电话",
            "座机",
            "固定电话",
            "办公电话",
            "公司电话",
            "联系电话",
            "总机",
        ),
        value_kind="phone",
        comparison="phone",
        matching=True,
        organization_comparison="phone",
    ),
    Role(
        "email",
        "email address",
        headers=(
            "email",
            "emailaddress",
            "mail",
            "邮箱",
            "电子邮箱",
            "邮件",
            "电子邮件",
            "邮箱地址",
        ),
        value_kind="email",
        comparison="email",
        matching=True,
        organization_comparison="email",
    ),
    Role(
        "wechat_unionid",
        "WeChat UnionID",
        headers=("unionid", "wechatunionid", "wxunionid", "微信unionid"),
        comparison="wechat_unionid",
        matching=True,
        identifies_person=True,
    ),
    Role(
        "national_id",
        "personal id number (身份证号, social security number)",
        headers=(
            "nationalid",
            "idnumber",
            "idcard",
            "idcardnumber",
            "ssn",
            "socsecid",
            "身份证",
            "身份证号",
            "身份证号码",
            "证件号码",
        ),
        standardizer="simple",
        comparison="national_id",
        matching=True,
        identifies_person=True,
    ),
    Role(
        "dob",
        "date of birth",
        headers=("dob", "dateofbirth", "birthdate", "birthday", "出生日期", "生日"),
        comparison="dob",
        matching=True,
        identifies_person=True,
    ),
    Role(
        "gender",
        "gender",
        headers=("gender", "sex", "性别"),
        standardizer="simple",
        comparison="gender",
    ),
    Role(
        "job_title",
        "job title / position / occupation",
        headers=("title", "jobtitle", "position", "occupation", "role", "职位", "职务", "岗位"),
        standardizer="simple",
        comparison="job_title",
    ),
    Role(
        "province",
        "province or state",
        headers=("province", "state", "region", "省", "省份", "所在省份"),
        comparison="location",
        account_field=True,
        organization_comparison="location",
    ),
    Role(
        "city",
        "city",
        headers=("city", "town", "suburb", "municipality", "城市", "市", "所在城市"),
        comparison="location",
        account_field=True,
        organization_comparison="location",
    ),
    Role(
        "address",
        "street address",
        headers=(
            "address",
            "addr",
            "streetaddress",
            "address1",
            "addressline1",
            "street",
            "地址",
            "详细地址",
            "公司地址",
            "通讯地址",
            "办公地址",
        ),
        comparison="address",
        matching=True,
        account_field=True,
        organization_comparison="address",
    ),
    Role(
        "postcode",
        "postcode",
        headers=("postcode", "zipcode", "zip", "postalcode", "postal", "邮编", "邮政编码"),
        comparison="postcode",
        matching=True,
    ),
    Role(
        "source",
        "source channel (web form, trade show, ...)",
        headers=(
            "source",
            "channel",
            "leadsource",
            "sourcechannel",
            "来源",
            "渠道",
            "来源渠道",
            "线索来源",
        ),
        standardizer="pass",
    ),
    Role(
        "created_at",
        "record creation timestamp",
        headers=(
            "createdat",
            "created",
            "createtime",
            "createddate",
            "creationdate",
            "createdon",
            "创建时间",
            "创建日期",
            "录入时间",
        ),
    ),
    Role(
        "updated_at",
        "record last-update timestamp",
        headers=(
            "updatedat",
            "updated",
            "updatetime",
            "modifiedat",
            "lastmodified",
            "lastmodifieddate",
            "modifiedon",
            "更新时间",
            "修改时间",
            "最后修改时间",
        ),
    ),
    Role(
        "owner",
        "sales rep / owner of the record",
        headers=(
            "owner",
            "salesrep",
            "accountowner",
            "leadowner",
            "负责人",
            "销售",
            "所属销售",
            "跟进人",
        ),
        standardizer="pass",
    ),
    Role(
        "website",
        "website or web domain",
        headers=(
            "website",
            "web",
            "url",
            "homepage",
            "webaddress",
            "websiteurl",
            "网址",
            "网站",
            "官网",
        ),
        value_kind="website",
        comparison="website",
        matching=True,
        account_field=True,
        organization_comparison="website",
    ),
    Role(
        "fax",
        "fax number",
        headers=("fax", "faxnumber", "faxno", "传真", "传真号码"),
        standardizer="simple",
        comparison="fax",
        matching=True,
    ),
    Role(
        "latitude",
        "latitude (decimal degrees)",
        headers=("lat", "latitude", "纬度"),
        matching=True,
    ),
    Role(
        "longitude",
        "longitude (decimal degrees)",
        headers=("lng", "lon", "long", "longitude", "经度"),
    ),
    Role(
        "middle_name",
        "middle name or initial",
        headers=("middlename", "middleinitial", "middle", "中间名"),
        standardizer="simple",
        comparison="middle_name",
        matching=True,
    ),
    Role(
        "birth_year",
        "year of birth",
        headers=("birthyear", "yearofbirth", "yob", "出生年份", "出生年"),
        standardizer="simple",
        comparison="birth_year",
        matching=True,
        identifies_person=True,
    ),
    Role(
        "birth_place",
        "place of birth",
        headers=("birthplace", "placeofbirth", "出生地", "籍贯"),
        standardizer="simple",
        comparison="birth_place",
        matching=True,
    ),
)


def by_name() -> dict[str, Role]:
    """role name -> its entry."""
    return {role.name: role for role in REGISTRY}
