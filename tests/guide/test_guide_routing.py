"""Guide, "Routing and URLs": every example, with its ``from flask import`` lines.

The guide prints placeholders as ``< username>`` (a space after ``<``); Flask
rejects those rules as malformed, demijohn reads them as ``<username>`` so the
examples run as printed. Where the guide is wrong about Flask, the test asserts
Flask's behaviour and names the entry of "Known errors in the guide" in
docs/design.md.
"""

from __future__ import annotations

import uuid

import pytest
from asgi_support import client_for
from flask import Flask, request, url_for


def test_defining_multiple_routes(door: str) -> None:
    app = Flask(__name__)

    # Binding two URLs to the same view function
    @app.route("/index")
    @app.route("/home")
    def welcome():  # type: ignore[no-untyped-def]
        """
        Handles requests for both /index and /home.
        Returns a unified welcome message.
        """
        return "<h1>Welcome to the Homepage</h1>"

    @app.route("/contact-us")
    def contact():  # type: ignore[no-untyped-def]
        return "Contact us at support@example.com"

    client = client_for(app, door)
    assert client.get("/index").text == client.get("/home").text
    assert client.get("/home").text == "<h1>Welcome to the Homepage</h1>"
    assert client.get("/contact-us").text == "Contact us at support@example.com"
    assert client.get("/home").mimetype == "text/html"


def test_strict_slashes_and_url_consistency(door: str) -> None:
    app = Flask(__name__)
    app.add_url_rule("/about/", "about", lambda: "about")
    app.add_url_rule("/login", "login", lambda: "login")
    client = client_for(app, door)
    assert client.get("/about/").text == "about"
    # docs/design.md, known error "Strict slashes": a 308 (method kept), not 301.
    redirect = client.get("/about")
    assert (redirect.status_code, redirect.location) == (308, "http://localhost/about/")
    assert client.get("/login").text == "login"
    assert client.get("/login/").status_code == 404


def test_handling_http_methods(door: str) -> None:
    app = Flask(__name__)

    @app.route("/login", methods=["GET", "POST"])
    def login():  # type: ignore[no-untyped-def]
        if request.method == "POST":
            return "Processing login credentials..."
        else:
            return "Displaying the login form..."

    @app.route("/")
    def index():  # type: ignore[no-untyped-def]
        return "index"

    client = client_for(app, door)
    assert client.get("/login").text == "Displaying the login form..."
    assert client.post("/login").text == "Processing login credentials..."
    refused = client.post("/")
    assert refused.status_code == 405
    assert set(refused.allow) == {"GET", "HEAD", "OPTIONS"}


def test_advanced_route_options(door: str) -> None:
    app = Flask(__name__)
    app.add_url_rule("/old", "old", redirect_to="/new")
    app.add_url_rule("/new", "renamed", lambda: "new", methods=["GET"])
    app.add_url_rule("/loose/", "loose", lambda: "loose", strict_slashes=False)
    client = client_for(app, door)
    moved = client.get("/old")
    assert moved.status_code == 308 and moved.location.endswith("/new")
    with app.test_request_context():
        assert url_for("renamed") == "/new"
    assert client.get("/loose").text == "loose"


def test_basic_variable_syntax_and_converters(door: str) -> None:
    app = Flask(__name__)

    # The < username> part is a dynamic segment
    @app.route("/user/< username>")
    def show_user_profile(username):  # type: ignore[no-untyped-def]
        """
        If the user visits /user/janedoe, the variable 'username'
        will contain the string "janedoe".
        """
        return f"User Profile: {username}"

    @app.route("/post/< int:post_id>")
    def show_post(post_id):  # type: ignore[no-untyped-def]
        """
        Flask ensures post_id is a Python integer.
        Accessing /post/123 works, but /post/hello returns a 404.
        """
        return f"Displaying Post ID: {post_id}"

    @app.route("/path-test/< path:subpath>")
    def show_subpath(subpath):  # type: ignore[no-untyped-def]
        """
        The 'path' converter allows the variable to capture slashes.
        Example: /path-test/folder/subfolder/file.txt
        """
        return f"Subpath captured: {subpath}"

    @app.route("/category/< cat_name>/product/< int:prod_id>")
    def show_product(cat_name, prod_id):  # type: ignore[no-untyped-def]
        """
        Combines a string (category) and an integer (product ID).
        URL Example: /category/electronics/product/550
        """
        return f"Category: {cat_name}, Product ID: {prod_id}"

    @app.route("/price/<float:amount>")
    def price(amount: float) -> str:
        return f"{amount * 2}"

    @app.route("/v1/<uuid:request_id>")
    def by_uuid(request_id: uuid.UUID) -> str:
        return type(request_id).__name__

    client = client_for(app, door)
    get = client.get
    assert get("/user/janedoe").text == "User Profile: janedoe"
    assert get("/user/jane/doe").status_code == 404  # string takes no slash
    assert get("/post/123").text == "Displaying Post ID: 123"
    assert get("/post/hello").status_code == 404
    # docs/design.md, known error "int/float converters": negatives need signed=True.
    assert get("/post/-1").status_code == 404
    assert get("/path-test/folder/subfolder/file.txt").text == (
        "Subpath captured: folder/subfolder/file.txt"
    )
    assert get("/category/electronics/product/550").text == (
        "Category: electronics, Product ID: 550"
    )
    assert get("/price/2.5").text == "5.0"
    assert get("/price/2").status_code == 404  # float needs a dot
    assert get(f"/v1/{uuid.uuid4()}").text == "UUID"
    assert get("/v1/not-a-uuid").status_code == 404


def test_overlapping_rules_are_ordered_by_specificity(door: str) -> None:
    # docs/design.md, known error "Route order": /<name> does not swallow /about.
    app = Flask(__name__)
    app.add_url_rule("/<name>", "name", lambda name: f"name {name}")
    app.add_url_rule("/about", "about", lambda: "about page")
    client = client_for(app, door)
    assert client.get("/about").text == "about page"
    assert client.get("/bob").text == "name bob"


def test_the_any_converter(door: str) -> None:
    app = Flask(__name__)

    @app.route("/< any (about, help, contact):page_name>")
    def static_pages(page_name):  # type: ignore[no-untyped-def]
        """
        Only matches /about, /help, or /contact.
        Any other value results in a 404.
        """
        return f"Viewing the {page_name} page."

    client = client_for(app, door)
    assert client.get("/help").text == "Viewing the help page."
    assert client.get("/pricing").status_code == 404


def test_handling_multiple_methods_in_one_view(door: str) -> None:
    app = Flask(__name__)

    @app.route("/account/settings", methods=["GET", "POST"])
    def settings():  # type: ignore[no-untyped-def]
        if request.method == "POST":
            # Logic to update user settings in the database
            return "Settings updated successfully."

        # Logic to display the settings form
        return "Displaying the settings form."

    client = client_for(app, door)
    assert client.get("/account/settings").text == "Displaying the settings form."
    assert client.post("/account/settings").text == "Settings updated successfully."
    assert client.put("/account/settings").status_code == 405


def test_the_request_object_and_json_post(door: str) -> None:
    app = Flask(__name__)

    @app.route("/api/resource", methods=["POST"])
    def create_resource():  # type: ignore[no-untyped-def]
        """
        Example of handling a JSON POST request.
        Validates that the 'name' key exists in the JSON body.
        """
        data = request.get_json()
        if not data or "name" not in data:
            return {"error": "Missing name"}, 400
        return {"message": f"Resource {data['name']} created"}, 201

    client = client_for(app, door)
    post = client.post
    created = post("/api/resource", json={"name": "widget"})
    assert (created.status_code, created.json) == (201, {"message": "Resource widget created"})
    assert post("/api/resource", json={}).json == {"error": "Missing name"}
    assert post("/api/resource", json={}).status_code == 400
    # docs/design.md, known error "request.get_json()": a non-JSON body is a 415,
    # malformed JSON a 400.
    assert post("/api/resource", data="name=widget").status_code == 415
    malformed = post("/api/resource", data="{", content_type="application/json")
    assert malformed.status_code == 400


def test_url_building(door: str) -> None:
    app = Flask(__name__)

    @app.route("/user/<username>")
    def profile(username):  # type: ignore[no-untyped-def]
        return f"Profile for {username}"

    @app.route("/test")
    def test_url_building():  # type: ignore[no-untyped-def]
        # 1. Basic internal link building
        # Generates: /user/john_doe
        user_url = url_for("profile", username="john_doe")
        # 2. Adding query parameters (key=value)
        # Generates: /user/john_doe?page=2&theme=dark
        query_url = url_for("profile", username="john_doe", page=2, theme="dark")
        return f"Built URLs: {user_url} and {query_url}"

    @app.route("/generate-link")
    def link_generator():  # type: ignore[no-untyped-def]
        """
        Generates a full URL including the protocol and domain.
        Useful for emails sent to users.
        """
        # Generates: http://localhost:5000/user/admin (depending on environment)
        full_url = url_for("profile", username="admin", _external=True)
        return f"Full URL: {full_url}"

    @app.route("/login")
    def login_page():  # type: ignore[no-untyped-def]
        # Example of how you might pass a CSS path to a template
        css_url = url_for("static", filename="css/main.css")
        return f"The CSS path is: {css_url}"

    client = client_for(app, door)
    get = client.get
    assert get("/test").text == ("Built URLs: /user/john_doe and /user/john_doe?page=2&theme=dark")
    assert get("/generate-link").text == "Full URL: http://localhost/user/admin"
    assert get("/generate-link", base_url="http://localhost:5000").text == (
        "Full URL: http://localhost:5000/user/admin"
    )
    assert get("/login").text == "The CSS path is: /static/css/main.css"
    with app.test_request_context():
        # Escaping is automatic.
        assert url_for("profile", username="a b?c") == "/user/a%20b%3Fc"


def test_url_for_outside_a_request_needs_server_name() -> None:
    app = Flask(__name__)
    app.add_url_rule("/user/<username>", "profile", lambda username: username)
    with app.app_context(), pytest.raises(RuntimeError, match="SERVER_NAME"):
        url_for("profile", username="x")
    app.config["SERVER_NAME"] = "example.com"
    with app.app_context():
        assert url_for("profile", username="x") == "http://example.com/user/x"


def test_linking_to_static_assets_and_custom_static_path(tmp_path: object, door: str) -> None:
    app = Flask(__name__)

    @app.route("/style-check")
    def style_check():  # type: ignore[no-untyped-def]
        """
        Demonstrates how to generate URLs for various static assets.
        The resulting strings can be passed to templates or used in responses.
        """
        css_url = url_for("static", filename="css/main.css")
        js_url = url_for("static", filename="js/app.js")
        logo_url = url_for("static", filename="img/logo.png")
        return f"CSS: {css_url}, JS: {js_url}, Logo: {logo_url}"

    client = client_for(app, door)
    assert client.get("/style-check").text == (
        "CSS: /static/css/main.css, JS: /static/js/app.js, Logo: /static/img/logo.png"
    )

    # Customizing the static asset configuration
    custom = Flask(
        __name__,
        static_folder="assets",  # Files are physically in /assets
        static_url_path="/public",  # Browser accesses them via /public/...
    )
    with custom.test_request_context():
        assert url_for("static", filename="site.css") == "/public/site.css"
    assert custom.static_folder is not None and custom.static_folder.endswith("assets")


def test_parameter_names_must_match_the_rule(door: str) -> None:
    # "the parameter name in the @app.route decorator [must match] the parameter
    # name in the function signature exactly; otherwise, Flask will raise a TypeError."
    app = Flask(__name__)
    app.testing = True

    @app.route("/user/<username>")
    def show_user_profile(name):  # type: ignore[no-untyped-def]
        return name

    with pytest.raises(TypeError, match="unexpected keyword argument 'username'"):
        client_for(app, door).get("/user/jane")


def test_negative_numbers_need_signed(door: str) -> None:
    # docs/design.md, known error "int/float converters": negatives match with
    # signed=True.
    app = Flask(__name__)
    app.add_url_rule("/offset/<int(signed=True):n>", "offset", lambda n: str(n * 2))
    app.add_url_rule("/temp/<float(signed=True):t>", "temp", lambda t: str(t))
    client = client_for(app, door)
    assert client.get("/offset/-21").text == "-42"
    assert client.get("/temp/-3.5").text == "-3.5"


def test_method_shortcut_decorators(door: str) -> None:
    # "@app.get() and @app.post() ... are equivalent to @app.route(methods=['GET'])
    # and @app.route(methods=['POST'])"
    app = Flask(__name__)

    @app.get("/item")
    def read_item() -> str:
        return "read"

    @app.post("/item")
    def create_item() -> tuple[str, int]:
        return "created", 201

    @app.put("/item")
    def replace_item() -> str:
        return "replaced"

    @app.patch("/item")
    def update_item() -> str:
        return "patched"

    @app.delete("/item")
    def delete_item() -> tuple[str, int]:
        return "", 204

    with pytest.raises(TypeError, match="Use the 'route' decorator"):
        app.get("/x", methods=["POST"])
    client = client_for(app, door)
    assert client.get("/item").text == "read"
    assert client.post("/item").status_code == 201
    assert client.put("/item").text == "replaced"
    assert client.patch("/item").text == "patched"
    assert client.delete("/item").status_code == 204


def test_blueprint_endpoints_and_the_dot_shortcut(door: str) -> None:
    # "the endpoint name is prefixed with the Blueprint's name and a dot (e.g.,
    # admin.index) ... use a shortcut by prefixing the endpoint with a dot (.index)."
    from flask import Blueprint

    admin = Blueprint("admin", __name__, url_prefix="/admin")

    @admin.route("/")
    def index() -> str:
        return url_for(".index") + " " + url_for("admin.index") + " " + url_for("index")

    app = Flask(__name__)
    app.add_url_rule("/", "index", lambda: "site")
    app.register_blueprint(admin)
    assert client_for(app, door).get("/admin/").text == "/admin/ /admin/ /"
