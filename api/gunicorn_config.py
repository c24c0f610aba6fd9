"""How gunicorn serves the API: ``loyalty serve`` uses these settings, and so can
``gunicorn -c python:api.gunicorn_config 'api:create_app()'``.

What bounds a request's hold on a worker (sync workers serve one request at a time):

- ``ProblemWorker`` gives every client socket a read/write timeout (``LOYALTY_READ_TIMEOUT``
  seconds, default 10): a client that stops sending its headers or body for that long is
  cut off (a body that stalls is answered 400), so a slow-loris client holds a worker at
  most that long per pause. A client that trickles a byte every few seconds is bounded by:
- ``timeout``: a worker busy on one request for this many seconds is killed and replaced
  by the arbiter; the request gets no answer. No request of this API needs more than a few.
- ``limit_request_line`` / ``limit_request_fields`` / ``limit_request_field_size``: gunicorn
  refuses longer request lines (414) and more or larger header fields (431) before Flask
  runs; ``MAX_CONTENT_LENGTH`` (``LOYALTY_MAX_BODY_BYTES``) bounds the body (413).

For many slow clients, put a buffering proxy (nginx) in front, as gunicorn recommends.
"""

from __future__ import annotations

from typing import Any

worker_class = "api.worker.ProblemWorker"  # sync, with problem+json refusals
timeout = 30
graceful_timeout = 10
limit_request_line = 4094  # gunicorn's defaults, stated so that the OpenAPI 414/431 are true
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = None  # the app logs one JSON line per request (api/logs.py)

SETTINGS: dict[str, Any] = {
    "worker_class": worker_class,
    "timeout": timeout,
    "graceful_timeout": graceful_timeout,
    "limit_request_line": limit_request_line,
    "limit_request_fields": limit_request_fields,
    "limit_request_field_size": limit_request_field_size,
    "accesslog": accesslog,
}
