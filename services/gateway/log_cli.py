"""The command-line side of the message log: ``egov log verify`` and ``egov log export MESSAGE_ID``.

Both read the gateway's own database and the trust anchors in ``EGOV_DATA_DIR/pki``, print JSON on
stdout and return the process exit code (0 good, 1 a problem found, 2 not found), so that
``egov/cli.py`` only has to call them::

    @log_app.command("verify")
    def log_verify() -> None:
        raise typer.Exit(log_cli.verify())
"""
from __future__ import annotations

import asyncio
import base64
import json
import sys
from pathlib import Path
from typing import TextIO

from shared.db import Database
from shared.signing import TrustStore

from . import message_log
from .settings import GatewaySettings


def _open(settings: GatewaySettings | None, *, offline: bool = False) -> tuple[GatewaySettings, Database, TrustStore]:
    """``offline``: the seals' signatures and time-stamps are checked against the trust anchors only,
    without asking the НУЦ about revocation — an audit that needs no network."""
    settings = settings or GatewaySettings()
    db = settings.database("gateway")
    trust = TrustStore.from_pki_dir(settings.pki_dir, check_revocation=settings.check_revocation and not offline)
    return settings, db, trust


def _print(obj, out: TextIO) -> None:
    out.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


async def verify_async(settings: GatewaySettings | None = None, *, offline: bool = False) -> dict:
    """The :func:`message_log.verify_log` report as a dict."""
    _, db, trust = _open(settings, offline=offline)
    try:
        return {**(await message_log.verify_log(db, trust)).to_dict(), "revocationChecked": trust.revocation is not None}
    finally:
        await db.dispose()


async def export_async(message_id: str, settings: GatewaySettings | None = None) -> dict | None:
    _, db, _ = _open(settings)
    try:
        return await message_log.export_message(db, message_id)
    finally:
        await db.dispose()


def verify(settings: GatewaySettings | None = None, *, out: TextIO | None = None, offline: bool = False) -> int:
    """``egov log verify [--offline]``: walk the chain, check every seal; prints the report.
    Exit code 0 when the log is intact, 1 otherwise (the report names the first altered record)."""
    report = asyncio.run(verify_async(settings, offline=offline))
    _print(report, out or sys.stdout)
    return 0 if report["ok"] else 1


def export(message_id: str, settings: GatewaySettings | None = None, *, tsr: Path | None = None,
           out: TextIO | None = None) -> int:
    """``egov log export MESSAGE_ID [--tsr FILE]``: the message's record with its proof (neighbours'
    hashes, Merkle path, seal, time-stamp). With ``tsr`` the seal's RFC 3161 reply is written there,
    for ``openssl ts -verify -digest <seal.root> -in FILE -CAfile root.pem -untrusted issuing.pem``.
    Exit code 0, 2 when the message is not in the log."""
    out = out or sys.stdout
    doc = asyncio.run(export_async(message_id, settings))
    if doc is None:
        _print({"error": "not in the message log", "messageId": message_id}, out)
        return 2
    if tsr is not None and doc.get("seal"):
        Path(tsr).write_bytes(base64.b64decode(doc["seal"]["timestampResponse"]))
    _print(doc, out)
    return 0
