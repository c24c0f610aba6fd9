"""Backtests: replay a ledger's history under programme versions in scratch copies.

``history`` reads what happened from a ledger (never writing to it), ``scratch`` builds a
throw-away SQLite ledger, ``replay`` drives the real ``Ledger`` over the history in time
order, ``figures`` and ``diff`` turn the replays into per-version figures and member-level
differences, ``liability`` values outstanding points, ``report`` renders them.
"""
