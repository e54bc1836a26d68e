"""Model files at the byte level: format detection, the embedded metadata codec, atomic writes, hashes.

Shared by `services.export` (which writes and checks artifacts) and `services.onnx_export`. No typer or rich;
catboost, numpy and pandas are imported by the functions that need them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smoothtask_trainer import contract
from smoothtask_trainer.errors import ConfigError, ExportError, OutputPathError
from smoothtask_trainer.files import refuse_same_files
from smoothtask_trainer.schemas.model import MODEL_FORMATS, MODEL_SUFFIXES

if TYPE_CHECKING:
    import numpy as np

    from smoothtask_trainer.schemas.model import ExportMetadata

FORMATS = MODEL_FORMATS  #: `schemas.model.MODEL_FORMATS`, under the name this module has exported
#: Our keys in CatBoost's metadata map (and so in ONNX ``metadata_props``): one per metadata field, plus one
#: listing the fields stored as JSON text (the others are plain strings), so every value reads back exactly.
PREFIX = "smoothtask."
JSON_FIELDS_KEY = "smoothtask_json_fields"
CBM_MAGIC = b"CBM1"
_CATS_REFUSAL = (
    "the model uses CatBoost native categorical features (slots {cats}); CatBoost cannot export them to ONNX, "
    "and the daemon sends those 6 slots as hashed numbers (float(hash % 1000)), never as strings"
)


def sidecar_path(path: Path) -> Path:
    """``model.onnx`` -> ``model.onnx.metadata.json``: one sidecar per file, never shared between formats."""
    return path.with_name(path.name + ".metadata.json")


def check_format(value: str, param: str) -> str:
    """`value` as one of onnx/json/cbm (case and a leading dot ignored); ConfigError naming `param` otherwise."""
    fmt = str(value).lower().lstrip(".")
    if fmt not in FORMATS:
        raise ConfigError(f"unknown model format {value!r} for {param}", hint=f"use one of: {', '.join(FORMATS)}")
    return fmt


def detect_format(path: Path) -> str | None:
    """A model file's format by content: CBM magic bytes, JSON text, else ONNX (protobuf) by suffix or first byte."""
    with path.open("rb") as fh:
        head = fh.read(64)
    if head.startswith(CBM_MAGIC):
        return "cbm"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return "json"
    # field 1 (ir_version) opens an ONNX protobuf
    if path.suffix.lower() == MODEL_SUFFIXES["onnx"] or head[:1] == b"\x08":
        return "onnx"
    return None


def embedded_metadata(props: Mapping[str, str]) -> dict[str, Any]:
    """Our metadata from CatBoost's metadata map or ONNX ``metadata_props`` ({} when this tool did not write it)."""
    if JSON_FIELDS_KEY not in props:
        return {}
    as_json = set(json.loads(props[JSON_FIELDS_KEY]))
    out: dict[str, Any] = {}
    for key, value in props.items():
        if key.startswith(PREFIX):
            name = key[len(PREFIX) :]
            out[name] = json.loads(value) if name in as_json else value
    return out


def embed(model: Any, meta: ExportMetadata) -> dict[str, Any]:
    """Put `meta` into `model`'s metadata map, replacing ours from before; return what was embedded.

    The artifact entry is left out: a file cannot hold its own hash (the sidecar has it). None fields are dropped.
    """
    data = meta.model_dump(mode="json", exclude_none=True, exclude={"artifact"})
    store = model.get_metadata()
    for key in [k for k in dict(store) if k.startswith(PREFIX) or k == JSON_FIELDS_KEY]:
        del store[key]
    for key, value in data.items():
        store[PREFIX + key] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    store[JSON_FIELDS_KEY] = json.dumps(sorted(k for k, v in data.items() if not isinstance(v, str)))
    return data


def check_model(model: Any, onnx: bool) -> list[int]:
    """Refuse a model the daemon cannot use; return its native categorical slots."""
    if not model.is_fitted():
        raise ExportError("the model is not trained", hint="train it first: smoothtask-trainer train")
    names = list(model.feature_names_)
    if len(names) != contract.N_FEATURES:
        raise ExportError(
            f"the model has {len(names)} features; the daemon sends exactly {contract.N_FEATURES} "
            "(33 numeric, 12 flags, 6 hashed categoricals) and scores every group 0.5 on a mismatch",
            hint="retrain on the 51-feature contract: smoothtask-trainer train",
        )
    default = [str(i) for i in range(contract.N_FEATURES)]
    if names not in (default, list(contract.FEATURE_NAMES)):
        slot = next(i for i, (a, b) in enumerate(zip(names, contract.FEATURE_NAMES, strict=True)) if a != b)
        raise ExportError(
            f"the model's feature {slot} is {names[slot]!r}, but the daemon sends {contract.FEATURE_NAMES[slot]!r} "
            "there: the model was trained on another feature order",
            hint="retrain with smoothtask-trainer train (features in contract order, docs/features.md)",
        )
    cats = [int(i) for i in model.get_cat_feature_indices()]
    if onnx and cats:
        raise ExportError(
            _CATS_REFUSAL.format(cats=cats),
            hint="retrain with the default hashed categoricals (smoothtask-trainer train --categorical hashed); "
            "native-categorical models can be exported to .json/.cbm only",
        )
    if onnx and model.get_scale_and_bias()[0] != 1.0:
        raise ExportError(
            "CatBoost cannot export a model whose scale is not 1 to ONNX",
            hint="model.set_scale_and_bias(1.0, bias) first: a positive scale does not change the ranking",
        )
    return cats


def predict_raw(model: Any, X: np.ndarray) -> np.ndarray:
    """CatBoost's raw scores (float64) of float32 rows; native categorical slots are passed as integer codes."""
    import numpy as np

    cats = list(model.get_cat_feature_indices())
    if not cats:
        return np.asarray(model.predict(X), dtype=np.float64)
    import pandas as pd

    frame = pd.DataFrame(X, columns=list(model.feature_names_))
    frame = frame.astype({frame.columns[i]: np.int64 for i in cats})
    return np.asarray(model.predict(frame), dtype=np.float64)


def load_model(path: Path, fmt: str) -> Any:
    """A CatBoostRanker from a .json or .cbm file (ExportError when CatBoost cannot read it)."""
    from catboost import CatBoostError, CatBoostRanker

    hint = "pass a model file written by CatBoost (smoothtask-trainer train writes model.json/model.cbm)"
    try:
        model = CatBoostRanker().load_model(str(path), format=fmt)
    except CatBoostError as exc:
        raise ExportError(f"{path}: CatBoost cannot read this {fmt} model: {exc}", hint=hint) from exc
    if not model.tree_count_:  # CatBoost reads any JSON object as an empty model
        raise ExportError(f"{path}: CatBoost cannot read this {fmt} model: it holds no trees", hint=hint)
    return model


def check_targets(
    targets: Mapping[str, Path], inputs: Sequence[tuple[str, str | Path | None]] = ()
) -> list[tuple[str, Path]]:
    """Check model outputs before any work: format keys, suffixes, directories, two outputs on one file, and no
    output (or its metadata sidecar) the same file as one of `inputs` (``(role, path)``). The one home of these
    checks, for `train`, `pipeline` and `export`."""
    plan: list[tuple[str, Path]] = []
    for key, value in targets.items():
        fmt, path = check_format(key, "targets"), Path(value)
        suffix = MODEL_SUFFIXES[fmt]
        if path.suffix.lower() != suffix:
            raise ConfigError(
                f"output {path} does not end in {suffix} for the {fmt} format", hint=f"name it {path.stem}{suffix}"
            )
        if path.is_dir():
            raise OutputPathError(
                f"output {path} is a directory", hint=f"give a file name, e.g. {path / 'model'}{suffix}"
            )
        if sidecar_path(path).is_dir():
            raise OutputPathError(
                f"the metadata sidecar {sidecar_path(path)} of {path} is a directory",
                hint="remove or rename that directory, or choose another output name",
            )
        plan.append((fmt, path))
    if len({p.absolute() for _, p in plan}) != len(plan):
        raise ConfigError("two outputs name the same file", hint="give each format its own file")
    produced = [(f"{fmt} model output", p) for fmt, p in plan]
    refuse_same_files(inputs, produced + [(f"{fmt} model's metadata output", sidecar_path(p)) for fmt, p in plan])
    return plan
