"""The cost of one signature verification, next to `openssl speed` for the same key types.

* openssl speed — the bare public-key operation (RSA-2048 and ECDSA P-256 verify), the floor of
  what any verifier can do on this machine;
* ``verify_detached`` — the project's whole check on a request (CMS parsing, message digest,
  signature, chain of 2 to the root, validity, key usage: 3 signature checks), without a cache;
* ``TrustStore.verify`` — what a service actually calls: the same, with its ``VerifyCache`` (chain
  built once) and the revocation answer cached (asked once from the running НУЦ, then reused),
  through ``asyncio.to_thread`` as the services do.
The services' certificates are RSA-2048 (``DevCA`` issues RSA unless asked otherwise).
"""
from __future__ import annotations

import asyncio
import re
import subprocess
import tempfile
import time
from pathlib import Path

from shared.envelope import canonical
from shared.pki.ca import DevCA
from shared.pki.cms import sign_detached, verify_detached

DOC = canonical({"service_code": "S2", "region": "almaty", "iin_bin": "860717450455", "form": {"x": "ы" * 500}})


def _rate(fn, seconds: float) -> float:
    fn()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        n += 1
    return n / (time.perf_counter() - start)


def ours(ca: DevCA, key_type: str, seconds: float = 2.0) -> float:
    issued = ca.issue_individual("860717450455", "ИВАНОВА АЙГУЛЬ", key_type=key_type)
    sig = sign_detached(DOC, issued.key_pem, issued.cert_pem, issued.chain_pem)
    roots, inter = ca.roots(), ca.intermediates()
    return _rate(lambda: verify_detached(sig, DOC, roots, intermediates=inter), seconds)


async def trust_store(pki_dir: Path, ca: DevCA, key_type: str = "rsa", seconds: float = 2.0) -> float:
    """TrustStore.verify per second, revocation checked at the running НУЦ and then cached."""
    from shared.signing import TrustStore

    issued = ca.issue_individual("860717450455", "ИВАНОВА АЙГУЛЬ", key_type=key_type)
    sig = sign_detached(DOC, issued.key_pem, issued.cert_pem, issued.chain_pem)
    store = TrustStore.from_pki_dir(pki_dir, check_revocation=True, freshness_seconds=3600)
    try:
        await store.verify(sig, DOC)  # the OCSP answer, once
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            await store.verify(sig, DOC)
            n += 1
        return n / (time.perf_counter() - start)
    finally:
        await store.aclose()


def openssl_verify_per_second(alg: str, seconds: int = 2) -> float | None:
    out = subprocess.run(["openssl", "speed", "-seconds", str(seconds), alg], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if alg == "rsa2048" and line.startswith("rsa 2048 bits"):
            return float(line.split()[-1])  # columns: sign verify sign/s verify/s
        if alg == "ecdsap256" and re.search(r"256 bits ecdsa \(nistp256\)", line):
            return float(line.split()[-1])
    return None


def figures(ca: DevCA, pki_dir: Path | None = None) -> dict:
    """Per key type: openssl's verify/s, ours uncached, and (with ``pki_dir`` of a running system)
    the TrustStore's with the chain and the revocation answer cached."""
    out = {}
    for name, key_type, alg in (("RSA-2048", "rsa", "rsa2048"), ("ECDSA P-256", "ec", "ecdsap256")):
        row = {"openssl_verify_per_second": openssl_verify_per_second(alg),
               "verify_detached_per_second": round(ours(ca, key_type))}
        if pki_dir is not None:
            row["truststore_cached_per_second"] = round(asyncio.run(trust_store(pki_dir, ca, key_type)))
            row["truststore_cached_ms"] = round(1000 / row["truststore_cached_per_second"], 2)
        row["verify_detached_ms"] = round(1000 / row["verify_detached_per_second"], 2)
        out[name] = row
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        rows = figures(DevCA.load_or_create(Path(d)))
    print(f"{'key type':<14}{'verify_detached/s':>20}{'openssl speed verify/s':>26}")
    for name, r in rows.items():
        print(f"{name:<14}{r['verify_detached_per_second']:>20.0f}{(r['openssl_verify_per_second'] or float('nan')):>26.0f}")


if __name__ == "__main__":
    main()
