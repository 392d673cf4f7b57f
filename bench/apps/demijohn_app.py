"""The benchmark app on demijohn: one route per scenario in ``bench/scenarios.py``.

Keep it line-for-line the same as ``flask_app.py`` apart from the import, so
the two measure the frameworks and nothing else.
"""

from __future__ import annotations

import typing as t

from scenarios import FORM_FIELDS, TEMPLATE_ITEMS

from demijohn import (
    Blueprint,
    Flask,
    Response,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
)

app = Flask(__name__)


@app.get("/hello")
def hello() -> str:
    return "Hello, World!"


@app.get("/json")
def json_view() -> dict[str, t.Any]:
    return {"message": "Hello, World!", "items": [1, 2, 3], "ok": True}


app.secret_key = "bench-secret-key"
app.config["PERMANENT_SESSION_LIFETIME"] = 100 * 365 * 24 * 3600

# ~50 other rules, static and dynamic, so routing has a realistic map to search.
for i in range(25):
    app.add_url_rule(f"/static-page-{i}", f"page_{i}", lambda: "page")
    app.add_url_rule(f"/item/<int:item_id>/part{i}", f"part_{i}", lambda item_id: "part")


@app.get("/template")
def template_view() -> str:
    return render_template("items.html", items=TEMPLATE_ITEMS)


@app.get("/session")
def session_view() -> str:
    session["visits"] = session["visits"] + 1
    return f"{session['user']} {session['visits']}"


@app.post("/form")
def form_view() -> dict[str, str]:
    return {name: request.form[name] for name in FORM_FIELDS}


@app.get("/async")
async def async_view() -> str:
    return "Hello, World!"


@app.get("/user/<int:user_id>/post/<slug>")
def post_view(user_id: int, slug: str) -> str:
    return f"{user_id} {slug}"


hooked = Blueprint("hooked", __name__, url_prefix="/hooked")


@hooked.before_request
def before() -> None:
    g.started = True


@hooked.after_request
def after(response: Response) -> Response:
    response.headers["X-Hooked"] = "1"
    return response


@hooked.get("/")
def hooked_view() -> str:
    return "hooked"


app.register_blueprint(hooked)


# The return forms (``RETURN_FORMS`` in scenarios.py): each view returns one form.
@app.get("/return/str")
def return_str() -> str:
    return "text"


@app.get("/return/dict")
def return_dict() -> dict[str, int]:
    return {"a": 1}


@app.get("/return/list")
def return_list() -> list[int]:
    return [1, 2, 3]


@app.get("/return/headers")
def return_headers() -> tuple[str, dict[str, str]]:
    return "text", {"Content-Type": "text/plain"}


@app.get("/return/status")
def return_status() -> tuple[str, int]:
    return "text", 201


@app.get("/return/status-headers")
def return_status_headers() -> tuple[str, int, dict[str, str]]:
    return "text", 201, {"X-A": "b"}


@app.get("/return/status-header-list")
def return_status_header_list() -> tuple[str, int, list[tuple[str, str]]]:
    return "text", 201, [("X-A", "b")]


@app.get("/return/response")
def return_response() -> Response:
    return Response("text")


@app.get("/return/redirect")
def return_redirect() -> t.Any:
    return redirect("/x")


@app.get("/return/jsonify")
def return_jsonify() -> Response:
    return jsonify(a=1)
