"""Small builders over Grafana's `grafana-foundation-sdk` shared by the four dashboards.

Every panel queries the data source chosen in the dashboard's `datasource` variable and every
query is restricted to the `job` and `instance` variables (`SEL`), so the dashboards import into
any Grafana with any Prometheus.
"""

from __future__ import annotations

from collections.abc import Sequence

from grafana_foundation_sdk.builders import common, prometheus, stat, timeseries
from grafana_foundation_sdk.builders import dashboard as builders
from grafana_foundation_sdk.builders import heatmap as heatmap_builders
from grafana_foundation_sdk.models import dashboard as models
from grafana_foundation_sdk.models.common import BigValueColorMode, BigValueGraphMode, BigValueTextMode
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

DATASOURCE = models.DataSourceRef(type_val="prometheus", uid="${datasource}")
SEL = 'job=~"$job", instance=~"$instance"'
WINDOW = "$__rate_interval"
TAG = "guitar-alchemist"

Query = tuple[str, str]  # (PromQL, legend)


def _targets(panel: builders.Panel | stat.Panel | timeseries.Panel | heatmap_builders.Panel,
             queries: Sequence[Query], query_format: PromQueryFormat = PromQueryFormat.TIME_SERIES) -> None:
    for index, (expr, legend) in enumerate(queries):
        panel.with_target(prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(chr(ord("A") + index))
                          .datasource(DATASOURCE).format(query_format).range())


def graph(title: str, description: str, unit: str, *queries: Query, width: int = 8,
          height: int = 8) -> timeseries.Panel:
    """A time series panel."""
    panel = (timeseries.Panel().title(title).description(description).datasource(DATASOURCE).unit(unit)
             .height(height).span(width).fill_opacity(10))
    _targets(panel, queries)
    return panel


def single(title: str, description: str, unit: str, query: Query, *, decimals: float | None = None,
           bounds: tuple[float, float] | None = None, width: int = 6, names: bool = False) -> stat.Panel:
    """A stat panel showing the last value of one query (or, with `names`, its series' legends)."""
    panel = (stat.Panel().title(title).description(description).datasource(DATASOURCE).unit(unit)
             .height(5).span(width).color_mode(BigValueColorMode.VALUE).graph_mode(BigValueGraphMode.AREA)
             .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False)))
    if decimals is not None:
        panel.decimals(decimals)
    if bounds is not None:
        panel.min(bounds[0]).max(bounds[1])
    if names:
        panel.text_mode(BigValueTextMode.NAME)
    _targets(panel, [query])
    return panel


def heatmap(title: str, description: str, query: Query, width: int = 6) -> heatmap_builders.Panel:
    """A heatmap of pre-bucketed (`le`) histogram series."""
    panel = (heatmap_builders.Panel().title(title).description(description).datasource(DATASOURCE)
             .height(5).span(width).calculate(False))
    _targets(panel, [query], PromQueryFormat.HEATMAP)
    return panel


def _variables() -> list[builders.DatasourceVariable | builders.QueryVariable]:
    every = ".+"
    return [
        builders.DatasourceVariable("datasource").label("Data source").type("prometheus"),
        builders.QueryVariable("job").label("Job").datasource(DATASOURCE).query("label_values(up, job)")
        .refresh(models.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(models.VariableSort.ALPHABETICAL_ASC)
        .multi(True).include_all(True).all_value(every)
        .current(models.VariableOption(selected=True, text="All", value="$__all")),
        builders.QueryVariable("instance").label("Instance").datasource(DATASOURCE)
        .query('label_values(up{job=~"$job"}, instance)')
        .refresh(models.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(models.VariableSort.ALPHABETICAL_ASC)
        .multi(True).include_all(True).all_value(every)
        .current(models.VariableOption(selected=True, text="All", value="$__all")),
    ]


Section = tuple[str, Sequence[builders.Panel | stat.Panel | timeseries.Panel | heatmap_builders.Panel]]


def board(uid: str, title: str, description: str, sections: Sequence[Section]) -> models.Dashboard:
    """A dashboard of rows of panels, with the datasource/job/instance variables and links to its siblings."""
    built = (builders.Dashboard(title).uid(uid).description(description).tags([TAG]).editable()
             .tooltip(models.DashboardCursorSync.CROSSHAIR).time("now-30m", "now").refresh("10s")
             .timezone("browser").version(1)
             .link(builders.DashboardLink("Guitar Alchemist").type(models.DashboardLinkType.DASHBOARDS)
                   .tags([TAG]).as_dropdown(True).keep_time(True).include_vars(True)))
    for variable in _variables():
        built.with_variable(variable)
    panel_id = 0
    for row, panels in sections:
        panel_id += 1
        built.with_row(builders.Row(row).id(panel_id))
        for panel in panels:
            panel_id += 1
            built.with_panel(panel.id(panel_id))
    return built.build()
