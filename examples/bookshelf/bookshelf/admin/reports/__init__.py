"""``admin.reports``: reports on the catalogue, nested in ``admin`` (so at
``/admin/reports``, behind the admin login, with endpoints ``admin.reports.*``)."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, render_template

from ...store import store

bp = Blueprint(
    "reports",
    __name__,
    url_prefix="/reports",
    template_folder="templates",
    static_folder="static",
)


@bp.route("/")
def index() -> str:
    return render_template("reports/index.html", authors=store.authors(), total=store.count())


@bp.route("/authors.csv")
def authors_csv() -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["author", "books", "first", "last"])
    for row in store.authors():
        writer.writerow([row["author"], row["books"], row["first"], row["last"]])
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=authors.csv"},
    )
