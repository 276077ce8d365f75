"""Copy the page screenshots the browser tests took into ``docs/images/`` for the README.

Run after the browser tests (``pytest tests/serving/test_page_browser.py``):
``python -m scripts.page_screenshots [--from DIR] [--to docs/images]``. The tests write to
``.tmp/screenshots/`` unless ``CSAT_SCREENSHOTS`` names another folder. Exit code 1 when a screenshot is
missing (run the tests first, with a browser available).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("page-list.png", "page-account.png")


def default_source() -> Path:
    """The folder the browser tests write their screenshots to."""
    return Path(os.environ.get("CSAT_SCREENSHOTS") or ROOT / ".tmp" / "screenshots")


def copy_screenshots(source: Path, target: Path) -> list[Path]:
    """Copy both views' screenshots.

    Args:
        source: where the tests left them.
        target: the documentation's image folder.

    Returns:
        The files written.

    Raises:
        FileNotFoundError: a screenshot is missing.

    """
    missing = [n for n in NAMES if not (source / n).is_file()]
    if missing:
        raise FileNotFoundError(f"no {', '.join(missing)} in {source}: run the browser tests first")
    target.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copyfile(source / n, target / n)) for n in NAMES]


def main(argv: list[str] | None = None) -> int:
    """Copy the screenshots; print what was written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, default=None, help="screenshots folder")
    parser.add_argument("--to", dest="target", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args(argv)
    try:
        written = copy_screenshots(args.source or default_source(), args.target)
    except FileNotFoundError as err:
        print(err, file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
