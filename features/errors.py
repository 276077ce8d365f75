"""Errors of the feature stage that the ``csat`` command reports as the user's, importable without pandas.

``csat`` maps them to exit code 2 (see ``csat.cli.USER_ERRORS``); keeping them here, apart from the modules
that raise them, lets every command start without loading the engine or the store.
"""

from __future__ import annotations


class AsOfError(ValueError):
    """The online store's date is after tomorrow, or on or before the data's first event."""


class StoreCorruptError(ValueError):
    """A store file is there but cannot be read: damaged, cut short, or not written by this tool."""
