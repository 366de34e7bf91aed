"""The reviewer's desk: borderline pairs settled by people, on a web page or in a terminal.

- :func:`create_app` / :func:`serve`: ``linkage review serve PROJECT``, a local web page
  (Flask, server-rendered, no CDN): the next pair leased to the reviewer, both records
  side by side marked by the model's own agreement, each field's partial weight in words
  and as a bar, the routing rule, each side's entity; verdicts by button or key (``y`` /
  ``n`` / ``s``), withdraw the last one (``w``), filters, progress. Tokens per reviewer,
  phones and emails masked for a masked one.
- :func:`walk`: ``linkage review walk PROJECT``, the same in a terminal loop.

Both write through :class:`~linkage.ReviewQueue` (leases, verdicts with who and when,
withdrawals) into the project file that ``link`` and the record store read.
"""

from __future__ import annotations

from linkage.desk._mask import mask_email, mask_phone, mask_text, mask_value
from linkage.desk._view import PairView, pair_view
from linkage.desk._walk import align, display_width, render_pair, table, walk
from linkage.desk._web import create_app

__all__ = [
    "PairView",
    "align",
    "display_width",
    "render_pair",
    "table",
    "create_app",
    "mask_email",
    "mask_phone",
    "mask_text",
    "mask_value",
    "pair_view",
    "serve",
    "walk",
]


def serve(
    project: str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    lease_seconds: float = 600.0,
    ready: object = None,
) -> None:
    """Serve the desk until interrupted; prints the address first (``port=0``: a free one).

    Args:
        project: the project file.
        host: the interface (default: this machine only).
        port: the port (0: any free one).
        lease_seconds: how long a pair stays with the reviewer it was handed to.
        ready: a callable given the address once the server listens (for tests).
    """
    from werkzeug.serving import make_server

    app = create_app(project, lease_seconds=lease_seconds)
    server = make_server(host, port, app, threaded=True)
    address = f"http://{host}:{server.server_port}/"
    print(f"the reviewer's desk for {project} is at {address}", flush=True)
    print("sign in with a token from: linkage review token add PROJECT NAME", flush=True)
    if callable(ready):
        ready(address)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.extensions["linkage.desk"].close()
