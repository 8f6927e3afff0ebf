"""The bench's one table, its JSON (``bench/results/latest.json``) and its chart (SVG)."""
from __future__ import annotations

import json
from pathlib import Path

from .e2e import HOPS

E2E_PROCS = ("portal", "gateway", "e_licensing", "provider_arm", "nca", "broker", "postgresql server", "bench client")


def _pass_label(p: dict) -> str:
    mode = "full speed" if p["mode"] == "full" else f"{p['offered_per_second']:g}/s offered"
    return f"{p['backend']}, {mode}"


def _lat(h: dict) -> str:
    if not h or h.get("p50") is None:
        return "–"
    return f"{h['p50']:.0f} / {h['p95']:.0f} / {h['p99']:.0f}"


def table(results: dict) -> str:
    """One table: a column per end-to-end pass, then the single figures beside them."""
    passes = results.get("end_to_end", [])
    rows: list[tuple[str, list[str]]] = []
    rows.append(("end to end", [_pass_label(p) for p in passes]))
    rows.append(("applications (clients)", [f"{p['applications']} ({p['clients']})" for p in passes]))
    rows.append(("accepted at the portal, /s", [f"{p['accepted_per_second']:.1f}" for p in passes]))
    rows.append(("reached the provider (case), /s",
                 [f"{p['provider_per_second'] or 0:.1f}  ({p['reached_provider']}/{p['applications']})" for p in passes]))
    for hop in HOPS:
        rows.append((f"{hop}, ms p50/p95/p99", [_lat(p["latency_ms"].get(hop)) for p in passes]))
    for proc in E2E_PROCS:
        if any(proc in p["cpu_ms_per_application"] for p in passes):
            rows.append((f"CPU ms/application: {proc}",
                         [f"{p['cpu_ms_per_application'].get(proc, 0):.1f}" for p in passes]))
    rows.append(("CPU ms/application: services+broker",
                 [f"{sum(v for k, v in p['cpu_ms_per_application'].items() if k not in ('bench client', 'postgresql server')):.1f}"
                  for p in passes]))
    if all("cpu_ms_per_application_net_of_idle" in p for p in passes) and passes:
        rows.append(("  the same net of the idle system's CPU",
                     [f"{sum(v for k, v in p['cpu_ms_per_application_net_of_idle'].items() if k not in ('bench client', 'postgresql server')):.1f}"
                      for p in passes]))
        rows.append(("  idle system, CPU ms/s (services+broker)",
                     [f"{sum(v for k, v in p['idle_cpu_ms_per_second'].items() if k not in ('bench client', 'postgresql server')):.0f}"
                      for p in passes]))
    retries = [", ".join(f"{k} ×{v}" for k, v in p.get("client_retries", {}).items()) or "0" for p in passes]
    rows.append(("client resubmissions", retries))
    single: list[tuple[str, str]] = []
    g = results.get("gateway")
    if g:
        b, s = g["batch_endpoint"], g["single_endpoint"]
        single.append((f"gateway alone, batch endpoint ({g['batch']}/call, {g['concurrency']} senders), msg/s",
                       f"{b['messages_per_second']}  ({b['messages']} × {g['bytes_per_envelope']} B envelopes)"))
        single.append((f"gateway alone, one message per call ({g['concurrency']} senders), msg/s",
                       f"{s['messages_per_second']}  ({s['messages']})"))
    k = results.get("kafka_direct")
    if k:
        single.append((f"Kafka producer → consumer directly, same broker, {k['bytes']} B, msg/s",
                       f"{k['messages_per_second']}  ({k['megabytes_per_second']} MB/s)"))
    for name, v in results.get("verify", {}).items():
        single.append((f"openssl speed {name} verify/s", f"{v['openssl_verify_per_second'] or float('nan'):.0f}"))
        single.append((f"verify_detached {name} (uncached), /s", f"{v['verify_detached_per_second']}  "
                       f"({v['verify_detached_ms']} ms)"))
        if "truststore_cached_per_second" in v:
            single.append((f"TrustStore.verify {name} (revocation cached), /s",
                           f"{v['truststore_cached_per_second']}  ({v['truststore_cached_ms']} ms)"))
    width = max([len(r[0]) for r in rows] + [len(r[0]) for r in single] + [10])
    cols = [max(len(r[1][i]) for r in rows) for i in range(len(passes))] if passes else []
    lines = []
    for i, (key, vals) in enumerate(rows):
        lines.append(f"{key:<{width}}  " + "  ".join(f"{v:>{c}}" for v, c in zip(vals, cols)))
        if i == 0:
            lines.append("-" * len(lines[0]))
    if single:
        lines.append("-" * max(len(x) for x in lines))
        lines.extend(f"{key:<{width}}  {val}" for key, val in single)
    m = results.get("machine")
    if m:
        lines.append(f"machine: {m.get('cpu')}, {m.get('cores')} cores, {m.get('memory_gb')} GB; "
                     f"Python {m.get('python')}; {m.get('openssl')}" + (f"; {m['postgresql']}" if m.get("postgresql") else "")
                     + (f"; load average at start/end {m.get('load_average_at_start')} / {m.get('load_average_at_end')}"
                        if m.get("load_average_at_start") else ""))
    return "\n".join(lines)


def write_json(results: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str))


def chart(results: dict, path: Path) -> Path | None:
    """Throughput and per-hop latency, as SVG (None when matplotlib is missing)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    passes = results.get("end_to_end", [])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 5.5))
    names, values = [], []
    for p in passes:
        names += [f"{_pass_label(p)}\naccepted", f"{_pass_label(p)}\nto provider"]
        values += [p["accepted_per_second"], p["provider_per_second"] or 0]
    if results.get("gateway"):
        names += ["gateway alone\nbatch", "gateway alone\nsingle"]
        values += [results["gateway"]["batch_endpoint"]["messages_per_second"],
                   results["gateway"]["single_endpoint"]["messages_per_second"]]
    if results.get("kafka_direct"):
        names.append("Kafka direct\n1.5 KB")
        values.append(results["kafka_direct"]["messages_per_second"])
    ax1.barh(range(len(values)), values, color="#4c72b0")
    ax1.set_yticks(range(len(values)), names, fontsize=7)
    ax1.set_xscale("log")
    ax1.axvline(200, color="#c44e52", ls="--", lw=1, label="target: 200 apps/s end to end")
    ax1.axvline(1000, color="#dd8452", ls=":", lw=1, label="target: 1000 msg/s gateway")
    for i, v in enumerate(values):
        ax1.text(v, i, f" {v:.0f}", va="center", fontsize=7)
    ax1.set_xlabel("per second (log)")
    ax1.set_title("throughput")
    ax1.legend(fontsize=7, loc="lower right")
    width = 0.8 / max(1, len(passes))
    for j, p in enumerate(passes):
        p99 = [p["latency_ms"][h]["p99"] or 0 for h in HOPS]
        p50 = [p["latency_ms"][h]["p50"] or 0 for h in HOPS]
        xs = [i + j * width for i in range(len(HOPS))]
        ax2.bar(xs, p99, width, label=f"{_pass_label(p)} p99", alpha=0.45)
        ax2.scatter(xs, p50, marker="_", s=120, color="black")
    ax2.set_xticks([i + width * (len(passes) - 1) / 2 for i in range(len(HOPS))],
                   [h.replace(" (", "\n(") for h in HOPS], fontsize=7)
    ax2.set_yscale("log")
    ax2.axhline(100, color="#c44e52", ls="--", lw=1)
    ax2.set_ylabel("ms (log); bar p99, tick p50")
    ax2.set_title("latency per hop")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
