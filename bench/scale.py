"""The pages of issue 11 at a province's size: time, SQL statements and HTML size per
page, for the district admin and a street clerk, on a database loaded by
``bench/scale_data.py``.

    make bench-scale                       # loads 10k and 1M households (once), measures both
    .venv/bin/python bench/scale.py --database yijia_scale_1m [--baseline yijia_scale_10k]
                                    [--gunicorn] [--throughput] [--repeat 15]

Statements and HTML size are counted in-process (Flask's test client, a listener on
the engine); times are the median of ``--repeat`` requests, client-observed, against
gunicorn with 2 sync workers as production runs it (``--gunicorn``), else in-process.
``--throughput`` adds the street page under 8 concurrent clients (requests/s).
``--baseline`` serves a second, smaller database beside the first and measures the two
in turn, request by request: the ×base column is the flatness (at most 1.5).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, select  # noqa: E402

from bench.scale_data import PASSWORD, SERVER  # noqa: E402

#: page → target in ms (issue 11)
TARGETS = {
    "households p1": 20,
    "households, one street, p1": 20,
    "households, one street, p500": 30,
    "name search 秀英": 30,
    "ID number in the search box": 20,
    "ID number, 按身份证号查找": 20,
    "  the household's page it opens": None,
    "needs p1": 25,
    "needs, one street, p1": 25,
    "landing": 100,
    "to-do": 150,
    "story, 20 visits 50 needs": 50,
}


def pages(app) -> dict[str, tuple[str, str, dict | None]]:
    """name → (method, path, form) of each page measured, for this database."""
    from app.extensions import db
    from app.models import Area, Household, Member

    with app.app_context():
        street = db.session.scalar(
            select(Area).where(Area.level == "street").order_by(Area.id).limit(1)
        )
        member_id, found = db.session.execute(
            select(Member.id_number, Member.household_id)
            .where(Member.street_id == street.id)
            .order_by(Member.id.desc())
            .limit(1)
        ).one()
        story = db.session.scalar(select(Household.id).order_by(Household.id).limit(1))
        admin = app.extensions["admin"][0]
        flt = {}
        for view in admin._views:
            if view.endpoint in ("household", "need"):
                for arg, (_i, f) in view._filter_args.items():
                    if str(f.column.key) == "street_id":
                        flt[view.endpoint] = arg
    s = street.id
    return {
        "households p1": ("GET", "/admin/household/", None),
        "households, one street, p1": (
            "GET",
            f"/admin/household/?flt0_{flt['household']}={s}",
            None,
        ),
        "households, one street, p500": (
            "GET",
            f"/admin/household/?flt0_{flt['household']}={s}&page=499",
            None,
        ),
        "name search 秀英": ("GET", "/admin/household/?search=" + urllib.parse.quote("秀英"), None),
        "ID number in the search box": ("GET", f"/admin/household/?search={member_id}", None),
        "ID number, 按身份证号查找": ("POST", "/admin/household/find/", {"id_number": member_id}),
        "  the household's page it opens": ("GET", f"/admin/household/details/?id={found}", None),
        "needs p1": ("GET", "/admin/need/", None),
        "needs, one street, p1": ("GET", f"/admin/need/?flt0_{flt['need']}={s}", None),
        "landing": ("GET", "/admin/", None),
        "to-do": ("GET", "/admin/todo/", None),
        "story, 20 visits 50 needs": ("GET", f"/admin/household/story/?id={story}", None),
    }


def make_app(url: str):
    from app import create_app
    from config import Config

    cfg = type(
        "BenchCfg",
        (Config,),
        {"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False},
    )
    return create_app(cfg)


def in_process(app, username: str, targets) -> dict[str, tuple[int, int, int, float]]:
    """page → (status, statements, bytes, median ms) through the test client."""
    from app.extensions import db

    client = app.test_client()
    client.post("/login", data={"username": username, "password": PASSWORD})
    out = {}
    with app.app_context():
        engine = db.engine
    for name, (method, path, form) in targets.items():
        counted = []

        def listener(*_a, counted=counted, **_k):
            counted.append(1)

        times = []
        for i in range(6):
            if i == 1:
                event.listen(engine, "before_cursor_execute", listener)
            start = time.perf_counter()
            response = client.open(path, method=method, data=form)
            times.append((time.perf_counter() - start) * 1000)
            if i == 1:
                event.remove(engine, "before_cursor_execute", listener)
        out[name] = (
            response.status_code,
            len(counted),
            len(response.data),
            statistics.median(times[1:]),
        )
    return out


class _KeepRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Client:
    """A logged-in HTTP client (cookies, the login form's CSRF token)."""

    def __init__(self, base: str, username: str):
        self.base = base
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        # a POST is timed to its own answer (a redirect), not the page it leads to
        self.post_opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(jar), _KeepRedirect()
        )
        page = self.opener.open(base + "/login").read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        data = {"username": username, "password": PASSWORD}
        if token:
            data["csrf_token"] = token.group(1)
        self.opener.open(base + "/login", urllib.parse.urlencode(data).encode()).read()
        self.token = data.get("csrf_token")

    def open(self, method, path, form=None) -> tuple[int, float]:
        body = None
        if method == "POST":
            form = dict(form or {})
            if self.token:
                form["csrf_token"] = self._token_for(path)
            body = urllib.parse.urlencode(form).encode()
        opener = self.post_opener if method == "POST" else self.opener
        start = time.perf_counter()
        try:
            with opener.open(self.base + path, body) as response:
                response.read()
                status = response.status
        except urllib.error.HTTPError as answer:  # the redirect, kept
            answer.read()
            status = answer.code
        return status, (time.perf_counter() - start) * 1000

    def _token_for(self, path):
        # a session's token serves every form of the session: read once, off the clock
        if getattr(self, "_form_token", None) is None:
            page = self.opener.open(self.base + "/admin/household/").read().decode()
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
            self._form_token = token.group(1) if token else ""
        return self._form_token


def over_http(sites: dict, repeat: int, who=("admin", "clerk")) -> dict:
    """site → role → page → median ms, for ``sites`` (name → (base URL, pages)). Sites
    and roles take turns request by request, page by page, so that a slower minute of
    the machine falls on all of them, not on the one measured second (a ratio between
    two databases measured minutes apart was the machine's mood as much as the
    data's). A POST (按身份证号查找) is timed to its answer, the redirect to the
    household's page; that page is a row of its own."""
    clients = {
        (site, role): Client(base, role) for site, (base, _t) in sites.items() for role in who
    }
    out: dict = {site: {role: {} for role in who} for site in sites}
    names = list(next(iter(sites.values()))[1])
    for name in names:
        times: dict = {key: [] for key in clients}
        for (site, _role), client in clients.items():
            method, path, form = sites[site][1][name]
            client.open(method, path, form)  # warm: the worker's first sight of the page
        keys = list(clients)
        for i in range(repeat):
            for key in keys if i % 2 == 0 else reversed(keys):
                method, path, form = sites[key[0]][1][name]
                times[key].append(clients[key].open(method, path, form)[1])
        for (site, role), measured in times.items():
            out[site][role][name] = statistics.median(measured)
    return out


def throughput(base: str, username: str, path: str, clients: int = 8, seconds: float = 10) -> float:
    done = []
    stop = time.perf_counter() + seconds

    def run():
        client = Client(base, username)
        n = 0
        while time.perf_counter() < stop:
            client.open("GET", path)
            n += 1
        done.append(n)

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / seconds


def mixed(base: str, targets, n: int) -> None:
    """``n`` requests over every GET page, both roles in turn (for the workers' RSS)."""
    clients = [Client(base, who) for who in ("admin", "clerk")]
    gets = [(m, p, f) for m, p, f in targets.values() if m == "GET"]
    for i in range(n):
        method, path, form = gets[i % len(gets)]
        clients[i % 2].open(method, path, form)


def worker_peak_rss(master_pid: int) -> list[int]:
    """Peak resident memory (MB) of each gunicorn worker of ``master_pid``."""
    peaks = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(master_pid):
            peaks.append(int(fields["VmHWM"].split()[0]) // 1024)
    return peaks


def start_gunicorn(url: str, port: int):
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-only",
        "RATELIMIT_ENABLED": "0",
    }
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz").read()
            return process
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def _table(database, results, http_times, baseline=None, paired=None, targets_methods=None) -> None:
    """The table of ``database``; with ``baseline`` (the smaller database's times, taken
    in turn with ``paired``, this one's) a ×base column: paired / baseline."""
    targets_methods = targets_methods or {}
    print(f"database {database}")
    ratio_head = "  ×base" if baseline else ""
    print(
        f"{'page':<32} {'target':>6} | {'admin ms':>8} {'stmts':>5} {'KB':>5}{ratio_head} |"
        f" {'clerk ms':>8} {'stmts':>5} {'KB':>5}{ratio_head}"
    )
    for name, target in TARGETS.items():
        cells = []
        for who in ("admin", "clerk"):
            status, statements, size, ms = results[who][name]
            shown = http_times.get(who, {}).get(name, ms)
            expected = 302 if targets_methods.get(name) == "POST" else 200  # a POST redirects
            flag = "" if status == expected else f" HTTP {status}"
            ratio = ""
            if baseline:
                base_ms = baseline.get(who, {}).get(name)
                mine = (paired or {}).get(who, {}).get(name, shown)
                ratio = f" {mine / base_ms:6.2f}" if base_ms else f" {'':>6}"
            cells.append(f"{shown:8.1f} {statements:5d} {size / 1024:5.0f}{ratio}{flag}")
        print(f"{name:<32} {target or '':>6} | {cells[0]} | {cells[1]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="yijia_scale_1m")
    parser.add_argument(
        "--baseline",
        help="a smaller database (yijia_scale_10k) measured in turn with --database: "
        "the flatness ratio (×base)",
    )
    parser.add_argument("--server", default=SERVER)
    parser.add_argument("--gunicorn", action="store_true")
    parser.add_argument("--throughput", action="store_true")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--port", type=int, default=5077)
    parser.add_argument("--mixed", type=int, default=1000, help="mixed requests before RSS")
    args = parser.parse_args()

    def url_of(database):
        return f"{args.server.replace('postgresql://', 'postgresql+psycopg://')}/{database}"

    databases = [args.database] + ([args.baseline] if args.baseline else [])
    apps = {database: make_app(url_of(database)) for database in databases}
    targets = {database: pages(app) for database, app in apps.items()}
    results = {
        database: {who: in_process(app, who, targets[database]) for who in ("admin", "clerk")}
        for database, app in apps.items()
    }
    http_times: dict = {database: {} for database in databases}
    rate = None
    peaks: list[int] = []
    paired: dict = {}
    floor = None
    if args.gunicorn:
        sites = {
            database: (f"http://127.0.0.1:{args.port + i}", targets[database])
            for i, database in enumerate(databases)
        }
        main_site = {args.database: sites[args.database]}
        processes = {
            args.database: start_gunicorn(url_of(args.database).replace("+psycopg", ""), args.port)
        }
        try:
            # the times: this database served alone, as production serves it
            http_times = over_http(main_site, args.repeat)
            # the machine's own pace in the same minutes: a page that does nothing
            # (this VM's speed moved by up to 2.5x between minutes; read the times with it)
            idle = Client(sites[args.database][0], "admin")
            floor = statistics.median(idle.open("GET", "/healthz")[1] for _ in range(50))
            base = sites[args.database][0]
            if args.throughput:
                street_page = targets[args.database]["households, one street, p1"][1]
                rate = throughput(base, "clerk", street_page)
            mixed(base, targets[args.database], args.mixed)
            peaks = worker_peak_rss(processes[args.database].pid)
            if args.baseline:
                # the ratio: both databases served side by side and asked in turn (two
                # servers taking turns on two cores cost each a little more than one
                # alone, so these times are for the ratio, not for the targets)
                processes[args.baseline] = start_gunicorn(
                    url_of(args.baseline).replace("+psycopg", ""), args.port + 1
                )
                paired = over_http(sites, args.repeat)
                http_times[args.baseline] = paired[args.baseline]
        finally:
            for process in processes.values():
                os.killpg(process.pid, signal.SIGTERM)
    if args.baseline:
        _table(
            args.baseline,
            results[args.baseline],
            http_times[args.baseline],
            targets_methods={n: m for n, (m, _p, _f) in targets[args.baseline].items()},
        )
        print()
    _table(
        args.database,
        results[args.database],
        http_times[args.database],
        http_times[args.baseline] if args.baseline else None,
        paired.get(args.database),
        targets_methods={n: m for n, (m, _p, _f) in targets[args.database].items()},
    )
    if rate is not None:
        print(f"street page, 8 concurrent clients: {rate:.0f} requests/s (target >= 80)")
    if peaks:
        print(f"peak RSS per worker after the run and {args.mixed} mixed requests: {peaks} MB")
    if floor is not None:
        print(f"/healthz over HTTP meanwhile (the machine's pace): {floor:.1f} ms")
    times = "median over HTTP, gunicorn -w 2" if args.gunicorn else "median in-process"
    if args.baseline:
        times += (
            f"; {args.baseline}'s times and ×base ({args.database} over {args.baseline})"
            " from the two served side by side, asked in turn"
        )
    print("times: " + times)


if __name__ == "__main__":
    main()
