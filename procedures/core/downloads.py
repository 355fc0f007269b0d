"""File downloads: the response every export page sends."""

from __future__ import annotations

from flask import Response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_download(content: bytes, file_name: str) -> Response:
    """Send workbook bytes as an attachment named file_name."""
    return Response(
        content,
        mimetype=XLSX,
        headers={
            "Content-Disposition": f'attachment; filename="{file_name}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
