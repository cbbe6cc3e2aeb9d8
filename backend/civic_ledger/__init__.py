"""civic-ledger: blockchain-backed civic records."""

__version__ = "0.1.0"
