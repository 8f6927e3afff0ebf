"""``egov`` — the command line of egov-sim (API.md "Command line")."""
from __future__ import annotations

import asyncio
import base64
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from shared.settings import CommonSettings

from .ops import dead_app, outbox_app


class _Cli(typer.Typer):
    """Typer, with its own usage errors (a missing option, a value out of range, an unknown command)
    said in one line on stderr with exit 2, like every other wrong input — not a boxed panel."""

    def __call__(self, *args, **kwargs):
        kwargs.setdefault("standalone_mode", False)
        try:
            code = super().__call__(*args, **kwargs)
        except typer.Abort:
            sys.stderr.write("aborted\n")
            sys.exit(1)
        except _usage_errors() as exc:
            if exc.__class__.__name__ == "NoArgsIsHelpError":  # the help is printed already
                sys.exit(exc.exit_code)
            ctx = getattr(exc, "ctx", None)
            see = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
            sys.stderr.write("error: " + " ".join(exc.format_message().split()) + see + "\n")
            sys.exit(exc.exit_code)
        sys.exit(code if isinstance(code, int) else 0)


def _usage_errors() -> tuple[type, ...]:
    """What a wrong command line raises: Typer's own (it vendors click since 0.2x), or click's."""
    if hasattr(typer, "TyperException"):
        return (typer.TyperException,)
    import click

    return (click.ClickException,)


app = _Cli(help="egov-sim: Kazakhstan's e-government integration, runnable locally.", no_args_is_help=True)
pki_app = typer.Typer(help="The development НУЦ: issue, revoke, show certificates.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data seeded by `egov up`.", no_args_is_help=True)
log_app = typer.Typer(help="The gateway's message log: hash chain, seals, time-stamps.", no_args_is_help=True)
app.add_typer(pki_app, name="pki")
app.add_typer(demo_app, name="demo")
app.add_typer(log_app, name="log")
app.add_typer(outbox_app, name="outbox")
app.add_typer(dead_app, name="dead-letters")
console = Console(stderr=True)


def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def _progress(items, description: str, total: int | None = None):
    """``items``, with a progress bar on stderr while they are worked through (none when stderr is not
    a terminal, so that what goes to stdout stays the result alone)."""
    from rich.progress import track

    return track(items, description=description, total=total, console=console, transient=True,
                 disable=not console.is_terminal)


def _prepare(settings, *, topics: bool = False, replication: int = 1) -> None:
    """:func:`egov.bootstrap.prepare` (and the topics): a database or broker that cannot be reached is one
    line saying which, and exit 1."""
    from .bootstrap import SYSTEMS, prepare

    try:
        prepare(settings)
    except Exception as exc:
        _fail(f"cannot prepare the databases at {_where(settings)}: {exc.__class__.__name__}: {str(exc)[:300]} — "
              "is the database server running (EGOV_DB_SERVER)?")
    if topics:
        from shared.messaging.broker import ensure_topics

        try:
            asyncio.run(ensure_topics(settings.broker, SYSTEMS, replication=replication))
        except Exception as exc:
            _fail(f"cannot create the topics at {settings.broker}: {exc.__class__.__name__}: {str(exc)[:300]} — "
                  "is the broker running (EGOV_BROKER)?")


def _where(settings) -> str:
    """The database server without its password."""
    from sqlalchemy.engine import make_url

    if settings.db_server == "sqlite":
        return f"sqlite in {settings.data_dir.resolve()}"
    try:
        return make_url(settings.db_server).render_as_string(hide_password=True)
    except Exception:
        return "EGOV_DB_SERVER"


@app.command()
def up() -> None:
    """Set up and start everything on the embedded defaults (what `make run` runs), and keep it running:
    a process that dies is restarted; Ctrl-C (or SIGTERM, or closing the terminal) stops everything."""
    from .supervisor import Supervisor

    settings = CommonSettings()
    supervisor = Supervisor(settings, say=lambda line: console.print(line, highlight=False))
    problems = supervisor.check_ports()
    if problems:
        for line in problems:
            typer.echo(f"error: {line}", err=True)
        typer.echo("error: not starting over a running system (stop it, or set other EGOV_*_PORT)", err=True)
        raise typer.Exit(1)
    with console.status(f"preparing {settings.data_dir.resolve()} (НУЦ, migrations, demo data)…"):
        _prepare(settings)
    try:
        with console.status("starting the broker and the services…"):
            supervisor.start()
            supervisor.stack.wait_healthy(90)
        console.print(f"{'broker':<14}{settings.broker} (Tansu, Kafka protocol, in memory)")
        for service in supervisor.stack.services:
            url = supervisor.stack.url(service)
            what = "personal cabinet /cabinet, provider workstation /arm" if service == "web" else f"docs: {url}/docs"
            console.print(f"{service:<14}{url}   {what}")
        console.print("demo logins: [bold]egov demo accounts[/bold]   status: [bold]egov status[/bold]   "
                      "— Ctrl-C stops everything")
        supervisor.watch()
    except (KeyboardInterrupt, TimeoutError, RuntimeError) as exc:
        if not isinstance(exc, KeyboardInterrupt):
            typer.echo(f"error: {exc}", err=True)
    finally:
        console.print("stopping…")
        supervisor.stop()


@app.command()
def migrate(topics: bool = typer.Option(False, "--topics", help="also create the Kafka topics"),
            replication: int = typer.Option(1, help="the topics' replication factor (3 on a Kafka cluster)")) -> None:
    """Set up the databases and keys as a one-off job before the services start (a deployment's
    migration step; `egov up` does it by itself): the development НУЦ and system keys when missing,
    every service's migrations to head, the seed data — all idempotent; with --topics the topics."""
    settings = CommonSettings()
    with console.status(f"migrating {_where(settings)}…"):
        _prepare(settings, topics=topics, replication=replication)
    console.print("migrated: databases at head, seed data present" + (", topics created" if topics else ""))


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="the report as JSON")) -> None:
    """What runs: each process's pid, port, uptime, restarts and health; exit 0 only when all is healthy."""
    from .supervisor import status as stack_status

    healthy, report = stack_status(CommonSettings())
    if as_json:
        _print_json(report)
    elif not report["running"]:
        typer.echo(f"egov-sim is not running (data dir {report['data_dir']})")
    else:
        from rich.table import Table

        table = Table(title=f"egov-sim on {report['data_dir']} (supervisor pid {report['supervisor_pid']})")
        for column in ("process", "pid", "port", "up", "restarts", "health"):
            table.add_column(column)
        for name, p in report["processes"].items():
            up = f"{p['up_seconds']} s" if p["up_seconds"] is not None else "—"
            restarts = f"{p['restarts']}" + (" (given up)" if p.get("given_up") else "")
            table.add_row(name, str(p["pid"] or "—"), str(p["port"]), up, restarts, p["health"])
        Console().print(table)
    raise typer.Exit(0 if healthy else 1)


@demo_app.command("accounts")
def demo_accounts(as_json: bool = typer.Option(False, "--json", help="everything, as JSON")) -> None:
    """The demo applicants and operators: logins, passwords, roles and where their keys are."""
    from rich.table import Table

    from .demo import accounts

    data = accounts(CommonSettings().data_dir.resolve())
    if as_json:
        _print_json(data)
        return
    out = Console()
    table = Table(title="portal (ПЭП) applicants — POST :8001/api/v1/auth/token")
    for column in ("username (IIN/BIN)", "password", "name", "signing key"):
        table.add_column(column)
    for a in data["portal"]["applicants"]:
        table.add_row(a["username"], a["password"], a["full_name"], a["sign"]["key"])
    out.print(table)
    table = Table(title="provider workstation (АРМ) operators — POST :8004/api/v1/auth/token")
    for column in ("username", "password", "roles", "organisation BIN", "signing key"):
        table.add_column(column)
    for o in data["provider_arm"]["operators"]:
        table.add_row(o["username"], o["password"], ", ".join(o["roles"]), o["organisation_bin"], o["sign"]["key"])
    out.print(table)
    table = Table(title="ЦОН desk operators — POST :8007/api/v1/auth/token (pages at :8008/con)")
    for column in ("username", "password", "name", "region", "organisation BIN", "signing key"):
        table.add_column(column)
    for o in data["con"]["operators"]:
        table.add_row(o["username"], o["password"], o["full_name"], o["region"], o["organisation_bin"], o["sign"]["key"])
    out.print(table)


def _fail(message: str, code: int = 1) -> None:
    """One line on stderr saying what is wrong (and what to do), then exit non-zero."""
    sys.stderr.write(" ".join(message.split()) + "\n")
    raise typer.Exit(code)


def _pki_settings():
    from services.nca.settings import NcaSettings

    return NcaSettings()


def _existing_ca(settings):
    """The development НУЦ of the data dir; one line and exit 1 when there is none (only the
    bootstrap, `egov up`, creates it)."""
    from shared.pki.ca import DevCA, NoCA

    try:
        return DevCA.load(settings.pki_dir / "ca", base_url=settings.nca_url)
    except NoCA:
        _fail(f"no НУЦ in {settings.data_dir.resolve()}: run `egov up` first or set EGOV_DATA_DIR")


def _when(value: Optional[str], option: str) -> Optional[datetime]:
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        _fail(f"{option}: {value!r} is not an ISO date or date-time (e.g. 2027-01-31 or 2027-01-31T12:00+05:00)")
    return dt if dt.tzinfo else dt.astimezone()


def _refusal(exc) -> None:
    """A catalogue refusal as one line: CODE: what is wrong."""
    _fail(f"{exc.code}: {exc.detail or exc.spec.message_ru}")


def _nca_refusal(r) -> None:
    try:
        err = r.json()["error"]
        detail = err.get("detail") or "; ".join(
            f"{'.'.join(f['loc'][1:]) or 'body'}: {f['msg']}" for f in err.get("fields", [])) or err["message_ru"]
        _fail(f"{err['code']}: {detail} (nca answered {r.status_code})")
    except (ValueError, KeyError, TypeError):
        _fail(f"the nca answered {r.status_code}: {r.text[:200]}")


def _operator_auth(settings) -> tuple[str, str]:
    from services.nca import operators

    try:
        return operators.OPERATOR, operators.read_password(settings.data_dir)
    except OSError:
        _fail(f"no НУЦ operator credentials in {operators.password_path(settings.data_dir.resolve())}: "
              "run `egov up` first or set EGOV_DATA_DIR")


def _call_nca(settings, path: str, body: dict):
    """POST ``body`` to the running nca as the CA operator; None when no nca answers at
    EGOV_NCA_URL (the caller then works offline on the CA files)."""
    import httpx

    auth = _operator_auth(settings)
    url = settings.nca_url.rstrip("/") + path
    try:
        return httpx.post(url, json=body, auth=auth, timeout=30)
    except (httpx.ConnectError, httpx.ConnectTimeout):
        return None
    except httpx.HTTPError as exc:
        _fail(f"the nca at {settings.nca_url} did not answer: {exc.__class__.__name__}: {exc}")


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
    """Issue a certificate from the development НУЦ: the key is made here and never leaves; the
    running nca (EGOV_NCA_URL) certifies its PKCS#10 request for the CA operator — or, when no nca
    answers, the CA key files do it offline. Writes key.pem (0600), cert.pem, chain.pem."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID
    from pydantic import ValidationError

    from services.nca import cli as nca_cli
    from services.nca.issuance import IssueRequest
    from shared.errors import ApiError
    from shared.pki.ca import Issued, _new_key

    settings = _pki_settings()
    ca = _existing_ca(settings)
    if kind not in ("individual", "employee", "system"):
        _fail(f"kind must be individual, employee or system, not {kind!r}")
    if key_type not in ("rsa", "ec"):
        _fail(f"--key-type must be rsa or ec, not {key_type!r}")
    fields: dict = dict(profile=kind, not_before=_when(not_before, "--not-before"),
                        not_after=_when(not_after, "--not-after"))
    if kind == "system":
        fields.update(system_id=system_id or name or "test-system")
    else:
        fields.update(usage=usage, iin=iin or "", full_name=name or "ТЕСТОВ ТЕСТ")
    if kind == "employee":
        fields.update(bin=bin or "", organization=org or "ТОО «Тест»", roles=role or ["employee"])
    key = _new_key(key_type)
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (iin or fields.get("system_id") or "egov")[:64])]))
           .sign(key, hashes.SHA256()))
    fields["csr"] = csr.public_bytes(serialization.Encoding.PEM).decode()
    try:
        req = IssueRequest(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        _fail(f"VALIDATION_ERROR: {'.'.join(str(x) for x in first['loc'])}: {first['msg']}")

    r = _call_nca(settings, "/api/v1/certificates", req.model_dump(mode="json", exclude_none=True))
    if r is not None:
        if r.status_code != 201:
            _nca_refusal(r)
        body = r.json()
        cert_pem, chain_pem = body["certificate"].encode(), body["chain"].encode()
        how = f"issued by the running НУЦ at {settings.nca_url}"
    else:
        try:
            cert = nca_cli.issue(settings, req)
        except ApiError as exc:
            _refusal(exc)
        cert_pem, chain_pem = cert.public_bytes(serialization.Encoding.PEM), ca.chain_pem()
        how = (f"no nca answers at {settings.nca_url}: issued offline with the CA key files in "
               f"{(settings.pki_dir / 'ca').resolve()} (recorded in the nca database)")
    cert = x509.load_pem_x509_certificate(cert_pem)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    try:
        Issued(key_pem=key_pem, cert_pem=cert_pem, chain_pem=chain_pem, cert=cert).write(out)
    except OSError as exc:
        _fail(f"cannot write to {out}: {exc.strerror or exc}")
    console.print(f"{how}; serial {format(cert.serial_number, 'x')}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"wrote {out}/key.pem, cert.pem, chain.pem", markup=False, highlight=False, soft_wrap=True)


@pki_app.command("revoke")
def pki_revoke(
    cert: Optional[Path] = typer.Option(None, "--cert", help="the certificate to revoke (PEM or DER)"),
    serial: Optional[str] = typer.Option(None, "--serial", help="or the serial (hex) of a certificate the НУЦ issued"),
    reason: str = typer.Option("unspecified", help="keyCompromise|cessationOfOperation|superseded|"
                               "affiliationChanged|unspecified"),
) -> None:
    """Revoke a certificate of the development НУЦ: through the running nca (EGOV_NCA_URL) as the
    CA operator, or offline in the nca database when no nca answers. OCSP and the CRL answer
    `revoked` from then on."""
    from services.nca import cli as nca_cli
    from services.nca.models import REASONS
    from shared.errors import ApiError

    settings = _pki_settings()
    _existing_ca(settings)
    if (cert is None) == (serial is None):
        _fail("give exactly one of --cert FILE and --serial HEX")
    if reason not in REASONS:
        _fail(f"--reason must be one of {', '.join(REASONS)}, not {reason!r}")
    body: dict = {"reason": reason}
    if cert is not None:
        try:
            raw = cert.read_bytes()
        except OSError as exc:
            _fail(f"cannot read {cert}: {exc.strerror or exc}")
        body["certificate"] = raw.decode() if b"-----BEGIN" in raw else base64.b64encode(raw).decode()
    else:
        body["serial_number"] = serial
    r = _call_nca(settings, "/api/v1/revocations", body)
    if r is not None:
        if r.status_code not in (200, 201):
            _nca_refusal(r)
        result = {**r.json(), "created": r.status_code == 201}
        how = f"revoked by the running НУЦ at {settings.nca_url}"
    else:
        try:
            result = nca_cli.revoke(settings, cert, reason, serial=serial)
        except ApiError as exc:
            _refusal(exc)
        how = (f"no nca answers at {settings.nca_url}: revoked offline in the nca database "
               "(OCSP and the CRL say so as soon as the nca runs)")
    console.print(how if result["created"] else f"{how} (it was already revoked: the first record stands)",
                  markup=False, highlight=False, soft_wrap=True)
    _print_json(result)


@pki_app.command("roots")
def pki_roots(out: Path = typer.Option(..., help="file for the trust anchors (PEM)")) -> None:
    """Write the НУЦ trust anchors (what `openssl cms -verify -CAfile` needs)."""
    roots = _existing_ca(_pki_settings()).roots_pem()
    try:
        out.write_bytes(roots)
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or exc}")


@pki_app.command("show")
def pki_show(file: Path) -> None:
    """Print any certificate (PEM or DER, real НУЦ ones included) as JSON."""
    from shared.pki.certinfo import cert_info, load_certificate

    try:
        cert = load_certificate(file.read_bytes())
    except OSError as exc:
        _fail(f"{file}: {exc.strerror or exc}")
    except ValueError:
        _fail(f"{file}: not a certificate (PEM or DER)")
    _print_json(cert_info(cert).to_dict())


@log_app.command("verify")
def log_verify(offline: bool = typer.Option(False, "--offline", help="no network: the seals' signatures and "
                                           "time-stamps against the trust anchors, without asking the НУЦ")) -> None:
    """Walk the message log: hash chain, seals, time-stamps; exit 1 names the first altered record."""
    from services.gateway import log_cli

    raise typer.Exit(_message_log(lambda: log_cli.verify(offline=offline)))


@log_app.command("export")
def log_export(message_id: str,
               tsr: Optional[Path] = typer.Option(None, help="write the seal's RFC 3161 reply here")) -> None:
    """One message's record with its proof (neighbours' hashes, Merkle path, seal, time-stamp)."""
    from services.gateway import log_cli

    raise typer.Exit(_message_log(lambda: log_cli.export(message_id, tsr=tsr)))


def _message_log(work) -> int:
    """Run a message-log command over the gateway's database and the trust anchors; one line when
    either is missing or cannot be read."""
    from services.gateway.settings import GatewaySettings

    settings = GatewaySettings()
    if not (settings.pki_dir / "ca" / "root.pem").exists():
        _fail(f"no НУЦ trust anchors in {settings.pki_dir.resolve()}: run `egov up` first or set EGOV_DATA_DIR")
    if settings.db_server == "sqlite" and not (settings.data_dir / "gateway.db").exists():
        _fail(f"no gateway database in {settings.data_dir.resolve()}: run `egov up` first or set EGOV_DATA_DIR")
    try:
        return work()
    except Exception as exc:
        if isinstance(exc, OSError) and getattr(exc, "filename", None):  # --tsr FILE not writable
            _fail(f"{exc.filename}: {exc.strerror or exc}")
        # the database server down, or not migrated
        _fail(f"cannot read the gateway's message log at {_where(settings)}: {exc.__class__.__name__}: "
              f"{str(exc)[:200]} — is the database server running and migrated (`egov migrate`)?")


processes_app = typer.Typer(help="The regulated process definitions (regulations/variants/).", no_args_is_help=True)
app.add_typer(processes_app, name="processes")


@processes_app.command("export-bpmn")
def export_bpmn(directory: Path = typer.Argument(..., help="where to write <id>.bpmn, one per variant")) -> None:
    """Write every process definition as BPMN 2.0 XML with its diagram (opens in bpmn.io, Camunda Modeler)."""
    from services.provider_arm.bpmn import export_all
    from services.provider_arm.diagram import dot_available
    from shared.regulations import all_processes

    if not dot_available():
        console.print("graphviz (dot) is not installed: the diagrams are laid out on a plain grid")
    processes = list(all_processes().values())
    try:
        for process in _progress(processes, "exporting BPMN…"):
            for path in export_all([process], directory):
                typer.echo(str(path))
    except OSError as exc:
        _fail(f"cannot write to {directory}: {exc.strerror or exc}")


iin_app = typer.Typer(help="IIN/BIN: make valid test numbers, check one.", no_args_is_help=True)
app.add_typer(iin_app, name="iin")


@iin_app.command("new")
def iin_new(kind: str = typer.Argument("iin", help="iin | bin"),
            born: Optional[str] = typer.Option(None, help="birth date YYYY-MM-DD (IIN; random when left out)"),
            sex: str = typer.Option("F", help="M | F (IIN)"),
            count: int = typer.Option(1, min=1, max=1000)) -> None:
    """Print valid test IINs (birth date, sex, check digit) or BINs (registration month, resident legal entity)."""
    import random
    from datetime import date

    from shared.iin import make_bin, random_iin

    if kind not in ("iin", "bin"):
        _fail(f"the kind is iin or bin, not {kind!r}")
    if sex not in ("M", "F"):
        _fail(f"--sex is M or F, not {sex!r}")
    try:
        birth = date.fromisoformat(born) if born else None
    except ValueError:
        _fail(f"--born {born!r} is not a date YYYY-MM-DD")
    rnd = random.SystemRandom()
    for _ in _progress(range(count), f"making {count} {kind.upper()}s…"):
        if kind == "iin":
            typer.echo(random_iin(sex, birth))
        else:
            typer.echo(make_bin(rnd.randint(2000, 2025), rnd.randint(1, 12), serial=rnd.randint(1, 90000)))


@iin_app.command("check")
def iin_check(number: str) -> None:
    """Say whether NUMBER is a valid IIN or BIN and what it encodes; exit 1 when it is not."""
    from shared.errors import ApiError
    from shared.iin import validate_iin_or_bin

    try:
        typer.echo(f"{number}: a valid {validate_iin_or_bin(number)}")
    except ApiError as exc:
        _fail(f"{number}: {exc.code} — {exc.detail}")


def _read_json(file: Path) -> object:
    """FILE's JSON, or one line saying why not."""
    from shared import jcs

    try:
        return jcs.loads(file.read_bytes())
    except OSError as exc:
        _fail(f"{file}: {exc.strerror or exc}")
    except ValueError as exc:
        _fail(f"{file}: not JSON that can be signed ({exc}); give a JSON file")


def _signer(key: Path, cert: Path):
    """The key and certificate, loaded and checked to belong together; one line when they do not."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    except OSError as exc:
        _fail(f"--key {key}: {exc.strerror or exc}")
    except (ValueError, TypeError):
        _fail(f"--key {key}: not an unencrypted PEM private key (key.pem of `egov pki issue`)")
    try:
        certificate = x509.load_pem_x509_certificate(cert.read_bytes())
    except OSError as exc:
        _fail(f"--cert {cert}: {exc.strerror or exc}")
    except ValueError:
        _fail(f"--cert {cert}: not a PEM certificate (cert.pem of `egov pki issue`)")
    raw = serialization.PublicFormat.SubjectPublicKeyInfo
    if (private.public_key().public_bytes(serialization.Encoding.DER, raw)
            != certificate.public_key().public_bytes(serialization.Encoding.DER, raw)):
        _fail(f"--key {key} does not belong to --cert {cert}: sign with the key of that certificate")
    return private, certificate


@app.command()
def sign(file: Path, key: Path = typer.Option(...), cert: Path = typer.Option(...),
         tsa: bool = typer.Option(False, help="add a time-stamp token from the НУЦ's TSA")) -> None:
    """Print the base64 CMS (detached) over the JCS canonical bytes of FILE.json."""
    from cryptography import x509

    from shared.envelope import canonical
    from shared.pki import tsp
    from shared.pki.cms import sign_detached

    private, certificate = _signer(key, cert)
    chain_file = cert.parent / "chain.pem"
    chain = x509.load_pem_x509_certificates(chain_file.read_bytes()) if chain_file.exists() else []
    der = sign_detached(canonical(_read_json(file)), private, certificate, chain)
    if tsa:
        url = CommonSettings().nca_url.rstrip("/") + "/tsa"
        try:
            der = tsp.attach(der, tsp.request_token(url, tsp.signature_values(der)[0]))
        except Exception as exc:
            _fail(f"--tsa: the НУЦ's TSA at {url} did not answer ({exc.__class__.__name__}); is `egov up` running?")
    sys.stdout.write(base64.b64encode(der).decode() + "\n")


@app.command()
def verify(file: Path, signature: str = typer.Option(..., help="base64 CMS, or @FILE"),
           usage: str = typer.Option("sign", help="sign | auth | any"),
           revocation: bool = typer.Option(True, help="check OCSP/CRL at the НУЦ (fails closed)")) -> None:
    """Verify a CMS over the JCS bytes of FILE.json against the НУЦ roots; print the report."""
    from shared.envelope import canonical
    from shared.errors import ApiError
    from shared.signing import TrustStore

    if usage not in ("sign", "auth", "any"):
        _fail(f"--usage is sign, auth or any, not {usage!r}")
    if signature.startswith("@"):
        try:
            signature = Path(signature[1:]).read_text().strip()
        except OSError as exc:
            _fail(f"--signature {signature}: {exc.strerror or exc}")
    settings = CommonSettings()
    if not (settings.pki_dir / "ca" / "root.pem").exists():
        _fail(f"no НУЦ in {settings.data_dir.resolve()}: run `egov up` first, or set EGOV_DATA_DIR")
    data = canonical(_read_json(file))
    try:
        report = TrustStore.from_pki_dir(settings.pki_dir, check_revocation=revocation).verify_sync(
            signature, data, usage=None if usage == "any" else usage)
        _print_json(report.to_dict())
    except ApiError as exc:
        _print_json({"valid": False, "code": exc.code, "detail": exc.detail})
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
