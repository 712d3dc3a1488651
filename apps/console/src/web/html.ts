/** HTML that is already safe to send (escaped, or written by us). */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export function escapeHtml(value: string | number | null | undefined): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

type Part = Html | string | number | null | undefined | false | readonly Part[];

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return '';
  if (part instanceof Html) return part.text;
  if (Array.isArray(part)) return (part as readonly Part[]).map(render).join('');
  return escapeHtml(part as string | number);
}

/** Tagged template: every interpolated value is escaped unless it is `Html` (arrays are joined). */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0];
  values.forEach((v, i) => (out += render(v) + strings[i + 1]));
  return new Html(out);
}

/** A time for people, in UTC: `2026-11-22 10:00:01.123`. */
export function time(value: string | number | Date | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : d.toISOString().replace('T', ' ').replace('Z', '');
}

const STYLE = `
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2430;background:#f4f6f9}
header{background:#1d2430;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:center}
header a{color:#c9d4e5;text-decoration:none;font-weight:500}header a.on{color:#fff;border-bottom:2px solid #5fa8ff}
header .brand{font-weight:700;color:#fff;margin-right:12px}header .who{margin-left:auto;font-size:12px;color:#9fb0c8}
main{max-width:1240px;margin:0 auto;padding:20px 24px}h1{font-size:20px;margin:0 0 14px}h2{font-size:16px;margin:18px 0 8px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(360px,1fr));gap:14px}
.card{background:#fff;border:1px solid #dde3ea;border-radius:8px;padding:14px 16px}
.card h2{margin:0 0 6px;display:flex;align-items:center;gap:8px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
.ok{background:#dff5e6;color:#17643a}.bad{background:#fde2e1;color:#a4231c}.warn{background:#fff1d6;color:#8a5300}.muted{color:#66758a}
.replayed{background:#e3edff;color:#1f4fa3}.discarded{background:#eceff3;color:#4b5667}.waiting{background:#fff1d6;color:#8a5300}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e6eaf0;vertical-align:top}
th{font-size:12px;color:#66758a;font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.figures{display:grid;grid-template-columns:repeat(3,1fr);gap:6px 12px;margin:8px 0}.figures div span{display:block;font-size:12px;color:#66758a}
.figures div b{font-size:18px;font-variant-numeric:tabular-nums}
form.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:end;margin-bottom:12px;background:#fff;padding:10px;border:1px solid #dde3ea;border-radius:8px}
label{font-size:12px;color:#66758a;display:flex;flex-direction:column;gap:2px}input,select,textarea{font:inherit;padding:4px 6px;border:1px solid #c5cfdb;border-radius:4px}
button{font:inherit;padding:5px 12px;border-radius:4px;border:1px solid #2d6cdf;background:#2d6cdf;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#2d6cdf}button.danger{background:#c4372d;border-color:#c4372d}
pre{background:#0f1620;color:#d6e2f0;padding:12px;border-radius:6px;overflow:auto;max-height:420px;font-size:12.5px}
.why{color:#a4231c;font-size:13px}.pager{display:flex;gap:12px;align-items:center;margin:10px 0}
ol.timeline{list-style:none;padding:0;margin:0;border-left:3px solid #c5cfdb}ol.timeline li{margin:0 0 12px 0;padding:4px 0 4px 14px;position:relative}
ol.timeline li::before{content:"";position:absolute;left:-8px;top:9px;width:13px;height:13px;border-radius:50%;background:#2d6cdf}
ol.timeline li.dead-letter::before{background:#c4372d}ol.timeline time{font-variant-numeric:tabular-nums;color:#66758a;font-size:12px;margin-right:8px}
.chart{background:#fff;border:1px solid #dde3ea;border-radius:8px;padding:10px 14px;margin-bottom:14px}.legend span{margin-right:14px;font-size:12px}
.flash{padding:8px 12px;border-radius:6px;background:#e3edff;margin-bottom:12px}.flash.error{background:#fde2e1}
dl{display:grid;grid-template-columns:200px 1fr;gap:4px 12px;margin:0}dt{color:#66758a}dd{margin:0;word-break:break-all}
`;

export interface LayoutOptions {
  title: string;
  active: 'overview' | 'dead-letters' | 'journey' | 'login';
  operator: string | null;
  body: Html;
  script?: string;
}

/** The page around every view: navigation, styles (inline: nothing is fetched from elsewhere). */
export function layout(o: LayoutOptions): string {
  const nav = (href: string, key: LayoutOptions['active'], label: string) => html`<a href="${href}" class="${o.active === key ? 'on' : ''}">${label}</a>`;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <title>${o.title} · ops console</title>
        <style>
          ${new Html(STYLE)}
        </style>
      </head>
      <body>
        <header>
          <span class="brand">order saga · ops console</span>${nav('/', 'overview', 'Overview')}${nav('/dead-letters', 'dead-letters', 'Dead letters')}${nav(
            '/journey',
            'journey',
            'Order journey',
          )}<span class="who"
            >${o.operator ? html`signed in as ${o.operator} · <a href="/logout">sign out</a>` : html`<a href="/login">sign in to act</a>`}</span
          >
        </header>
        <main>${o.body}</main>
        ${o.script ? new Html(`<script>${o.script}</script>`) : ''}
      </body>
    </html>`.text;
}
