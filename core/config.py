"""Settings read from the environment, with embedded defaults that need no setup."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = ROOT / "data"


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    max_document_bytes: int

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def exports_dir(self) -> Path:
        return self.data_dir / "exports"


def round_deadline_s() -> float:
    """Seconds a whole proposing round may take, model calls included (REDRAFT_ROUND_DEADLINE_S)."""
    value = os.environ.get("REDRAFT_ROUND_DEADLINE_S", "")
    try:
        seconds = float(value) if value.strip() else 1800.0
    except ValueError:
        seconds = 1800.0
    return seconds if seconds > 0 else 1800.0


def load_settings() -> Settings:
    """Settings from REDRAFT_* / DATABASE_URL environment variables."""
    data_dir = Path(os.environ.get("REDRAFT_DATA_DIR", DEFAULT_DATA_DIR))
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'redraft.db'}"
    max_bytes = int(os.environ.get("REDRAFT_MAX_DOCUMENT_BYTES", 2 * 1024 * 1024))
    return Settings(database_url=url, data_dir=data_dir, max_document_bytes=max_bytes)
