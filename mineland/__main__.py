"""``python -m mineland``: the ``mineland`` command, for an environment whose scripts
folder is not on the PATH."""

from .cli import run

if __name__ == "__main__":
    run()
