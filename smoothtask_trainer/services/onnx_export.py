"""The daemon's ONNX model: CatBoost's export plus a Sigmoid, and the checks that it meets the contract.

The daemon (`model/onnx_ranker.rs`, contract §2.2) feeds ``session.inputs[0]`` one f32 row ``[1, 51]`` per app
group, reads element 0 of ``session.outputs[0]`` as f32 and clamps it to [0, 1] before sorting. CatBoost's raw
YetiRank scores are unbounded (often negative), so the clamp would tie most groups at 0 or 1. We therefore append a
``Sigmoid`` to CatBoost's ``TreeEnsembleRegressor``: strictly monotone, so the ranking is unchanged, and inside
(0, 1), so the clamp is a no-op. The tree node's own ``post_transform="LOGISTIC"`` would be smaller, but
onnxruntime ignores it on a single-target regressor (checked with 1.32), so it is not used.

No typer or rich here; numpy, onnx and onnxruntime are imported by the functions that need them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smoothtask_trainer import contract
from smoothtask_trainer.errors import ExportError

if TYPE_CHECKING:
    import numpy as np

#: Sigmoid-13 lives in the default domain from opset 13; IR 7 is the lowest IR version for it (and for CatBoost's
#: ai.onnx.ml 2), so any onnxruntime since 1.6, far older than the daemon's `ort` 2.0.0-rc.10, loads the model.
ONNX_OPSET = 13
SCORE_OUTPUT = "score"
RAW_OUTPUT = "raw_score"
#: |onnx - sigmoid(raw)| allowed in the parity check (observed: ~2e-7 for 500 trees, float32 tree sums).
PARITY_TOLERANCE = 1e-5
#: Raw scores closer than this are ties for the ranking check: float32 cannot order them reliably.
TIE_TOLERANCE = 1e-6
#: ONNX scores closer than this are ties in the ranking check (float32 resolution is 6e-8 near 1).
SCORE_TIE = 1e-6
SAMPLE_ROWS = 256
_SAMPLE_SEED = 20251216


def sigmoid(raw: np.ndarray) -> np.ndarray:
    """The squash applied after CatBoost's raw score, in float64."""
    import numpy as np

    return 1.0 / (1.0 + np.exp(-np.asarray(raw, dtype=np.float64)))


def synthetic_sample(n: int = SAMPLE_ROWS, seed: int = _SAMPLE_SEED) -> np.ndarray:
    """A deterministic float32 sample shaped like the daemon's vectors, for checks when no real rows are given.

    Row 0 is all zeros and row 1 the daemon's defaults (zeros, categoricals "unknown"); the rest mix zeros with
    log-uniform magnitudes from 1e-3 to 1e11 (bytes, kB and counters are heavy-tailed), 0/1 flags in slots 33-44
    and hash codes 0-999 in slots 45-50, so every split of a tree is taken both ways.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    n = max(n, 2)
    n_num, n_bool = len(contract.NUMERIC), len(contract.BOOL)
    X = np.zeros((n, contract.N_FEATURES), dtype=np.float32)
    magnitudes = np.exp(rng.uniform(np.log(1e-3), np.log(1e11), (n, n_num)))
    X[:, :n_num] = np.where(rng.random((n, n_num)) < 0.3, 0.0, magnitudes)
    X[:, n_num : n_num + n_bool] = rng.integers(0, 2, (n, n_bool))
    X[:, n_num + n_bool :] = rng.integers(0, contract.CATEGORY_BUCKETS, (n, len(contract.CATEGORICAL)))
    X[0] = 0.0
    X[1] = 0.0
    X[1, list(contract.CAT_FEATURE_INDICES)] = contract.category_hash(contract.UNKNOWN)
    return X


def add_sigmoid(proto: Any, doc: str = "") -> Any:
    """Turn CatBoost's ONNX graph into the daemon's: first output ``score`` = Sigmoid(raw), float32 ``[N, 1]``.

    CatBoost declares its output ``predictions`` as ``['N']`` while the tree ensemble yields ``[N, 1]`` (and
    onnxruntime warns at every run), so both outputs are declared ``[N, 1]``. The raw score stays available as the
    second output ``raw_score`` for debugging; the daemon reads only the first.

    Args:
        proto: The ``onnx.ModelProto`` CatBoost wrote (changed in place and returned).
        doc: The model's doc string.

    Raises:
        ExportError: The graph is not CatBoost's single tree ensemble on a ``[N, 51]`` float input, or the result
            fails ``onnx.checker``.
    """
    import onnx
    from onnx import TensorProto, helper

    graph = proto.graph
    nodes = [n for n in graph.node if n.op_type == "TreeEnsembleRegressor"]
    if len(nodes) != 1 or len(graph.output) != 1 or nodes[0].output[0] != graph.output[0].name:
        raise ExportError("CatBoost's ONNX graph is not the single TreeEnsembleRegressor this exporter expects")
    dims = [d.dim_value or d.dim_param for d in graph.input[0].type.tensor_type.shape.dim]
    if len(graph.input) != 1 or len(dims) != 2 or dims[1] != contract.N_FEATURES:
        raise ExportError(f"CatBoost's ONNX input has shape {dims}, not [N, {contract.N_FEATURES}]")
    nodes[0].output[0] = RAW_OUTPUT
    graph.node.append(helper.make_node("Sigmoid", [RAW_OUTPUT], [SCORE_OUTPUT], name="squash"))
    del graph.output[:]
    batch = dims[0] if isinstance(dims[0], str) else "N"
    graph.output.extend(
        [
            helper.make_tensor_value_info(SCORE_OUTPUT, TensorProto.FLOAT, [batch, 1]),
            helper.make_tensor_value_info(RAW_OUTPUT, TensorProto.FLOAT, [batch, 1]),
        ]
    )
    if not any(op.domain in ("", "ai.onnx") for op in proto.opset_import):
        proto.opset_import.append(helper.make_opsetid("", ONNX_OPSET))
    proto.ir_version = max(proto.ir_version, helper.find_min_ir_version_for(list(proto.opset_import)))
    proto.doc_string = doc
    try:
        onnx.checker.check_model(proto, full_check=True)
    except Exception as exc:  # noqa: BLE001 - onnx raises several types; all mean "not a valid model"
        raise ExportError(f"the ONNX graph with the sigmoid fails onnx.checker: {exc}") from exc
    return proto


def save_daemon_onnx(model: Any, path: Path, scratch: Path, doc: str = "") -> None:
    """Write `model` as the daemon's ONNX to `path`; `scratch` receives CatBoost's raw export first."""
    import onnx

    model.save_model(str(scratch), format="onnx", export_parameters={"onnx_graph_name": "smoothtask_ranker"})
    proto = add_sigmoid(onnx.load(str(scratch)), doc)
    path.write_bytes(proto.SerializeToString())


def _session(path: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # shape mismatches are checked below, not left to a log line
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def inspect_onnx(path: Path, X: np.ndarray | None = None) -> dict[str, Any]:
    """Check an ONNX file the way the daemon will use it.

    Runs ``onnx.checker`` and an onnxruntime session; the first input must be float ``[batch, 51]`` (or ``[51]``)
    with a static feature dim, the first output float; a batch-1 run per row (as the daemon does) must give one
    finite score in (0, 1) with the declared shape.

    Args:
        path: The .onnx file.
        X: Rows to run (a synthetic sample if None).

    Returns:
        ``n_features``, ``ir_version``, ``opsets``, ``input``, ``output``, ``scores`` (first output per row),
        ``metadata_props`` and ``checks`` (what passed, for reports).

    Raises:
        ExportError: What is wrong, and what the daemon would do with it.
    """
    import numpy as np
    import onnx

    checks: list[str] = []
    try:
        onnx.checker.check_model(str(path), full_check=True)
        proto = onnx.load(str(path), load_external_data=False)
        session = _session(path)
    except Exception as exc:  # noqa: BLE001 - any failure here means the daemon cannot load it either
        raise ExportError(f"not a loadable ONNX model: {exc}") from exc
    checks.append("onnx.checker and onnxruntime load it")
    inp, out = session.get_inputs()[0], session.get_outputs()[0]
    shape = list(inp.shape)
    width = shape[-1] if len(shape) in (1, 2) else None
    if inp.type != "tensor(float)" or not isinstance(width, int):
        raise ExportError(
            f"first input {inp.name!r} is {inp.type} {shape}; the daemon needs float [batch, 51] with a "
            "static feature dim (it rejects a dynamic one at load)"
        )
    if width != contract.N_FEATURES:
        raise ExportError(
            f"the model takes {width} features; the daemon sends {contract.N_FEATURES} and scores every "
            "group 0.5 on a mismatch",
            hint="retrain with smoothtask-trainer train (the 51-feature contract)",
        )
    checks.append(f"input {inp.name!r} float {shape}")
    if out.type != "tensor(float)":
        raise ExportError(
            f"first output {out.name!r} is {out.type}; the daemon reads float32 (every group would score 0.5)"
        )
    checks.append(f"first output {out.name!r} float {list(out.shape)}")
    rows = synthetic_sample() if X is None else np.asarray(X, dtype=np.float32)
    feed = rows[:, None, :] if len(shape) == 2 else rows
    scores = np.empty(len(rows), dtype=np.float32)
    shapes = set()
    try:
        for i, row in enumerate(feed):  # batch size 1, and the first input only, like the daemon
            value = session.run([out.name], {inp.name: row})[0]
            shapes.add(value.shape)
            scores[i] = value.reshape(-1)[0]
    except Exception as exc:  # noqa: BLE001 - onnxruntime's errors; the daemon would score every group 0.5
        raise ExportError(
            f"a run on one [1, {width}] row fails (the daemon would score every group 0.5): {exc}"
        ) from exc
    if not np.all(np.isfinite(scores)) or scores.min() <= 0.0 or scores.max() >= 1.0:
        raise ExportError(
            f"scores range {scores.min():g}..{scores.max():g}, not inside (0, 1): the daemon clamps them to [0, 1] "
            "and the ranking collapses into ties",
            hint="export from the .json/.cbm with smoothtask-trainer export (it appends the sigmoid)",
        )
    checks.append("scores inside (0, 1)")
    wrong = [list(s) for s in shapes if not _shape_matches(out.shape, s)]
    if wrong:
        raise ExportError(
            f"output declared {list(out.shape)} but onnxruntime returns {wrong[0]} (it logs a warning on every run)",
            hint="export from the .json/.cbm with smoothtask-trainer export (it declares the true shape)",
        )
    checks.append(f"{len(rows)} batch-1 runs return the declared shape")
    props = {p.key: p.value for p in proto.metadata_props}
    opsets = {op.domain or "ai.onnx": op.version for op in proto.opset_import}
    return {
        "n_features": width,
        "ir_version": proto.ir_version,
        "opsets": opsets,
        "input": {"name": inp.name, "shape": shape},
        "output": {"name": out.name, "shape": list(out.shape)},
        "scores": scores,
        "metadata_props": props,
        "checks": checks,
    }


def _shape_matches(declared: list[Any], actual: tuple[int, ...]) -> bool:
    if len(declared) != len(actual):
        return False
    return all(not isinstance(d, int) or d == a for d, a in zip(declared, actual, strict=True))


def rank_inversions(raw: np.ndarray, scores: np.ndarray) -> int:
    """Neighbouring rows (in CatBoost's raw order) that the ONNX scores order the other way, beyond what float32
    can tell apart: a raw step under TIE_TOLERANCE (float32 tree sums), or a score drop under SCORE_TIE (the
    float32 sigmoid saturates near 1, where a few ulps of noise are no order the daemon could act on)."""
    import numpy as np

    order = np.argsort(raw, kind="stable")
    rises, drops = np.diff(raw[order]), np.diff(scores[order])
    return int(np.sum((rises > TIE_TOLERANCE) & (drops < -SCORE_TIE)))


def check_parity(path: Path, raw: np.ndarray, X: np.ndarray) -> list[str]:
    """The ONNX file scores like sigmoid(CatBoost's raw score) and ranks like it.

    Args:
        path: The .onnx file.
        raw: CatBoost's raw scores of `X` (``model.predict``).
        X: float32 rows.

    Returns:
        The checks that passed (the contract checks of `inspect_onnx` plus parity and ranking).

    Raises:
        ExportError: Contract, parity (> 1e-5) or ranking failure, with the numbers.
    """
    import numpy as np

    info = inspect_onnx(path, X)
    onnx_scores = info["scores"].astype(np.float64)
    diff = float(np.max(np.abs(onnx_scores - sigmoid(raw))))
    if diff > PARITY_TOLERANCE:
        raise ExportError(f"ONNX scores differ from sigmoid(CatBoost) by up to {diff:.3g} (> 1e-5)")
    inversions = rank_inversions(raw, onnx_scores)
    if inversions:
        raise ExportError(f"the ONNX model orders {inversions} neighbouring rows differently from CatBoost")
    return [*info["checks"], f"parity |onnx - sigmoid(raw)| = {diff:.2g} <= 1e-5 on {len(raw)} rows", "same ranking"]


def raw_scores(path: Path, X: np.ndarray) -> np.ndarray:
    """The ``raw_score`` output (the tree sum, before the sigmoid) of an ONNX file this module wrote, per row."""
    import numpy as np

    session = _session(path)
    rows = np.asarray(X, dtype=np.float32)
    try:
        raw = session.run([RAW_OUTPUT], {session.get_inputs()[0].name: rows})[0]
    except Exception as exc:  # noqa: BLE001 - onnxruntime's errors, or no raw_score output
        raise ExportError(f"cannot read the {RAW_OUTPUT!r} output on {len(rows)} rows: {exc}") from exc
    return np.asarray(raw, dtype=np.float64).reshape(-1)


def metadata_props(path: Path) -> dict[str, str]:
    """An ONNX file's ``metadata_props`` (where CatBoost's metadata map lands)."""
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in proto.metadata_props}


_PLAIN_YAML = re.compile(r"[A-Za-z0-9_./+-]+")


def daemon_config_hint(onnx_path: str | Path) -> str:
    """The YAML that makes the daemon rank with `onnx_path`, and the traps of deploying it (plain text).

    The path is made absolute but symlinks are kept, so a ``current.onnx`` link can be repointed.
    """
    path = str(Path(onnx_path).expanduser().absolute())
    quoted = path if _PLAIN_YAML.fullmatch(path) else json.dumps(path)  # a JSON string is a valid YAML scalar
    return f"""\
# smoothtaskd config (YAML): rank app groups with this model
policy_mode: hybrid
model:
  enabled: true
  model_path: {quoted}
  model_type: onnx

Before you rely on it:
- A stock smoothtaskd is built WITHOUT ONNX support and then has no ranker
  at all. Rebuild it:
    cargo build --release -p smoothtaskd --features smoothtask-core/onnx
- If the model fails to load in hybrid mode, the daemon runs with NO ranker
  (not the stub ranker, whatever its log says): every app group no rule
  catches becomes NORMAL. Check the daemon log after each reload.
- model_path is resolved against the daemon's working directory: keep it
  absolute, as above.
- The daemon reloads the model only when its YAML config file changes. After
  replacing the .onnx file, touch or edit the config file (e.g. touch
  /path/to/smoothtask.yml), or restart the daemon.
- The daemon never reads {Path(path).name}.metadata.json; the sidecar is for
  you and this tool.
"""
