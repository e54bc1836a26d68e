"""The label-free evaluation: which rows judge a ranking, when there is no figure, and the train gate's verdicts."""

from __future__ import annotations

import numpy as np

from smoothtask_trainer.schemas.focus import FocusEvaluation
from smoothtask_trainer.services import focus
from smoothtask_trainer.services.train import better_than_stub, not_better_message, stub_comparison

# Per snapshot (1 s apart), 4 groups: apps 0, 1 and 2 have a window, 3 is an audio server (no window, never
# focused). The focus alternates between apps 0 (even snapshots) and 2 (odd ones): with a 1 s horizon the app to
# rank first is 2 at even snapshots and 0 at odd ones; every snapshot but the last judges.
N = 40
Q = np.repeat(np.arange(N), 4)
TS = Q * 1000
KEY = np.tile([0, 1, 2, 3], N)
GUI = np.tile([True, True, True, False], N)
FOCUSED = np.zeros(Q.size, bool)
FOCUSED[np.flatnonzero(KEY == 0)[::2]] = True  # even snapshots: app 0
FOCUSED[np.flatnonzero(KEY == 2)[1::2]] = True  # odd snapshots: app 2
NEXT = np.where(Q % 2 == 0, KEY == 2, KEY == 0)


def run(scores: dict[str, np.ndarray], gui: np.ndarray = GUI, focused: np.ndarray = FOCUSED) -> FocusEvaluation:
    return focus.evaluate(Q, TS, KEY, focused, gui, 1.0, scores, "test")


def test_the_audio_server_is_neither_rewarded_nor_punished() -> None:
    audio_first = np.where(KEY == 3, 0.9, np.where(NEXT, 0.5, 0.1))  # the audio server first, then the next app
    result = run({"model": audio_first, "stub_ranker": np.where(KEY == 3, 0.0, 0.5)})
    assert result.judging_snapshots == N - 1 and result.candidates_per_snapshot == 2
    assert result.stub_ranker == result.random  # ties among the candidates: random order's expectation
    assert result.model == 1.0 and result.random is not None and result.random < 1.0
    # the same scores, had the audio server a window (so it could take the focus): now it is a wrong first guess
    assert run({"model": audio_first}, gui=np.ones(Q.size, bool)).model < 1.0


def test_a_snapshot_with_one_candidate_cannot_judge() -> None:
    gui = GUI & (KEY != 1)  # app 1 has no window and is never focused: app 2 is the only candidate left
    result = run({"model": np.zeros(Q.size)}, gui=gui)
    assert result.judging_snapshots == 0 and result.model is None and "only 0 of the 40 snapshots" in result.reason


def test_too_few_judging_snapshots_or_no_focus_give_no_figure_with_the_reason() -> None:
    few = focus.evaluate(Q[:60], TS[:60], KEY[:60], FOCUSED[:60], GUI[:60], 1.0, {}, "test")
    assert few.judging_snapshots == 14 < focus.MIN_JUDGING_SNAPSHOTS and few.stub_ranker is None
    assert not few.computed and f"at least {focus.MIN_JUDGING_SNAPSHOTS}" in few.reason
    none = run({"model": np.zeros(Q.size)}, focused=np.zeros(Q.size, bool))
    assert none.snapshots_with_focus == 0 and none.model is None and "no focus information" in none.reason


LABELS = {"model": {"ndcg@5": 0.98}, "stub_ranker": {"ndcg@5": 0.77}, "random": {"ndcg@5": 0.59}}


def figures(model: float | None, stub: float | None) -> FocusEvaluation:
    return FocusEvaluation(
        window="w", horizon_s=120, snapshots=100, snapshots_with_focus=100, judging_snapshots=50,
        min_judging_snapshots=20, model=model, stub_ranker=stub, random=stub,
    )  # fmt: skip


def test_the_gate_needs_the_model_to_win_on_every_measure_that_could_be_computed() -> None:
    assert better_than_stub(LABELS, figures(0.7, 0.6)) is True
    assert stub_comparison(LABELS, figures(0.5157, 0.5897)) == {"labels": True, "future_focus": False}
    assert better_than_stub(LABELS, figures(0.5897, 0.5897)) is False  # a tie is not better
    assert stub_comparison(LABELS, figures(None, None)) == {"labels": True, "future_focus": None}
    assert better_than_stub(LABELS, figures(None, None)) is True  # not computed: judged by the labels alone
    assert better_than_stub(LABELS) is True and better_than_stub({}, figures(0.9, 0.1)) is None
    worse = {**LABELS, "model": {"ndcg@5": 0.5}}
    assert better_than_stub(worse, figures(0.9, 0.1)) is False


def test_the_refusal_names_the_measure_and_its_figures() -> None:
    text = not_better_message(LABELS, figures(0.5157, 0.5897))
    assert text.index("by future focus, no labels: NDCG@5 model 0.5157, stub ranker 0.5897") < text.index(
        "it does beat it by the labels: NDCG@5 model 0.9800, stub ranker 0.7700"
    )
    only_labels = not_better_message({**LABELS, "model": {"ndcg@5": 0.5}}, figures(None, None))
    assert "by the labels: NDCG@5 model 0.5000, stub ranker 0.7700" in only_labels and "focus" not in only_labels
