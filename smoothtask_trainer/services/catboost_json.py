"""An evaluator of CatBoost's JSON model format that does not use CatBoost: the model as the file states it.

CatBoost's own reader does not honour every field the way the file states it: a leaf value that is a string
or null is read as 0, a split is taken from its ``split_index`` (the position in the global border list), not
from its ``float_feature_index`` and ``border``, a bias given as a number instead of a list is dropped, and a
tree with the wrong number of leaf values is read anyway. Checking an export against CatBoost's reload of the
file therefore passes for a file that says something else. This module reads the fields as written:

- ``features_info.float_features[*]``: ``feature_index`` (what the splits name) → ``flat_feature_index`` (the
  input column), and ``nan_value_treatment`` (``AsIs``: NaN > border is false; ``AsFalse``; ``AsTrue``);
- ``oblivious_trees[*].splits[j]``: bit j of the leaf index is ``x[float_feature_index] > border``, compared
  in float32 as CatBoost does; ``leaf_values`` holds 2^depth numbers;
- ``scale_and_bias``: raw score = scale × Σ leaf values + bias.

A model with categorical splits (CTRs, one-hot), non-symmetric trees or several outputs is outside this
evaluator: `load` returns None and the caller falls back to CatBoost's reading. Anything malformed is an
ExportError naming the file and the field. No typer or rich here; numpy is imported by the functions that need it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smoothtask_trainer.errors import ExportError

if TYPE_CHECKING:
    import numpy as np

#: Exported raw scores must match the file within this, times max(1, the row's summed |leaf values|): ONNX sums
#: the trees in float32, this evaluator in float64 (observed: 5e-8 for 15 trees; 9e-6 on raw scores up to 32 for
#: 500 trees of depth 6, 5e-5 on scores up to 76 for 1000 trees of depth 8, i.e. below 3e-6 of the score).
RAW_TOLERANCE = 1e-5
_NAN_TREATMENTS = ("AsIs", "AsFalse", "AsTrue")


@dataclass
class JsonTrees:
    """An oblivious-tree ensemble read from a CatBoost JSON file, field by field as written."""

    path: Path
    columns: list[list[int]]  # per tree, per split: the input column
    borders: list[list[float]]  # per tree, per split: the border (float32 values)
    nan_bits: list[list[int]]  # per tree, per split: the bit a NaN takes (0, or 1 for AsTrue)
    leaves: list[list[float]]  # per tree: 2^depth leaf values
    scale: float
    bias: float
    n_inputs: int  # the input columns the model reads: 1 + the largest flat_feature_index
    label: str | None = None  # how reports name the file (default: its name)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Raw scores (float64) of float32 rows ``(n, n_inputs or more)``."""
        return self._scores(X)[0]

    def _scores(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(raw scores, the magnitude a float32 sum of them works at: |scale| × Σ |leaf value| per row)."""
        import numpy as np

        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] < self.n_inputs:
            raise ExportError(f"{self.path}: the model reads {self.n_inputs} columns; the rows have {X.shape[-1]}")
        total = np.zeros(len(X), dtype=np.float64)
        magnitude = np.zeros(len(X), dtype=np.float64)
        for cols, borders, nan_bits, leaves in zip(self.columns, self.borders, self.nan_bits, self.leaves, strict=True):
            index = np.zeros(len(X), dtype=np.int64)
            for bit, (col, border, nan_bit) in enumerate(zip(cols, borders, nan_bits, strict=True)):
                x = X[:, col]
                taken = np.where(np.isnan(x), bool(nan_bit), x > np.float32(border))
                index |= taken.astype(np.int64) << bit
            taken_values = np.asarray(leaves, dtype=np.float64)[index]
            total += taken_values
            magnitude += np.abs(taken_values)
        return self.scale * total + self.bias, abs(self.scale) * magnitude + abs(self.bias)

    def check(self, got: np.ndarray, X: np.ndarray, what: str = "the exported model") -> str:
        """Compare `got` (raw scores of `X` from another reading of the model) with this file's own scores.

        Returns:
            The check that passed, for reports.

        Raises:
            ExportError: Naming this file and the largest difference.
        """
        import numpy as np

        want, magnitude = self._scores(X)
        got = np.asarray(got, dtype=np.float64).reshape(-1)
        if got.shape != want.shape:
            raise ExportError(f"{what} returned {got.size} scores for {want.size} rows of {self.path}")
        diff = np.abs(got - want)
        limit = RAW_TOLERANCE * np.maximum(1.0, magnitude)
        if not np.all(np.isfinite(got)) or np.any(diff > limit):
            worst = float(np.nanmax(diff)) if np.any(np.isfinite(diff)) else float("inf")
            raise ExportError(
                f"{what} differs from {self.label or self.path} as the file defines it (its trees evaluated field by "
                f"field) by up to {worst:.3g} in the raw score on {len(want)} check rows (allowed for float32 sums: "
                f"{RAW_TOLERANCE:g} x the summed |leaf values|): CatBoost reads this file differently from what it "
                "states",
                hint=f"{self.path} is corrupted or was edited by hand (a leaf value, border or bias that CatBoost "
                "does not read as written); export from the model file train wrote, or retrain",
            )
        shown = self.label or self.path.name
        return f"raw scores equal {shown} read without CatBoost within {diff.max():.2g} on {len(want)} rows"


def load(path: str | Path) -> JsonTrees | None:
    """Read a CatBoost JSON model as written; None when it holds what this evaluator does not cover.

    Raises:
        ExportError: Not JSON, or a field that is missing, of the wrong type or inconsistent (named).
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise ExportError(f"{path}: not a readable JSON model: {exc}") from exc
    where = _Where(path)
    if not isinstance(doc, dict) or "oblivious_trees" not in doc:
        if isinstance(doc, dict) and ("trees" in doc or "non_symmetric_trees" in doc):
            return None  # Depthwise/Lossguide trees: not this evaluator's
        raise where.error("oblivious_trees", "is missing: not a CatBoost JSON model of oblivious trees")
    info = doc.get("features_info")
    if not isinstance(info, dict):
        raise where.error("features_info", "is missing or not an object")
    if info.get("categorical_features") or info.get("ctrs") or doc.get("ctr_data"):
        return None  # native categorical features: CatBoost's CTR tables are not evaluated here
    floats = where.items(info, "float_features", "features_info.float_features")
    column: dict[int, int] = {}
    nan_bit: dict[int, int] = {}
    for i, f in enumerate(floats):
        name = f"features_info.float_features[{i}]"
        if not isinstance(f, dict):
            raise where.error(name, "is not an object")
        index = where.integer(f.get("feature_index", i), f"{name}.feature_index")
        column[index] = where.integer(f.get("flat_feature_index", index), f"{name}.flat_feature_index")
        treatment = f.get("nan_value_treatment", "AsIs")
        if treatment not in _NAN_TREATMENTS:
            raise where.error(f"{name}.nan_value_treatment", f"is {treatment!r}, not one of {_NAN_TREATMENTS}")
        nan_bit[index] = int(treatment == "AsTrue")
    trees = where.items(doc, "oblivious_trees", "oblivious_trees")
    if not trees:
        raise where.error("oblivious_trees", "is empty: the model holds no trees")
    model = JsonTrees(path, [], [], [], [], 1.0, 0.0, max(column.values(), default=-1) + 1)
    for t, tree in enumerate(trees):
        name = f"oblivious_trees[{t}]"
        if not isinstance(tree, dict):
            raise where.error(name, "is not an object")
        cols, borders, bits = [], [], []
        for j, split in enumerate(where.items(tree, "splits", f"{name}.splits")):
            sname = f"{name}.splits[{j}]"
            if not isinstance(split, dict):
                raise where.error(sname, "is not an object")
            if split.get("split_type", "FloatFeature") != "FloatFeature":
                return None  # a categorical (one-hot or CTR) split
            feature = where.integer(split.get("float_feature_index"), f"{sname}.float_feature_index")
            if feature not in column:
                raise where.error(f"{sname}.float_feature_index", f"is {feature}, not a feature in float_features")
            cols.append(column[feature])
            borders.append(where.number(split.get("border"), f"{sname}.border"))
            bits.append(nan_bit[feature])
        values = where.items(tree, "leaf_values", f"{name}.leaf_values")
        if len(values) != 2 ** len(cols):
            raise where.error(
                f"{name}.leaf_values",
                f"holds {len(values)} values; a tree of depth {len(cols)} has {2 ** len(cols)} leaves "
                "(a model with several outputs is not a ranker)",
            )
        model.leaves.append([where.number(v, f"{name}.leaf_values[{k}]") for k, v in enumerate(values)])
        model.columns.append(cols)
        model.borders.append(borders)
        model.nan_bits.append(bits)
    model.scale, model.bias = _scale_and_bias(doc.get("scale_and_bias", [1.0, [0.0]]), where)
    return model


def _scale_and_bias(value: Any, where: _Where) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2:
        raise where.error("scale_and_bias", f"is {value!r}, not [scale, [bias]]")
    scale, bias = value
    if isinstance(bias, list):
        if len(bias) > 1:
            raise where.error("scale_and_bias", f"has {len(bias)} biases: a model with several outputs")
        bias = bias[0] if bias else 0.0
    return where.number(scale, "scale_and_bias[0]"), where.number(bias, "scale_and_bias[1]")


class _Where:
    """Typed access to the fields of one file, each failure an ExportError naming the file and the field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, field: str, problem: str) -> ExportError:
        return ExportError(
            f"{self.path}: {field} {problem}",
            hint="pass a CatBoost JSON model as written by CatBoost (smoothtask-trainer train --model-json)",
        )

    def items(self, obj: dict[str, Any], key: str, field: str) -> list[Any]:
        value = obj.get(key)
        if not isinstance(value, list):
            raise self.error(field, "is missing or not a list")
        return value

    def integer(self, value: Any, field: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.error(field, f"is {value!r}, not an index")
        return value

    def number(self, value: Any, field: str) -> float:
        """A JSON number, or a string holding one (what the file states; CatBoost reads such a string as 0)."""
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                number = None
        if number is None or not math.isfinite(number):
            raise self.error(field, f"is {value!r}, not a finite number")
        return number


def check_file(path: Path, raw: np.ndarray, X: np.ndarray, what: str, label: str | None = None) -> list[str]:
    """A JSON model file, read without CatBoost, must score `X` as `raw` (`what` names where `raw` comes from).

    Returns:
        The check that passed, or [] for a model outside this evaluator (see `load`).
    """
    own = load(path)
    if own is None:
        return []
    own.label = label
    return [own.check(raw, X, what)]
