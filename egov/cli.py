"""``egov`` — the command line of egov-sim (API.md "Command line")."""
from __future__ import annotations

import base64
import json
import signal
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from shared.settings import CommonSettings

app = typer.Typer(help="egov-sim: Kazakhstan's e-government integration, runnable locally.", no_args_is_help=True)
pki_app = typer.Typer(help="The development НУЦ: issue, revoke, show certificates.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data seeded by `egov up`.", no_args_is_help=True)
log_app = typer.Typer(help="The gateway's message log: hash chain, seals, time-stamps.", no_args_is_help=True)
app.add_typer(pki_app, name="pki")
app.add_typer(demo_app, name="demo")
app.add_typer(log_app, name="log")
console = Console(stderr=True)


def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


@app.command()
def up() -> None:
    """Set up and start everything on the embedded defaults (what `make run` runs); Ctrl-C stops it."""
    from .bootstrap import prepare
    from .launcher import Stack

    settings = CommonSettings()
    console.print(f"[bold]egov-sim[/bold]: preparing {settings.data_dir.resolve()} (НУЦ, migrations, demo data)…")
    prepare(settings)
    stack = Stack(settings)
    stopping = False

    def _stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    try:
        stack.start_all()
        stack.wait_healthy(60)
        console.print(f"{'broker':<14}{settings.broker} (Tansu, Kafka protocol, in memory)")
        for service in ("portal", "gateway", "e_licensing", "provider_arm", "nca"):
            console.print(f"{service:<14}{stack.url(service)}   docs: {stack.url(service)}/docs")
        console.print("demo logins: [bold]egov demo accounts[/bold]   — Ctrl-C stops everything")
        while not stopping:
            for name, p in list(stack.procs.items()):
                if p.poll() is not None:
                    console.print(f"[red]{name} exited ({p.returncode}); see {stack.log_dir / name}.log[/red]")
                    stopping = True
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        console.print("stopping…")
        stack.stop_all()


@demo_app.command("accounts")
def demo_accounts() -> None:
    """Print the demo applicants and operators (logins, passwords, roles, keys) as JSON."""
    from .demo import accounts

    _print_json(accounts(CommonSettings().data_dir.resolve()))


def _ca():
    from .bootstrap import ensure_pki

    return ensure_pki(CommonSettings())


def _when(value: Optional[str]) -> Optional[datetime]:
    if value is None:
        return None
    dt = datetime.fromisoformat(value)
    return dt if dt.tzinfo else dt.astimezone()


@pki_app.command("issue")
def pki_issue(
    kind: str = typer.Argument(..., help="individual | employee | system"),
    out: Path = typer.Option(..., help="directory for key.pem, cert.pem, chain.pem"),
    iin: Optional[str] = typer.Option(None),
    name: Optional[str] = typer.Option(None, help="full name: SURNAME NAME [PATRONYMIC]"),
    bin: Optional[str] = typer.Option(None),
    org: Optional[str] = typer.Option(None),
    role: list[str] = typer.Option([], help="head|sign|sign_financial|hr|employee (repeatable)"),
    system_id: Optional[str] = typer.Option(None, "--system-id"),
    usage: str = typer.Option("sign", help="sign | auth"),
    key_type: str = typer.Option("rsa", help="rsa | ec"),
    not_before: Optional[str] = typer.Option(None, help="ISO date/time"),
    not_after: Optional[str] = typer.Option(None, help="ISO date/time"),
) -> None:
    """Issue a certificate from the development НУЦ."""
    from shared.iin import validate_bin, validate_iin
    from shared.pki.oids import role_name

    ca = _ca()
    validity = dict(key_type=key_type, not_before=_when(not_before), not_after=_when(not_after))
    if kind == "individual":
        validate_iin(iin or "")
        issued = ca.issue_individual(iin, name or "ТЕСТОВ ТЕСТ", usage=usage, **validity)
    elif kind == "employee":
        validate_iin(iin or "")
        validate_bin(bin or "")
        issued = ca.issue_employee(iin, bin, org or "ТОО «Тест»", name or "ТЕСТОВ ТЕСТ",
                                   [role_name(r) for r in role] or ["employee"], usage=usage, **validity)
    elif kind == "system":
        issued = ca.issue_system(system_id or name or "test-system", **validity)
    else:
        raise typer.BadParameter("kind is individual, employee or system")
    issued.write(out)
    console.print(f"wrote {out}/key.pem, cert.pem, chain.pem")


@pki_app.command("revoke")
def pki_revoke(
    cert: Path = typer.Option(..., "--cert", exists=True, dir_okay=False),
    reason: str = typer.Option("unspecified", help="keyCompromise|cessationOfOperation|superseded|"
                               "affiliationChanged|unspecified"),
) -> None:
    """Revoke a certificate of the development НУЦ (OCSP and CRL answer `revoked` from now on;
    works with the nca stopped)."""
    from services.nca.cli import revoke

    try:
        _print_json(revoke(CommonSettings(), cert, reason))
    except ValueError as exc:
        raise typer.BadParameter(str(exc))


@pki_app.command("roots")
def pki_roots(out: Path = typer.Option(..., help="file for the trust anchors (PEM)")) -> None:
    """Write the НУЦ trust anchors (what `openssl cms -verify -CAfile` needs)."""
    out.write_bytes(_ca().roots_pem())


@pki_app.command("show")
def pki_show(file: Path) -> None:
    """Print any certificate (PEM or DER, real НУЦ ones included) as JSON."""
    from shared.pki.certinfo import cert_info, load_certificate

    _print_json(cert_info(load_certificate(file.read_bytes())).to_dict())


@log_app.command("verify")
def log_verify() -> None:
    """Walk the message log: hash chain, seals, time-stamps; exit 1 names the first altered record."""
    from services.gateway import log_cli

    raise typer.Exit(log_cli.verify())


@log_app.command("export")
def log_export(message_id: str,
               tsr: Optional[Path] = typer.Option(None, help="write the seal's RFC 3161 reply here")) -> None:
    """One message's record with its proof (neighbours' hashes, Merkle path, seal, time-stamp)."""
    from services.gateway import log_cli

    raise typer.Exit(log_cli.export(message_id, tsr=tsr))


@app.command()
def sign(file: Path, key: Path = typer.Option(...), cert: Path = typer.Option(...),
         tsa: bool = typer.Option(False, help="add a time-stamp token from the НУЦ's TSA")) -> None:
    """Print the base64 CMS (detached) over the JCS canonical bytes of FILE.json."""
    from shared.envelope import canonical
    from shared.pki import tsp
    from shared.pki.cms import sign_detached

    chain = cert.parent / "chain.pem"
    der = sign_detached(canonical(json.loads(file.read_text(encoding="utf-8"))), key.read_bytes(),
                        cert.read_bytes(), chain.read_bytes() if chain.exists() else None)
    if tsa:
        url = CommonSettings().nca_url.rstrip("/") + "/tsa"
        der = tsp.attach(der, tsp.request_token(url, tsp.signature_values(der)[0]))
    sys.stdout.write(base64.b64encode(der).decode() + "\n")


@app.command()
def verify(file: Path, signature: str = typer.Option(..., help="base64 CMS, or @FILE"),
           usage: str = typer.Option("sign", help="sign | auth | any"),
           revocation: bool = typer.Option(True, help="check OCSP/CRL at the НУЦ (fails closed)")) -> None:
    """Verify a CMS over the JCS bytes of FILE.json against the НУЦ roots; print the report."""
    from shared.envelope import canonical
    from shared.errors import ApiError
    from shared.signing import TrustStore

    sig = Path(signature[1:]).read_text().strip() if signature.startswith("@") else signature
    settings = CommonSettings()
    if not (settings.pki_dir / "ca" / "root.pem").exists():
        raise typer.BadParameter(f"no НУЦ in {settings.data_dir.resolve()}: run `egov up` first, or set EGOV_DATA_DIR")
    try:
        report = TrustStore.from_pki_dir(settings.pki_dir, check_revocation=revocation).verify(
            sig, canonical(json.loads(file.read_text(encoding="utf-8"))), usage=None if usage == "any" else usage)
        _print_json(report.to_dict())
    except ApiError as exc:
        _print_json({"valid": False, "code": exc.code, "detail": exc.detail})
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
