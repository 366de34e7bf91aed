"""Company groups and look-alike accounts: the hard negatives of an account list.

An account list holds companies that look like duplicates of each other and are not:

* **Branches** (分公司). ``北京华信科技有限公司上海分公司`` is an account of its own next to its
  head office ``北京华信科技有限公司``: same brand, industry and website, often the same owner,
  but another city, credit code, address and switchboard.
* **Subsidiaries** (子公司). ``上海华信科技有限公司`` is a separate legal entity of the same group
  in another city, named like the head office with another region, often on the group's website.
* **Building mates**. Unrelated companies in one office building or business centre share a
  street address (down to the room, for registered addresses in an incubator) and sometimes the
  front desk's switchboard.

Unrelated companies named after one popular brand in different cities (``华信科技`` in 北京 and
in 深圳) already come from :func:`~linkage.datasets._companies.make_accounts`. Branches and
subsidiaries keep the city, credit code and address :func:`make_accounts` drew for them; only the
name, website and owner come from their head office, so every account stays self-consistent.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from linkage.datasets._companies import CITIES, Accounts, office_unit
from linkage.datasets._sampling import objects

__all__ = ["BRANCH", "INDEPENDENT", "SUBSIDIARY", "Groups", "make_groups"]

# Group roles: an independent company (or a group's head office), a branch, a subsidiary.
INDEPENDENT, BRANCH, SUBSIDIARY = 0, 1, 2

_MEMBER_SHARE = 0.10  # accounts that are a branch or subsidiary of another account
_MEMBERS_PER_HEAD = 1.6  # on average, so some groups have several branches
_BRANCH_SHARE = 0.65  # of members; the rest are subsidiaries
_GROUP_SUFFIX_P = 0.5  # head offices with subsidiaries that register as 集团有限公司
_SAME_OWNER_P = 0.6  # members owned by the head office's rep (key-account management)
_SUBSIDIARY_OWN_SITE_P = 0.4  # subsidiaries with a website of their own (huaxin-tech-shanghai.com)
_BUILDING_SHARE = 0.08  # accounts that share a building with unrelated companies
_SAME_ROOM_P = 0.5  # buildings whose companies register the very same address
_SHARED_SWITCHBOARD_P = 0.4  # buildings whose companies give the front desk's number


class Groups(NamedTuple):
    head: np.ndarray  # int64 per account: its head office (itself for independent companies)
    role: np.ndarray  # int64 per account: INDEPENDENT / BRANCH / SUBSIDIARY
    building: np.ndarray  # int64 per account: shared-building id, -1 for none


def make_groups(rng: np.random.Generator, accounts: Accounts) -> tuple[Accounts, Groups]:
    """Make some accounts branches or subsidiaries of others and put some into shared buildings.

    Returns the accounts with the members' names, websites and owners and the building mates'
    addresses and switchboards rewritten, and the group structure.
    """
    head, role = _draw_members(rng, accounts)
    accounts = _join_groups(rng, accounts, head, role)
    building = _draw_buildings(rng, accounts.city)
    accounts = _share_buildings(rng, accounts, building)
    return accounts, Groups(head=head, role=role, building=building)


def _draw_members(rng: np.random.Generator, accounts: Accounts) -> tuple[np.ndarray, np.ndarray]:
    """Pick members and their head offices: another city, one member per (head, city)."""
    n = accounts.city.shape[0]
    head = np.arange(n, dtype=np.int64)
    role = np.full(n, INDEPENDENT, dtype=np.int64)
    n_members = int(round(_MEMBER_SHARE * n))
    n_heads = int(np.ceil(n_members / _MEMBERS_PER_HEAD))
    if n_members == 0 or n_members + n_heads > n:
        return head, role
    order = rng.permutation(n)
    members, heads = order[:n_members], order[n_members : n_members + n_heads]
    city = accounts.city
    head_of = heads[rng.integers(0, n_heads, n_members)]
    for _ in range(5):  # a branch is in another city than its head office: redraw the head
        clash = city[head_of] == city[members]
        if not clash.any():
            break
        head_of[clash] = heads[rng.integers(0, n_heads, int(clash.sum()))]
    keep = city[head_of] != city[members]
    keep &= ~pd.Series(head_of * len(CITIES) + city[members]).duplicated().to_numpy()
    members, head_of = members[keep], head_of[keep]
    head[members] = head_of
    role[members] = np.where(rng.random(members.size) < _BRANCH_SHARE, BRANCH, SUBSIDIARY)
    # A subsidiary's name is its city plus the group's core: if another company already holds
    # that name in that city, the group can only have a branch there.
    registered = role != BRANCH
    name_key = pd.Series(accounts.core[head]).astype(str) + "|" + pd.Series(city).astype(str)
    taken = name_key[registered].duplicated(keep=False)
    clash = np.zeros(n, dtype=bool)
    clash[taken[taken].index.to_numpy()] = True
    role[clash & (role == SUBSIDIARY)] = BRANCH
    return head, role


def _join_groups(
    rng: np.random.Generator, accounts: Accounts, head: np.ndarray, role: np.ndarray
) -> Accounts:
    """Give members their head office's brand, website and (often) owner."""
    n = head.shape[0]
    member = role != INDEPENDENT
    subsidiary = role == SUBSIDIARY
    branch = role == BRANCH
    # Legal forms: a subsidiary is never the 集团, its parent often is, and a branch is named
    # after its head office's legal name.
    suffix = accounts.suffix.copy()
    suffix[subsidiary & (suffix == 3)] = 0
    parents = np.unique(head[subsidiary])
    suffix[parents[rng.random(parents.size) < _GROUP_SUFFIX_P]] = 3
    suffix[branch] = suffix[head[branch]]
    domain = accounts.domain[head]
    own_site = np.flatnonzero(subsidiary & (rng.random(n) < _SUBSIDIARY_OWN_SITE_P))
    domain[own_site] = objects(
        [
            d.replace(".", f"-{CITIES[c].pinyin.lower()}.", 1)
            for d, c in zip(
                domain[own_site].tolist(), accounts.city[own_site].tolist(), strict=True
            )
        ]
    )
    same_owner = member & (rng.random(n) < _SAME_OWNER_P)
    return accounts._replace(
        brand=accounts.brand[head],
        industry=accounts.industry[head],
        core=accounts.core[head],
        suffix=suffix,
        domain=domain,
        owner=np.where(same_owner, accounts.owner[head], accounts.owner),
    )


def _draw_buildings(rng: np.random.Generator, city: np.ndarray) -> np.ndarray:
    """Put a share of accounts into buildings of 2-3 companies of one city."""
    n = city.shape[0]
    building = np.full(n, -1, dtype=np.int64)
    n_tenants = int(round(_BUILDING_SHARE * n))
    if n_tenants < 2:
        return building
    tenants = rng.choice(n, size=n_tenants, replace=False)
    tenants = tenants[np.argsort(city[tenants], kind="stable")]
    sizes = (2 + (rng.random(n_tenants) < 0.3)).tolist()
    starts = np.flatnonzero(np.diff(city[tenants], prepend=-1))
    next_id, next_size = 0, 0
    for in_city in np.split(tenants, starts[1:]):
        at = 0
        while in_city.size - at >= 2:
            size = min(sizes[next_size], in_city.size - at)
            next_size += 1
            building[in_city[at : at + size]] = next_id
            next_id += 1
            at += size
    return building


def _share_buildings(
    rng: np.random.Generator, accounts: Accounts, building: np.ndarray
) -> Accounts:
    """Give every building's tenants the first tenant's street address (some to the room) and,
    in some buildings, its switchboard."""
    n_buildings = int(building.max()) + 1
    if n_buildings == 0:
        return accounts
    tenants = np.flatnonzero(building >= 0)
    tenants = tenants[np.argsort(building[tenants], kind="stable")]
    _, first_at = np.unique(building[tenants], return_index=True)
    lead = tenants[first_at][building[tenants]]  # each building's lowest account index
    mates, anchor = tenants[tenants != lead], lead[tenants != lead]
    same_room = rng.random(n_buildings) < _SAME_ROOM_P
    same_switchboard = rng.random(n_buildings) < _SHARED_SWITCHBOARD_P
    tower = rng.integers(3, 6, mates.size)
    floor = rng.integers(2, 30, mates.size)

    address_short = accounts.address_short.copy()
    address_short[mates] = accounts.address_short[anchor]
    address = accounts.address.copy()
    address[mates] = objects(
        [
            full if room else short + office_unit(t, f)
            for full, short, room, t, f in zip(
                accounts.address[anchor].tolist(),
                accounts.address_short[anchor].tolist(),
                same_room[building[mates]].tolist(),
                tower.tolist(),
                floor.tolist(),
                strict=True,
            )
        ]
    )
    switchboard = accounts.switchboard.copy()
    shared = same_switchboard[building[mates]]
    switchboard[mates[shared]] = accounts.switchboard[anchor[shared]]
    return accounts._replace(address=address, address_short=address_short, switchboard=switchboard)
