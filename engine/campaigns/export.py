"""The targets of a launched campaign as CSV files for the contact centre and SMS tools.

One file per group (``<campaign>-<group>.csv``), one row per member who consented to at least
one of the wanted channels and has an address for it: ``member_id, group, offer, message,
channel, address``. Holdout members are never exported (they must not be contacted), nor is
anybody without consent. Channels are tried in the order given; the consent flags and the
contact fields they need are:

    sms, call -> contact.phone    email -> contact.email    wechat -> contact.wechat
    app_push  -> the member id (the app finds the device)

A cell that a spreadsheet would run as a formula (starting with = + - @, tab or CR) gets a
leading apostrophe, except a phone number such as ``+86 138 0000 0000``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, select

from engine.campaigns.model import Context, groups_by_priority
from engine.errors import InputError
from engine.ledger.tables import campaign_assignments, members
from engine.pricing.offers import HOLDOUT

ADDRESSES: Mapping[str, str | None] = {
    "sms": "phone",
    "call": "phone",
    "email": "email",
    "wechat": "wechat",
    "app_push": None,
}
DEFAULT_CHANNELS = ("sms", "wechat", "email", "app_push", "call")
COLUMNS = ("member_id", "group", "offer", "message", "channel", "address")
_PHONE = re.compile(r"^\+?[\d\s().-]+$")


@dataclass(frozen=True)
class Exported:
    files: dict[str, Path]
    rows: dict[str, int]
    without_consent: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": {g: str(p) for g, p in self.files.items()},
            "rows": self.rows,
            "without_consent": self.without_consent,
        }


def contact_for(
    contact: Mapping[str, Any], consent: Mapping[str, Any], member_id: str, channels: Sequence[str]
) -> tuple[str, str] | None:
    """The first wanted channel the member consented to and can be reached on."""
    for channel in channels:
        if consent.get(channel) is not True:
            continue
        field = ADDRESSES[channel]
        address = member_id if field is None else contact.get(field)
        if isinstance(address, str) and address.strip():
            return channel, address.strip()
    return None


def rows(
    conn: Connection, context: Context, campaign_id: str, channels: Sequence[str]
) -> Iterator[tuple[str, list[str] | None]]:
    """(group, CSV row or None when the member cannot be contacted) for every targeted member."""
    unknown = [c for c in channels if c not in ADDRESSES]
    if unknown:
        raise InputError(f"unknown channel(s) {', '.join(unknown)}; use {', '.join(ADDRESSES)}")
    groups = {g["id"]: g for g in groups_by_priority(context.downpour(campaign_id))}
    a = campaign_assignments.c
    query = (
        select(a.group_id, members.c.id, members.c.contact, members.c.consent)
        .join(members, and_(members.c.programme == a.programme, members.c.id == a.member_id))
        .where(
            a.programme == context.programme,
            a.campaign_id == campaign_id,
            a.group_id != HOLDOUT,
        )
        .order_by(a.group_id, members.c.id)
    )
    for group_id, member_id, contact, consent in conn.execution_options(yield_per=2000).execute(
        query
    ):
        reach = contact_for(contact or {}, consent or {}, member_id, channels)
        group = groups.get(group_id, {"id": group_id, "offer": []})
        yield group_id, None if reach is None else _row(member_id, group, *reach)


def _row(member_id: str, group: Mapping[str, Any], channel: str, address: str) -> list[str]:
    offer = group.get("name") or describe(group.get("offer", []))
    message = next((e["message"] for e in group.get("offer", []) if "message" in e), "")
    return [safe(v) for v in (member_id, group["id"], offer, message, channel, address)]


def describe(offer: Sequence[Mapping[str, Any]]) -> str:
    """A short plain description of an offer's effects."""
    parts = []
    for effect in offer:
        for kind, value in effect.items():
            if kind != "message":
                parts.append(f"{kind} {value}")
    return "; ".join(parts)


def safe(value: str) -> str:
    """Neutralise spreadsheet formulas; leave phone numbers alone."""
    if value[:1] in ("=", "@", "\t", "\r") or (value[:1] in ("+", "-") and not _PHONE.match(value)):
        return "'" + value
    return value


def export(
    conn: Connection,
    context: Context,
    campaign_id: str,
    folder: Path,
    channels: Sequence[str] = DEFAULT_CHANNELS,
) -> Exported:
    """Write one CSV per group into ``folder`` (created if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    counts: dict[str, int] = {}
    skipped: dict[str, int] = {}
    writers: dict[str, Any] = {}
    handles = []
    try:
        for group_id, row in rows(conn, context, campaign_id, channels):
            if group_id not in writers:
                files[group_id] = folder / f"{campaign_id}-{group_id}.csv"
                handle = files[group_id].open("w", newline="", encoding="utf-8")
                handles.append(handle)
                writers[group_id] = csv.writer(handle)
                writers[group_id].writerow(COLUMNS)
                counts[group_id], skipped[group_id] = 0, 0
            if row is None:
                skipped[group_id] += 1
            else:
                writers[group_id].writerow(row)
                counts[group_id] += 1
    finally:
        for handle in handles:
            handle.close()
    return Exported(files, counts, skipped)
