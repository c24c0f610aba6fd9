"""``loyalty keys``: create, list and revoke API keys (imported only when run, see engine.cli)."""

from __future__ import annotations

import sys

import click

from engine.cli import EXIT_INVALID
from engine.ledger.cli import database_option
from engine.ledger.db import open_database
from engine.ledger.keys import ROLES, create_key, list_keys, revoke_key


@click.group()
def keys() -> None:
    """API keys: each has a role (pos, marketer, reviewer, admin) and is shown once."""


@keys.command("create")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--label", help="who or what uses the key")
@database_option
def create_api_key(role: str, label: str | None, database: str) -> None:
    """Create a key and print it once; only its hash is stored."""
    click.echo(create_key(open_database(database, create=False), role, label))


@keys.command("list")
@database_option
def list_api_keys(database: str) -> None:
    """Key ids, roles and labels (never the keys themselves)."""
    for key in list_keys(open_database(database, create=False)):
        state = "revoked" if key["revoked_at"] else "active"
        click.echo(f"{key['id']}  {key['role']:<9} {state:<8} {key['label'] or ''}")


@keys.command("revoke")
@click.argument("key_id")
@database_option
def revoke_api_key(key_id: str, database: str) -> None:
    """Revoke a key by its id (the part after 'lr_')."""
    if not revoke_key(open_database(database, create=False), key_id):
        click.secho(f"no active key '{key_id}'", fg="red", err=True)
        sys.exit(EXIT_INVALID)
    click.echo(f"revoked {key_id}")
