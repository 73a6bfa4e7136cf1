"""The human-readable HTML report of an export: one self-contained page (no scripts, no
links out) that also carries the export itself, so `hub audit verify --file report.html`
checks it exactly as it checks the JSON Lines file."""

import base64
import binascii
import hashlib
import re
from datetime import UTC, datetime
from html import escape

from services.audit.export import Export

_EMBEDDED = re.compile(
    rb'<pre id="audit-export" data-encoding="base64">([A-Za-z0-9+/=\s]+)</pre>', re.S
)
_STYLE = """body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;
width:100%;font-size:.85em}th,td{border:1px solid #ccc;padding:.3em;text-align:left;
vertical-align:top}th{background:#eee}code{font-size:.85em}.mono{font-family:monospace}
#audit-export{white-space:pre-wrap;word-break:break-all;font-size:.6em;color:#666}"""


def _when(ms: int | None, fallback: datetime | None) -> str:
    if fallback is not None:
        return f"{fallback.astimezone(UTC):%Y-%m-%d %H:%M:%S}"
    if ms is None:
        return "?"
    return f"{datetime.fromtimestamp(ms / 1000, UTC):%Y-%m-%d %H:%M:%S}"


def render_html(export_bytes: bytes, export: Export) -> str:
    rows = []
    for e in export.entries:
        c = e.content
        shared = ", ".join(c.recipients)
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{escape(str(v))}</td>"
                for v in (
                    e.position,
                    _when(c.record_timestamp_ms, c.event_time),
                    c.category or "",
                    c.type or f"(unreadable: {c.parse_error})",
                    export.effects.get(e.position, ""),
                    c.actor or "",
                    c.agency or "",
                    shared,
                    c.purpose or "",
                    f"{c.topic}[{c.partition}]@{c.offset}",
                )
            )
            + f'<td class="mono">{e.hash.hex()[:16]}…</td></tr>'
        )
    cp = export.checkpoint
    checkpoint = (
        "No checkpoint had been signed."
        if cp is None
        else f"Checkpoint {cp.sequence}: {cp.count} entries, head <code>{cp.head}</code>, "
        f"signed {escape(str(cp.signed_at))} by key <code>{cp.key_id}</code>."
    )
    scope = ", ".join(f"{k}: {v}" for k, v in export.scope.items() if v is not None) or "all"
    digest = hashlib.sha256(export_bytes).hexdigest()
    embedded = base64.encodebytes(export_bytes).decode("ascii")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Audit export ({escape(scope)})</title>
<style>{_STYLE}</style></head><body>
<h1>referral-hub audit export</h1>
<p>Scope: {escape(scope)}. {len(export.entries)} entries. The ledger held
{export.ledger_count} entries (head <code>{export.ledger_head}</code>) when exported.</p>
<p>{checkpoint}</p>
<p>Each entry records who did what and when (DPA 2018 s.62 category, recipients of
disclosures, purpose of consultations); record contents are represented by their sha256
only. A referral event marked "no effect" landed where the referral's lifecycle refused it
(e.g. after the referral ended), so no service acted on it.
Verify offline: <code>hub audit verify --file &lt;this file or the .jsonl&gt;</code>
(add <code>--public-key</code> with the audit service's published key to pin it).
Export sha256: <code>{digest}</code>.</p>
<table><tr><th>#</th><th>time (UTC)</th><th>s.62</th><th>event</th><th>effect</th>
<th>actor</th><th>agency</th><th>recipients</th><th>purpose</th><th>record</th><th>hash</th></tr>
{"".join(rows)}
</table>
<h2>Signed export (JSON Lines, base64)</h2>
<pre id="audit-export" data-encoding="base64">{embedded}</pre>
</body></html>
"""


def extract_export(html: bytes) -> bytes | None:
    """The JSON Lines export a report carries, or None if it is not one of our reports."""
    found = _EMBEDDED.search(html)
    if found is None:
        return None
    try:
        return base64.decodebytes(found.group(1))
    except (binascii.Error, ValueError):
        return None
