"""Charts of history: pyqtgraph time-series plots with a date axis, min/avg/max bands, peak
downsampling, and live or historical ranges.

Layer: chroma_desktop. Thread: the GUI thread.
"""

from chroma_desktop.charts.plot import WINDOWS, TimeSeriesPlot, TimeWindow

__all__ = ["WINDOWS", "TimeSeriesPlot", "TimeWindow"]
