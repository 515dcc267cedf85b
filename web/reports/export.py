"""Reports as CSV: UTF-8 with a byte-order mark (so spreadsheet programs read Cyrillic right),
offered as a download named for the report and its period."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Sequence

from aiohttp import web

from core.reports.scope import Period

Cell = str | int | float | None
_BOM = "\ufeff"
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _headers(report: str, period: Period) -> dict[str, str]:
    name = f"{report}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    return {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{name}"',
    }


def _safe(cell: Cell) -> Cell:
    """Text that a spreadsheet would run as a formula (customers write comments) is quoted."""
    if isinstance(cell, str) and cell.startswith(_FORMULA):
        return "'" + cell
    return cell


def _lines(rows: Iterable[Sequence[Cell]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows([_safe(c) for c in row] for row in rows)
    return out.getvalue()


def table(
    report: str, period: Period, header: Sequence[str], rows: Iterable[Sequence[Cell]]
) -> web.Response:
    """A whole (aggregated, so small) table at once."""
    body = _BOM + _lines([header, *rows])
    return web.Response(body=body.encode("utf-8"), headers=_headers(report, period))


async def stream(
    request: web.Request,
    report: str,
    period: Period,
    header: Sequence[str],
    chunks: AsyncIterator[list[Sequence[Cell]]],
) -> web.StreamResponse:
    """Rows as they come from the database, a chunk at a time."""
    response = web.StreamResponse(headers=_headers(report, period))
    await response.prepare(request)
    await response.write((_BOM + _lines([header])).encode("utf-8"))
    async for rows in chunks:
        await response.write(_lines(rows).encode("utf-8"))
    await response.write_eof()
    return response
