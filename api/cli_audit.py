"""The audit log from the command line: ``hopgraph audit``, and the entries CLI changes write.

CLI changes (entity curation and document deletes of DATA_DIR's own store, keys) are recorded in
DATA_DIR/server.db with no key, as made by ``cli:<OS user>``, and no collection
(collections are the API's, under DATA_DIR/collections; curate those through the API).
"""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime

import click

from api.cli_errors import handle_errors
from service.access import require_every_document
from service.audit import AuditLog
from service.context import AppContext


def cli_actor() -> str:
    """Who makes a CLI change: ``cli:`` and the OS user (``cli`` alone when it has no name)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # a uid with no passwd entry (containers)
        return "cli"


def audit_log(app: AppContext) -> AuditLog:
    """The audit log of the data directory's server database, closed with the command."""
    from service.server_state import open_server_db

    db = open_server_db(app.settings)
    click.get_current_context().call_on_close(db.close)
    return AuditLog(db)


@click.command("audit")
@click.option("--collection", default=None, help="An API collection's entries (default: CLI and server-wide).")
@click.option("--offset", default=0, show_default=True, type=click.IntRange(0, 1_000_000_000_000))
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.pass_obj
@handle_errors
def audit(app: AppContext, collection: str | None, offset: int, limit: int) -> None:
    """Who changed what, when, before and after (JSON lines, newest first)."""
    require_every_document(app.viewer, "the audit log")
    for e in audit_log(app).recent(collection, offset, limit):
        click.echo(json.dumps({"seq": e.seq, "at": datetime.fromtimestamp(e.at, UTC).isoformat(),
                               "key_id": e.key_id, "by": e.key_name, "collection": e.collection,
                               "action": e.action, "target": e.target, "before": e.before, "after": e.after}))
