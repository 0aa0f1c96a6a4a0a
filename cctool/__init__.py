"""cctool: a command-line operations toolkit for small call-center teams, on one SQLite file."""

__version__ = "0.1.0"
