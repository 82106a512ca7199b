"""The demo's ordinary usage: which customer key emits which metric, when and how much.

Every feed lies inside the active life of one subscription line of `seeds/` (the test suite
checks this against the seeds), so ordinary usage is never quarantined; only the hand-written
records in `scenarios/` are meant to be. Usage occurs from 2026-01-01 through 2026-04-19 (local
dates); the demo runs with `as_of_date = 2026-04-20`.
"""

from __future__ import annotations

from datetime import date

from loader.sample_data.models import UsageFeed

FIRST_USAGE_DATE = date(2026, 1, 1)
LAST_USAGE_DATE = date(2026, 4, 19)
AS_OF_DATE = date(2026, 4, 20)

_START = FIRST_USAGE_DATE
_END = LAST_USAGE_DATE


def usage_feeds() -> tuple[UsageFeed, ...]:
    """The ordinary usage of the demo world, one feed per (source key, source metric)."""
    return (
        # BA-001: upgrade A -> B on 2026-02-15 (day 15 of the February period); two keys.
        UsageFeed(
            feed_id=1,
            source_system="telemetry",
            customer_key="acme-prod",
            source_metric="api.request",
            billing_account_id="BA-001",
            subscription_line_id="SL-1001-1",
            timezone="America/New_York",
            first_date=_START,
            last_date=_END,
            weight=14,
            shape="batch",
            daily_quantity=480,
            properties="endpoint",
        ),
        UsageFeed(
            feed_id=2,
            source_system="telemetry",
            customer_key="acme-batch",
            source_metric="api.request",
            billing_account_id="BA-001",
            subscription_line_id="SL-1001-1",
            timezone="America/New_York",
            first_date=_START,
            last_date=_END,
            weight=3,
            shape="batch",
            daily_quantity=120,
            local_offsets=True,
        ),
        # BA-002: business_days proration, downgrade B -> A on 2026-03-10.
        UsageFeed(
            feed_id=3,
            source_system="telemetry",
            customer_key="northwind-logistics",
            source_metric="api.request",
            billing_account_id="BA-002",
            subscription_line_id="SL-1002-1",
            timezone="America/Chicago",
            first_date=date(2026, 1, 5),
            last_date=_END,
            weight=10,
            shape="batch",
            daily_quantity=900,
            properties="endpoint",
        ),
        # BA-003: GPU milliseconds, multiplier 0.001; two amendments tie on 2026-03-01.
        UsageFeed(
            feed_id=4,
            source_system="stripe",
            customer_key="cus_Qf3Gl0bexR7a2K",
            source_metric="gpu_ms",
            billing_account_id="BA-003",
            subscription_line_id="SL-1003-1",
            timezone="UTC",
            first_date=_START,
            last_date=_END,
            weight=6,
            shape="batch",
            daily_quantity=250_000,
        ),
        # BA-004: unique users, half_month, minimum amount; downgrade on 2026-04-03.
        UsageFeed(
            feed_id=5,
            source_system="telemetry",
            customer_key="initech",
            source_metric="user.login",
            billing_account_id="BA-004",
            subscription_line_id="SL-1004-1",
            timezone="America/Los_Angeles",
            first_date=_START,
            last_date=_END,
            weight=6,
            shape="absent",
            users=8,
            properties="user",
        ),
        # BA-005: Salesforce seats (latest) and SMS packages; proration none.
        UsageFeed(
            feed_id=6,
            source_system="salesforce",
            customer_key="0015g00000UMBRLAAQ",
            source_metric="Seats",
            billing_account_id="BA-005",
            subscription_line_id="SL-1005-1",
            timezone="America/New_York",
            first_date=_START,
            last_date=_END,
            weight=1,
            shape="gauge",
            gauge_from=40,
            gauge_to=55,
        ),
        UsageFeed(
            feed_id=7,
            source_system="salesforce",
            customer_key="0015g00000UMBRLAAQ",
            source_metric="SMS_Messages",
            billing_account_id="BA-005",
            subscription_line_id="SL-1005-2",
            timezone="America/New_York",
            first_date=_START,
            last_date=_END,
            weight=2,
            shape="batch",
            daily_quantity=3_000,
        ),
        # BA-006 (EUR): metered egress in MB, multiplier 0.001; January billed.
        UsageFeed(
            feed_id=8,
            source_system="metering",
            customer_key="cust_brandt_eu",
            source_metric="egress_mb",
            billing_account_id="BA-006",
            subscription_line_id="SL-1006-1",
            timezone="Europe/Berlin",
            first_date=_START,
            last_date=_END,
            weight=3,
            shape="batch",
            daily_quantity=60_000,
        ),
        # BA-007 (JPY): January billed, late events follow; occurred_at in +09:00.
        UsageFeed(
            feed_id=9,
            source_system="telemetry",
            customer_key="sakura-robotics",
            source_metric="api.request",
            billing_account_id="BA-007",
            subscription_line_id="SL-1007-1",
            timezone="Asia/Tokyo",
            first_date=_START,
            last_date=_END,
            weight=6,
            shape="batch",
            daily_quantity=600,
            local_offsets=True,
        ),
        # BA-008: prepaid egress pool of 20,000 GB that runs out in the third period.
        UsageFeed(
            feed_id=10,
            source_system="metering",
            customer_key="cust_hooli",
            source_metric="egress_mb",
            billing_account_id="BA-008",
            subscription_line_id="SL-1008-1",
            timezone="UTC",
            first_date=_START,
            last_date=_END,
            weight=3,
            shape="batch",
            daily_quantity=270_000,
        ),
        UsageFeed(
            feed_id=11,
            source_system="metering",
            customer_key="cust_hooli",
            source_metric="storage_bytes",
            billing_account_id="BA-008",
            subscription_line_id="SL-1008-2",
            timezone="UTC",
            first_date=_START,
            last_date=_END,
            weight=2,
            shape="gauge",
            gauge_from=1.2e12,
            gauge_to=1.6e12,
        ),
        # BA-009: line 1 terminated on 2026-02-01 (usage through January), line 2 counts exports.
        UsageFeed(
            feed_id=12,
            source_system="telemetry",
            customer_key="soylent",
            source_metric="api.request",
            billing_account_id="BA-009",
            subscription_line_id="SL-1009-1",
            timezone="America/New_York",
            first_date=_START,
            last_date=date(2026, 1, 31),
            weight=2,
            shape="batch",
            daily_quantity=300,
        ),
        UsageFeed(
            feed_id=13,
            source_system="telemetry",
            customer_key="soylent",
            source_metric="report.exported",
            billing_account_id="BA-009",
            subscription_line_id="SL-1009-2",
            timezone="America/New_York",
            first_date=_START,
            last_date=_END,
            weight=4,
            shape="absent",
            users=12,
            properties="export",
        ),
        # BA-010 has no ordinary usage: its events are hand-written (the approved invoice).
        # BA-011: well above the approval threshold every month; its March approval is stale.
        UsageFeed(
            feed_id=14,
            source_system="stripe",
            customer_key="cus_Pp7PiedP1perXz",
            source_metric="api_request",
            billing_account_id="BA-011",
            subscription_line_id="SL-1011-1",
            timezone="America/Los_Angeles",
            first_date=_START,
            last_date=_END,
            weight=5,
            shape="batch",
            daily_quantity=233_000,
        ),
        # BA-012 (EUR): line ends 2026-02-28, extended to 2026-06-30; occurred_at in local time.
        UsageFeed(
            feed_id=15,
            source_system="telemetry",
            customer_key="stark-industries-eu",
            source_metric="report.exported",
            billing_account_id="BA-012",
            subscription_line_id="SL-1012-1",
            timezone="Europe/Berlin",
            first_date=_START,
            last_date=_END,
            weight=3,
            shape="absent",
            users=20,
            properties="export",
            local_offsets=True,
        ),
        # BA-013: Salesforce SMS; January and February billed, late edit and deletion follow.
        UsageFeed(
            feed_id=16,
            source_system="salesforce",
            customer_key="0015g00000WAYNEAAQ",
            source_metric="SMS_Messages",
            billing_account_id="BA-013",
            subscription_line_id="SL-1013-1",
            timezone="America/New_York",
            first_date=_START,
            last_date=_END,
            weight=2,
            shape="batch",
            daily_quantity=2_500,
        ),
        # BA-014: peak concurrent jobs (max) from 2026-02-10, proration none.
        UsageFeed(
            feed_id=17,
            source_system="telemetry",
            customer_key="cyberdyne",
            source_metric="jobs.concurrent",
            billing_account_id="BA-014",
            subscription_line_id="SL-1014-1",
            timezone="UTC",
            first_date=date(2026, 2, 10),
            last_date=_END,
            weight=4,
            shape="gauge",
            gauge_from=5,
            gauge_to=40,
            properties="cluster",
        ),
        # BA-015: storage (max); line terminated on 2026-04-01, so usage ends 2026-03-31.
        UsageFeed(
            feed_id=18,
            source_system="metering",
            customer_key="cust_tyrell",
            source_metric="storage_bytes",
            billing_account_id="BA-015",
            subscription_line_id="SL-1015-1",
            timezone="America/Los_Angeles",
            first_date=_START,
            last_date=date(2026, 3, 31),
            weight=2,
            shape="gauge",
            gauge_from=3.0e11,
            gauge_to=4.5e11,
        ),
        # BA-016: half_month with bill cycle day 28; the line starts 2026-01-20.
        UsageFeed(
            feed_id=19,
            source_system="stripe",
            customer_key="cus_0sc0rpM9nT4wLe",
            source_metric="gpu_ms",
            billing_account_id="BA-016",
            subscription_line_id="SL-1016-1",
            timezone="America/New_York",
            first_date=date(2026, 1, 20),
            last_date=_END,
            weight=4,
            shape="batch",
            daily_quantity=1_000_000,
        ),
        # BA-017: Salesforce seats (latest); a support fee line joins on 2026-02-10.
        UsageFeed(
            feed_id=20,
            source_system="salesforce",
            customer_key="0015g00000MSDYNAAQ",
            source_metric="Seats",
            billing_account_id="BA-017",
            subscription_line_id="SL-1017-1",
            timezone="UTC",
            first_date=_START,
            last_date=_END,
            weight=1,
            shape="gauge",
            gauge_from=12,
            gauge_to=20,
        ),
        # BA-018 (EUR): volume pricing without tier proration, proration none.
        UsageFeed(
            feed_id=21,
            source_system="stripe",
            customer_key="cus_H4ns0Fdn2EuRq1",
            source_metric="api_request",
            billing_account_id="BA-018",
            subscription_line_id="SL-1018-1",
            timezone="Europe/Berlin",
            first_date=_START,
            last_date=_END,
            weight=4,
            shape="batch",
            daily_quantity=20_000,
        ),
        # BA-019: two sources, one metric each (users from telemetry, API calls from Stripe).
        UsageFeed(
            feed_id=22,
            source_system="telemetry",
            customer_key="aperture",
            source_metric="user.login",
            billing_account_id="BA-019",
            subscription_line_id="SL-1019-1",
            timezone="America/Chicago",
            first_date=_START,
            last_date=_END,
            weight=5,
            shape="absent",
            users=35,
            properties="user",
        ),
        UsageFeed(
            feed_id=23,
            source_system="stripe",
            customer_key="cus_Ap3rtur3Sc1eNc",
            source_metric="api_request",
            billing_account_id="BA-019",
            subscription_line_id="SL-1019-2",
            timezone="America/Chicago",
            first_date=_START,
            last_date=_END,
            weight=4,
            shape="batch",
            daily_quantity=200,
        ),
        # BA-020: a new customer whose subscription starts 2026-04-01.
        UsageFeed(
            feed_id=24,
            source_system="telemetry",
            customer_key="black-mesa",
            source_metric="api.request",
            billing_account_id="BA-020",
            subscription_line_id="SL-1020-1",
            timezone="UTC",
            first_date=date(2026, 4, 1),
            last_date=_END,
            weight=1,
            shape="batch",
            daily_quantity=400,
            properties="endpoint",
        ),
    )


def allocate_events(feeds: tuple[UsageFeed, ...], events: int) -> dict[int, int]:
    """Split the event budget over the feeds by weight (largest remainder, at least one each).

    Metering exports hourly windows, so a metering feed holds at most one ordinary window per
    hour of its life; what it cannot hold goes to the telemetry feeds, by weight.
    """
    counts = _split(events, {feed.feed_id: feed.weight for feed in feeds})
    overflow = 0
    for feed in feeds:
        if feed.source_system == "metering" and counts[feed.feed_id] > feed.hours:
            overflow += counts[feed.feed_id] - feed.hours
            counts[feed.feed_id] = feed.hours
    if overflow:
        telemetry = {f.feed_id: f.weight for f in feeds if f.source_system == "telemetry"}
        for feed_id, extra in _split(overflow, telemetry).items():
            counts[feed_id] += extra
    return {feed_id: max(1, count) for feed_id, count in counts.items()}


def _split(total: int, weights: dict[int, int]) -> dict[int, int]:
    weight_sum = sum(weights.values())
    shares = {key: total * weight // weight_sum for key, weight in weights.items()}
    left = total - sum(shares.values())
    by_remainder = sorted(weights, key=lambda key: (-(total * weights[key] % weight_sum), key))
    for key in by_remainder[:left]:
        shares[key] += 1
    return shares
