"""The seed's `train_ranker` command: `smoothtask-trainer train` under its old name (no logic of its own).

uv run smoothtask_trainer.train_ranker --db snapshots.sqlite --model-json model.json [--model-onnx model.onnx]
"""

from __future__ import annotations


def main() -> None:
    """Run the `train` command as a stand-alone program (the seed's command line)."""
    import typer

    from smoothtask_trainer.cli.train import EPILOG, train

    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode="rich")
    app.command(epilog=EPILOG)(train)
    app(prog_name="smoothtask_trainer.train_ranker")


if __name__ == "__main__":
    main()
