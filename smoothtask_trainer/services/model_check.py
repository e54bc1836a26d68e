"""Checking an exported model file: format, loading, the daemon's I/O contract and the metadata sidecar.

No typer or rich here; catboost, numpy and onnx are imported by the functions that need them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from smoothtask_trainer import contract
from smoothtask_trainer.errors import ExportError
from smoothtask_trainer.files import sha256_file
from smoothtask_trainer.schemas.model import MODEL_SUFFIXES, ExportMetadata
from smoothtask_trainer.services import catboost_json, onnx_export
from smoothtask_trainer.services.artifacts import (
    check_format,
    detect_format,
    embedded_metadata,
    load_model,
    predict_raw,
    sidecar_path,
)


def validate_exported_model(
    model_path: str | Path, expected_format: str, min_size: int = 1024, check_metadata: bool = True
) -> dict[str, Any]:
    """Check an exported model file (the seed's API): it exists, has the right format, loads and runs.

    JSON/CBM are loaded with CatBoost and run on a synthetic sample; ONNX must pass ``onnx.checker`` and the
    daemon's I/O contract (float ``[batch, 51]`` input with a static feature dim, float first output, batch-1
    runs giving scores in (0, 1)). A sidecar ``<file>.metadata.json``, when present and `check_metadata` is
    true, must parse, list the 51 contract features (if it lists any) and carry the file's sha256.

    Args:
        model_path: The model file.
        expected_format: ``onnx``, ``json`` or ``cbm``; the content and the suffix must both match it.
        min_size: Smallest plausible size in bytes (a smaller file is truncated or not a model).
        check_metadata: Check the sidecar when there is one.

    Returns:
        ``path``, ``format``, ``size``, ``sha256``, ``metadata`` (the sidecar, else the embedded metadata, else
        {}), ``n_features`` and ``checks`` (what passed).

    Raises:
        ConfigError: An unknown `expected_format`.
        ExportError: (a ValueError) what is wrong with the file, and what to do.
    """
    fmt = check_format(expected_format, "expected_format")
    path = Path(model_path)
    redo = f"re-export it: smoothtask-trainer export --model MODEL.json --format {fmt} --output {path}"
    if not path.exists():
        raise ExportError(f"{path}: no such model file", hint=redo)
    if not path.is_file():
        raise ExportError(f"{path} is not a file", hint="pass the model file itself")
    size = path.stat().st_size
    if size < min_size:
        raise ExportError(f"{path}: {size} bytes, below min_size={min_size}: truncated or not a model", hint=redo)
    found = detect_format(path)
    if found != fmt:
        raise ExportError(f"{path} holds {f'a {found}' if found else 'no known'} model, not {fmt}", hint=redo)
    if path.suffix.lower() != MODEL_SUFFIXES[fmt]:
        raise ExportError(
            f"{path}: the suffix {path.suffix or '(none)'!r} does not match its {fmt} content",
            hint=f"rename it to {path.stem}{MODEL_SUFFIXES[fmt]}",
        )
    checks = [f"{fmt} content, {size} bytes"]
    if fmt == "onnx":
        try:
            info = onnx_export.inspect_onnx(path)
        except ExportError as exc:
            raise ExportError(f"{path}: {exc.raw_message}", hint=exc.raw_hint or redo) from exc
        n_features, props = info["n_features"], info["metadata_props"]
        checks += info["checks"]
    else:
        import numpy as np

        model = load_model(path, fmt)
        n_features, props = len(model.feature_names_), dict(model.get_metadata())
        if n_features != contract.N_FEATURES:
            raise ExportError(f"{path}: the model has {n_features} features; the daemon sends {contract.N_FEATURES}")
        sample = onnx_export.synthetic_sample()
        scores = predict_raw(model, sample)
        if not np.all(np.isfinite(scores)):
            raise ExportError(f"{path}: the model returns non-finite scores", hint=redo)
        checks.append(f"CatBoost loads it; {n_features} features; finite scores on a sample")
        checks += catboost_json.check_file(path, scores, sample, "CatBoost's reading") if fmt == "json" else []
    metadata = embedded_metadata(props)
    side = sidecar_path(path)
    sha = sha256_file(path)
    if check_metadata and side.is_file():
        metadata = _check_sidecar(side, path, fmt, sha)
        checks.append(f"sidecar {side.name} matches the file")
    return {
        "path": str(path),
        "format": fmt,
        "size": size,
        "sha256": sha,
        "metadata": metadata,
        "n_features": n_features,
        "checks": checks,
    }


def _check_sidecar(side: Path, path: Path, fmt: str, sha: str) -> dict[str, Any]:
    redo = f"re-export {path.name} (the sidecar is written with it), or delete {side.name}"
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
        meta = ExportMetadata.model_validate(data)
    except (OSError, ValueError) as exc:  # JSONDecodeError and ValidationError are ValueErrors
        raise ExportError(f"{side}: not a valid metadata sidecar: {exc}", hint=redo) from exc
    if meta.features and list(meta.features) != list(contract.FEATURE_NAMES):
        raise ExportError(
            f"{side}: 'features' lists {len(meta.features)} names, not the daemon's {contract.N_FEATURES} in order",
            hint=redo,
        )
    if meta.export_format not in (None, fmt):
        raise ExportError(f"{side}: describes a {meta.export_format} export, not {fmt}", hint=redo)
    if meta.artifact is not None and meta.artifact.sha256 != sha:
        raise ExportError(f"{side}: its sha256 is not the file's: the model was replaced after export", hint=redo)
    return data
