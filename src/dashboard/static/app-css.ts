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
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card.focus { border-color: var(--accent); box-shadow: 0 0 0 2px #d1e0ff; }
.card h3 { font-size: 14px; margin: 0 0 4px; font-family: ui-monospace, monospace; word-break: break-all; }
.meta { color: var(--muted); font-size: 12px; }
.summary { margin: 6px 0; font-family: ui-monospace, monospace; font-size: 12px; background: #f9fafb; padding: 6px; border-radius: 4px; white-space: pre-wrap; word-break: break-word; }
.risk { font-weight: 600; }
.risk.high { color: var(--bad); } .risk.medium { color: var(--warn); } .risk.low { color: var(--ok); }
ul.factors { margin: 4px 0; padding-left: 18px; font-size: 12px; }
textarea.comment { width: 100%; min-height: 44px; margin: 6px 0; font: inherit; padding: 4px 6px; border: 1px solid var(--line); border-radius: 4px; }
.actions { display: flex; gap: 8px; }
table { width: 100%; border-collapse: collapse; font-size: 12px; }
th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid var(--line); vertical-align: top; word-break: break-word; }
td.phase { white-space: nowrap; }
.phase-Approved { color: var(--ok); font-weight: 600; } .phase-Rejected { color: var(--bad); font-weight: 600; }
.phase-Expired { color: var(--muted); font-weight: 600; } .phase-Pending { color: var(--warn); font-weight: 600; }
ol.timeline { list-style: none; margin: 0; padding: 0; max-height: 360px; overflow: auto; font-size: 12px; }
ol.timeline li { display: grid; grid-template-columns: 60px 190px 170px 1fr; gap: 8px; padding: 3px 0; border-bottom: 1px dashed var(--line); }
ol.timeline code { word-break: break-all; }
ol.timeline li.empty { display: block; }
ul.plain { list-style: none; padding: 0; margin: 0; font-size: 12px; }
.empty { color: var(--muted); font-style: italic; }
footer { padding: 8px 20px 20px; color: var(--muted); font-size: 12px; }
@media (max-width: 900px) { main { grid-template-columns: 1fr; } }
`;
