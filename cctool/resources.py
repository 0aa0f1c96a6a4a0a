"""Where the shipped data folders are: inside the wheel (cctool/_data/...) or at the top of a checkout."""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The folder `name` (migrations, campaigns, scripts_templates) of this installation."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"cctool installation is missing its {name}/ folder")
