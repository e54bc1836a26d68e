"""Model artifacts: the metadata every exported file carries, and what `train` / `export` return."""

from __future__ import annotations

from typing import Any, Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

#: The model file formats: onnx (what the daemon loads), CatBoost json and cbm. The one list of them.
ModelFormat = Literal["onnx", "json", "cbm"]
ExportFormat = ModelFormat  #: the name the schemas and `export --format` have used
MODEL_FORMATS: Final[tuple[ModelFormat, ...]] = get_args(ModelFormat)
#: The file suffix of each format: a model file's suffix must match its content.
MODEL_SUFFIXES: Final[dict[str, str]] = {fmt: f".{fmt}" for fmt in MODEL_FORMATS}

#: Bumped when the meaning of a metadata field changes.
METADATA_SCHEMA_VERSION = "1"


class ArtifactEntry(BaseModel):
    """One written model file."""

    format: ExportFormat
    path: str
    sha256: str
    size_bytes: int
    metadata_path: str = Field(description="the sidecar <file>.metadata.json")
    checks: list[str] = Field(
        default_factory=list, description="what was verified before the file was put in place (empty: not validated)"
    )


class ExportMetadata(BaseModel):
    """What a model file says about itself: embedded in the file (CatBoost's metadata map, which reaches ONNX
    `metadata_props`) and written beside it as `<file>.metadata.json`.

    The first nine keys are the seed's. User-supplied keys (`--metadata '{...}'`) override them and may add
    more (kept as given).
    """

    model_config = ConfigDict(extra="allow")

    # the seed's keys
    version: str = "1.0.0"
    description: str = "SmoothTask app-group ranker (CatBoostRanker, daemon feature contract)"
    author: str = "smoothtask-trainer"
    dataset_size: int | None = Field(None, description="training rows (snapshot x app group)")
    features: list[str] = Field(default_factory=list, description="the ordered input feature names")
    training_date: str | None = Field(None, description="UTC date-time the model was trained (ISO 8601)")
    model_type: str = "CatBoostRanker"
    export_format: ExportFormat | None = None
    export_timestamp: float | None = Field(None, description="UNIX time of this export")
    # ours
    schema_version: str = METADATA_SCHEMA_VERSION
    trainer_version: str | None = None
    catboost_version: str | None = None
    python_version: str | None = None
    contract_version: str | None = None
    n_features: int | None = None
    categorical_mode: Literal["hashed", "native"] = Field(
        "hashed", description="hashed: the 6 categorical slots are the daemon's hash codes, trained as numbers"
    )
    cat_feature_indices: list[int] = Field(default_factory=list, description="native categorical slots, if any")
    squash: str | None = Field(
        None, description="the monotone map from CatBoost's raw score to the ONNX output, e.g. 'sigmoid'"
    )
    label_source: str | None = None
    params: dict[str, Any] = Field(default_factory=dict, description="the resolved CatBoost parameters")
    metrics: dict[str, Any] = Field(default_factory=dict, description="held-out NDCG etc. (see TrainReport)")
    data_fingerprint: str | None = Field(None, description="sha256 of the training matrix, labels and query ids")
    dataset: dict[str, Any] = Field(default_factory=dict, description="store, rows, queries, time range")
    artifact: ArtifactEntry | None = Field(
        None, description="this file (sidecar only: a file cannot hold its own hash)"
    )


class ExportResult(BaseModel):
    """What `export` wrote. The first eight keys are the seed's `export_model` dictionary."""

    input_model: str
    input_format: ExportFormat
    output_model: str
    output_format: ExportFormat
    output_size: int = Field(description="bytes")
    metadata: dict[str, Any] = Field(description="the sidecar's content")
    timestamp: float = Field(description="UNIX time of the export (= metadata.export_timestamp)")
    sha256: str
    metadata_path: str = Field(description="the sidecar <output>.metadata.json")
    n_features: int
    squash: str | None = Field(description="'sigmoid' for ONNX (the daemon clamps scores to [0, 1]); None: raw")
    validated: bool
    checks: list[str] = Field(default_factory=list)
    daemon_config: str | None = Field(None, description="ONNX: the daemon's YAML and the deployment traps")
