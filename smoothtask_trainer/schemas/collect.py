"""Results of `collect`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

FileStatus = Literal["ingested", "already-ingested", "failed", "not-attempted"]


class SkippedRecord(BaseModel):
    """One record that was not stored, and why."""

    line: int | None = Field(description="1-based line in the source (None for SQLite sources)")
    reason: str


class FileReport(BaseModel):
    """What one source contributed to the store."""

    source: str
    kind: str = Field(description="jsonl, jsonl.gz, sqlite or sqlite.gz (detected from the bytes)")
    status: FileStatus
    sha256: str | None = None
    size_bytes: int | None = None
    records_read: int = 0
    snapshots_inserted: int = 0
    processes_inserted: int = 0
    app_groups_inserted: int = 0
    duplicate_snapshots: int = Field(0, description="snapshot ids the store already held (skipped, not overwritten)")
    skipped_records: int = 0
    first_skipped: list[SkippedRecord] = Field(default_factory=list)
    unknown_keys: dict[str, int] = Field(default_factory=dict, description="keys outside the contract (ignored)")
    seconds: float = 0.0
    note: str | None = None

    def skipped_lines(self) -> list[str]:
        """``file:line: skipped: reason`` for each listed skipped record, and how many more were skipped."""
        lines = [
            f"{self.source}{f':{s.line}' if s.line is not None else ''}: skipped: {s.reason}"
            for s in self.first_skipped
        ]
        if self.skipped_records > len(self.first_skipped):
            lines.append(f"{self.source}: {self.skipped_records - len(self.first_skipped)} more records skipped")
        return lines


class StoreTotals(BaseModel):
    """Row counts of the store's tables."""

    snapshots: int
    processes: int
    app_groups: int


class CollectResult(BaseModel):
    """The outcome of one `collect` run."""

    db: str
    ok: bool
    files: list[FileReport]
    inserted: StoreTotals
    store: StoreTotals
    seconds: float
    error: str | None = None
