"""Terminal output: rich tables on a terminal, plain aligned text when piped.

Progress bars go to stderr, and only on a terminal and for work big enough to take
more than about a second, so pipes and tests see clean output.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rich.color import ColorSystem
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeRemainingColumn
from rich.style import Style
from rich.table import Table
from rich.text import Text

#: Items (events) above which a progress bar is shown on a terminal.
PROGRESS_MIN_ITEMS = 20_000
#: Rows above which a terminal gets coloured aligned lines instead of a boxed table.
BIG_TABLE_ROWS = 2_000
#: ZIP size (bytes) above which loading shows a spinner on a terminal.
PROGRESS_MIN_BYTES = 4 * 1024 * 1024

Row = Sequence[str]


def stdout_console() -> Console:
    """Return a console on the current ``sys.stdout`` (rich decides on colour)."""
    return Console(file=sys.stdout, highlight=False, soft_wrap=False)


def stderr_console() -> Console:
    """Return a console on the current ``sys.stderr``."""
    return Console(file=sys.stderr, highlight=False)


def print_json(value: Any) -> None:
    """Write ``value`` as indented JSON to stdout (for programs, never coloured)."""
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def print_table(
    console: Console,
    headers: Row,
    rows: Sequence[Row],
    *,
    title: str | None = None,
    styles: Sequence[str | None] | None = None,
    row_styles: Sequence[str | None] | None = None,
) -> None:
    """Print a table: a rich table on a terminal, aligned plain text otherwise.

    Args:
        console: Where to print.
        headers: Column titles.
        rows: The cells, as strings.
        title: A caption printed above the table.
        styles: A rich style per column (terminal only).
        row_styles: A rich style per row (terminal only).
    """
    if not console.is_terminal:
        _plain_table(headers, rows, title)
        return
    if len(rows) > BIG_TABLE_ROWS:
        _ansi_lines(console, headers, rows, title, row_styles)
        return
    table = Table(
        title=Text(title) if title else None, header_style="bold", show_lines=False, expand=False
    )
    for i, header in enumerate(headers):
        style = styles[i] if styles is not None and i < len(styles) else None
        table.add_column(header, style=style, overflow="fold")
    for i, row in enumerate(rows):
        style = row_styles[i] if row_styles is not None and i < len(row_styles) else None
        table.add_row(*(Text(cell) for cell in row), style=style)
    console.print(table)


def _aligned(headers: Row, rows: Sequence[Row]) -> list[str]:
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths[i], len(cell))
    lines = []
    for row in [headers, *rows]:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1] if row else ""]).rstrip())
    return lines


def _plain_table(headers: Row, rows: Sequence[Row], title: str | None) -> None:
    out = sys.stdout
    if title:
        out.write(title + "\n")
    for line in _aligned(headers, rows):
        out.write(line + "\n")


def _ansi_lines(
    console: Console,
    headers: Row,
    rows: Sequence[Row],
    title: str | None,
    row_styles: Sequence[str | None] | None,
) -> None:
    """Coloured aligned lines: a rich table measures every cell, too slow for huge tables."""
    system = ColorSystem[(console.color_system or "standard").upper()]
    cache: dict[str | None, Style] = {}
    lines = _aligned(headers, rows)
    out = console.file
    if title:
        out.write(title + "\n")
    out.write(Style(bold=True).render(lines[0], color_system=system) + "\n")
    for i, line in enumerate(lines[1:]):
        name = row_styles[i] if row_styles is not None and i < len(row_styles) else None
        style = cache.get(name)
        if style is None:
            style = cache[name] = Style.parse(name) if name else Style()
        out.write(style.render(line, color_system=system) + "\n")


@contextlib.contextmanager
def progress(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """Show a progress bar on stderr for ``total`` items when the work is big.

    Args:
        total: The number of items.
        label: What is being done.

    Yields:
        A function to call with the number of items just done.
    """
    console = stderr_console()
    if total < PROGRESS_MIN_ITEMS or not console.is_terminal:
        yield lambda _n: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


@contextlib.contextmanager
def loading(path: Path) -> Iterator[None]:
    """Show a spinner on stderr while a big session ZIP loads.

    Args:
        path: The ZIP being loaded.

    Yields:
        Nothing; the spinner stops when the block ends.
    """
    console = stderr_console()
    try:
        big = path.stat().st_size >= PROGRESS_MIN_BYTES
    except OSError:
        big = False
    if not big or not console.is_terminal:
        yield
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=console, transient=True) as spinner:
        spinner.add_task(f"Loading {path.name}", total=None)
        yield
