"""Model export: CatBoost JSON/CBM and the daemon's ONNX, each checked, self-describing and written atomically.

Every artifact carries its `ExportMetadata` twice: embedded in the file (CatBoost's metadata map, which survives
CBM and JSON and becomes ONNX ``metadata_props``; keys ``smoothtask.<field>``) and in the sidecar
``<file>.metadata.json``, which also holds the file's sha256. Files are written under temporary names, checked,
renamed into place, and the sidecar comes last: a sidecar means a complete export.

No typer or rich here; catboost, numpy and onnx are imported by the functions that need them.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from smoothtask_trainer import __version__, contract
from smoothtask_trainer.errors import ConfigError, ExportError, InputNotFoundError, opt
from smoothtask_trainer.files import fsync, sha256_file, temp_beside
from smoothtask_trainer.schemas.model import ArtifactEntry, ExportMetadata, ExportResult
from smoothtask_trainer.services import catboost_json, onnx_export
from smoothtask_trainer.services.artifacts import (
    check_format,
    check_model,
    check_targets,
    detect_format,
    embed,
    embedded_metadata,
    load_model,
    predict_raw,
    sidecar_path,
)
from smoothtask_trainer.services.model_check import validate_exported_model
from smoothtask_trainer.services.onnx_export import daemon_config_hint

__all__ = ["export", "export_model", "plan_targets", "validate_exported_model", "write_artifacts"]

#: The output checks live in `artifacts.check_targets` (shared with `train`); the name this module exported.
plan_targets = check_targets

if TYPE_CHECKING:
    import numpy as np

#: Reloaded JSON/CBM models must predict like the source model within this.
RELOAD_TOLERANCE = 1e-6


def _artifact_metadata(base: ExportMetadata, fmt: str, cats: list[int]) -> ExportMetadata:
    """A copy of `base` for one file: the facts of the model and the export, which no caller can override."""
    import catboost

    data = base.model_dump()
    supplied = data.get("features")
    if supplied and list(supplied) != list(contract.FEATURE_NAMES):
        # An exported model always takes the daemon's 51 features in contract order, so `features` states that
        # fact; a caller's own list (the seed README passes three names) is kept, under its own key.
        data["features_supplied"] = list(supplied)
    data.update(
        features=list(contract.FEATURE_NAMES),
        n_features=contract.N_FEATURES,
        cat_feature_indices=cats,
        categorical_mode="native" if cats else "hashed",
        export_format=fmt,
        export_timestamp=time.time(),
        squash="sigmoid" if fmt == "onnx" else None,
        artifact=None,
    )
    for key, default in (
        ("trainer_version", __version__),
        ("catboost_version", catboost.__version__),
        ("python_version", platform.python_version()),
        ("contract_version", contract.CONTRACT_VERSION),
    ):
        data[key] = data.get(key) or default
    return ExportMetadata.model_validate(data)


def _save_and_check(
    model: Any, fmt: str, tmp: Path, scratch: Path, expected: dict[str, Any], X: np.ndarray | None, source: Any
) -> list[str]:
    """Write `model` to `tmp` and, when `X` is given, check it (and against `source`); return the checks passed."""
    import numpy as np

    if fmt == "onnx":
        onnx_export.save_daemon_onnx(model, tmp, scratch, doc=expected.get("description", ""))
    else:
        model.save_model(str(tmp), format=fmt)
    if X is None:
        return []
    raw = predict_raw(model, X)
    if fmt == "onnx":
        checks = onnx_export.check_parity(tmp, raw, X)
        props = onnx_export.metadata_props(tmp)
        written = onnx_export.raw_scores(tmp, X) if source is not None else None
    else:
        loaded = load_model(tmp, fmt)
        if len(loaded.feature_names_) != contract.N_FEATURES:
            raise ExportError(f"the reloaded model has {len(loaded.feature_names_)} features, not 51")
        written = predict_raw(loaded, X)
        diff = float(np.max(np.abs(written - raw)))
        if diff > RELOAD_TOLERANCE:
            raise ExportError(f"the reloaded model predicts up to {diff:.3g} away from the trained one (> 1e-6)")
        checks = [f"reloads with 51 features; predictions equal within {diff:.2g} on {len(X)} rows"]
        props = dict(loaded.get_metadata())
        checks += catboost_json.check_file(tmp, raw, X, "the model", "the JSON file") if fmt == "json" else []
    if source is not None:  # the input file as it defines itself, not as CatBoost reads it
        checks.append(source.check(written, X))
    if embedded_metadata(props) != expected:
        raise ExportError("the metadata embedded in the file does not read back as written")
    return [*checks, "embedded metadata reads back"]


def write_artifacts(
    model: Any,
    targets: Mapping[str, Path],
    metadata: ExportMetadata,
    check_X: np.ndarray | None = None,
    *,
    validate: bool = True,
    source: catboost_json.JsonTrees | None = None,
) -> list[ArtifactEntry]:
    """Write a fitted CatBoostRanker in each requested format, with embedded metadata and a sidecar.

    All files are written and checked under temporary names first, then renamed into place, each followed by its
    sidecar. A failure before the renames leaves every existing file as it was, and no temporary file remains.

    Args:
        model: A fitted ``catboost.CatBoostRanker`` (not changed: the metadata goes into a copy).
        targets: ``{"onnx": Path, "json": Path, "cbm": Path}`` (any subset); each suffix must match its format.
        metadata: The metadata to embed (not changed: each file gets a copy with its own format and timestamp).
        check_X: Rows (n, 51) to check the files on; a synthetic sample of the daemon's vectors if None.
        validate: Check each file before it is put in place (reload and compare predictions, a JSON file also read
            without CatBoost; for ONNX the daemon's I/O contract, parity with sigmoid(raw) within 1e-5, same ranking).
        source: The input file as it defines itself (`catboost_json.load`): each output's raw scores must match it.

    Returns:
        One `ArtifactEntry` per file, in the order of `targets`.

    Raises:
        ConfigError: An unknown format, a suffix that does not match, two targets on one file, or `features` in
            the metadata that are not the contract's.
        OutputPathError: A target is a directory or cannot be written.
        ExportError: The model cannot be exported (not 51 features, native categoricals to ONNX) or a file fails
            its check; the message names the file.
    """
    import numpy as np

    plan = check_targets(targets)
    if not isinstance(metadata, ExportMetadata):
        metadata = ExportMetadata.model_validate(dict(metadata))
    cats = check_model(model, onnx=any(fmt == "onnx" for fmt, _ in plan))
    X = None
    if validate:
        X = onnx_export.synthetic_sample() if check_X is None else np.asarray(check_X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != contract.N_FEATURES or not len(X):
            raise ConfigError(f"check rows have shape {list(X.shape)}, not [n, {contract.N_FEATURES}]")
    work = model.copy()  # the caller's model keeps its metadata map
    temps: list[Path] = []
    staged: list[tuple[str, Path, Path, ExportMetadata, list[str]]] = []
    try:
        for fmt, path in plan:
            meta = _artifact_metadata(metadata, fmt, cats)
            expected = embed(work, meta)
            tmp = temp_beside(path)
            temps.append(tmp)
            scratch = tmp
            if fmt == "onnx":  # CatBoost's own ONNX, before the sigmoid is added
                scratch = temp_beside(path.with_name(path.name + ".catboost"))
                temps.append(scratch)
            try:
                checks = _save_and_check(work, fmt, tmp, scratch, expected, X, source)
                fsync(tmp)
            except ExportError as exc:
                raise ExportError(f"{path}: {exc.raw_message}", hint=exc.raw_hint) from exc
            except Exception as exc:  # noqa: BLE001 - whatever CatBoost, onnx or the OS raise: name the file
                raise ExportError(f"{path}: cannot write the {fmt} model: {exc}") from exc
            staged.append((fmt, path, tmp, meta, checks))
        # Every model and sidecar is complete under a temporary name before anything is renamed into place, so a
        # failure up to here leaves the user's existing files untouched. Renames within a directory do not fail
        # for lack of space; should one fail anyway, the pairs already placed stay (complete and consistent), and
        # nothing the user had is deleted.
        entries, pairs = [], []
        for fmt, path, tmp, meta, checks in staged:
            side = sidecar_path(path)
            entry = ArtifactEntry(
                format=fmt,  # type: ignore[arg-type]
                path=str(path),
                sha256=sha256_file(tmp),
                size_bytes=tmp.stat().st_size,
                metadata_path=str(side),
                checks=checks,
            )
            side_tmp = temp_beside(side)
            temps.append(side_tmp)
            sidecar = meta.model_copy(update={"artifact": entry}).model_dump(mode="json", exclude_none=True)
            side_tmp.write_text(json.dumps(sidecar, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            fsync(side_tmp)
            pairs.append((tmp, path, side_tmp, side))
            entries.append(entry)
        for tmp, path, side_tmp, side in pairs:
            os.replace(tmp, path)
            os.replace(side_tmp, side)  # the sidecar last: its presence means the export is complete
        return entries
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)


def export_model(
    model_path: str | Path,
    format: str,  # noqa: A002 - the seed's parameter name
    output_path: str | Path,
    metadata: Mapping[str, Any] | None = None,
    validate: bool = True,
) -> dict[str, Any]:
    """Export a CatBoost .json/.cbm model to onnx, json or cbm (the seed's API; also `smoothtask-trainer export`).

    Args:
        model_path: The input model; its format is read from its content (an ONNX file is refused).
        format: ``onnx`` (the daemon's), ``json`` or ``cbm``.
        output_path: The file to write; its suffix must be ``.<format>``. The sidecar goes beside it.
        metadata: Keys to record (not changed). Precedence: the input's own metadata (if this tool wrote it)
            < these keys < the facts of the export (format, timestamp, features, squash).
        validate: Check the written file (see `write_artifacts`).

    Returns:
        The seed's keys ``input_model``, ``input_format``, ``output_model``, ``output_format``, ``output_size``,
        ``metadata``, ``timestamp``, and ``sha256``, ``metadata_path``, ``checks``, ``daemon_config`` (ONNX).

    Raises:
        InputNotFoundError: (a FileNotFoundError) the input does not exist.
        ConfigError: (a ValueError) an unknown format, invalid metadata, an ONNX input, a wrong suffix.
        OutputPathError: (a PermissionError) the output is a directory or cannot be written.
        ExportError: (a ValueError) the input is not a readable model, or the export fails its checks.
    """
    return export(model_path, format, output_path, metadata, validate).model_dump(mode="json")


def parse_metadata(text: str) -> dict[str, Any]:
    """Extra metadata given as JSON text: it must be an object."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{opt('metadata')} is not valid JSON ({exc.msg} at character {exc.pos})",
            hint=f"""quote the object for the shell: {opt("metadata")} '{{"version": "1.0.0"}}'""",
            setting="metadata",
        ) from None
    if not isinstance(value, dict):
        raise ConfigError(f"{opt('metadata')} must be a JSON object, not {type(value).__name__}", setting="metadata")
    return value


def export(
    model_path: str | Path,
    format: str,  # noqa: A002
    output_path: str | Path,
    metadata: Mapping[str, Any] | str | None = None,
    validate: bool = True,
) -> ExportResult:
    """`export_model` returning the typed result (what the CLI renders); `metadata` may be JSON text."""
    fmt = check_format(format, opt("format"))
    src, out = Path(model_path), Path(output_path)
    if not src.exists():
        raise InputNotFoundError(f"model {src} does not exist", hint="pass the .json or .cbm file train wrote")
    if not src.is_file():
        raise ConfigError(f"model {src} is not a file ({opt('model')})", hint="pass the .json or .cbm file itself")
    check_targets({fmt: out}, inputs=[("input model", src)])
    metadata = parse_metadata(metadata) if isinstance(metadata, str) else metadata
    if metadata is not None and (not isinstance(metadata, Mapping) or not all(isinstance(k, str) for k in metadata)):
        raise ConfigError(f"{opt('metadata')} must be a JSON object with string keys", hint='e.g. {"version": "2"}')
    in_fmt = detect_format(src)
    if in_fmt == "onnx":
        raise ConfigError(
            f"{src} is an ONNX model: an ONNX model cannot be converted back; export from the .json or .cbm "
            f"({opt('model')})",
            hint="train writes model.json/model.cbm next to model.onnx",
        )
    if in_fmt is None:
        raise ExportError(f"{src} is neither a CatBoost .cbm nor a CatBoost JSON model ({opt('model')})")
    model = load_model(src, in_fmt)
    # A JSON input is checked against what the file states (CatBoost's reading may differ); a CBM by reloading.
    source = catboost_json.load(src) if in_fmt == "json" and validate else None
    try:
        user = json.loads(json.dumps(dict(metadata or {})))  # a deep copy, and only what a sidecar can hold
        meta = ExportMetadata.model_validate({**embedded_metadata(dict(model.get_metadata())), **user})
    except TypeError as exc:
        raise ConfigError(f"{opt('metadata')} must be JSON-serialisable: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid metadata ({opt('metadata')}): {problems}", hint="see docs/model.md") from exc
    [entry] = write_artifacts(model, {fmt: out}, meta, validate=validate, source=source)
    sidecar = json.loads(Path(entry.metadata_path).read_text(encoding="utf-8"))
    return ExportResult(
        input_model=str(src),
        input_format=in_fmt,  # type: ignore[arg-type]
        output_model=entry.path,
        output_format=entry.format,
        output_size=entry.size_bytes,
        metadata=sidecar,
        timestamp=sidecar["export_timestamp"],
        sha256=entry.sha256,
        metadata_path=entry.metadata_path,
        n_features=contract.N_FEATURES,
        squash=sidecar.get("squash"),
        validated=validate,
        checks=entry.checks,
        daemon_config=daemon_config_hint(out) if fmt == "onnx" else None,
    )
