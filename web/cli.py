"""``yimen``: ``yimen serve`` starts the web platform; every other command is the engine's CLI."""
from __future__ import annotations

import argparse
import logging
import sys


def serve(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="yimen serve", description="run the web platform and the scheduler")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--demo", action="store_true", help="install the demo data (idempotent)")
    parser.add_argument("--no-scheduler", action="store_true", help="run the periodic jobs elsewhere")
    parser.add_argument("--threads", type=int, default=8, help="request threads (per worker process)")
    parser.add_argument("--workers", type=int, default=0,
                        help="worker processes (gunicorn, for PostgreSQL); 0: one process served by waitress")
    parser.add_argument("--timeout", type=int, default=60,
                        help="with --workers: seconds a request may take before its worker is restarted")
    parser.add_argument("--keepalive-requests", type=int, default=KEEPALIVE_REQUESTS,
                        help="with --workers: requests on one kept-alive connection before it is closed, so that "
                             "the client's next connection may go to another worker (0: no limit)")
    args = parser.parse_args(argv)
    if args.workers < 0 or args.threads < 1 or args.keepalive_requests < 0:
        parser.error("--workers and --keepalive-requests are 0 or more and --threads 1 or more")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    from engine.migrate import upgrade
    from waitress import serve as waitress_serve

    from .app import create_app

    app = create_app()
    upgrade(app.config["YIMEN_DATABASE_URL"])
    facade = app.extensions["yimen"]
    if args.demo:
        from engine import demo

        demo.install(facade)
        print("demo accounts (password %s): %s" % (demo.DEMO_PASSWORD, ", ".join(u[0] for u in demo.USERS)))
    if args.workers:
        facade.close()  # each worker process opens its own connections after the fork
        return _serve_workers(args)
    scheduler = None
    if not args.no_scheduler:
        from engine import scheduler as jobs

        scheduler = jobs.build(facade.sessions)
        scheduler.start()
    print(f"Yimen is running at http://{args.host}:{args.port}/", flush=True)
    try:
        waitress_serve(app, host=args.host, port=args.port, threads=args.threads)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
    return 0


KEEPALIVE_REQUESTS = 25


def _close_after(limit: int):
    """gunicorn's ``pre_request`` hook: the ``limit``-th request on a kept-alive connection is answered with
    ``Connection: close``. A worker keeps the connections it accepted, so clients that keep theirs alive
    (a proxy's upstream pool, API clients) would otherwise stay with the worker that happened to accept them,
    however busy it is and however idle the others; the next connection is accepted by a worker free to."""

    def pre_request(worker, req):
        if limit and getattr(req, "req_number", 1) >= limit:
            req.must_close = True
    return pre_request


def _serve_workers(args) -> int:
    """Several worker processes (gunicorn's pre-fork server, threads in each); the scheduler runs elsewhere.

    Each worker builds its own app, engine and connection pool after the fork. The periodic jobs are not run
    inside the workers: start ``yimen scheduler`` (one or more; every sweep claims its rows with locks).
    """
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self):
            for key, value in {"bind": f"{args.host}:{args.port}", "workers": args.workers,
                               "worker_class": "gthread", "threads": args.threads, "timeout": args.timeout,
                               "graceful_timeout": 10, "keepalive": 5, "preload_app": False,
                               "pre_request": _close_after(args.keepalive_requests),
                               "accesslog": None, "proc_name": "yimen"}.items():
                self.cfg.set(key, value)

        def load(self):
            from .app import create_app

            return create_app()

    if not args.no_scheduler:
        print("with --workers the periodic jobs run elsewhere: start 'yimen scheduler' as its own process",
              flush=True)
    print(f"Yimen is running at http://{args.host}:{args.port}/ with {args.workers} worker processes", flush=True)
    Server().run()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "serve":
        return serve(argv[1:])
    from engine.cli import main as engine_main

    return engine_main(argv)


if __name__ == "__main__":
    sys.exit(main())
