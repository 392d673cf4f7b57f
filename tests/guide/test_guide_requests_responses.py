"""Guide, "Requests and Responses": every example, through both doors.

The streaming examples also run over a real socket in ``tests/test_asgi.py`` and
``tests/test_servers.py``; here they are checked for content and headers.
"""

from __future__ import annotations

import csv
import io
import os
import typing as t
from pathlib import Path

import pytest
from asgi_support import through
from flask import (
    Flask,
    Response,
    abort,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from werkzeug.utils import secure_filename


@pytest.fixture
def app(tmp_path: Path, door: str) -> Flask:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "index.html").write_text("<h1>Index</h1>")
    (templates / "login.html").write_text("<form method=post></form>")
    (templates / "404.html").write_text("<h1>Custom not found</h1>")
    app = Flask(__name__, root_path=str(tmp_path))
    through(app, door)
    return app


def test_query_parameters_with_request_args(app: Flask) -> None:
    @app.route("/search")
    def search():  # type: ignore[no-untyped-def]
        # Extracting query parameters
        # URL: /search?query=python&limit=10
        search_term = request.args.get("query", default="all")
        limit = request.args.get("limit", type=int, default=20)
        return f"Searching for '{search_term}' with a limit of {limit} results."

    client = app.test_client()
    assert client.get("/search?query=python&limit=10").text == (
        "Searching for 'python' with a limit of 10 results."
    )
    assert client.get("/search").text == "Searching for 'all' with a limit of 20 results."
    # type=int falls back to the default for a value it cannot convert.
    assert client.get("/search?limit=ten").text.endswith("limit of 20 results.")


def test_form_data_and_missing_keys(app: Flask) -> None:
    @app.route("/login", methods=["POST"])
    def login_process():  # type: ignore[no-untyped-def]
        """
        Handles form submission.
        Assumes HTML inputs: <input name="username"> and <input name="password">
        """
        user = request.form.get("username")
        pw = request.form.get("password")
        if user == "admin" and pw == "secret":
            return "Access Granted"

        return "Invalid Credentials", 401

    @app.route("/strict", methods=["POST"])
    def strict() -> str:
        return request.form["required"]

    client = app.test_client()
    granted = client.post("/login", data={"username": "admin", "password": "secret"})
    assert (granted.status_code, granted.text) == (200, "Access Granted")
    denied = client.post("/login", data={"username": "admin", "password": "nope"})
    assert (denied.status_code, denied.text) == (401, "Invalid Credentials")
    # request.form['key'] on a missing key is a 400, not a 500.
    assert client.post("/strict", data={}).status_code == 400


def test_handling_multi_value_keys(app: Flask) -> None:
    @app.route("/update-preferences", methods=["POST"])
    def preferences():  # type: ignore[no-untyped-def]
        selected_interests = request.form.getlist("interest")
        return f"You selected: {', '.join(selected_interests)}"

    response = app.test_client().post("/update-preferences", data={"interest": ["music", "coding"]})
    assert response.text == "You selected: music, coding"


def test_parsing_json_data(app: Flask) -> None:
    @app.route("/api/user", methods=["POST"])
    def create_user():  # type: ignore[no-untyped-def]
        # 1. Retrieve the JSON data from the request body
        # Using silent=True prevents a 400 error if JSON is malformed
        data = request.get_json(silent=False)
        # 2. Safety check: Ensure data actually exists
        if not data:
            return jsonify({"error": "Missing or invalid JSON"}), 400
        # 3. Accessing dictionary values
        username = data.get("username")
        data.get("email")
        data.get("age", 0)  # Providing a default value
        # Logic for database insertion would go here
        return jsonify({"message": f"User {username} created successfully"}), 201

    @app.route("/api/webhook", methods=["POST"])
    def webhook():  # type: ignore[no-untyped-def]
        # Attempt to parse even if the Content-Type header is missing
        data = request.get_json(force=True)
        return f"Received data from {data.get('source')}"

    @app.route("/api/quiet", methods=["POST"])
    def quiet() -> dict[str, t.Any]:
        return {"data": request.get_json(silent=True), "json": request.is_json}

    client = app.test_client()
    created = client.post("/api/user", json={"username": "neo"})
    assert (created.status_code, created.json) == (
        201,
        {"message": "User neo created successfully"},
    )
    assert client.post("/api/user", json={}).status_code == 400
    bad = client.post("/api/user", data="{nope", content_type="application/json")
    assert bad.status_code == 400  # invalid JSON: 400 Bad Request
    # docs/design.md, known error "request.get_json()": no JSON content type is a
    # 415 (unless silent/force).
    assert client.post("/api/user", data="x=1").status_code == 415
    forced = client.post("/api/webhook", data='{"source": "github"}')
    assert forced.text == "Received data from github"
    assert client.post("/api/quiet", data="{nope", content_type="application/json").json == {
        "data": None,
        "json": True,
    }


def test_handling_the_uploaded_file(app: Flask, tmp_path: Path) -> None:
    # Configure the directory where files will be stored
    UPLOAD_FOLDER = str(tmp_path / "uploads")
    os.makedirs(UPLOAD_FOLDER)
    app.config["UPLOAD_FOLDER"] = UPLOAD_FOLDER

    @app.route("/upload", methods=["POST"])
    def upload_file():  # type: ignore[no-untyped-def]
        # 1. Check if the post request has the file part
        if "file" not in request.files:
            return "No file part in the request", 400

        file = request.files["file"]

        # 2. If the user does not select a file, the browser submits an
        # empty file without a filename.
        if file.filename == "":
            return "No selected file", 400

        if file:
            # 3. Sanitize the filename to prevent security vulnerabilities
            filename = secure_filename(file.filename)

            # 4. Save the file to the configured upload folder
            file.save(os.path.join(app.config["UPLOAD_FOLDER"], filename))

            return f"File {filename} uploaded successfully."

    client = app.test_client()
    ok = client.post("/upload", data={"file": (io.BytesIO(b"hello"), "../../etc/passwd")})
    assert ok.text == "File etc_passwd uploaded successfully."
    assert (tmp_path / "uploads" / "etc_passwd").read_bytes() == b"hello"
    assert client.post("/upload", data={}).status_code == 400
    empty = client.post("/upload", data={"file": (io.BytesIO(b""), "")})
    assert (empty.status_code, empty.text) == (400, "No selected file")


def test_limiting_upload_size(app: Flask) -> None:
    # Limit the maximum allowed payload to 16 Megabytes
    # 16 * 1024 * 1024 bytes
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024 * 1024

    @app.route("/upload", methods=["POST"])
    def upload() -> str:
        return str(len(request.files["file"].read()))

    client = app.test_client()
    small = client.post("/upload", data={"file": (io.BytesIO(b"x" * 1024), "a.bin")})
    assert small.text == "1024"
    app.config["MAX_CONTENT_LENGTH"] = 1024
    big = client.post("/upload", data={"file": (io.BytesIO(b"x" * 4096), "a.bin")})
    assert big.status_code == 413


def test_make_response_for_manual_control(app: Flask) -> None:
    @app.route("/custom-response")
    def custom_response():  # type: ignore[no-untyped-def]
        # 1. Generate the initial response object
        # This can wrap a string, a template, or even a dictionary
        response = make_response(render_template("index.html"))

        # 2. Modify the status code
        response.status_code = 202

        # 3. Add custom HTTP headers
        response.headers["X-Custom-Header"] = "Flask-Documentation-Demo"
        response.headers["Content-Type"] = "text/plain"

        # 4. Set a cookie (see Section 3.5 for more on cookies)
        response.set_cookie("user_mode", "dark")

        return response

    response = app.test_client().get("/custom-response")
    assert response.status_code == 202
    assert response.text == "<h1>Index</h1>"
    assert response.headers["X-Custom-Header"] == "Flask-Documentation-Demo"
    assert response.headers["Content-Type"] == "text/plain"
    assert response.headers["Set-Cookie"] == "user_mode=dark; Path=/"


def test_return_value_interpretation(app: Flask) -> None:
    app.add_url_rule("/str", "str", lambda: "<b>hi</b>")
    app.add_url_rule("/dict", "dict", lambda: {"a": 1})
    app.add_url_rule("/list", "list", lambda: [1, 2])
    app.add_url_rule("/pair", "pair", lambda: ("made", 201))
    app.add_url_rule(
        "/api/error",
        "tuple_error",
        # "Returning a tuple is a concise alternative to make_response."
        lambda: ("The requested resource was not found", 404, {"X-Error-Code": "99"}),
    )
    client = app.test_client()
    page = client.get("/str")
    assert (page.status_code, page.mimetype, page.text) == (200, "text/html", "<b>hi</b>")
    assert client.get("/dict").json == {"a": 1}
    assert client.get("/dict").mimetype == "application/json"
    assert client.get("/list").json == [1, 2]
    assert client.get("/pair").status_code == 201
    error = client.get("/api/error")
    assert (error.status_code, error.headers["X-Error-Code"]) == (404, "99")
    assert error.text == "The requested resource was not found"


def test_a_view_returning_none_is_a_type_error(app: Flask) -> None:
    @app.route("/nothing")
    def nothing() -> None:
        pass

    app.testing = True  # propagate the error instead of answering 500
    with pytest.raises(TypeError, match="The view function for 'nothing' did not return"):
        app.test_client().get("/nothing")


def test_the_jsonify_shortcut(app: Flask) -> None:
    @app.route("/api/status")
    def get_status():  # type: ignore[no-untyped-def]
        # Returns a 200 OK with application/json header
        return jsonify(status="success", data={"items": [1, 2, 3]})

    response = app.test_client().get("/api/status")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json == {"status": "success", "data": {"items": [1, 2, 3]}}


def test_implementing_a_basic_stream(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setattr(time, "sleep", lambda seconds: None)  # the guide sleeps 1 s a chunk

    def generate_numbers():  # type: ignore[no-untyped-def]
        """
        A generator function that yields data over time.
        """
        for i in range(1, 11):
            yield f"Data chunk {i}\n"
            time.sleep(1)  # Simulate a delay/processing time

    @app.route("/stream-test")
    def stream():  # type: ignore[no-untyped-def]
        # We wrap the generator in a Response object
        # mimetypes like 'text/plain' or 'text/event-stream' are common
        return Response(generate_numbers(), mimetype="text/plain")

    response = app.test_client().get("/stream-test")
    assert response.mimetype == "text/plain"
    assert "Content-Length" not in response.headers  # streamed, not buffered
    assert response.text.splitlines() == [f"Data chunk {i}" for i in range(1, 11)]


def test_streaming_a_csv_export(app: Flask) -> None:
    @app.route("/export-csv")
    def export_csv():  # type: ignore[no-untyped-def]
        def generate_csv_data():  # type: ignore[no-untyped-def]
            data = [
                ["Name", "Email"],
                ["Alice", "alice@example.com"],
                ["Bob", "bob@example.com"],
                # Imagine thousands of rows here...
            ]
            for row in data:
                # Use a string buffer to format the CSV row
                output = io.StringIO()
                writer = csv.writer(output)
                writer.writerow(row)
                yield output.getvalue()

        return Response(
            generate_csv_data(),
            mimetype="text/csv",
            headers={"Content-Disposition": "attachment; filename=results.csv"},
        )

    response = app.test_client().get("/export-csv")
    assert response.headers["Content-Disposition"] == "attachment; filename=results.csv"
    assert list(csv.reader(io.StringIO(response.text))) == [
        ["Name", "Email"],
        ["Alice", "alice@example.com"],
        ["Bob", "bob@example.com"],
    ]


def test_context_and_streaming(app: Flask) -> None:
    @app.route("/stream-with-auth")
    def secure_stream():  # type: ignore[no-untyped-def]
        @stream_with_context
        def generate():  # type: ignore[no-untyped-def]
            # Accessing request.args is only possible
            # inside the stream because of stream_with_context
            user_agent = request.headers.get("User-Agent")
            yield f"Streaming to: {user_agent}\n"
            for i in range(5):
                yield f"Chunk {i}\n"

        return Response(generate())

    response = app.test_client().get("/stream-with-auth", headers={"User-Agent": "probe/1.0"})
    assert response.text.splitlines() == ["Streaming to: probe/1.0"] + [
        f"Chunk {i}" for i in range(5)
    ]


def test_redirecting_users(app: Flask) -> None:
    @app.route("/login", methods=["GET", "POST"])
    def login():  # type: ignore[no-untyped-def]
        if request.method == "POST":
            # Logic to validate credentials...
            # Redirect to the dashboard upon success
            return redirect(url_for("dashboard"))
        return render_template("login.html")

    @app.route("/dashboard")
    def dashboard():  # type: ignore[no-untyped-def]
        return "Welcome to your dashboard!"

    client = app.test_client()
    assert client.get("/login").text == "<form method=post></form>"
    moved = client.post("/login")
    # docs/design.md, known error "Redirect Location": Location is sent as given
    # (relative stays relative).
    assert (moved.status_code, moved.location) == (302, "/dashboard")
    followed = client.post("/login", follow_redirects=True)
    assert followed.text == "Welcome to your dashboard!"
    assert [r.status_code for r in followed.history] == [302]


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_the_logic_of_redirect_status_codes(app: Flask, code: int) -> None:
    app.add_url_rule("/go", "go", lambda: redirect("/there", code=code))
    response = app.test_client().get("/go")
    assert (response.status_code, response.location) == (code, "/there")


def test_aborting_requests_and_custom_error_pages(app: Flask) -> None:
    class User:
        name = "ada"

    def find_user_in_db(user_id: int) -> User | None:  # Hypothetical function
        return User() if user_id == 1 else None

    @app.route("/user/<int:user_id>")
    def get_user(user_id):  # type: ignore[no-untyped-def]
        user = find_user_in_db(user_id)  # Hypothetical function
        if user is None:
            # Halt execution and return a 404 Not Found error
            abort(404)
        return f"User: {user.name}"

    @app.errorhandler(404)
    def page_not_found(e):  # type: ignore[no-untyped-def]
        """
        Custom handler for 404 errors.
        The 'e' argument contains the error description.
        """
        return render_template("404.html"), 404

    @app.errorhandler(500)
    def internal_server_error(e):  # type: ignore[no-untyped-def]
        return "The server encountered an error. We are working on it!", 500

    @app.route("/admin")
    def admin() -> str:
        abort(make_response(jsonify(error="Unauthorized"), 401))

    @app.route("/crash")
    def crash() -> str:
        raise RuntimeError("boom")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.logger.disabled = True
    client = app.test_client()
    assert client.get("/user/1").text == "User: ada"
    missing = client.get("/user/2")
    assert (missing.status_code, missing.text) == (404, "<h1>Custom not found</h1>")
    assert client.get("/nowhere").text == "<h1>Custom not found</h1>"
    denied = client.get("/admin")
    assert (denied.status_code, denied.json) == (401, {"error": "Unauthorized"})
    crashed = client.get("/crash")
    assert (crashed.status_code, crashed.text) == (
        500,
        "The server encountered an error. We are working on it!",
    )
