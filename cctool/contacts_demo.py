"""The contacts step of `cctool demo`: import the bundled synthetic sample, then erase one person."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import contacts
from .contacts_import import import_contacts
from .contacts_sample import write_sample
from .store import Store


def demo(store: Store, workdir: Path, say: Callable[[str], None]) -> None:
    for sample in write_sample(workdir / "contacts"):
        result = import_contacts(store, sample.path, region=sample.region, tags=["demo"])
        c = result.counts
        say(
            f"imported [cyan]{sample.path.name}[/cyan] ({sample.description}; read as {result.encoding}): "
            f"{c['read']} rows -> {c['imported']} new, {c['updated']} updated, "
            f"{c['duplicates_in_file']} repeats merged, {c['rejected']} rejected"
        )
        if result.rejects_file:
            say(f"  rejected rows with row numbers and reasons: {result.rejects_file}")
    book = list(contacts.iter_contacts(store.conn))
    by_region: dict[str, int] = {}
    for person in book:
        by_region[person["region"] or "?"] = by_region.get(person["region"] or "?", 0) + 1
    consenting = sum(1 for p in book if p["marketing_consent"] == "grant")
    summary = ", ".join(f"{n} {r}" for r, n in sorted(by_region.items()))
    say(f"contact book: {len(book)} people ({summary}); {consenting} with marketing consent on record")
    leaving = book[0]["phone"]
    contacts.erase(store, leaving)
    say(
        f"erasure request: {leaving} erased (details and tags cleared, ticket and callback text redacted); "
        "the number stays suppressed and the audit rows stay"
    )
