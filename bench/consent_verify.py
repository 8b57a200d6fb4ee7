"""Benchmark: consent ledger verification throughput, in chains per second.

``consent verify`` recomputes every user's hash chain and, with the
CONSENT_LEDGER_SECRET, every event's mac and the summary's signature
(``ledger.verify``). This measures that work alone, in one process, on
ledgers of realistic sizes built by the reference implementation:

* short: 2 events (a signup's terms and marketing decisions);
* typical: 8 events (a few changes of mind over the years);
* full: 20 events (``max_events``' default: what a busy user keeps);
* compacted: 100 decisions, 20 kept and 80 folded into a signed summary.

Each shape is verified with the key (macs and signature) and without it
(chain and state only) for ``--seconds`` each; the figure is chains per
second on one core. The last line is one JSON object.

    .venv/bin/python bench/consent_verify.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "deploy"))

from auth0_actions.consent import ledger as ledgers

KEY = b"bench-ledger-key-0123456789abcdef"  # one key of the keyring, 32 bytes or more
MAX_EVENTS = 20  # consent.ledger.max_events' default


def build(decisions: int) -> dict[str, Any]:
    events = []
    marketing_given = False
    for index in range(decisions):
        purpose = "terms" if index % 3 == 0 else "marketing"
        decision: ledgers.Decision = "given"
        if purpose == "marketing":  # alternately given and withdrawn
            decision = "withdrawn" if marketing_given else "given"
            marketing_given = not marketing_given
        events.append(
            ledgers.NewEvent(
                purpose,
                decision,
                "2026-11-01",
                f"2026-11-01T09:{index // 60 % 60:02d}:{index % 60:02d}.000Z",
                "page",
                None if decision == "withdrawn" else "a" * 64,
                "en",
                "203.0.113.9",
            )
        )
    return ledgers.append(None, events, KEY, max_events=MAX_EVENTS)


def rate(ledger: dict[str, Any], key: bytes | None, seconds: float) -> float:
    if ledgers.verify(ledger, key):
        raise SystemExit("the bench ledger does not verify")
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for _ in range(50):
            ledgers.verify(ledger, key)
        count += 50
    return count / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    shapes = {"short": 2, "typical": 8, "full": 20, "compacted": 100}
    figures: dict[str, Any] = {}
    for name, decisions in shapes.items():
        ledger = build(decisions)
        kept = len(ledger["events"])
        folded = (ledger["summary"] or {}).get("folded", 0)
        keyed = rate(ledger, KEY, args.seconds)
        chain_only = rate(ledger, None, args.seconds)
        figures[name] = {
            "events_kept": kept,
            "folded": folded,
            "chains_per_s_with_key": round(keyed),
            "chains_per_s_without_key": round(chain_only),
            "events_per_s_with_key": round(keyed * kept),
        }
        print(
            f"{name:>9}: {kept} events kept, {folded} folded: {keyed:,.0f} chains/s with the key, "
            f"{chain_only:,.0f} without ({keyed * kept:,.0f} events/s)"
        )
    print(json.dumps({"seconds": args.seconds, "shapes": figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
