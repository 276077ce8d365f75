"""The cast of a simulated world: accounts, our employees, the customers' contacts and account teams."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from features.simulator.config import SEGMENTS

REGIONS = np.array(["NA", "EMEA", "APAC", "LATAM"])
REGION_P = np.array([0.45, 0.30, 0.17, 0.08])
REGION_TIMEZONES = {
    "NA": ["America/New_York", "America/Chicago", "America/Los_Angeles"],
    "EMEA": ["Europe/London", "Europe/Berlin", "Europe/Paris"],
    "APAC": ["Asia/Singapore", "Australia/Sydney", "Asia/Tokyo"],
    "LATAM": ["America/Sao_Paulo", "America/Mexico_City"],
}
INDUSTRIES = np.array(
    [
        "software",
        "financial services",
        "healthcare",
        "manufacturing",
        "retail",
        "education",
        "logistics",
        "media",
        "energy",
        "public sector",
    ]
)
SEGMENT_P = np.array([0.15, 0.35, 0.50])
PLANS = {
    "enterprise": (["business", "enterprise"], [0.3, 0.7]),
    "mid-market": (["pro", "business"], [0.5, 0.5]),
    "smb": (["starter", "pro"], [0.6, 0.4]),
}
# per segment: median employees, median ARR, mean contacts, survey responses a month, tickets a month
SEGMENT_SHAPE = {
    "enterprise": {"employees": 8000, "arr": 420_000.0, "contacts": 24, "extra_contacts": 6},
    "mid-market": {"employees": 600, "arr": 70_000.0, "contacts": 8, "extra_contacts": 2},
    "smb": {"employees": 60, "arr": 11_000.0, "contacts": 3, "extra_contacts": 1},
}
NAME_A = np.array(
    [
        "Blue",
        "North",
        "Bright",
        "Silver",
        "Red",
        "Summit",
        "Iron",
        "Green",
        "Clear",
        "Swift",
        "Atlas",
        "Harbor",
        "Prime",
        "Nova",
        "Cedar",
        "Pioneer",
        "Vertex",
        "Granite",
        "Sky",
        "Delta",
    ]
)
NAME_B = np.array(
    [
        "River",
        "Peak",
        "Field",
        "Stone",
        "Bridge",
        "Wave",
        "Point",
        "Labs",
        "Works",
        "Systems",
        "Logic",
        "Dynamics",
        "Foods",
        "Health",
        "Energy",
        "Freight",
        "Media",
        "Capital",
        "Retail",
        "Soft",
    ]
)
NAME_C = np.array(["Inc", "Ltd", "GmbH", "Group", "Corp", "LLC", "SA", "Co", "AG", "plc"])
TITLES = {
    "executive": [
        "CEO",
        "CFO",
        "CIO",
        "CTO",
        "COO",
        "VP Operations",
        "VP Engineering",
        "Chief Digital Officer",
    ],
    "manager": [
        "IT Manager",
        "Operations Manager",
        "Finance Manager",
        "Procurement Lead",
        "Team Lead",
        "Program Manager",
    ],
    "individual": ["Analyst", "Engineer", "Administrator", "Specialist", "Coordinator", "Consultant"],
}
ROLE_RATIOS = {"seller": 40, "csm": 25, "engineer": 30, "support": 60}


@dataclass
class Cast:
    """Everyone in the world, with the hidden traits the simulation needs beside the contract columns."""

    accounts: pd.DataFrame
    employees: pd.DataFrame
    contacts: pd.DataFrame
    team: (
        np.ndarray
    )  # (accounts, 6) employee indexes: owner, csm, engineer, engineer, manager, exec; -1 = none
    contact_offsets: np.ndarray  # contacts of account a are rows contact_offsets[a]:contact_offsets[a+1]
    employee_network: list[np.ndarray]  # per employee, the colleagues they regularly work with
    team_members: list[np.ndarray]  # per employee, the members of their own team


def make_ids(prefix: str, n: int, width: int, start: int = 1) -> np.ndarray:
    """Sequential string ids such as ``A000001``: ``n`` of them from ``start``, zero-padded to ``width``."""
    if n == 0:
        return np.empty(0, dtype=f"<U{len(prefix) + width}")
    return np.char.add(prefix, np.char.zfill(np.arange(start, start + n).astype(str), width))


def account_timezones(accounts: pd.DataFrame, account_idx: np.ndarray) -> np.ndarray:
    """The main timezone of each indexed account's region (where its people keep office hours)."""
    first = {region: zones[0] for region, zones in REGION_TIMEZONES.items()}
    return pd.Series(accounts["region"].to_numpy()[account_idx]).map(first).to_numpy()


def make_accounts(rng: np.random.Generator, n: int, start: date) -> pd.DataFrame:
    """Draw the accounts table (contract columns plus two CRM custom fields) and hidden static traits."""
    seg = rng.choice(np.array(SEGMENTS), size=n, p=SEGMENT_P)
    region = rng.choice(REGIONS, size=n, p=REGION_P)
    med_emp = np.array([SEGMENT_SHAPE[s]["employees"] for s in seg], dtype=float)
    med_arr = np.array([SEGMENT_SHAPE[s]["arr"] for s in seg], dtype=float)
    employees = np.maximum(1, np.round(med_emp * rng.lognormal(0.0, 0.6, n))).astype(np.int64)
    arr = np.round(med_arr * rng.lognormal(0.0, 0.5, n), -2)
    plan = np.empty(n, dtype=object)
    for s, (names, p) in PLANS.items():
        mask = seg == s
        plan[mask] = rng.choice(np.array(names), size=int(mask.sum()), p=p)
    tenure_days = rng.integers(60, 8 * 365, n)
    since = pd.Timestamp(start) - pd.to_timedelta(tenure_days, unit="D")
    name = np.char.add(
        np.char.add(np.char.add(rng.choice(NAME_A, n), " "), rng.choice(NAME_B, n)),
        np.char.add(" ", rng.choice(NAME_C, n)),
    )
    contract_type = rng.choice(np.array(["annual", "multi-year", "monthly"]), n, p=[0.65, 0.2, 0.15])
    payment_method = rng.choice(np.array(["invoice", "card", "wire"]), n, p=[0.55, 0.3, 0.15])
    return pd.DataFrame(
        {
            "account_id": make_ids("A", n, 6),
            "name": name,
            "industry": rng.choice(INDUSTRIES, n),
            "segment": seg,
            "region": region,
            "employee_count": employees,
            "customer_since": since.normalize(),
            "arr_usd": arr,
            "plan": plan.astype(str),
            "contract_type": contract_type,
            "payment_method": payment_method,
        }
    )


def _role_counts(n_accounts: int) -> dict[str, int]:
    return {role: max(2, int(np.ceil(n_accounts / per))) for role, per in ROLE_RATIOS.items()}


def make_employees(rng: np.random.Generator, n_accounts: int, start: date) -> pd.DataFrame:
    """Our side: sellers, CSMs, engineers and support in regional teams of eight, managers, executives."""
    rows: list[tuple[str, str, str]] = []  # role, region, team
    for role, count in _role_counts(n_accounts).items():
        regions = rng.choice(REGIONS, size=count, p=REGION_P)
        for region in REGIONS:
            members = int((regions == region).sum())
            for k in range(members):
                rows.append((role, str(region), f"{role}-{region.lower()}-{k // 8 + 1}"))
    teams = sorted({team for _, _, team in rows})
    n_exec = max(3, len(REGIONS) + 2)
    rows += [("manager", team.split("-")[1].upper(), team) for team in teams]
    rows += [("executive", str(REGIONS[i % len(REGIONS)]), "leadership") for i in range(n_exec)]
    rows += [
        ("other", str(rng.choice(REGIONS, p=REGION_P)), "operations")
        for _ in range(max(2, n_accounts // 200))
    ]
    emp = pd.DataFrame(rows, columns=["role", "region", "team"])
    n = len(emp)
    emp.insert(0, "employee_id", make_ids("E", n, 5))
    emp["timezone"] = [rng.choice(REGION_TIMEZONES[r]) for r in emp["region"]]
    emp["hired_at"] = (
        pd.Timestamp(start) - pd.to_timedelta(rng.integers(30, 12 * 365, n), unit="D")
    ).normalize()
    emp["manager_id"] = _manager_ids(emp)
    emp["network_trait"] = rng.normal(0.0, 1.0, n)
    return emp


def _manager_ids(emp: pd.DataFrame) -> list[str | None]:
    manager_of_team = emp[emp["role"] == "manager"].set_index("team")["employee_id"].to_dict()
    execs = emp.loc[emp["role"] == "executive", "employee_id"].tolist()
    ceo = execs[0]
    out: list[str | None] = []
    for i, (role, team) in enumerate(zip(emp["role"], emp["team"], strict=True)):
        if role == "executive":
            out.append(None if emp["employee_id"].iat[i] == ceo else ceo)
        elif role == "manager":
            out.append(execs[1 + i % (len(execs) - 1)])
        elif role == "other":
            out.append(ceo)
        else:
            out.append(manager_of_team[team])
    return out


def make_contacts(rng: np.random.Generator, accounts: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The customers' people, grouped by account, with a hidden prominence (who we talk to most)."""
    seg = accounts["segment"].to_numpy()
    mean = np.array([SEGMENT_SHAPE[s]["contacts"] for s in seg], dtype=float)
    extra = np.array([SEGMENT_SHAPE[s]["extra_contacts"] for s in seg], dtype=np.int64)
    per_account = rng.poisson(mean) + extra
    offsets = np.concatenate([[0], np.cumsum(per_account)])
    n = int(offsets[-1])
    account_idx = np.repeat(np.arange(len(accounts)), per_account)
    seniority = rng.choice(np.array(["executive", "manager", "individual"]), n, p=[0.1, 0.3, 0.6])
    first = offsets[:-1]
    seniority[first] = "executive"  # every account has at least one executive sponsor on file
    p_dm = np.where(seniority == "executive", 0.8, np.where(seniority == "manager", 0.3, 0.03))
    titles = np.empty(n, dtype=object)
    for level, names in TITLES.items():
        mask = seniority == level
        titles[mask] = rng.choice(np.array(names), int(mask.sum()))
    prominence = rng.normal(0.0, 1.0, n) + np.where(seniority == "individual", 0.0, 0.4)
    contacts = pd.DataFrame(
        {
            "contact_id": make_ids("C", n, 7),
            "account_id": accounts["account_id"].to_numpy()[account_idx],
            "title": titles.astype(str),
            "seniority": seniority,
            "is_decision_maker": rng.random(n) < p_dm,
            "account_idx": account_idx,
            "prominence": prominence,
        }
    )
    return contacts, offsets


def _pick(rng: np.random.Generator, pool: dict[str, np.ndarray], regions: np.ndarray) -> np.ndarray:
    out = np.empty(len(regions), dtype=np.int64)
    for region in np.unique(regions):
        mask = regions == region
        candidates = pool.get(str(region))
        if candidates is None or len(candidates) == 0:
            candidates = np.concatenate(list(pool.values()))
        out[mask] = rng.choice(candidates, int(mask.sum()))
    return out


def make_teams(rng: np.random.Generator, accounts: pd.DataFrame, emp: pd.DataFrame) -> np.ndarray:
    """Assign each account its team: owner, CSM, up to two engineers, the CSM's manager, an executive."""
    n = len(accounts)
    regions = accounts["region"].to_numpy()
    seg = accounts["segment"].to_numpy()

    def pool(role: str) -> dict[str, np.ndarray]:
        sub = emp[emp["role"] == role]
        return {str(r): g.index.to_numpy() for r, g in sub.groupby("region")}

    team = np.full((n, 6), -1, dtype=np.int64)
    team[:, 0] = _pick(rng, pool("seller"), regions)
    team[:, 1] = _pick(rng, pool("csm"), regions)
    engineers = _pick(rng, pool("engineer"), regions)
    second = _pick(rng, pool("engineer"), regions)
    has_eng = np.where(seg == "smb", rng.random(n) < 0.3, True)
    team[:, 2] = np.where(has_eng, engineers, -1)
    team[:, 3] = np.where(seg == "enterprise", second, -1)
    index_of = pd.Series(emp.index.to_numpy(), index=emp["employee_id"].to_numpy())
    csm_manager = emp["manager_id"].to_numpy()[team[:, 1]]
    team[:, 4] = index_of.reindex(csm_manager).to_numpy()
    execs = emp.index[emp["role"] == "executive"].to_numpy()
    team[:, 5] = np.where(seg == "enterprise", rng.choice(execs, n), -1)
    return team


def make_networks(rng: np.random.Generator, emp: pd.DataFrame) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each employee's regular collaborators (more for well-networked people) and their own team members."""
    n = len(emp)
    trait = emp["network_trait"].to_numpy()
    sizes = 2 + rng.poisson(5.0 * np.exp(0.9 * trait))
    network = [
        rng.choice(np.delete(np.arange(n), i), min(int(sizes[i]), n - 1), replace=False) for i in range(n)
    ]
    by_team = {t: g.index.to_numpy() for t, g in emp.groupby("team")}
    members = [by_team[t][by_team[t] != i] for i, t in enumerate(emp["team"])]
    return network, members


def make_cast(rng: np.random.Generator, n_accounts: int, start: date) -> Cast:
    """Draw the whole cast of a world."""
    accounts = make_accounts(rng, n_accounts, start)
    employees = make_employees(rng, n_accounts, start)
    contacts, offsets = make_contacts(rng, accounts)
    team = make_teams(rng, accounts, employees)
    accounts["owner_id"] = employees["employee_id"].to_numpy()[team[:, 0]]
    accounts["csm_id"] = employees["employee_id"].to_numpy()[team[:, 1]]
    network, members = make_networks(rng, employees)
    return Cast(accounts, employees, contacts, team, offsets, network, members)
