"""``make bench`` cannot rot silently: a tiny end-to-end pass (3 applications) through the bench's own
code, its table, its JSON and its chart. No figure is asserted — only that they are there."""
from __future__ import annotations

import json

from bench import report
from bench.__main__ import main


def test_bench_tiny_run_writes_table_json_and_chart(tmp_path, capsys):
    rc = main(["--n", "3", "--clients", "2", "--rate", "0", "--applicants", "2", "--e2e-only", "--quiet-timeout", "3",
               "--results", str(tmp_path), "--name", "tiny"])
    assert rc == 0
    results = json.loads((tmp_path / "tiny.json").read_text())
    (p,) = results["end_to_end"]
    assert p["backend"] == "sqlite" and p["accepted"] == 3 and p["reached_provider"] == 3
    for hop in ("portal accept", "gateway accept", "delivery to e_licensing", "delivery to provider"):
        assert p["latency_ms"][hop]["count"] == 3
    assert {"portal", "gateway", "e_licensing", "provider_arm", "broker"} <= set(p["cpu_ms_per_application"])
    assert "accepted at the portal" in capsys.readouterr().out
    assert (tmp_path / "tiny.svg").read_text().startswith("<?xml")
    # the rows of the figures measured beside the end-to-end passes
    results["gateway"] = {"batch": 100, "concurrency": 8, "bytes_per_envelope": 6000,
                          "batch_endpoint": {"messages": 10, "messages_per_second": 5},
                          "single_endpoint": {"messages": 10, "messages_per_second": 2}}
    results["kafka_direct"] = {"bytes": 1500, "messages_per_second": 9, "megabytes_per_second": 0.1}
    results["verify"] = {"RSA-2048": {"openssl_verify_per_second": 1.0, "verify_detached_per_second": 1,
                                      "verify_detached_ms": 1.0, "truststore_cached_per_second": 1,
                                      "truststore_cached_ms": 1.0}}
    text = report.table(results)
    assert "gateway alone, batch endpoint" in text and "openssl speed RSA-2048" in text
    assert report.chart(results, tmp_path / "full.svg") is not None
