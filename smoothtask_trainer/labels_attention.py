"""The behavioural teacher: what the user did next, as labels (docs/labels.md). No Typer, rich or SQL here.

Real logs carry no labels, but they record what the user did: which group had the focused window at every
snapshot, and which groups were PipeWire clients. The label of a row at time t is read from the snapshots
**after** t only (`attention.future_focus`), so it is an outcome the model must predict, not a feature at t in
disguise:

- `attention`: the share of the horizon (t, t + H] in which the group has the focus, plus `AUDIO_WEIGHT` times
  the share in which a member is a PipeWire client, the latter only when the user shows presence in the horizon
  (the focus moves between two snapshots after t, or `user_active` where the log fills it): sound nobody is there
  to hear needs no priority. Clipped to [0, 1]. Rows whose snapshot has no later snapshot in its session have no
  future: they are dropped.
- `combined`: on the teacher_score scale (class band centres IDLE 0.1 ... CRIT_INTERACTIVE 0.9), the rule
  teacher's class score where one of its guardrails or focus rules decided (`RULES_KEPT`: R1-R4); every other row
  takes its rule grade's score as a floor, lifted toward CRIT_INTERACTIVE's by its future focus share:
  ``base + (0.9 - base) * focus share``. A rule's verdict and behaviour sit on one scale, and NDCG gains mean
  what they mean against teacher labels. The audio share is left to the rule teacher (H1) here.

docs/labels.md gives the reasons and the measured value of each choice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smoothtask_trainer import labels as lb
from smoothtask_trainer.attention import _sessions, future_focus

#: The behavioural label sources (`dataset.labels`).
SOURCES = ("attention", "combined")
#: Weight of the future PipeWire-client share (while the user is present) next to the future focus share.
AUDIO_WEIGHT = 0.5
#: Rule-teacher rules (ids of `labels.rule_grades`) whose grade `combined` keeps: its guardrails and sure things.
RULES_KEPT = {1: "R1 system group", 2: "R2 audio with xruns", 3: "R3 focused media or game", 4: "R4 focused window"}
#: The top of the band `combined` lifts the other rows into by their attention: CRIT_INTERACTIVE's score.
TOP_SCORE = float(lb.GRADE_SCORE[lb.CRIT])


@dataclass
class Behaviour:
    """Per row, in time order (rows of a snapshot contiguous): what the log says the user did."""

    query: np.ndarray  # snapshot id
    ts_ms: np.ndarray  # snapshot time
    key: np.ndarray  # the group's stable identity (`attention.stable_keys`)
    focused: np.ndarray  # the group has the focused window
    audio_client: np.ndarray  # a member is a PipeWire client
    user_active: np.ndarray | None = None  # the snapshot's user_active, where the log fills it


@dataclass
class Attention:
    """Per row: the attention value in [0, 1] (NaN where unknown) and whether the row has a future."""

    value: np.ndarray
    known: np.ndarray
    focus_share: np.ndarray
    audio_share: np.ndarray
    present: np.ndarray

    def stats(self) -> dict[str, object]:
        k = self.known
        return {
            "attention_rows": int(k.sum()),
            "rows_with_future_focus": int((self.focus_share[k] > 0).sum()),
            "rows_with_audio_bonus": int((self.audio_share[k] * self.present[k] > 0).sum()),
        }


def presence(b: Behaviour, horizon_s: float) -> np.ndarray:
    """Per row at t: the user shows presence in (t, t + H]: the focus moves between two snapshots after t, or a
    snapshot there has `user_active` (where the log fills it). The focus at t itself never enters."""
    query = np.asarray(b.query)
    new = np.r_[True, query[1:] != query[:-1]] if query.size else np.zeros(0, bool)
    starts, snap_of_row = np.flatnonzero(new), np.cumsum(new) - 1
    ts = np.asarray(b.ts_ms, dtype=np.int64)[starts]
    focused_key = np.full(starts.size, -1, dtype=np.int64)  # the focused group of each snapshot (-1: none)
    rows = np.flatnonzero(np.asarray(b.focused, bool))
    focused_key[snap_of_row[rows]] = np.asarray(b.key)[rows]
    # a move of the focus from snapshot j to j + 1 (same session) is marked at j: seen from t < j, it is the future
    session = _sessions(ts)
    marker = np.r_[(focused_key[1:] != focused_key[:-1]) & (session[1:] == session[:-1]), False]
    if b.user_active is not None:
        marker |= np.asarray(b.user_active, bool)[starts]
    # one row per snapshot, all with one key: its future "focus" share is > 0 iff a marker lies in (t, t + H]
    future = future_focus(query[starts], ts, np.zeros(starts.size, np.int64), marker, horizon_s)
    return (np.nan_to_num(future.share) > 0)[snap_of_row]


def attention(b: Behaviour, horizon_s: float) -> Attention:
    """The attention value of every row: future focus share + AUDIO_WEIGHT x future audio-client share (present)."""
    focus = future_focus(b.query, b.ts_ms, b.key, b.focused, horizon_s)
    audio = future_focus(b.query, b.ts_ms, b.key, b.audio_client, horizon_s)
    present = presence(b, horizon_s)
    focus_share, audio_share = np.nan_to_num(focus.share), np.nan_to_num(audio.share)
    value = np.clip(focus_share + AUDIO_WEIGHT * audio_share * present, 0.0, 1.0)
    value[~focus.known] = np.nan
    return Attention(value, focus.known, focus_share, audio_share, present)


def attention_labels(att: Attention) -> tuple[np.ndarray, np.ndarray, dict[str, object]]:
    """`attention` labels: (label per row, which rows have one, stats)."""
    return np.nan_to_num(att.value).astype(np.float32), att.known.copy(), att.stats()


def combined_labels(
    grades: np.ndarray, rule: np.ndarray, att: Attention
) -> tuple[np.ndarray, np.ndarray, dict[str, object]]:
    """`combined` labels on the teacher_score scale: the rule's class score where a kept rule decided, else the
    future focus share placed between the rule grade's score and CRIT_INTERACTIVE's (never below the rule's)."""
    base = lb.GRADE_SCORE[np.asarray(grades, dtype=np.int64)].astype(np.float64)
    kept = np.isin(rule, list(RULES_KEPT))
    value = np.nan_to_num(att.focus_share)
    y = np.where(kept, base, base + np.maximum(TOP_SCORE - base, 0.0) * value)
    stats = {k: v for k, v in att.stats().items() if k != "rows_with_audio_bonus"}  # no audio share here
    stats["rows_decided_by_rules"] = int((kept & att.known).sum())
    return y.astype(np.float32), att.known.copy(), stats
