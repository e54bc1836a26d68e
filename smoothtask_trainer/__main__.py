"""`python -m smoothtask_trainer`."""

from smoothtask_trainer.cli import main

if __name__ == "__main__":
    main()
