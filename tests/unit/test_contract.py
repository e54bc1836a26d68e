"""The daemon's feature contract: names, order, kinds, defaults and the category hash."""

from __future__ import annotations

import pytest

from smoothtask_trainer import contract
from smoothtask_trainer.contract import features as cf

PUBLISHED = {
    "unknown": 514,
    "": 0,
    "gui_interactive": 462,
    "firefox": 185,
    "INTERACTIVE": 410,
    "xterm-256color": 537,
    "browser": 672,
    "browser|media": 24,
}


@pytest.mark.parametrize(("value", "code"), PUBLISHED.items())
def test_category_hash_published_values(value: str, code: int) -> None:
    assert contract.category_hash(value) == code


def _reference_hash(value: str) -> int:
    """Without wrapping at every step: the polynomial in exact integers, reduced mod 2**64 once."""
    data = value.encode("utf-8")
    exact = sum(b * 31 ** (len(data) - 1 - i) for i, b in enumerate(data))
    return (exact % 2**64) % 1000


@pytest.mark.parametrize("value", ["Привет", "日本語のアプリ", "café|naïve", "x" * 200, "🎮 game", "a\x00b"])
def test_category_hash_non_ascii_and_wrapping(value: str) -> None:
    assert contract.category_hash(value) == _reference_hash(value)


def test_hash_codes_matches_scalar_hash_and_maps_none_to_unknown() -> None:
    values = ["firefox", None, "unknown", "Привет", "firefox", ""]
    codes = contract.hash_codes(values)
    assert codes.dtype.name == "float32"
    assert codes.tolist() == [185.0, 514.0, 514.0, float(_reference_hash("Привет")), 185.0, 0.0]


def test_order_kinds_and_counts() -> None:
    assert contract.N_FEATURES == 51
    assert [f.index for f in contract.FEATURES] == list(range(51))
    kinds = [f.kind for f in contract.FEATURES]
    assert kinds == ["numeric"] * 33 + ["bool"] * 12 + ["categorical"] * 6
    assert contract.CAT_FEATURE_INDICES == (45, 46, 47, 48, 49, 50)
    names = contract.FEATURE_NAMES
    assert len(set(names)) == 51, "names are unique (slot 43 is not a second has_gui_window)"
    assert names[36] == "has_gui_window" and names[43] == "has_gui_window_group"
    assert names[:3] == ("cpu_share_1s", "cpu_share_10s", "io_read_bytes")
    assert names[29:33] == ("total_cpu_share", "total_io_read_bytes", "total_io_write_bytes", "total_rss_mb")
    assert names[45:] == (
        "process_type",
        "app_name",
        "priority_class",
        "teacher_priority_class",
        "env_term",
        "tags_joined",
    )


def test_sources_and_defaults() -> None:
    by_name = {f.name: f for f in contract.FEATURES}
    assert by_name["has_gui_window"].source == "processes.has_gui_window"
    assert by_name["has_gui_window_group"].source == "app_groups.has_gui_window"
    assert by_name["tags_joined"].source == "app_groups.tags"
    assert by_name["teacher_priority_class"].source == "processes.teacher_priority_class"
    assert by_name["load_avg_one"].source == "snapshots.load_avg_one"
    assert {f.default for f in contract.FEATURES if f.kind != "categorical"} == {0.0}
    assert {f.default for f in contract.FEATURES if f.kind == "categorical"} == {"unknown"}
    assert contract.FORCED_UNKNOWN == ("priority_class", "teacher_priority_class")
    assert [by_name[n].index for n in contract.DEAD_FEATURES] == [0, 1, 29]
    # every feature reads a real column of the daemon's schema
    for f in contract.FEATURES:
        table, column = f.source.split(".")
        assert column in contract.column_names(table), f.name


def test_join_tags_is_bytewise_sorted() -> None:
    assert cf.join_tags(["media", "browser"]) == "browser|media"
    assert cf.join_tags([]) == "unknown" and cf.join_tags(None) == "unknown"
    assert cf.join_tags(["b", "B", "a"]) == "B|a|b"  # bytewise: uppercase first
    assert cf.join_tags(["é", "z"]) == "z|é"


def test_percentile_class_matches_the_daemon_defaults() -> None:
    # f32 cut-offs (policy-replay.md §8.1): exact 0.6, 0.3 and 0.1 fall to the lower class, 0.9 stays CRIT
    assert [contract.percentile_class(p) for p in (1.0, 0.9, 0.61, 0.6, 0.3, 0.1, 0.05)] == [
        "CRIT_INTERACTIVE",
        "CRIT_INTERACTIVE",
        "INTERACTIVE",
        "NORMAL",
        "BACKGROUND",
        "IDLE",
        "IDLE",
    ]
