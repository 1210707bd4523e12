"""Feeds a TimeSeriesPlot from the history: the measures of one subject over the chosen window,
asked for off the GUI thread at the plot's pixel resolution, one request per line at a time.

Layer: chroma_desktop. Thread: the GUI thread (the reads run on the history thread and come
back through the bridge). Live, the window ends now and the range follows it; in history mode
(after the admin zoomed or panned) the data for the visible range is asked for again.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from PySide6.QtCore import QObject

from chroma_desktop.charts.plot import TimeSeriesPlot, TimeWindow
from chroma_desktop.failures import Failure
from chroma_desktop.history import Measure, Series, Subject
from chroma_desktop.views.base import AppContext

NO_HISTORY = "history is not available in this session"


class ChartFeed(QObject):
    def __init__(
        self,
        context: AppContext,
        plot: TimeSeriesPlot,
        subject: Subject,
        measures: Sequence[Measure],
        window: TimeWindow,
    ) -> None:
        super().__init__(plot)
        self.context = context
        self.plot = plot
        self.subject = subject
        self.measures = tuple(measures)
        self.window = window
        self._in_flight: set[str] = set()
        self.retired = False
        """The plot shows something else now: answers still on their way are dropped."""
        plot.range_wanted.connect(self._range_wanted)

    def retire(self) -> None:
        """Stop feeding the plot (it is about to chart another measure) and go."""
        self.retired = True
        self.plot.range_wanted.disconnect(self._range_wanted)
        self.deleteLater()

    def set_window(self, window: TimeWindow) -> None:
        self.window = window
        self.plot.set_live(True)
        self.refresh()

    def refresh(self) -> None:
        """Ask for every line again: the live window up to now, else the visible range."""
        if self.retired:
            return
        if self.plot.live:
            end = int(self.context.clock()) + 1
            start = end - self.window.seconds
            self.plot.show_range(start, end)
        else:
            start, end = self.plot.visible_range()
        self._ask(start, end)

    def _range_wanted(self, start: int, end: int) -> None:
        if not self.plot.live:
            self._ask(start, end)

    def _ask(self, start: int, end: int) -> None:
        if self.retired:
            return
        history = self.context.history
        if history is None:
            self.plot.set_problem(NO_HISTORY)
            return
        points = self.plot.pixel_width()
        for measure in self.measures:
            if measure.title in self._in_flight:
                continue  # the answer on its way is recent enough; never pile requests up
            self._in_flight.add(measure.title)
            self.context.bridge.deliver(
                history.measure(self.subject, measure, start, end, points),
                partial(self._show, measure),
                owner=self.plot,
                on_error=partial(self._failed, measure),
            )

    def _show(self, measure: Measure, series: Series) -> None:
        self._in_flight.discard(measure.title)
        if self.retired:
            return
        self.plot.set_problem(None)
        self.plot.set_series(measure.title, series)

    def _failed(self, measure: Measure, failure: Failure) -> None:
        self._in_flight.discard(measure.title)
        if not self.retired:
            self.plot.set_problem(failure.message)
