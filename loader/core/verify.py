"""The ledger is a cache, never the truth: before a push trusts it, NetSuite is asked (SuiteQL,
a query per thousand records) which of the records the ledger says it holds it really holds.

A record the ledger calls confirmed that NetSuite does not hold (another account, a refreshed
sandbox, a record deleted by hand) is sent again; one NetSuite holds as VOIDED is reported and
never sent: it is never billed and cannot be edited.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from pydantic import BaseModel, ConfigDict

from loader.core.netsuite import NetSuiteClient

BATCH = 1000
VOIDED = "VOIDED"


class HeldRecord(BaseModel):
    """A Usage Record NetSuite holds, as the verification query reads it."""

    model_config = ConfigDict(frozen=True)

    internal_id: str
    external_id: str
    status: str | None


class Verification(BaseModel):
    """What NetSuite holds of the External IDs asked about, keyed by the upper-case External ID
    (NetSuite matches External IDs without regard to case)."""

    model_config = ConfigDict(frozen=True)

    held: dict[str, HeldRecord]
    reads: int
    asked: int

    def find(self, external_id: str) -> HeldRecord | None:
        return self.held.get(external_id.upper())


def verification_query(external_ids: Sequence[str]) -> str:
    """One SuiteQL statement over at most `BATCH` External IDs."""
    quoted = ", ".join(
        "'" + external_id.upper().replace("'", "''") + "'" for external_id in external_ids
    )
    return (
        "SELECT id, externalid, status FROM usage "
        f"WHERE UPPER(externalid) IN ({quoted}) ORDER BY id"
    )


def verify_held(client: NetSuiteClient, external_ids: Iterable[str]) -> Verification:
    """Ask NetSuite which of `external_ids` it holds, a thousand per query."""
    wanted = sorted(set(external_ids))
    held: dict[str, HeldRecord] = {}
    reads_before = client.suiteql_pages
    for batch in _batches(wanted, BATCH):
        for row in client.suiteql(verification_query(batch), page_size=BATCH):
            lowered = {str(key).lower(): value for key, value in row.items()}
            external_id = str(lowered.get("externalid") or "")
            if not external_id:
                continue
            status = lowered.get("status")
            held[external_id.upper()] = HeldRecord(
                internal_id=str(lowered.get("id")),
                external_id=external_id,
                status=None if status is None else str(status).upper(),
            )
    return Verification(held=held, reads=client.suiteql_pages - reads_before, asked=len(wanted))


def _batches(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
