"""The reviewer's desk as a web page: Flask, server-rendered, no CDN (works offline).

Who holds the project file (see :mod:`linkage.project._file`): the page holds it in
*short bursts*: opened at a request, kept while requests keep coming, let go after
``idle_release`` seconds (1 s) without one, so ``link`` runs and the command line keep
working while the desk is up (they wait a second at most, within their ``timeout``).
Requests in this process take turns (one lock): a lease and a verdict are each one
transaction. Given a
:class:`~linkage.RecordStore` instead, the desk runs inside the process that holds the
file, writes through the store's queue, and the store's entities follow each verdict
(``store.recluster()``, as ``store.decide`` does).

Access: every request needs a reviewer's token (``linkage review token add``): a login
form sets it as an HTTP-only cookie, or ``?token=...`` does once (then the address is
cleaned). Without a valid token the answer is 401 with the login form and nothing of the
project. A token made with ``--masked`` never receives a full phone or email.

Replays: each verdict form carries the item's lease id, each withdrawal the verdict's id;
a form whose lease no longer holds (decided meanwhile, expired, sent twice) is refused with
409 and changes nothing (:class:`~linkage.project.StaleVerdictError`).
"""

from __future__ import annotations

import html
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from linkage.desk._view import PairView, pair_view
from linkage.errors import ProjectBusyError, ProjectError
from linkage.project import VERDICTS, ProjectFile, ReviewQueue, StaleVerdictError

__all__ = ["create_app"]

COOKIE = "linkage_desk_token"
_CHOICES_SECONDS = 30.0  # how long the filter choices (reasons, channels) are reused


def create_app(
    project: str | os.PathLike[str] | ReviewQueue | Any,
    *,
    lease_seconds: float = 600.0,
    timeout: float = 10.0,
    idle_release: float = 1.0,
) -> Any:
    """The desk's Flask application.

    Args:
        project: the project file's path, an open :class:`~linkage.ReviewQueue`, or a
            :class:`~linkage.RecordStore` (the desk then writes through it, and the
            store's entities follow each verdict).
        lease_seconds: how long a pair stays with the reviewer it was handed to.
        timeout: seconds to wait for a project file another process holds.
        idle_release: the file is let go after this many seconds without a request (a
            burst of requests shares one opening: opening costs ~10 ms, a page ~5 ms).

    Raises:
        ProjectError: ``project`` is not a project file (or cannot be opened).
    """
    from flask import Flask, make_response, redirect, request

    store = project if hasattr(project, "recluster") and hasattr(project, "queue") else None
    if store is not None:
        queue = store.queue
    elif isinstance(project, ReviewQueue):
        queue = project
    else:
        path = Path(project)
        if not path.is_file():
            raise ProjectError(f"{path} is not a project file: make one with linkage run --project")
        queue = ReviewQueue(ProjectFile.open(path, timeout=timeout))
    app = Flask("linkage.desk")
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    holder = _Holder(queue, idle_release)
    burst = holder.burst
    choices: dict[str, Any] = {"at": 0.0}
    app.extensions["linkage.desk"] = holder

    def who() -> tuple[str, bool] | None:
        token = request.cookies.get(COOKIE) or request.args.get("token")
        if not token:
            return None
        with burst() as q:
            return q.reviewer_for_token(token)

    def page(body: str, status: int = 200) -> Any:
        response = make_response(body, status)
        response.headers["Content-Type"] = "text/html; charset=utf-8"
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    def filters() -> dict[str, str]:
        out = {}
        for name in ("reason", "source"):
            value = (request.values.get(name) or "").strip()
            if value:
                out[name] = value[:200]
        return out

    def home(**extra: str) -> str:
        query = {**filters(), **extra}
        return "/" + ("?" + urlencode(query) if query else "")

    @app.before_request
    def guard() -> Any:
        if request.endpoint == "login" and request.method == "POST":
            return None
        found = who()
        if found is None:
            return page(_login_page(bad=bool(request.cookies.get(COOKIE))), 401)
        request.environ["linkage.reviewer"] = found
        if request.method == "GET" and request.args.get("token"):
            # The token leaves the address bar and the history: a cookie carries it on.
            rest = {k: v for k, v in request.args.items() if k != "token"}
            response = redirect(request.path + ("?" + urlencode(rest) if rest else ""), 303)
            response.set_cookie(COOKIE, request.args["token"], httponly=True, samesite="Strict")
            return response
        return None

    @app.post("/login")
    def login() -> Any:
        token = (request.form.get("token") or "").strip()
        with burst() as q:
            found = q.reviewer_for_token(token)
        if found is None:
            return page(_login_page(bad=True), 401)
        response = redirect("/", 303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="Strict")
        return response

    @app.post("/logout")
    def logout() -> Any:
        response = page(_login_page(bad=False), 401)
        response.delete_cookie(COOKIE)
        return response

    @app.get("/")
    def next_pair() -> Any:
        reviewer, masked = request.environ["linkage.reviewer"]
        wanted = filters()
        item_id = request.args.get("item", type=int)
        with burst() as q:
            item = q.lease(
                reviewer,
                seconds=lease_seconds,
                reason=wanted.get("reason"),
                source=wanted.get("source"),
                item_id=item_id,
            )
            view = pair_view(q, item, masked=masked, reviewer=reviewer) if item else None
            progress = view.progress if view else q.progress()
            last = view.last_verdict if view else q.last_verdict(reviewer)
            if time.monotonic() - choices["at"] > _CHOICES_SECONDS:
                choices.update(reasons=q.reasons(), sources=q.sources(), at=time.monotonic())
        body = _desk_page(
            reviewer, masked, view, progress, last, wanted, choices, request.args.get("msg")
        )
        return page(body)

    @app.post("/verdict")
    def verdict() -> Any:
        reviewer, masked = request.environ["linkage.reviewer"]
        item_id = request.form.get("item_id", type=int)
        lease_id = (request.form.get("lease_id") or "").strip()
        given = request.form.get("verdict")
        if item_id is None or not lease_id or given not in VERDICTS:
            return page(
                _error_page(
                    "malformed verdict: a verdict needs item_id (a number), lease_id and "
                    f"verdict (one of {', '.join(VERDICTS)}); nothing was changed",
                    home(),
                ),
                400,
            )
        try:
            with burst() as q:
                q.decide(item_id, given, reviewer=reviewer, lease=lease_id)
                if store is not None:
                    store.recluster(actor=reviewer)
        except StaleVerdictError as exc:
            return page(_error_page(f"stale verdict: {exc}", home()), 409)
        except ProjectBusyError as exc:
            return page(_error_page(str(exc), home()), 503)
        except ProjectError as exc:
            return page(_error_page(f"malformed verdict: {exc}", home()), 400)
        return redirect(home(msg=f"item {item_id}: {given}"), 303)

    @app.post("/withdraw")
    def withdraw() -> Any:
        reviewer, masked = request.environ["linkage.reviewer"]
        verdict_id = request.form.get("verdict_id", type=int)
        item_id = request.form.get("item_id", type=int)
        if verdict_id is None or item_id is None:
            return page(
                _error_page(
                    "malformed withdrawal: it needs item_id and verdict_id (numbers); "
                    "nothing was changed",
                    home(),
                ),
                400,
            )
        try:
            with burst() as q:
                last = q.last_verdict(reviewer)
                if last is None or last["verdict_id"] != verdict_id:
                    raise StaleVerdictError(
                        f"verdict {verdict_id} is not your last standing verdict (withdrawn "
                        "already, or a later one was given); nothing was changed"
                    )
                q.withdraw(item_id, reviewer=reviewer, verdict_id=verdict_id)
                if store is not None:
                    store.recluster(actor=reviewer)
        except StaleVerdictError as exc:
            return page(_error_page(f"stale withdrawal: {exc}", home()), 409)
        except ProjectError as exc:
            return page(_error_page(f"malformed withdrawal: {exc}", home()), 400)
        return redirect(home(item=str(item_id), msg=f"item {item_id}: verdict withdrawn"), 303)

    @app.errorhandler(404)
    @app.errorhandler(405)
    def not_here(exc: Any) -> Any:
        return page(_error_page(f"{exc.code}: no such page", "/"), exc.code)

    return app


class _Holder:
    """Holds the project file across a burst of requests; lets it go when they stop."""

    def __init__(self, queue: ReviewQueue, idle: float) -> None:
        self.queue = queue
        self.idle = idle
        self.lock = threading.RLock()
        self.held = False
        self.last = 0.0
        self.timer: threading.Timer | None = None

    @contextmanager
    def burst(self) -> Iterator[ReviewQueue]:
        with self.lock:
            if not self.held:
                self.queue.hold()
                self.held = True
            try:
                yield self.queue
            finally:
                self.last = time.monotonic()
                if self.timer is None:
                    self._arm(self.idle)

    def _arm(self, seconds: float) -> None:
        self.timer = threading.Timer(seconds, self._let_go)
        self.timer.daemon = True
        self.timer.start()

    def _let_go(self) -> None:
        with self.lock:
            self.timer = None
            if not self.held:
                return
            waited = time.monotonic() - self.last
            if waited < self.idle:
                self._arm(self.idle - waited)
                return
            self.held = False
            self.queue.release()

    def close(self) -> None:
        """Let the file go now (a server that stops)."""
        with self.lock:
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            if self.held:
                self.held = False
                self.queue.release()


# -- the pages ----------------------------------------------------------------------------

_STYLE = """
body{font:15px/1.45 system-ui,"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;
 margin:0;color:#1d2733;background:#f4f6f9}
header{background:#1d2733;color:#fff;padding:8px 18px;display:flex;gap:18px;
 align-items:center;flex-wrap:wrap}
header b{font-size:16px} header form{margin:0} main{padding:14px 18px;max-width:1200px}
.card{background:#fff;border:1px solid #d8dee6;border-radius:8px;padding:12px 16px;
 margin-bottom:14px}
h2{font-size:17px;margin:0 0 6px} h3{font-size:15px;margin:0 0 6px}
.why{font-size:16px;background:#fff8e1;border-left:4px solid #f0a500;padding:8px 12px;
 margin:8px 0}
.rule{font-weight:600}
table{border-collapse:collapse;width:100%} td,th{padding:5px 8px;border-bottom:1px solid #eceff3;
 text-align:left;vertical-align:top} th{font-size:13px;color:#5b6776;font-weight:600}
tr.agrees td.mark{color:#137333} tr.differs td.mark{color:#c5221f}
tr.partly td.mark{color:#a15c00} tr.missing td,tr.not-compared td{color:#7a8593}
tr.agrees{background:#eef8f0} tr.differs{background:#fdeeee}
.bar{position:relative;width:260px;height:14px;background:#eef1f5;border-radius:3px}
.bar .mid{position:absolute;left:50%;top:0;bottom:0;width:1px;background:#98a2b0}
.bar .pos{position:absolute;left:50%;top:2px;bottom:2px;background:#2e9d4f}
.bar .neg{position:absolute;right:50%;top:2px;bottom:2px;background:#d93025}
.num{font-variant-numeric:tabular-nums;white-space:nowrap}
.buttons{display:flex;gap:10px;margin:10px 0} button{font-size:15px;padding:8px 16px;
 border-radius:6px;border:1px solid #98a2b0;background:#fff;cursor:pointer}
button.match{background:#2e9d4f;color:#fff;border-color:#2e9d4f}
button.non_match{background:#d93025;color:#fff;border-color:#d93025}
kbd{border:1px solid #98a2b0;border-radius:3px;padding:0 4px;font-size:12px;background:#f4f6f9;
 color:#1d2733}
.progress{width:160px;height:8px;background:#44505e;border-radius:4px;overflow:hidden;
 display:inline-block;vertical-align:middle}
.progress span{display:block;height:100%;background:#7bd389}
.msg{background:#e6f4ea;border:1px solid #b7dfc2;padding:6px 10px;border-radius:6px;
 margin-bottom:10px} .error{background:#fdeeee;border:1px solid #f3b7b3;padding:10px;
 border-radius:6px}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:14px} .small{font-size:13px;color:#5b6776}
"""

_KEYS = """
document.addEventListener('keydown', function (e) {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  var t = e.target.tagName; if (t === 'INPUT' || t === 'SELECT' || t === 'TEXTAREA') return;
  var ids = {y: 'btn-match', n: 'btn-non_match', s: 'btn-skip', w: 'btn-withdraw'};
  var b = document.getElementById(ids[e.key]); if (b) { e.preventDefault(); b.click(); }
});
"""


def _shell(title: str, body: str, header: str = "") -> str:
    return (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<title>{_e(title)}</title><meta name='viewport' content='width=device-width'>"
        f"<style>{_STYLE}</style></head><body>{header}<main>{body}</main>"
        f"<script>{_KEYS}</script></body></html>"
    )


def _login_page(bad: bool) -> str:
    note = "<p class='error'>That token is not valid.</p>" if bad else ""
    return _shell(
        "linkage review: sign in",
        "<div class='card'><h2>Reviewer's desk: sign in</h2>"
        "<p>A reviewer token is required (made with <code>linkage review token add</code>).</p>"
        f"{note}<form method='post' action='/login'><input name='token' type='password' "
        "size='60' autocomplete='off' autofocus> <button type='submit'>Sign in</button>"
        "</form></div>",
    )


def _error_page(message: str, back: str) -> str:
    return _shell(
        "linkage review: not done",
        f"<div class='card error' id='error'><h2>Nothing was changed</h2><p>{_e(message)}</p>"
        f"<p><a href='{_e(back)}'>Take the next pair</a></p></div>",
    )


def _desk_page(
    reviewer: str,
    masked: bool,
    view: PairView | None,
    progress: dict[str, int],
    last: dict[str, Any] | None,
    wanted: dict[str, str],
    choices: dict[str, Any],
    message: str | None,
) -> str:
    done = progress["decided"] + progress["skipped"]
    share = 100.0 * done / progress["total"] if progress["total"] else 100.0
    header = (
        "<header><b>linkage · reviewer's desk</b>"
        f"<span id='progress'>decided {progress['decided']:,} · skipped {progress['skipped']:,}"
        f" · pending {progress['pending']:,} · total {progress['total']:,} "
        f"<span class='progress'><span style='width:{share:.1f}%'></span></span></span>"
        f"<span>{_e(reviewer)}{' (masked)' if masked else ''}</span>"
        "<form method='post' action='/logout'><button>Sign out</button></form></header>"
    )
    parts = []
    if message:
        parts.append(f"<div class='msg' id='msg'>{_e(message)}</div>")
    parts.append(_filter_form(wanted, choices))
    if last is not None:
        parts.append(
            "<form method='post' action='/withdraw' class='card small' id='withdraw'>"
            f"Your last verdict: item {last['item_id']}, <b>{_e(last['verdict'])}</b> "
            f"<input type='hidden' name='verdict_id' value='{last['verdict_id']}'>"
            f"<input type='hidden' name='item_id' value='{last['item_id']}'>"
            + "".join(
                f"<input type='hidden' name='{k}' value='{_e(v)}'>" for k, v in wanted.items()
            )
            + " <button id='btn-withdraw' type='submit'>Withdraw it <kbd>w</kbd></button></form>"
        )
    if view is None:
        parts.append(
            "<div class='card' id='empty'><h2>Nothing left to review</h2>"
            "<p>Every pair that fits the filter is decided or with another reviewer.</p></div>"
        )
    else:
        parts.append(_pair(view, wanted))
    return _shell("linkage review", "".join(parts), header)


def _filter_form(wanted: dict[str, str], choices: dict[str, Any]) -> str:
    def select(name: str, label: str, options: list[str]) -> str:
        chosen = wanted.get(name, "")
        items = [f"<option value=''>any {label}</option>"]
        for option in options:
            flag = " selected" if option == chosen else ""
            items.append(f"<option value='{_e(option)}'{flag}>{_e(option)}</option>")
        return (
            f"<label>{label} <select name='{name}' id='filter-{name}' "
            f"onchange='this.form.submit()'>{''.join(items)}</select></label> "
        )

    return (
        "<form method='get' action='/' class='card small' id='filters'>Filter: "
        + select("reason", "reason", choices.get("reasons", []))
        + select("source", "source channel", choices.get("sources", []))
        + "<noscript><button>Apply</button></noscript></form>"
    )


def _pair(view: PairView, wanted: dict[str, str]) -> str:
    item = view.item
    weight, probability = item.get("match_weight"), item.get("match_probability")
    score = (
        f"match weight <b class='num'>{weight:+.2f}</b>, probability "
        f"<b class='num'>{probability:.3f}</b>"
        if isinstance(weight, float) and isinstance(probability, float)
        else "no score"
    )
    out = [
        f"<div class='card' id='pair' data-item='{item['item_id']}'>"
        f"<h2>Item {item['item_id']} · {_e(item['kind'])} · {_e(item['key_l'])} vs "
        f"{_e(item['key_r'])}</h2><div class='small'>{score} · "
        f"{item.get('records_affected') or 1} records affected</div>"
        f"<div class='why' id='rule'>Routed here by: <span class='rule'>"
        f"{_e(item.get('reason') or 'no reason kept')}</span><br>"
        f"<span id='summary'>{_e(view.summary)}</span></div>"
    ]
    for cause in view.causes:
        out.append(
            "<div class='why' id='cause'>This conflict comes from verdict "
            f"<b>{cause['verdict_id']}</b>: {_e(cause['verdict'])} on {_e(cause['key_l'])} vs "
            f"{_e(cause['key_r'])} by {_e(cause['reviewer'])} at {_e(cause['decided_at'])}"
            + (f" (item {cause['item_id']})" if cause.get("item_id") is not None else "")
            + "</div>"
        )
    out.append(_buttons(item, wanted))
    out.append(
        "<h3>The two records</h3><table id='fields'><tr><th>field</th><th>left</th>"
        "<th>right</th><th></th><th>the model's level</th></tr>"
    )
    marks = {
        "agrees": "✓ agree",
        "differs": "✗ differ",
        "partly": "~ partly",
        "missing": "– missing",
        "same": "= same",
        "not compared": "not compared",
    }
    for row in view.fields:
        label = f"{row['comparison']}: {row['label']}" if row["comparison"] else ""
        out.append(
            f"<tr class='{row['state'].replace(' ', '-')}' data-role='{_e(row['role'])}'>"
            f"<th>{_e(row['title'])}</th><td>{_e(row['left'])}</td><td>{_e(row['right'])}</td>"
            f"<td class='mark'>{marks.get(row['state'], '')}</td>"
            f"<td class='small'>{_e(label)}</td></tr>"
        )
    out.append("</table>")
    out.append(
        "<h3 style='margin-top:12px'>The evidence, field by field (the model's partial match "
        "weights)</h3><table id='evidence'><tr><th>comparison</th><th>level</th><th>weight</th>"
        "<th></th><th>in words</th></tr>"
    )
    for row in view.evidence:
        w = row["weight"]
        size = min(abs(w) / 12.0, 1.0) * 50.0
        bar = (
            f"<div class='bar'><div class='mid'></div><div class='{'pos' if w >= 0 else 'neg'}' "
            f"style='width:{size:.1f}%'></div></div>"
        )
        out.append(
            f"<tr class='{row['state']}' data-comparison='{_e(row['comparison'])}'>"
            f"<th>{_e(row['comparison'].replace('_', ' '))}</th><td>{_e(row['label'])}</td>"
            f"<td class='num weight'>{w:+.2f}</td><td>{bar}</td>"
            f"<td class='words'>{_e(row['words'])}</td></tr>"
        )
    if not view.evidence:
        out.append("<tr><td colspan='5'>no per-field evidence kept for this item</td></tr>")
    if view.prior_weight is not None:
        out.append(
            f"<tr><th>prior</th><td>two records picked at random</td>"
            f"<td class='num'>{view.prior_weight:+.2f}</td><td></td>"
            "<td class='small'>where every pair starts</td></tr>"
        )
    out.append("</table>")
    out.append(
        "<h3 style='margin-top:12px'>The other records of each entity</h3><div class='cols'>"
    )
    for side, key in (("l", item["key_l"]), ("r", item["key_r"])):
        members = view.entities.get(side, [])
        rows = "".join(
            "<li>"
            + _e(m.get("record_key"))
            + (
                ": "
                + _e(
                    ", ".join(str(v) for k, v in m.items() if k not in ("record_key", "entity_id"))
                )
                if len(m) > 2
                else ""
            )
            + "</li>"
            for m in members
        )
        out.append(
            f"<div id='entity-{side}'><b>{_e(key)}</b>: "
            + (f"<ul>{rows}</ul>" if rows else "<p class='small'>no other records</p>")
            + "</div>"
        )
    out.append("</div></div>")
    return "".join(out)


def _buttons(item: dict[str, Any], wanted: dict[str, str]) -> str:
    hidden = (
        f"<input type='hidden' name='item_id' value='{item['item_id']}'>"
        f"<input type='hidden' name='lease_id' value='{_e(item.get('lease_id'))}'>"
        + "".join(f"<input type='hidden' name='{k}' value='{_e(v)}'>" for k, v in wanted.items())
    )
    labels = {
        "match": ("Same customer", "y"),
        "non_match": ("Different", "n"),
        "skip": ("Skip", "s"),
    }
    buttons = "".join(
        f"<button type='submit' name='verdict' value='{v}' id='btn-{v}' class='{v}'>"
        f"{label} <kbd>{key}</kbd></button>"
        for v, (label, key) in labels.items()
    )
    return (
        "<form method='post' action='/verdict' class='buttons' id='verdict'>"
        f"{hidden}{buttons}</form>"
    )


def _e(value: Any) -> str:
    return "" if value is None else html.escape(str(value), quote=True)
