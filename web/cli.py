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
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
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


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "serve":
        return serve(argv[1:])
    from engine.cli import main as engine_main

    return engine_main(argv)


if __name__ == "__main__":
    sys.exit(main())
