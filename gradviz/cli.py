"""The ``gradviz`` command line."""

from __future__ import annotations

import click

import gradviz


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(gradviz.__version__, prog_name="gradviz")
def cli() -> None:
    """gradviz: see a training step of a NumPy network, forward and backward."""


def main() -> None:
    """Console-script entry point."""
    cli()
