"""Emails, meetings, calls and chats of one month, drawn from the account state (internal-only ones too)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from features.simulator.attention import RecentInteractions
from features.simulator.entities import Cast, account_timezones, make_ids
from features.simulator.latent import Latent, sigmoid
from features.simulator.month import Month
from features.simulator.timing import local_times, to_utc

SEGMENT_SCALE = {"enterprise": 1.0, "mid-market": 0.55, "smb": 0.3}
# category: (kind, base monthly count at scale 1, sensitivity to the time driver)
CATEGORIES = (
    ("meeting", 14.0, 1.1),
    ("email", 45.0, 1.1),  # outbound
    ("email", 30.0, 0.4),  # inbound: organised by a contact, answered by us
    ("call", 6.0, 1.1),
    ("chat", 6.0, 0.2),
)
MEETING, OUTBOUND, INBOUND, CALL, CHAT, RUSH_MEETING, RUSH_EMAIL = range(7)


@dataclass
class Draft:
    """Interactions being assembled: one entry per interaction plus (row, person) participant pairs."""

    account: np.ndarray  # account index, -1 for internal-only
    category: np.ndarray
    organizer_emp: np.ndarray  # employee index or -1
    organizer_contact: np.ndarray  # contact index or -1
    internal: list[tuple[np.ndarray, np.ndarray]]
    external: list[tuple[np.ndarray, np.ndarray]]


class ContactSampler:
    """Weighted draws of an account's contacts; low breadth concentrates the weight on the most prominent."""

    def __init__(self, cast: Cast, breadth: np.ndarray, senior_only: bool = False) -> None:
        contacts = cast.contacts
        acc = contacts["account_idx"].to_numpy()
        gamma = 2.0 * np.exp(-0.8 * breadth[acc])
        log_w = gamma * contacts["prominence"].to_numpy()
        if senior_only:
            log_w = log_w + np.where(contacts["seniority"].to_numpy() == "executive", 0.0, -14.0)
        offsets = cast.contact_offsets
        log_w -= np.maximum.reduceat(log_w, offsets[:-1])[
            acc
        ]  # the heaviest contact of each account weighs 1
        cum = np.cumsum(np.exp(log_w))
        before = np.concatenate([[0.0], cum])[offsets[:-1]]
        total = cum[offsets[1:] - 1] - before
        self.grid = acc + (cum - before[acc]) / total[acc]
        self.grid[offsets[1:] - 1] = np.arange(len(offsets) - 1) + 1.0

    def draw(self, rng: np.random.Generator, account: np.ndarray) -> np.ndarray:
        """One contact index per entry of ``account``."""
        target = account + rng.random(len(account)) * (1.0 - 1e-12)
        return np.searchsorted(self.grid, target, side="right")


def _team_pick(
    rng: np.random.Generator, team: np.ndarray, account: np.ndarray, probs: list[float]
) -> np.ndarray:
    """Pick one of owner / CSM / engineer per row (engineer falls back to the CSM when there is none)."""
    slot = rng.choice(3, size=len(account), p=probs)
    slot = np.where(slot == 2, np.where(rng.random(len(account)) < 0.5, 2, 3), slot)
    person = team[account, slot]
    return np.where(person >= 0, person, team[account, 1])


def external_counts(
    rng: np.random.Generator, cast: Cast, latent: Latent, m: int, active: np.ndarray
) -> np.ndarray:
    """Counts per (account, category) for the month; zero for inactive accounts."""
    scale = cast.accounts["segment"].map(SEGMENT_SCALE).to_numpy()
    time = latent.drivers["time"][:, m]
    counts = np.zeros((len(scale), 7), dtype=np.int64)
    for c, (_, base, sens) in enumerate(CATEGORIES):
        counts[:, c] = rng.poisson(scale * base * np.exp(sens * time))
    rush = latent.rush[:, m]
    counts[:, RUSH_MEETING] = rng.poisson(np.maximum(scale, 0.4) * 4.0 * rush)
    counts[:, RUSH_EMAIL] = rng.poisson(np.maximum(scale, 0.4) * 15.0 * rush)
    return counts * active[:, None]


def _meeting_participants(
    rng: np.random.Generator,
    cast: Cast,
    latent: Latent,
    m: int,
    d: Draft,
    samplers: tuple[ContactSampler, ...],
) -> None:
    """Extra people in customer meetings: depth keeps meetings small, seniority brings executives in."""
    contacts, executives = samplers
    is_meet = d.category == MEETING
    rows = np.flatnonzero(is_meet)
    acc = d.account[rows]
    depth = latent.drivers["depth"][acc, m]
    senior = latent.drivers["senior"][acc, m]
    n_ext = 1 + rng.poisson(np.exp(0.3 - 1.3 * depth))
    n_ext += np.where(rng.random(len(rows)) < 0.03, rng.integers(4, 14, len(rows)), 0)  # the long tail
    rep = np.repeat(rows, n_ext)
    d.external.append((rep, contacts.draw(rng, d.account[rep])))
    n_int = rng.poisson(np.exp(-0.6 - 1.2 * depth))
    rep = np.repeat(rows, n_int)
    d.internal.append((rep, _team_pick(rng, cast.team, d.account[rep], [0.3, 0.4, 0.3])))
    with_exec = rows[rng.random(len(rows)) < sigmoid(-1.4 + 2.0 * senior)]
    d.external.append((with_exec, executives.draw(rng, d.account[with_exec])))
    our_senior = rows[rng.random(len(rows)) < sigmoid(-1.6 + 2.0 * senior)]
    exec_slot = cast.team[d.account[our_senior], 5]
    manager = cast.team[d.account[our_senior], 4]
    d.internal.append(
        (our_senior, np.where((exec_slot >= 0) & (rng.random(len(our_senior)) < 0.5), exec_slot, manager))
    )


def _rush_participants(rng: np.random.Generator, cast: Cast, d: Draft, contacts: ContactSampler) -> None:
    """Escalation meetings: the whole account team, often an executive, several customer people."""
    rows = np.flatnonzero(d.category == RUSH_MEETING)
    for slot in range(5):
        person = cast.team[d.account[rows], slot]
        keep = person >= 0
        d.internal.append((rows[keep], person[keep]))
    execs = cast.team[d.account[rows], 5]
    keep = (execs >= 0) & (rng.random(len(rows)) < 0.5)
    d.internal.append((rows[keep], execs[keep]))
    n_ext = 2 + rng.poisson(1.5, len(rows))
    rep = np.repeat(rows, n_ext)
    d.external.append((rep, contacts.draw(rng, d.account[rep])))


def _simple_participants(rng: np.random.Generator, cast: Cast, d: Draft, contacts: ContactSampler) -> None:
    """Emails, calls and chats: one or two people on each side."""
    for category, extra_ext, extra_int in (
        (OUTBOUND, 0.4, 0.3),
        (RUSH_EMAIL, 0.8, 0.6),
        (CALL, 0.2, 0.2),
        (CHAT, 0.0, 0.0),
        (INBOUND, 0.3, 0.0),
    ):
        rows = np.flatnonzero(d.category == category)
        n_ext = (category != INBOUND) + rng.poisson(extra_ext, len(rows))
        rep = np.repeat(rows, n_ext)
        d.external.append((rep, contacts.draw(rng, d.account[rep])))
        cc = rows[rng.random(len(rows)) < extra_int]
        d.internal.append((cc, _team_pick(rng, cast.team, d.account[cc], [0.3, 0.5, 0.2])))


def external_draft(mo: Month) -> Draft:
    """Every customer-facing interaction of the month, before timestamps."""
    rng, cast, latent, m = mo.rng, mo.cast, mo.latent, mo.index
    counts = external_counts(rng, cast, latent, m, mo.active)
    account = np.repeat(np.tile(np.arange(counts.shape[0])[:, None], (1, 7)).ravel(), counts.ravel())
    category = np.repeat(np.tile(np.arange(7), counts.shape[0]), counts.ravel())
    breadth = latent.drivers["breadth"][:, m]
    contacts = ContactSampler(cast, breadth)
    executives = ContactSampler(cast, breadth, senior_only=True)
    inbound = category == INBOUND
    organizer_emp = np.where(
        category == RUSH_MEETING,
        np.where(rng.random(len(account)) < 0.5, cast.team[account, 4], cast.team[account, 1]),
        _team_pick(rng, cast.team, account, [0.3, 0.45, 0.25]),
    )
    organizer_contact = np.full(len(account), -1, dtype=np.int64)
    organizer_contact[inbound] = contacts.draw(rng, account[inbound])
    organizer_emp[inbound] = _team_pick(rng, cast.team, account[inbound], [0.3, 0.6, 0.1])  # the recipient
    rows = np.arange(len(account))
    d = Draft(
        account,
        category,
        np.where(inbound, -1, organizer_emp),
        organizer_contact,
        internal=[(rows, organizer_emp)],
        external=[(rows[inbound], organizer_contact[inbound])],
    )
    _meeting_participants(rng, cast, latent, m, d, (contacts, executives))
    _rush_participants(rng, cast, d, contacts)
    _simple_participants(rng, cast, d, contacts)
    return d


INTERNAL_EMAIL, INTERNAL_MEETING, INTERNAL_CHAT, REPLY = 10, 11, 12, 7
KIND_OF = {
    MEETING: "meeting",
    OUTBOUND: "email",
    INBOUND: "email",
    CALL: "call",
    CHAT: "chat",
    RUSH_MEETING: "meeting",
    RUSH_EMAIL: "email",
    REPLY: "email",
    INTERNAL_EMAIL: "email",
    INTERNAL_MEETING: "meeting",
    INTERNAL_CHAT: "chat",
}


def _flat(lists: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([len(x) for x in lists], dtype=np.int64)
    values = np.concatenate(lists) if len(lists) else np.empty(0, dtype=np.int64)
    return values.astype(np.int64), np.concatenate([[0], np.cumsum(lengths)])


def _from_lists(
    rng: np.random.Generator, owner: np.ndarray, flat: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    values, offsets = flat
    length = offsets[owner + 1] - offsets[owner]
    pick = offsets[owner] + np.floor(rng.random(len(owner)) * np.maximum(length, 1)).astype(np.int64)
    return np.where(length > 0, values[np.minimum(pick, len(values) - 1)], -1)


def internal_draft(rng: np.random.Generator, cast: Cast) -> Draft:
    """Internal-only interactions: each employee with their regular collaborators and their own team."""
    trait = cast.employees["network_trait"].to_numpy()
    n = len(trait)
    organizer = np.repeat(np.arange(n), rng.poisson(60.0 * np.exp(0.6 * trait)))
    category = rng.choice(
        np.array([INTERNAL_EMAIL, INTERNAL_MEETING, INTERNAL_CHAT]), len(organizer), p=[0.55, 0.4, 0.05]
    )
    extra = np.select([category == INTERNAL_MEETING, category == INTERNAL_EMAIL], [0.8, 0.3], 0.0)
    k = 1 + rng.poisson(extra)
    k += np.where(
        (category == INTERNAL_MEETING) & (rng.random(len(k)) < 0.02), rng.integers(8, 30, len(k)), 0
    )
    rows = np.repeat(np.arange(len(organizer)), k)
    who = organizer[rows]
    from_network = _from_lists(rng, who, _flat(cast.employee_network))
    from_team = _from_lists(rng, who, _flat(cast.team_members))
    use_team = (rng.random(len(rows)) < 0.45) & (from_team >= 0)
    person = np.where(use_team, from_team, from_network)
    person = np.where(person >= 0, person, rng.integers(0, n, len(rows)))
    return Draft(
        np.full(len(organizer), -1),
        category,
        organizer,
        np.full(len(organizer), -1),
        internal=[(np.arange(len(organizer)), organizer), (rows, person)],
        external=[],
    )


def durations(rng: np.random.Generator, category: np.ndarray) -> np.ndarray:
    """Minutes: emails a few minutes, meetings 30-60 (some 90), calls 15-45, chats a minute or two."""
    n = len(category)
    meeting = np.isin(category, [MEETING, RUSH_MEETING, INTERNAL_MEETING])
    email = np.isin(category, [OUTBOUND, INBOUND, RUSH_EMAIL, REPLY, INTERNAL_EMAIL])
    call = category == CALL
    out = rng.lognormal(np.log(2.0), 0.5, n)  # chats
    out = np.where(email, rng.lognormal(np.log(4.0), 0.6, n), out)
    out = np.where(meeting, rng.choice([30.0, 45.0, 60.0, 90.0], n, p=[0.45, 0.2, 0.3, 0.05]), out)
    out = np.where(call, rng.choice([15.0, 30.0, 45.0], n, p=[0.4, 0.4, 0.2]), out)
    return np.round(out, 2)


def _timestamps(mo: Month, d: Draft) -> np.ndarray:
    """Start times in naive UTC: working hours in the organiser's timezone; after hours in a rush."""
    rng, cast, latent, m = mo.rng, mo.cast, mo.latent, mo.index
    external = d.account >= 0
    rush = np.where(external, latent.rush[np.maximum(d.account, 0), m], 0.0)
    p_after = np.where(external, sigmoid(-2.6 + 1.2 * rush), 0.08)
    p_after = np.where(d.category == RUSH_EMAIL, sigmoid(-0.3 + 0.5 * rush), p_after)
    local = local_times(rng, mo.start, rng.random(len(d.category)) < p_after)
    emp_tz = cast.employees["timezone"].to_numpy()
    region_tz = account_timezones(cast.accounts, np.maximum(d.account, 0))
    tz = np.where(d.organizer_emp >= 0, emp_tz[np.maximum(d.organizer_emp, 0)], region_tz)
    return to_utc(local, tz)


def _replies(mo: Month, d: Draft, started: np.ndarray) -> tuple[Draft, np.ndarray]:
    """Our answers to inbound customer email: responsiveness makes them likelier and faster."""
    rng, latent, m = mo.rng, mo.latent, mo.index
    rows = np.flatnonzero(d.category == INBOUND)
    resp = latent.drivers["responsiveness"][d.account[rows], m]
    rows = rows[rng.random(len(rows)) < sigmoid(1.6 + 0.9 * resp)]
    resp = latent.drivers["responsiveness"][d.account[rows], m]
    delay_h = np.exp(np.log(5.0) - 1.4 * resp + 0.5 * rng.normal(0.0, 1.0, len(rows)))
    recipient = d.internal[0][1][rows]
    contact = d.organizer_contact[rows]
    idx = np.arange(len(rows))
    reply = Draft(
        d.account[rows],
        np.full(len(rows), REPLY),
        recipient,
        np.full(len(rows), -1),
        internal=[(idx, recipient)],
        external=[(idx, contact)],
    )
    reply_time = started[rows] + (delay_h * 3600).astype(np.int64).astype("timedelta64[s]")
    return reply, reply_time


def _concat(drafts: list[Draft]) -> Draft:
    shift = np.concatenate([[0], np.cumsum([len(d.category) for d in drafts])])

    def pairs(side: str) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(rows + shift[i], people) for i, d in enumerate(drafts) for rows, people in getattr(d, side)]

    return Draft(
        np.concatenate([d.account for d in drafts]),
        np.concatenate([d.category for d in drafts]),
        np.concatenate([d.organizer_emp for d in drafts]),
        np.concatenate([d.organizer_contact for d in drafts]),
        internal=pairs("internal"),
        external=pairs("external"),
    )


def _list_array(
    pairs: list[tuple[np.ndarray, np.ndarray]], new_row: np.ndarray, n_rows: int, ids: pa.Array
) -> pa.ListArray:
    """Participants as a list column: remap rows, drop repeated people and dropped rows."""
    rows = np.concatenate([r for r, _ in pairs]).astype(np.int64)
    people = np.concatenate([p for _, p in pairs]).astype(np.int64)
    rows = new_row[rows]
    ok = (rows >= 0) & (people >= 0)
    key = np.unique(rows[ok] * (len(ids) + 1) + people[ok])
    parent, person = key // (len(ids) + 1), key % (len(ids) + 1)
    offsets = np.concatenate([[0], np.cumsum(np.bincount(parent, minlength=n_rows))]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), ids.take(pa.array(person)))


def month_interactions(
    mo: Month, first_id: int, ids: tuple[pa.Array, pa.Array], seen: RecentInteractions
) -> pa.Table:
    """All interactions of the month as a contract table, sorted by start time, ids from ``first_id``.

    ``seen`` records each customer interaction's account and start (survey answers follow them).
    """
    rng, cast, latent, world_end = mo.rng, mo.cast, mo.latent, mo.world_end
    ext = external_draft(mo)
    ext_time = _timestamps(mo, ext)
    reply, reply_time = _replies(mo, ext, ext_time)
    internal = internal_draft(rng, cast)
    internal_time = _timestamps(mo, internal)
    d = _concat([ext, reply, internal])
    started = np.concatenate([ext_time, reply_time, internal_time])
    limit = np.where(d.account >= 0, latent.active_until[np.maximum(d.account, 0)], world_end)
    keep = np.flatnonzero(started < limit)
    keep = keep[np.argsort(started[keep], kind="stable")]
    new_row = np.full(len(started), -1, dtype=np.int64)
    new_row[keep] = np.arange(len(keep))
    seen.add_month(np.datetime64(mo.start, "s"), d.account[keep], started[keep])
    emp_ids, contact_ids = ids
    organizer = np.where(
        d.organizer_emp[keep] >= 0,
        np.asarray(emp_ids)[np.maximum(d.organizer_emp[keep], 0)],
        np.asarray(contact_ids)[np.maximum(d.organizer_contact[keep], 0)],
    )
    kinds = np.array([KIND_OF.get(c, "") for c in range(13)])
    return pa.table(
        {
            "interaction_id": pa.array(make_ids("I", len(keep), 10, start=first_id)),
            "kind": pa.array(kinds[d.category[keep]]),
            "started_at": pa.array(started[keep].astype("datetime64[us]")),
            "duration_minutes": pa.array(durations(rng, d.category[keep])),
            "organizer_id": pa.array(organizer),
            "internal_participants": _list_array(d.internal, new_row, len(keep), emp_ids),
            "external_participants": _list_array(d.external, new_row, len(keep), contact_ids),
        }
    )
