"""The label-free evaluation of a ranking: how well it predicts which app the user focuses next (train, validate,
replay)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FocusEvaluation(BaseModel):
    """NDCG@5 of future focus among the focusable app groups not focused at each snapshot (docs/train.md).

    The gain of a group at snapshot t is the share of the snapshots in (t, t + horizon] in which it has the focus:
    the log's own record of what the user did next, no label. Only focusable groups (a GUI window at t, or the focus
    at some snapshot of the window) that are not focused at t are ranked; a snapshot judges when at least two of
    them are there and one gains the focus within the horizon. Figures are None (with `reason`) when fewer than
    `min_judging_snapshots` snapshots judge, e.g. on a log without focus information.
    """

    window: str = Field(description="the snapshots evaluated: the held-out ones (train) or the whole store")
    horizon_s: float = Field(description="dataset.attention_horizon_s: how far ahead the focus is read")
    snapshots: int = Field(description="snapshots evaluated")
    snapshots_with_focus: int = Field(description="of them, snapshots in which some app group has the focus")
    judging_snapshots: int = Field(
        description="snapshots with 2 or more focusable unfocused groups, one of which gains the focus within the "
        "horizon: the ones that can tell rankings apart"
    )
    candidates_per_snapshot: float | None = Field(
        None, description="mean focusable unfocused groups per judging snapshot (random order's difficulty)"
    )
    min_judging_snapshots: int = Field(description="fewest judging snapshots for a figure")
    model: float | None = Field(None, description="NDCG@5 of the model's scores (None: no model, or no figure)")
    stub_ranker: float | None = Field(None, description="NDCG@5 of the daemon's stub ranker")
    random: float | None = Field(None, description="NDCG@5 of random order (ties in expectation)")
    reason: str | None = Field(None, description="why there are no figures")

    @property
    def computed(self) -> bool:
        return self.reason is None and self.stub_ranker is not None
