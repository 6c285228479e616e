"""``dongne serve``: the multi-institution web service and dashboard."""

from __future__ import annotations

import argparse

HELP = "run the web service and dashboard (API docs at /docs)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``dongne serve`` to ``parser``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    parser.add_argument(
        "--data-dir", help="folder for datasets, runs and the SQLite database "
        "(default: $DONGNE_DATA_DIR or ./dongne-data)",
    )  # fmt: skip
    parser.add_argument(
        "--database-url",
        help="SQLAlchemy URL, e.g. postgresql://user@host/dongne (default: "
        "$DONGNE_DATABASE_URL or SQLite in the data folder)",
    )
    parser.add_argument("--max-upload-mb", type=float, help="largest upload (default 200)")
    parser.add_argument("--max-jobs", type=int, help="analyses run at once (default 2)")
    parser.add_argument(
        "--open-workspaces",
        metavar="true|false",
        help="may every user create workspaces? (default: $DONGNE_OPEN_WORKSPACES, else false "
        "with a PostgreSQL database (production), true with SQLite)",
    )
    parser.add_argument(
        "--max-requests", type=int, help="requests served at once; more wait briefly, then "
        "get 503 with Retry-After (default: $DONGNE_MAX_REQUESTS or 40)",
    )  # fmt: skip
    parser.add_argument(
        "--threads", type=int, help="threads for blocking work; the database pool is sized "
        "to them (default: $DONGNE_THREADS or 40)",
    )  # fmt: skip
    parser.add_argument(
        "--create-user",
        metavar="NAME",
        help="create a user, print their API token and exit (the first user is administrator)",
    )
    parser.add_argument("--workspace", help="with --create-user: workspace (slug) they own")
    parser.add_argument("--workspace-name", help="with --create-user: name of a new workspace")


def run(args: argparse.Namespace) -> int:
    """Run the dongne web service (API at /docs), or create a user with --create-user."""
    from dongne.service.bootstrap import create_user, serve
    from dongne.service.settings import Settings, parse_bool

    open_workspaces = args.open_workspaces
    settings = Settings.from_env(
        open_workspaces=None
        if open_workspaces is None
        else parse_bool(open_workspaces, "--open-workspaces"),
        data_dir=args.data_dir,
        database_url=args.database_url,
        max_upload_bytes=int(args.max_upload_mb * 1024**2) if args.max_upload_mb else None,
        max_jobs=args.max_jobs,
        max_requests=args.max_requests,
        threads=args.threads,
    )
    if args.create_user:
        new = create_user(
            settings, args.create_user, workspace=args.workspace, workspace_name=args.workspace_name
        )
        print(new.summary())
        return 0
    serve(settings, host=args.host, port=args.port)
    return 0
