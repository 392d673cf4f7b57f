"""A page and a view that raises: what debug mode changes (tests edit a copy of it)."""

from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return "version 1"


@app.route("/boom")
def boom():
    raise RuntimeError("kaboom in the view")
