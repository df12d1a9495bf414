"""The demo's terminal view (``rich``): alerts as lines as they open, a live status panel below.

On a terminal the panel redraws four times a second; in a log (no terminal) only the lines and
the final panel are written, so the demo's output can be read and tested.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from vigilstream.demo import Shown, Tally

SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan", "info": "dim"}
DAY = 86400.0


def _clock(ts: float) -> str:
    return time.strftime("%a %H:%M", time.gmtime(ts))


class DemoView:
    def __init__(self, base_url: str, tokens: dict[str, str], duration: float) -> None:
        self.console = Console(highlight=False)
        self.base, self.tokens, self.duration = base_url, tokens, duration
        self.tally: Tally | None = None
        self.cohort_start = self.cohort_end = 0.0
        self.began = time.monotonic()
        self.rates: deque[tuple[float, int]] = deque(maxlen=20)
        self.recent_suggestions: deque[Shown] = deque(maxlen=5)
        self._live: Live | None = None

    def note(self, text: str) -> None:
        self.console.print(Text(text, style="dim"))

    def started(self, cohort: Any, tally: Tally) -> None:
        """The worker is healthy: say where to look and what is about to be played."""
        self.tally = tally
        self.cohort_start, self.cohort_end = cohort.start, cohort.start + cohort.days * DAY
        self.began = time.monotonic()
        episodes = ", ".join(sorted({e.kind for e in cohort.episodes})) or "none"
        self.console.print(
            f"[bold]worker healthy[/]  care-team board [link]{self.base}/board[/link]  "
            f"API docs {self.base}/api/docs  metrics {self.base}/metrics\n"
            f"  sign in to the board with the clinician token [bold]{self.tokens['clinician']}"
            f"[/] (or the viewer token {self.tokens['viewer']})\n"
            f"playing {len(cohort.patients)} patients x {cohort.days} days "
            f"({tally.expected_readings} readings in {len(cohort.messages)} messages; the "
            f"simulator planned: {episodes}) in about {self.duration * 0.75:.0f} s"
        )

    @contextmanager
    def live(self) -> Iterator[None]:
        with Live(self._panel(), console=self.console, refresh_per_second=4,
                  transient=False) as live:  # fmt: skip
            self._live = live
            try:
                yield
            finally:
                live.update(self._panel())
                self._live = None
        self.console.print()

    def show(self, lines: list[Shown]) -> None:
        for line in lines:
            if line.what == "alert":
                style = SEVERITY_STYLE.get(line.severity.split()[0], "")
                self.console.print(
                    Text.assemble((f"{_clock(line.event_time)}  ", "dim"),
                                  (f"ALERT {line.severity:<8}", style),
                                  f" {line.patient_id}  {line.kind}: ", (line.text, "italic"))
                )  # fmt: skip
            else:
                self.recent_suggestions.append(line)
        if self._live is not None:
            self._live.update(self._panel())

    def _panel(self) -> Panel:
        tally = self.tally
        if tally is None:
            return Panel("starting ...")
        now = time.monotonic()
        self.rates.append((now, tally.clean))
        (t0, c0), (t1, c1) = self.rates[0], self.rates[-1]
        rate = (c1 - c0) / (t1 - t0) if t1 > t0 else 0.0
        span = max(self.cohort_end - self.cohort_start, 1.0)
        day = (tally.event_time - self.cohort_start) / DAY if tally.event_time else 0.0
        dead = ", ".join(f"{k} {v}" for k, v in sorted(tally.dead.items())) or "none"
        opened = ", ".join(f"{k} {v}" for k, v in sorted(tally.alerts_opened.items())) or "none"
        sent = ", ".join(f"{k} {v}" for k, v in sorted(tally.suggestions.items())) or "none"
        stats = Table.grid(padding=(0, 2))
        for label, value in (
            ("elapsed", f"{now - self.began:5.1f} s of ~{self.duration:.0f} s; cohort clock: "
                        f"day {max(day, 0):4.1f} of {span / DAY:.0f}"),
            ("messages sent", str(tally.sent_messages)),
            ("readings out", f"{tally.clean}/{tally.expected_readings} ({rate:,.0f}/s); "
                             f"duplicates dropped {tally.duplicates}"),
            ("dead letters", f"{sum(tally.dead.values())} ({dead})"),
            ("alerts opened", opened),
            ("suggestions sent", sent),
        ):  # fmt: skip
            stats.add_row(Text(label, style="bold"), value)
        recent = Table(box=None, show_header=False, padding=(0, 1))
        for s in self.recent_suggestions:
            recent.add_row(_clock(s.event_time), s.patient_id, f"[green]{s.kind}[/]",
                           Text(s.text, overflow="ellipsis", no_wrap=True))  # fmt: skip
        body = Group(stats, Text("latest suggestions", style="bold"), recent) \
            if self.recent_suggestions else stats  # fmt: skip
        return Panel(body, title="vigilstream demo", border_style="blue")

    def summary(self, tally: Tally) -> None:
        table = Table(title="summary", show_header=False)
        table.add_row("readings", f"{tally.clean} of {tally.expected_readings} came out clean")
        table.add_row("duplicates", f"{tally.duplicates} of {tally.expected_duplicates} dropped")
        table.add_row("dead letters", ", ".join(f"{k} {v}" for k, v in sorted(tally.dead.items()))
                      or "none")  # fmt: skip
        for kind, n in sorted(tally.alerts_opened.items()):
            table.add_row(f"alerts: {kind}", str(n))
        table.add_row("alert messages", f"{tally.alert_changes} (opened, updated, escalated, "
                      "resolved)")  # fmt: skip
        for kind, n in sorted(tally.suggestions.items()):
            table.add_row(f"suggestions: {kind}", str(n))
        self.console.print(table)
        for s in list(self.recent_suggestions)[-2:]:
            self.console.print(Text(f"suggestion to {s.patient_id} ({s.kind}): {s.text}"))
        if tally.accounted:
            self.console.print("[bold green]all messages accounted for[/]")
        else:
            self.console.print("[bold red]MISMATCH: some messages were not accounted for[/]")
