"""Charts: one server, target or filesystem (or everything) and its measures over a chosen
window — 5 minutes to a week — live, or zoomed and panned into the past with the mouse.

Layer: chroma_desktop. Thread: the GUI thread. What has history comes from the history thread
(`History.subjects`), server names from the database worker (`fetch`), the series themselves
through a `ChartFeed` per plot at the plot's pixel width. A live chart asks again every
window/60 (at least 5 s) while the screen is shown. For a filesystem, or everything, the OST
balance heat map below the charts shows how full each OST is now.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget
from sqlalchemy import select
from sqlalchemy.orm import Session

from agentlink.connector import LinkEvent
from chroma_desktop.charts import WINDOWS, TimeSeriesPlot, TimeWindow
from chroma_desktop.charts.balance import OstBalanceMap
from chroma_desktop.charts.feed import NO_HISTORY, ChartFeed
from chroma_desktop.failures import Failure
from chroma_desktop.history import OstFill, Subject, SubjectKind
from chroma_desktop.views.base import AppContext, LiveView
from core.models import Host


class ChartsView(LiveView):
    title = "Charts"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.live_interval_ms: int | None = None
        """Overrides the window's refresh period (tests)."""
        self._server_names: dict[str, str] = {}
        self._subjects: tuple[Subject, ...] = ()
        self._asking_subjects = False
        self.subject_box = QComboBox()
        self.subject_box.setMinimumContentsLength(30)
        self.subject_box.currentIndexChanged.connect(self._subject_chosen)
        self.window_box = QComboBox()
        for window in WINDOWS:
            self.window_box.addItem(window.label, window)
        self.window_box.currentIndexChanged.connect(self._window_chosen)
        self.live_box = QCheckBox("Live")
        self.live_box.setToolTip(
            "Follow the newest data. Zooming or panning a chart with the mouse leaves live mode."
        )
        self.live_box.setChecked(True)
        self.live_box.toggled.connect(self._live_toggled)
        self.status = QLabel()
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show"))
        bar.addWidget(self.subject_box, 1)
        bar.addWidget(QLabel("over the last"))
        bar.addWidget(self.window_box)
        bar.addWidget(self.live_box)
        self.plots_box = QWidget()
        self.plots_layout = QVBoxLayout(self.plots_box)
        self.plots_layout.setContentsMargins(0, 0, 0, 0)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addWidget(self.plots_box, 1)
        self.balance = OstBalanceMap()
        self.balance.hide()
        layout.addWidget(self.balance)
        self._asking_balance = False
        self.plots: list[TimeSeriesPlot] = []
        """The plots of the subject shown (the first of `_plot_pool`)."""
        self._plot_pool: list[TimeSeriesPlot] = []
        self.feeds: list[ChartFeed] = []
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        if context.history is None:
            self.status.setText(f"No charts: {NO_HISTORY}.")
        self._set_subjects((Subject(SubjectKind.ALL),))

    # --- LiveView -------------------------------------------------------------------------------

    def is_stale_after(self, event: object) -> bool:
        return isinstance(event, LinkEvent)  # a server paired or back: its name, its subjects

    def fetch(self, session: Session) -> dict[str, str]:
        named = select(Host.address, Host.nodename).where(
            Host.deleted_at.is_(None), Host.nodename.is_not(None)
        )
        return {address: str(name) for address, name in session.execute(named)}

    def show_data(self, data: dict[str, str]) -> None:
        self._server_names = data
        self._ask_subjects()

    # --- what the admin sees --------------------------------------------------------------------

    @property
    def time_window(self) -> TimeWindow:
        window = self.window_box.currentData()
        assert isinstance(window, TimeWindow)
        return window

    @property
    def subject(self) -> Subject | None:
        subject = self.subject_box.currentData()
        return subject if isinstance(subject, Subject) else None

    def choose(self, subject: Subject) -> None:
        """Show `subject` (it must have history, see `History.subjects`)."""
        index = self._subjects.index(subject)
        self.subject_box.setCurrentIndex(index)

    def subjects(self) -> tuple[Subject, ...]:
        return self._subjects

    def _label(self, subject: Subject) -> str:
        if subject.kind == SubjectKind.SERVER:
            name = self._server_names.get(subject.name)
            return f"Server {name} ({subject.name})" if name else subject.label
        if subject.kind == SubjectKind.TARGET and subject.target_kind is not None:
            return f"{subject.target_kind.value} {subject.name}"
        return subject.label

    def _set_subjects(self, subjects: tuple[Subject, ...]) -> None:
        current = self.subject
        labels = [self._label(s) for s in subjects]
        shown = [self.subject_box.itemText(i) for i in range(self.subject_box.count())]
        if subjects == self._subjects and labels == shown:
            return
        self._subjects = subjects
        self.subject_box.blockSignals(True)
        self.subject_box.clear()
        for subject, label in zip(subjects, labels, strict=True):
            self.subject_box.addItem(label, subject)
        keep = subjects.index(current) if current in subjects else 0
        self.subject_box.setCurrentIndex(keep)
        self.subject_box.blockSignals(False)
        if current != self.subject:
            self._subject_chosen()

    def _ask_subjects(self) -> None:
        history = self.context.history
        if history is None or self._asking_subjects:
            return
        self._asking_subjects = True
        self.context.bridge.deliver(
            history.subjects(), self._subjects_read, owner=self, on_error=self._subjects_failed
        )

    def _subjects_read(self, subjects: tuple[Subject, ...]) -> None:
        self._asking_subjects = False
        self._set_subjects(subjects)

    def _subjects_failed(self, failure: Failure) -> None:
        self._asking_subjects = False
        self.status.setText(failure.message)

    def _subject_chosen(self) -> None:
        for feed in self.feeds:
            feed.retire()
        self.plots, self.feeds = [], []
        subject = self.subject
        self.balance.setVisible(
            subject is not None and subject.kind in (SubjectKind.ALL, SubjectKind.FILESYSTEM)
        )
        measures = subject.measures if subject is not None else ()
        while len(self._plot_pool) < len(measures):  # plots are reused, never deleted here
            plot = TimeSeriesPlot("")
            plot.live_changed.connect(self._plot_live_changed)
            self.plots_layout.addWidget(plot)
            self._plot_pool.append(plot)
        for index, plot in enumerate(self._plot_pool):
            plot.setVisible(index < len(measures))
        if subject is None:
            return
        for plot, measure in zip(self._plot_pool, measures, strict=False):
            plot.show_measure(measure.title, measure.unit)
            if not self.live_box.isChecked():
                plot.set_live(False)
            self.plots.append(plot)
            self.feeds.append(ChartFeed(self.context, plot, subject, (measure,), self.time_window))
        self._refresh_charts()

    def _window_chosen(self) -> None:
        self.live_box.setChecked(True)
        for feed in self.feeds:
            feed.set_window(self.time_window)
        self._restart_timer()

    def _live_toggled(self, live: bool) -> None:
        for plot in self.plots:
            plot.set_live(live)
        if live:
            self._refresh_charts()

    def _plot_live_changed(self, live: bool) -> None:
        if not live and self.live_box.isChecked():
            self.live_box.setChecked(False)  # zoomed into the past: every chart stops following

    # --- refreshing -----------------------------------------------------------------------------

    def _refresh_charts(self) -> None:
        if self.isVisible():
            for feed in self.feeds:
                feed.refresh()
            self._refresh_balance()

    def _refresh_balance(self) -> None:
        history, subject = self.context.history, self.subject
        if history is None or subject is None or self._asking_balance:
            return
        if not self.balance.isVisibleTo(self):
            return
        self._asking_balance = True

        def shown(fill: OstFill) -> None:
            self._asking_balance = False
            if subject == self.subject:
                self.balance.show_fill(fill)

        def failed(failure: Failure) -> None:
            self._asking_balance = False
            self.status.setText(failure.message)

        self.context.bridge.deliver(history.ost_fill(subject), shown, owner=self, on_error=failed)

    def _tick(self) -> None:
        self._ask_subjects()
        if self.live_box.isChecked():
            self._refresh_charts()

    def _restart_timer(self) -> None:
        interval = self.live_interval_ms or self.time_window.refresh_ms
        self._timer.start(interval)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._restart_timer()
        self._ask_subjects()
        self._refresh_charts()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._timer.stop()  # a hidden screen reads nothing
