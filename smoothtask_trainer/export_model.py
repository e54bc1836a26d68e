"""The seed's `export_model` module: the Python API and the `python -m smoothtask_trainer.export_model` command.

Both are the `export` service and the `smoothtask-trainer export` command under their old names; nothing here
has logic of its own.

    python -m smoothtask_trainer.export_model --model model.json --format onnx --output model.onnx \\
        [--metadata '{"version": "1.0.0"}'] [--validate|--no-validate]
"""

from __future__ import annotations

import sys
import types
from typing import Any

from smoothtask_trainer.services.export import export_model
from smoothtask_trainer.services.model_check import validate_exported_model

__all__ = ["export_model", "main", "validate_exported_model"]


def main() -> None:
    """The seed's command line: `smoothtask-trainer export` under its old name."""
    from smoothtask_trainer.cli import run_standalone
    from smoothtask_trainer.cli.export import EPILOG, export

    run_standalone(export, EPILOG, "smoothtask_trainer.export_model")


class _CallableModule(types.ModuleType):
    """This module, callable as the `export_model` function.

    The seed offers both `from smoothtask_trainer import export_model` (a function) and the module
    `smoothtask_trainer.export_model`. Once the module is imported, Python binds it to the package attribute of
    the same name, so the first import form would return the module; calling it must still export.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return export_model(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule


if __name__ == "__main__":
    main()
