/** The dashboard's inline CSS: one column on a phone (tables become cards), no horizontal scrolling. */
export const DASHBOARD_STYLE = `
*,*::before,*::after{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1b1f24;background:#f4f6f8;overflow-wrap:anywhere}
header,main,footer{max-width:72rem;margin:0 auto;padding:0 1rem}
header{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:.5rem;padding-top:1rem}
h1{font-size:1.5rem;margin:0}
h2{font-size:1.15rem;margin:0 0 .75rem}
h3{font-size:1rem;margin:0 0 .25rem}
section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:1rem;margin:1rem 0}
footer{color:#57606a;font-size:.875rem;padding-bottom:2rem}
a{color:#0550ae}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:1}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.hint,.meta{color:#57606a;font-size:.875rem;margin:.25rem 0}
.error{color:#a40e26;font-weight:600}.error:empty,#status:empty,#live:empty{display:none}
#status{background:#ddf4ff;border:1px solid #54aeff;border-radius:6px;padding:.5rem .75rem;margin:1rem 0 0}
button{font:inherit;padding:.45rem .9rem;border-radius:6px;border:1px solid #1f6feb;background:#1f6feb;color:#fff;cursor:pointer;min-height:2.5rem}
button[type=button]{background:#fff;color:#0550ae}
button:disabled{opacity:.6;cursor:progress}
button:focus-visible,input:focus-visible,a:focus-visible,summary:focus-visible{outline:3px solid #fb8f44;outline-offset:2px}
label{display:block;font-weight:600;margin:.5rem 0 .25rem}
input{font:inherit;padding:.4rem .5rem;border:1px solid #8c959f;border-radius:6px;width:100%;max-width:24rem}
fieldset{border:1px solid #d0d7de;border-radius:6px;margin:0 0 1rem;padding:.5rem 1rem 1rem}
legend{font-weight:600;padding:0 .25rem}
fieldset button,form>button{margin-top:.75rem}
.gauge label{margin-top:0}
meter{width:100%;max-width:32rem;height:1.5rem;display:block}
#gauge-text{font-weight:600}
.counts{display:grid;grid-template-columns:repeat(auto-fit,minmax(8rem,1fr));gap:.5rem;margin:1rem 0 .5rem}
.counts div{border:1px solid #d0d7de;border-radius:6px;padding:.5rem .75rem}
.counts dt{font-size:.875rem;color:#57606a}.counts dd{margin:0;font-size:1.6rem;font-weight:700}
.cards{list-style:none;margin:0;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(17rem,1fr));gap:.75rem}
.cards li{border:1px solid #d0d7de;border-radius:6px;padding:.75rem}
.cards li.stuck,.cards li.failed,.cards li.alert{border-left:4px solid #cf222e}
.cards li.provisioning{border-left:4px solid #1f6feb}
.cards label{font-weight:400;font-size:.875rem}
progress{width:100%;height:1rem}
.progress-text{margin:0 0 .5rem;font-size:.875rem}
.plain{padding-left:1.25rem}
code{font:.875em ui-monospace,monospace;background:#f4f6f8;padding:0 .2rem;border-radius:4px}
summary{cursor:pointer;color:#0550ae;margin:.5rem 0}
table{width:100%;border-collapse:collapse;font-size:.9rem}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid #d0d7de;vertical-align:top}
th{font-size:.8rem;text-transform:uppercase;letter-spacing:.03em;color:#57606a}
tr.at-cap td{background:#ffebe9;font-weight:600}
.switch{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;padding:.25rem 1rem .5rem}
.switch label{display:flex;gap:.35rem;align-items:center;font-weight:400;margin:0}
.switch input{width:auto}
.chart svg{display:block;width:100%;height:auto}
.chart .grid{stroke:#d0d7de}
.chart .axis{font-size:11px;fill:#57606a}
.line{fill:none;stroke-width:2;stroke-linejoin:round}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:.35rem 1.25rem;margin:.5rem 0;padding:0;font-size:.875rem}
.legend li{display:flex;align-items:center;gap:.4rem}
.swatch{display:inline-block;width:1.75rem;border-top:3px solid}
.s-assigned{stroke:#0072b2;border-top-color:#0072b2}
.s-unassigned{stroke:#e69f00;border-top-color:#e69f00}
.s-provisioning{stroke:#009e73;border-top-color:#009e73;stroke-dasharray:2 3;border-top-style:dotted}
.s-free_numbers{stroke:#8e3b84;border-top-color:#8e3b84;stroke-width:3}
.s-limit{stroke:#cf222e;border-top-color:#cf222e;stroke-dasharray:8 5;border-top-style:dashed}
#pool-twilio:empty{display:none}
[hidden]{display:none!important}
@media (max-width:40rem){
  h1{font-size:1.25rem}
  section{padding:.75rem}
  thead{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%)}
  table,tbody,tr,td{display:block;width:100%}
  tr{border:1px solid #d0d7de;border-radius:6px;margin:0 0 .5rem;padding:.25rem .5rem}
  td{border:0;padding:.15rem 0;display:grid;grid-template-columns:9rem 1fr;gap:.5rem}
  td::before{content:attr(data-label);font-weight:600;color:#57606a}
}
`;
