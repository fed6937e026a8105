export const APP_CSS = String.raw`
:root { --bg: #f5f6f8; --panel: #fff; --ink: #1d2330; --muted: #667085; --line: #e3e6ea;
  --ok: #12805c; --bad: #b42318; --warn: #b54708; --accent: #2952cc; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--ink); }
header.top { display: flex; align-items: center; gap: 16px; padding: 10px 20px; background: #101828; color: #fff; flex-wrap: wrap; }
header.top h1 { font-size: 18px; margin: 0; letter-spacing: 2px; }
.login, .session { margin-left: auto; display: flex; gap: 8px; align-items: center; }
.login label { font-size: 12px; color: #d0d5dd; }
.login input { width: 320px; padding: 5px 8px; border-radius: 4px; border: 1px solid #475467; background: #1d2939; color: #fff; }
button { padding: 5px 12px; border-radius: 4px; border: 1px solid var(--line); background: #fff; color: var(--ink); cursor: pointer; font: inherit; }
button:disabled { opacity: .5; cursor: default; }
button.approve { background: var(--ok); border-color: var(--ok); color: #fff; }
button.reject { background: var(--bad); border-color: var(--bad); color: #fff; }
.hidden { display: none !important; }
.badge { font-size: 11px; padding: 2px 8px; border-radius: 10px; text-transform: uppercase; }
.badge.live { background: var(--ok); }
.badge.offline { background: #475467; }
.flash { margin: 12px 20px 0; padding: 8px 12px; border-radius: 4px; background: #ecfdf3; border: 1px solid #abefc6; }
.flash.error { background: #fef3f2; border-color: #fecdca; color: var(--bad); }
main { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; padding: 16px 20px; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; min-width: 0; }
.panel.wide { grid-column: 1 / -1; }
h2 { font-size: 15px; margin: 4px 0 10px; }
.count { display: inline-block; min-width: 22px; text-align: center; background: var(--warn); color: #fff; border-radius: 10px; font-size: 12px; padding: 0 6px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 380px), 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card.focus { border-color: var(--accent); box-shadow: 0 0 0 2px #d1e0ff; }
.card h3 { font-size: 14px; margin: 0 0 4px; font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
.meta { color: var(--muted); font-size: 12px; }
.summary { margin: 6px 0; font-family: ui-monospace, monospace; font-size: 12px; background: #f9fafb; padding: 6px; border-radius: 4px; white-space: pre-wrap; overflow-wrap: anywhere; }
.risk { font-weight: 600; }
.risk.high { color: var(--bad); } .risk.medium { color: var(--warn); } .risk.low { color: var(--ok); }
ul.factors { margin: 4px 0; padding-left: 18px; font-size: 12px; }
textarea.comment { width: 100%; min-height: 44px; margin: 6px 0; font: inherit; padding: 4px 6px; border: 1px solid var(--line); border-radius: 4px; }
.actions { display: flex; gap: 8px; }
table { width: 100%; border-collapse: collapse; font-size: 12px; }
th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
td.phase { white-space: nowrap; }
.phase-Approved { color: var(--ok); font-weight: 600; } .phase-Rejected { color: var(--bad); font-weight: 600; }
.phase-Expired { color: var(--muted); font-weight: 600; } .phase-Pending { color: var(--warn); font-weight: 600; }
ol.timeline { list-style: none; margin: 0; padding: 0; max-height: 360px; overflow: auto; font-size: 12px; }
ol.timeline li { display: grid; grid-template-columns: 56px 170px 150px minmax(0, 1fr); gap: 8px; padding: 3px 0; border-bottom: 1px dashed var(--line); }
ol.timeline code { overflow-wrap: anywhere; }
ol.timeline li.empty { display: block; }
ul.plain { list-style: none; padding: 0; margin: 0; font-size: 12px; }
.empty { color: var(--muted); font-style: italic; }
footer { padding: 8px 20px 20px; color: var(--muted); font-size: 12px; }

code { font-family: ui-monospace, monospace; font-size: 12px; }
td code { white-space: nowrap; }
.table-scroll { overflow-x: auto; max-width: 100%; }
th { color: var(--muted); font-weight: 600; white-space: nowrap; }
td.time, td.nowrap, span.time { white-space: nowrap; }
#history td:first-child { min-width: 14ch; }

/* Lockdown banner (above the panels) and the threat panel */
.banner { margin: 12px 20px 0; padding: 12px 16px; border-radius: 6px; background: #fef3f2; border: 1px solid #fecdca; border-left: 6px solid var(--bad); color: #7a271a; }
.banner-head { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 12px; }
.banner-title { font-size: 17px; color: var(--bad); }
.banner-extra { background: var(--bad); color: #fff; border-radius: 12px; padding: 2px 10px; font-size: 12px; font-weight: 600; }
.banner-reason { margin: 6px 0 2px; font-size: 15px; font-weight: 600; color: var(--ink); }
.banner-when { margin: 0; font-size: 12px; }
p.mode { margin: 0 0 10px; }
p.mode-normal { color: var(--muted); }
p.mode-lockdown strong { color: var(--bad); }
.warn-line { background: #fffaeb; border: 1px solid #fedf89; border-radius: 4px; padding: 6px 8px; color: var(--warn); font-size: 12px; }
.card.break-glass { border-left: 4px solid var(--warn); }
.meta.break-glass { color: var(--warn); font-weight: 600; }
.meta.break-glass.overdue { color: var(--bad); }
.sev-counts { display: flex; flex-wrap: wrap; gap: 6px; margin: 0 0 10px; }
.sev { display: inline-block; font-size: 11px; font-weight: 600; padding: 1px 8px; border-radius: 10px; border: 1px solid transparent; text-transform: uppercase; letter-spacing: .3px; white-space: nowrap; }
.sev-low { background: #eef4ff; color: #3538cd; border-color: #c7d7fe; }
.sev-medium { background: #fffaeb; color: var(--warn); border-color: #fedf89; }
.sev-high { background: #fef3f2; color: var(--bad); border-color: #fecdca; }
.sev-critical { background: var(--bad); color: #fff; }
.sev-ok { background: #ecfdf3; color: #067647; border-color: #abefc6; }
.audit-namespace + .audit-namespace { margin-top: 16px; }
.audit-namespace h3 { font-size: 13px; margin: 0 0 6px; }
table.audit td.prose { min-width: 24ch; }
.sev.zero { background: #f2f4f7; color: var(--muted); border-color: var(--line); }
table.threats td.prose { min-width: 24ch; }
.top-sources h3 { font-size: 13px; margin: 12px 0 6px; }
ul.sources li { padding: 2px 0; }

/* Charts: plain SVG; geometry in attributes, colours here */
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 300px), 1fr)); gap: 16px; }
figure.chart { margin: 0; min-width: 0; }
figure.chart h3 { font-size: 13px; margin: 0; }
figure.chart figcaption .meta { margin: 2px 0 4px; }
.chart-svg { display: block; width: 100%; height: auto; max-height: 340px; }
.chart-svg text { font: 11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; fill: var(--muted); }
.chart-svg text.axis-label { fill: var(--ink); font-weight: 600; }
.chart-svg text.band { paint-order: stroke; stroke: #fff; stroke-width: 3px; }
.chart-svg .axis { stroke: #98a2b3; stroke-width: 1; }
.chart-svg .grid { stroke: var(--line); stroke-width: 1; }
.chart-svg .threshold { stroke-width: 1; stroke-dasharray: 4 3; }
.chart-svg .threshold.medium { stroke: var(--warn); } .chart-svg .threshold.high { stroke: var(--bad); }
.chart-svg .bar.allowed, .chart-svg .bar.approved, .chart-svg .point.low { fill: var(--ok); }
.chart-svg .bar.denied, .chart-svg .bar.rejected, .chart-svg .point.high { fill: var(--bad); }
.chart-svg .point.medium { fill: var(--warn); }
.chart-svg .point { stroke: #fff; stroke-width: 1.5; }
ul.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 4px 0 0; padding: 0; font-size: 12px; color: var(--muted); }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
.swatch.allowed, .swatch.approved, .swatch.low { background: var(--ok); }
.swatch.denied, .swatch.rejected, .swatch.high { background: var(--bad); }
.swatch.medium { background: var(--warn); }

@media (max-width: 900px) { main { grid-template-columns: 1fr; } }
/* Phones: one column, full-width cards, tables as stacked rows, 44px touch targets */
@media (max-width: 700px) {
  header.top { padding: 10px 12px; gap: 8px 12px; }
  .login, .session { margin-left: 0; width: 100%; flex-wrap: wrap; }
  .login input { flex: 1 1 180px; width: auto; min-width: 0; }
  main { padding: 12px; gap: 12px; }
  .panel { padding: 12px; }
  .banner, .flash { margin: 12px 12px 0; }
  button { min-height: 44px; padding: 10px 16px; }
  .actions button { flex: 1 1 0; }
  textarea.comment { min-height: 64px; font-size: 16px; }
  table.stack thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.stack, table.stack tbody, table.stack tr, table.stack td { display: block; width: 100%; }
  table.stack tr { border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; margin-bottom: 8px; }
  table.stack tr.empty-row { border: 0; padding: 0; }
  table.stack td { display: grid; grid-template-columns: 7.5em minmax(0, 1fr); gap: 8px; border: 0; padding: 3px 0; min-width: 0; }
  table.stack td::before { content: attr(data-label); color: var(--muted); font-weight: 600; }
  table.stack td.empty { display: block; }
  table.stack td.empty::before { content: none; }
  table.stack td code { white-space: normal; overflow-wrap: anywhere; }
  #history td:first-child, table.threats td.prose, table.audit td.prose { min-width: 0; }
  ol.timeline li { grid-template-columns: auto minmax(0, 1fr); gap: 2px 8px; padding: 6px 0; }
  ol.timeline li > strong, ol.timeline li > span:last-child { grid-column: 1 / -1; }
}
`;
