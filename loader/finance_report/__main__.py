"""`python -m loader.finance_report`: the same command as `usage-loader report`."""

from loader.finance_report.command import report

report(prog_name="usage-loader report")
