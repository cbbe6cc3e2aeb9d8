"""Kept for older imports (``platform/index_cli.py``): the toolkit is :mod:`civic_ledger.clikit`."""

from civic_ledger.clikit import cli_errors, console, data_dir_or_default, err, fail

__all__ = ["cli_errors", "console", "data_dir_or_default", "err", "fail"]
