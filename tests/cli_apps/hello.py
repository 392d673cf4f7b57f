"""Getting Started, "Implementation of the Minimal App" (the guide's code as written)."""

from flask import Flask

# 1. Create the application instance
app = Flask(__name__)


# 2. Define the route using the route() decorator
@app.route("/")
def hello_world():
    # 3. Return the response body as a string
    return "<p>Hello, World!</p>"


if __name__ == "__main__":
    # 4. Start the development server
    app.run(host="127.0.0.1", port=5000, debug=True)
