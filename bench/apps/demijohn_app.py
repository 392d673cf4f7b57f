"""The benchmark app on demijohn: one route per scenario in ``bench/scenarios.py``.

Keep it line-for-line the same as ``flask_app.py`` apart from the import, so
the two measure the frameworks and nothing else.
"""

from __future__ import annotations

import typing as t

from demijohn import Flask

app = Flask(__name__)


@app.get("/hello")
def hello() -> str:
    return "Hello, World!"


@app.get("/json")
def json_view() -> dict[str, t.Any]:
    return {"message": "Hello, World!", "items": [1, 2, 3], "ok": True}
