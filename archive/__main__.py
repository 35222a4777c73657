"""``python -m archive``."""

from .cli import main

main(prog_name="archive")
