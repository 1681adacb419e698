"""Display pieces the apps' admin pages share."""

from django.utils.html import format_html

# Colours readable on the admin's light and dark themes, with white text.
TONES = {"ok": "#2e7d32", "busy": "#1565c0", "waiting": "#8d6e00", "bad": "#c62828", "off": "#616161"}


def badge(label: str, tone: str):
    """A coloured status pill: `tone` is one of TONES (ok, busy, waiting, bad, off)."""
    return format_html(
        '<span class="status-badge status-{}" style="background:{};color:#fff;padding:1px 8px;border-radius:9px;'
        'font-size:11px;font-weight:600;white-space:nowrap;">{}</span>',
        tone, TONES[tone], label,
    )


def human_size(num_bytes: int | None) -> str:
    """Bytes for people, in powers of 1024 with one decimal: `1536` → "1.5 KiB", `None` → "—"."""
    if num_bytes is None:
        return "—"
    value = float(num_bytes)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            break
        value /= 1024
    return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"


def human_duration(seconds: float | None) -> str:
    """An elapsed time for people, its two largest units: `0.25` → "250 ms", `125` → "2 min 5 s",
    `3725` → "1 h 2 min", `None` → "—". (A video's length reads as a clock: `duration_text`.)"""
    if seconds is None:
        return "—"
    if round(seconds * 1000) < 1000:
        return f"{round(seconds * 1000)} ms"
    rest = int(round(seconds))
    counts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        count, rest = divmod(rest, size)
        counts.append((count, unit))
    first = next(index for index, (count, _) in enumerate(counts) if count)
    return " ".join(f"{count} {unit}" for count, unit in counts[first:first + 2] if count)


def attempts_table(history):
    """A job row's attempt history (core.jobs.attempt_begin/attempt_end) as a small table."""
    from django.utils.html import format_html_join

    if not history:
        return "—"
    rows = format_html_join(
        "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        ((h.get("attempt", ""), h.get("started_at") or "", h.get("ended_at") or "—", h.get("worker", ""),
          h.get("outcome", ""), h.get("reason", "")) for h in history),
    )
    return format_html(
        '<table class="attempt-history"><thead><tr><th>#</th><th>started</th><th>ended</th><th>worker</th>'
        "<th>outcome</th><th>reason</th></tr></thead><tbody>{}</tbody></table>", rows,
    )

