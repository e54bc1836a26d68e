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
from smoothtask_trainer.errors import ConfigError, ExportError, InputNotFoundError, OutputPathError
from smoothtask_trainer.files import fsync, sha256_file, temp_beside
from smoothtask_trainer.schemas.model import ArtifactEntry, ExportMetadata, ExportResult
from smoothtask_trainer.services import onnx_export
from smoothtask_trainer.services.artifacts import (
    check_format,
    check_model,
    detect_format,
    embed,
    embedded_metadata,
    load_model,
    predict_raw,
    sidecar_path,
)
from smoothtask_trainer.services.onnx_export import daemon_config_hint

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


def plan_targets(targets: Mapping[str, Path]) -> list[tuple[str, Path]]:
    """Check the requested outputs (format keys, suffixes, directories, duplicates) before any work."""
    plan: list[tuple[str, Path]] = []
    for key, value in targets.items():
        fmt, path = check_format(key, "targets"), Path(value)
        if path.suffix.lower() != f".{fmt}":
            raise ConfigError(
                f"output {path} does not end in .{fmt} for the {fmt} format", hint=f"name it {path.stem}.{fmt}"
            )
        if path.is_dir():
            raise OutputPathError(
                f"output {path} is a directory", hint=f"give a file name, e.g. {path / 'model'}.{fmt}"
            )
        if sidecar_path(path).is_dir():
            raise OutputPathError(
                f"the metadata sidecar {sidecar_path(path)} of {path} is a directory",
                hint="remove or rename that directory, or choose another output name",
            )
        plan.append((fmt, path))
    if len({p.absolute() for _, p in plan}) != len(plan):
        raise ConfigError("two outputs name the same file", hint="give each format its own file")
    return plan


def _save_and_check(
    model: Any, fmt: str, tmp: Path, scratch: Path, expected: dict[str, Any], X: np.ndarray | None
) -> list[str]:
    """Write `model` to `tmp` and, when `X` is given, check it; return the checks that passed."""
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
    else:
        loaded = load_model(tmp, fmt)
        if len(loaded.feature_names_) != contract.N_FEATURES:
            raise ExportError(f"the reloaded model has {len(loaded.feature_names_)} features, not 51")
        diff = float(np.max(np.abs(predict_raw(loaded, X) - raw)))
        if diff > RELOAD_TOLERANCE:
            raise ExportError(f"the reloaded model predicts up to {diff:.3g} away from the trained one (> 1e-6)")
        checks = [f"reloads with 51 features; predictions equal within {diff:.2g} on {len(X)} rows"]
        props = dict(loaded.get_metadata())
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
) -> list[ArtifactEntry]:
    """Write a fitted CatBoostRanker in each requested format, with embedded metadata and a sidecar.

    All files are written and checked under temporary names first, then renamed into place, each followed by its
    sidecar. A failure before the renames leaves every existing file as it was, and no temporary file remains.

    Args:
        model: A fitted ``catboost.CatBoostRanker`` (not changed: the metadata goes into a copy).
        targets: ``{"onnx": Path, "json": Path, "cbm": Path}`` (any subset); each suffix must match its format.
        metadata: The metadata to embed (not changed: each file gets a copy with its own format and timestamp).
        check_X: Rows (n, 51) to check the files on; a synthetic sample of the daemon's vectors if None.
        validate: Check each file before it is put in place (reload and compare predictions; for ONNX the daemon's
            I/O contract, parity with sigmoid(raw score) within 1e-5 and the same ranking).

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

    plan = plan_targets(targets)
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
                checks = _save_and_check(work, fmt, tmp, scratch, expected, X)
                fsync(tmp)
            except ExportError as exc:
                raise ExportError(f"{path}: {exc.message}", hint=exc.hint) from exc
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


def export(
    model_path: str | Path,
    format: str,  # noqa: A002
    output_path: str | Path,
    metadata: Mapping[str, Any] | None = None,
    validate: bool = True,
) -> ExportResult:
    """`export_model` returning the typed result (what the CLI renders)."""
    fmt = check_format(format, "format (--format)")
    src, out = Path(model_path), Path(output_path)
    if not src.exists():
        raise InputNotFoundError(f"model {src} does not exist", hint="pass the .json or .cbm file train wrote")
    if not src.is_file():
        raise ConfigError(f"model {src} is not a file (--model)", hint="pass the .json or .cbm file itself")
    if metadata is not None and (not isinstance(metadata, Mapping) or not all(isinstance(k, str) for k in metadata)):
        raise ConfigError("metadata (--metadata) must be a JSON object with string keys", hint='e.g. {"version": "2"}')
    in_fmt = detect_format(src)
    if in_fmt == "onnx":
        raise ConfigError(
            f"{src} is an ONNX model: an ONNX model cannot be converted back; export from the .json or .cbm (--model)",
            hint="train writes model.json/model.cbm next to model.onnx",
        )
    if in_fmt is None:
        raise ExportError(f"{src} is neither a CatBoost .cbm nor a CatBoost JSON model (--model)")
    model = load_model(src, in_fmt)
    try:
        user = json.loads(json.dumps(dict(metadata or {})))  # a deep copy, and only what a sidecar can hold
        meta = ExportMetadata.model_validate({**embedded_metadata(dict(model.get_metadata())), **user})
    except TypeError as exc:
        raise ConfigError(f"metadata (--metadata / metadata=) must be JSON-serialisable: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid metadata (--metadata / metadata=): {problems}", hint="see docs/model.md") from exc
    [entry] = write_artifacts(model, {fmt: out}, meta, validate=validate)
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
    if path.suffix.lower() != f".{fmt}":
        raise ExportError(
            f"{path}: the suffix {path.suffix or '(none)'!r} does not match its {fmt} content",
            hint=f"rename it to {path.stem}.{fmt}",
        )
    checks = [f"{fmt} content, {size} bytes"]
    if fmt == "onnx":
        try:
            info = onnx_export.inspect_onnx(path)
        except ExportError as exc:
            raise ExportError(f"{path}: {exc.message}", hint=exc.hint or redo) from exc
        n_features, props = info["n_features"], info["metadata_props"]
        checks += info["checks"]
    else:
        import numpy as np

        model = load_model(path, fmt)
        n_features, props = len(model.feature_names_), dict(model.get_metadata())
        if n_features != contract.N_FEATURES:
            raise ExportError(f"{path}: the model has {n_features} features; the daemon sends {contract.N_FEATURES}")
        scores = predict_raw(model, onnx_export.synthetic_sample())
        if not np.all(np.isfinite(scores)):
            raise ExportError(f"{path}: the model returns non-finite scores", hint=redo)
        checks.append(f"CatBoost loads it; {n_features} features; finite scores on a sample")
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
