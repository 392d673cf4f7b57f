"""An app with a database, for the guide's ``flask shell`` example (copied as ``app.py``)."""

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["DATABASE_URI"] = "sqlite:///:memory:"
app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URI"]
db = SQLAlchemy(app)


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(80))


with app.app_context():
    db.create_all()
    db.session.add_all([User(name="ada"), User(name="grace")])
    db.session.commit()
