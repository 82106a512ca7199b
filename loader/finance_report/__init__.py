"""The finance report (`usage-loader report`): a static, self-contained HTML page built from the
marts, for finance teams before Billing Operations runs."""

from loader.finance_report.command import report

__all__ = ["report"]
