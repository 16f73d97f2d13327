"""``python -m cmrunbook`` is the ``cmrunbook`` command."""

from .cli import app

app(prog_name="cmrunbook")
