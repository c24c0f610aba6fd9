"""loyalty-rules domain core: policy language, evaluation engine, ledger.

Nothing in this package knows about HTTP; ``api/`` is a thin edge over it.
"""

__version__ = "0.1.0"
