"""The seed's `train_ranker` command: `smoothtask-trainer train` under its old name (no logic of its own).

uv run smoothtask_trainer.train_ranker --db snapshots.sqlite --model-json model.json [--model-onnx model.onnx]
"""

from __future__ import annotations


def main() -> None:
    """The seed's command line: `smoothtask-trainer train` under its old name."""
    from smoothtask_trainer.cli import run_standalone
    from smoothtask_trainer.cli.train import EPILOG, train

    run_standalone(train, EPILOG, "smoothtask_trainer.train_ranker")


if __name__ == "__main__":
    main()
