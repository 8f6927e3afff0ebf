"""Signature verifications per second, next to `openssl speed` for the same key types.

Ours is the whole check a service makes on a request (CMS parsing, message digest, signature,
chain to the root, validity, key usage) — without the OCSP round trip, which is cached.
openssl's figure is the bare public-key operation, the floor of what any verifier can do.
"""
from __future__ import annotations

import re
import subprocess
import tempfile
import time
from pathlib import Path

from shared.envelope import canonical
from shared.pki.ca import DevCA
from shared.pki.cms import sign_detached, verify_detached

DOC = canonical({"service_code": "S2", "region": "almaty", "iin_bin": "860717450455", "form": {"x": "ы" * 500}})


def ours(ca: DevCA, key_type: str, seconds: float = 2.0) -> float:
    issued = ca.issue_individual("860717450455", "ИВАНОВА АЙГУЛЬ", key_type=key_type)
    sig = sign_detached(DOC, issued.key_pem, issued.cert_pem, issued.chain_pem)
    roots, inter = ca.roots(), ca.intermediates()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        verify_detached(sig, DOC, roots, intermediates=inter)
        n += 1
    return n / (time.perf_counter() - start)


def openssl_verify_per_second(alg: str) -> float | None:
    out = subprocess.run(["openssl", "speed", "-seconds", "2", alg], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if alg == "rsa2048" and line.startswith("rsa 2048 bits"):
            return float(line.split()[-1])  # columns: sign verify sign/s verify/s
        if alg == "ecdsap256" and re.search(r"256 bits ecdsa \(nistp256\)", line):
            return float(line.split()[-1])
    return None


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        ca = DevCA.load_or_create(Path(d))
        rows = [("RSA 2048, SHA-256", ours(ca, "rsa"), openssl_verify_per_second("rsa2048")),
                ("ECDSA P-256, SHA-256", ours(ca, "ec"), openssl_verify_per_second("ecdsap256"))]
    print(f"{'key type':<22}{'egov verify_detached/s':>24}{'openssl speed verify/s':>26}")
    for name, mine, theirs in rows:
        print(f"{name:<22}{mine:>24.0f}{(theirs or float('nan')):>26.0f}")
    print("(each of ours: CMS parse + digest + signature + chain of 2 to the root + validity + key usage;"
          " 3 signature checks)")


if __name__ == "__main__":
    main()
