"""gunicorn settings for the HTTP mode: the same for every framework.

``bench/overhttp.py`` starts ``gunicorn --config bench/gunicorn_conf.py
--bind 127.0.0.1:PORT MODULE:app`` with each framework's venv. When a worker
has imported its app it writes a JSON file into ``$BENCH_READY_DIR`` (its pid
and the app's ``UNSUPPORTED`` scenarios), which is how the script knows every
worker is ready before it sends the first request.
"""

from __future__ import annotations

import json
import os
import sys
import typing as t

workers = 2
worker_class = "sync"
# No access log: writing it would be measured as the framework's cost.
accesslog = None
errorlog = "-"
loglevel = "warning"
timeout = 30
graceful_timeout = 5
# Several servers run at once; the control socket's default path is shared.
control_socket_disable = True


def post_worker_init(worker: t.Any) -> None:
    """Announce that this worker has loaded the app (see the module docstring)."""
    ready_dir = os.environ.get("BENCH_READY_DIR")
    if not ready_dir:
        return
    module = sys.modules.get(str(worker.app.app_uri).partition(":")[0])
    info = {"pid": os.getpid(), "unsupported": sorted(getattr(module, "UNSUPPORTED", ()))}
    path = os.path.join(ready_dir, f"{os.getpid()}.json")
    with open(path + ".tmp", "w") as file:
        json.dump(info, file)
    os.replace(path + ".tmp", path)
