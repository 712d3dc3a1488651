import { valueText } from '@lib/dead-letters';
import { DeadLetterQuery, StoredDeadLetter } from '../dead-letters/dead-letter-store';
import { Journey } from '../journey/journey';
import { HISTORY_MINUTES, HistoryPoint, Sample } from '../overview/sampler';
import { Html, html, time } from './html';

const fixed = (n: number, digits = 1) => (Math.round(n * 10 ** digits) / 10 ** digits).toFixed(digits);

/** A small line chart of the last minutes: events handled per second and total lag, each on its own scale. */
export function chart(points: readonly HistoryPoint[], now: number): Html {
  const W = 1000;
  const H = 110;
  const from = now - HISTORY_MINUTES * 60_000;
  const x = (at: number) => ((at - from) / (HISTORY_MINUTES * 60_000)) * W;
  const line = (values: number[], color: string) => {
    const max = Math.max(1, ...values);
    const coords = points.map((p, i) => `${x(p.at).toFixed(1)},${(H - 4 - (values[i] / max) * (H - 12)).toFixed(1)}`).join(' ');
    return html`<polyline fill="none" stroke="${color}" stroke-width="2" points="${coords}" />`;
  };
  const rate = points.map((p) => p.eventsPerSecond);
  const lag = points.map((p) => p.lag);
  const last = points[points.length - 1];
  return html`<div class="chart">
    <div class="legend">
      <b>last ${HISTORY_MINUTES} minutes</b> ·
      <span style="color:#2d6cdf">■ events/s handled (max ${fixed(Math.max(0, ...rate))}, now ${fixed(last?.eventsPerSecond ?? 0)})</span
      ><span style="color:#c4372d">■ consumer lag (max ${Math.max(0, ...lag)}, now ${last?.lag ?? 0})</span>
    </div>
    <svg viewBox="0 0 ${W} ${H}" width="100%" height="${H}" preserveAspectRatio="none" role="img" aria-label="throughput and lag">
      <line x1="0" y1="${H - 4}" x2="${W}" y2="${H - 4}" stroke="#dde3ea" />
      ${line(rate, '#2d6cdf')}${line(lag, '#c4372d')}
    </svg>
  </div>`;
}

/** The live part of the overview, fetched again every few seconds. */
export function overviewFragment(sample: Sample, points: readonly HistoryPoint[], canAct: boolean): Html {
  const cards = sample.apps.map((a) => {
    const lagTotal = Object.values(a.lag).reduce((x, y) => x + y, 0);
    return html`<section class="card" data-app="${a.app}">
      <h2>
        ${a.app} <span class="badge ${a.ready ? 'ok' : 'bad'}" data-testid="ready">${a.ready ? 'ready' : 'not ready'}</span>
        <a class="muted" href="${a.url}/docs" style="font-size:12px;font-weight:400">${a.url}</a>
      </h2>
      ${a.why ? html`<div class="why" data-testid="why">${a.why}</div>` : ''}
      <div class="figures">
        <div><span>events/s handled</span><b data-testid="rate">${fixed(a.eventsPerSecond)}</b></div>
        <div><span>consumer lag</span><b data-testid="lag-total">${lagTotal}</b></div>
        <div>
          <span>dead letters waiting</span><b data-testid="dead-letters"><a href="/dead-letters?app=${a.app}&state=waiting">${a.deadLettersWaiting}</a></b>
        </div>
        <div><span>outbox backlog</span><b data-testid="outbox-backlog">${a.outbox ? a.outbox.pending : '—'}</b></div>
        <div><span>oldest pending</span><b data-testid="outbox-age">${a.outbox ? `${fixed(a.outbox.oldestPendingAgeSeconds)} s` : '—'}</b></div>
        <div><span>parked rows</span><b data-testid="parked">${a.outbox ? a.outbox.parked : '—'}</b></div>
      </div>
      <table>
        <tr>
          <th>topic consumed</th>
          <th class="num">lag</th>
        </tr>
        ${Object.entries(a.lag)
          .sort(([x], [y]) => x.localeCompare(y))
          .map(
            ([topic, n]) =>
              html`<tr>
                <td>${topic}</td>
                <td class="num" data-testid="lag-${topic}">${n}</td>
              </tr>`,
          )}
        ${
          Object.keys(a.lag).length === 0
            ? html`<tr>
                <td colspan="2" class="muted">no committed offsets yet</td>
              </tr>`
            : ''
        }
      </table>
      ${
        a.parked.length
          ? html`<h2>parked outbox rows</h2>
              <table>
                <tr>
                  <th>row</th>
                  <th>event</th>
                  <th>error</th>
                  <th></th>
                </tr>
                ${a.parked.map(
                  (p) =>
                    html`<tr>
                      <td>${p.id}</td>
                      <td>${p.eventType}<br /><span class="muted">${p.eventId}</span></td>
                      <td class="why">${p.lastError ?? ''}</td>
                      <td>
                        ${
                          canAct
                            ? html`<form
                                method="post"
                                action="/apps/${a.app}/outbox/parked/${p.id}/release"
                                onsubmit="return confirm('Release parked row ${p.id} of ${a.app}? The relay publishes it again.')"
                              >
                                <button>release</button>
                              </form>`
                            : ''
                        }
                      </td>
                    </tr>`,
                )}
              </table>`
          : ''
      }
    </section>`;
  });
  return html`${chart(points, sample.at)}${sample.kafkaError ? html`<div class="flash error">Kafka: ${sample.kafkaError}</div>` : ''}
    <div class="cards">${cards}</div>
    <p class="muted" data-testid="sampled-at">sampled ${time(sample.at)} UTC</p>`;
}

export function overviewPage(fragment: Html, intervalMs: number): { body: Html; script: string } {
  return {
    body: html`<h1>Is it flowing?</h1>
      <div id="live">${fragment}</div>`,
    // Refreshes the live part in place (no reload); the server renders it.
    script: `setInterval(async () => { try { const r = await fetch('/overview/live', { cache: 'no-store' }); if (r.ok) document.getElementById('live').innerHTML = await r.text(); } catch (e) {} }, ${intervalMs});`,
  };
}

function stateBadge(l: StoredDeadLetter): Html {
  return html`<span class="badge ${l.state}" data-testid="state">${l.state}</span>`;
}

export interface ListView {
  query: DeadLetterQuery;
  raw: Record<string, string>;
  items: StoredDeadLetter[];
  total: number;
  page: number;
  pageSize: number;
  facets: { topics: string[]; kinds: string[] };
  canAct: boolean;
  flash: string | null;
}

export function deadLettersPage(v: ListView): Html {
  const option = (value: string, current: string | undefined, label = value) =>
    html`<option value="${value}" ${value === (current ?? '') ? new Html('selected') : ''}>${label}</option>`;
  const qs = (page: number) => new URLSearchParams({ ...v.raw, page: String(page) }).toString();
  const pages = Math.max(1, Math.ceil(v.total / v.pageSize));
  const filterFields = Object.entries(v.raw)
    .filter(([k]) => k !== 'page')
    .map(([k, val]) => html`<input type="hidden" name="${k}" value="${val}" />`);
  return html`<h1>Dead letters</h1>
    ${v.flash ? html`<div class="flash" data-testid="flash">${v.flash}</div>` : ''}
    <form class="filters" method="get" action="/dead-letters">
      <label
        >app<select name="app">
          ${option('', v.raw.app, 'all')}${['order', 'payment', 'notification'].map((a) => option(a, v.raw.app))}
        </select></label
      >
      <label
        >topic<select name="topic">
          ${option('', v.raw.topic, 'all')}${v.facets.topics.map((t) => option(t, v.raw.topic))}
        </select></label
      >
      <label
        >error kind<select name="kind">
          ${option('', v.raw.kind, 'all')}${v.facets.kinds.map((k) => option(k, v.raw.kind))}
        </select></label
      >
      <label
        >state<select name="state">
          ${option('', v.raw.state, 'all')}${['waiting', 'replayed', 'discarded'].map((s) => option(s, v.raw.state))}
        </select></label
      >
      <label>since<input type="datetime-local" name="since" value="${v.raw.since ?? ''}" /></label>
      <label>until<input type="datetime-local" name="until" value="${v.raw.until ?? ''}" /></label>
      <label>order / event / correlation id<input name="q" value="${v.raw.q ?? ''}" size="30" /></label>
      <button>filter</button> <a href="/dead-letters">clear</a>
    </form>
    ${
      v.canAct
        ? html`<form
            method="post"
            action="/dead-letters/replay-all"
            onsubmit="return confirm('Replay every waiting dead letter matching this filter to its original topic?')"
            style="margin-bottom:10px"
          >
            ${filterFields}<input name="note" placeholder="note (optional)" size="40" />
            <button class="secondary" data-testid="replay-all">replay all waiting that match</button>
          </form>`
        : html`<p class="muted"><a href="/login?next=/dead-letters">Sign in</a> to replay or discard.</p>`
    }
    <table data-testid="dead-letters">
      <tr>
        <th>failed at (UTC)</th>
        <th>app</th>
        <th>original topic</th>
        <th>error kind</th>
        <th>reason</th>
        <th class="num">attempts</th>
        <th>state</th>
      </tr>
      ${v.items.map(
        (l) =>
          html`<tr data-id="${l.id}">
            <td><a href="/dead-letters/${encodeURIComponent(l.id)}">${time(Number(l.record.timestamp))}</a></td>
            <td>${l.app}</td>
            <td>${l.record.originalTopic ?? '—'}</td>
            <td>${l.record.errorKind ?? '—'}</td>
            <td data-testid="reason">${l.record.errorMessage ?? ''}</td>
            <td class="num">${l.record.attempts ?? '—'}</td>
            <td>${stateBadge(l)}</td>
          </tr>`,
      )}
      ${
        v.items.length === 0
          ? html`<tr>
              <td colspan="7" class="muted">no dead letters match</td>
            </tr>`
          : ''
      }
    </table>
    <div class="pager">
      <span data-testid="total">${v.total} dead letter${v.total === 1 ? '' : 's'}</span> · page ${v.page} of ${pages}
      ${v.page > 1 ? html`<a href="/dead-letters?${qs(v.page - 1)}">← newer</a>` : ''}
      ${v.page < pages ? html`<a href="/dead-letters?${qs(v.page + 1)}">older →</a>` : ''}
    </div>`;
}

export function deadLetterPage(l: StoredDeadLetter, canAct: boolean, flash: string | null): Html {
  const value = valueText(l.record.value);
  const r = l.record;
  return html`<h1>Dead letter ${l.id} ${stateBadge(l)}</h1>
    ${flash ? html`<div class="flash" data-testid="flash">${flash}</div>` : ''}
    <div class="card">
      <dl>
        <dt>app</dt>
        <dd>${l.app}</dd>
        <dt>reason</dt>
        <dd class="why" data-testid="reason">${r.errorKind ?? '—'}: ${r.errorMessage ?? ''}</dd>
        <dt>attempts</dt>
        <dd data-testid="attempts">${r.attempts ?? '—'}</dd>
        <dt>failed at</dt>
        <dd>${time(Number(r.timestamp))} UTC</dd>
        <dt>original</dt>
        <dd>${r.originalTopic ?? '—'} [${r.originalPartition ?? '?'}] @ ${r.originalOffset ?? '?'}</dd>
        <dt>consumer group</dt>
        <dd>${r.consumerGroup ?? '—'}</dd>
        <dt>event id</dt>
        <dd>${r.eventId ?? '—'}</dd>
        <dt>key</dt>
        <dd>${r.key ? r.key.toString('utf8') : '—'}</dd>
        <dt>order</dt>
        <dd>${l.orderId ? html`<a href="/journey?q=${encodeURIComponent(l.orderId)}">${l.orderId}</a>` : '—'}</dd>
        ${
          l.action
            ? html`<dt>${l.action.action}</dt>
                <dd data-testid="action">by ${l.action.operator} at ${time(l.action.at)} UTC${l.action.note ? ` — ${l.action.note}` : ''}</dd>`
            : ''
        }
      </dl>
    </div>
    <h2>headers</h2>
    <table>
      ${Object.entries(r.headers)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(
          ([k, val]) =>
            html`<tr>
              <th style="width:220px">${k}</th>
              <td>${val}</td>
            </tr>`,
        )}
    </table>
    <h2>value ${value.json ? '(JSON)' : '(raw text, not JSON)'}</h2>
    <pre data-testid="value">${value.text}</pre>
    ${
      canAct
        ? html`<div style="display:flex;gap:18px;flex-wrap:wrap">
            <form
              method="post"
              action="/dead-letters/${encodeURIComponent(l.id)}/replay"
              onsubmit="return confirm('Replay this dead letter to ${r.originalTopic ?? '?'}?')"
            >
              <input name="note" placeholder="note (optional)" size="30" /> <button data-testid="replay">replay</button>
            </form>
            <form
              method="post"
              action="/dead-letters/${encodeURIComponent(l.id)}/discard"
              onsubmit="return confirm('Discard this dead letter? It stays in Kafka, marked as discarded.')"
            >
              <input name="note" placeholder="why (required)" required size="30" /> <button class="danger" data-testid="discard">discard</button>
            </form>
          </div>`
        : html`<p class="muted"><a href="/login?next=/dead-letters/${encodeURIComponent(l.id)}">Sign in</a> to replay or discard.</p>`
    }`;
}

export function journeyPage(query: string, journey: Journey | null): Html {
  return html`<h1>Order journey</h1>
    <form class="filters" method="get" action="/journey">
      <label>order id or correlation id<input name="q" value="${query}" size="44" autofocus /></label><button>show</button>
    </form>
    ${
      journey
        ? html`${journey.unreachable.map((u) => html`<div class="flash error">${u}</div>`)}
            <p>
              order
              <b data-testid="order-id">${journey.orderId ?? 'not found'}</b
              >${journey.status ? html` · status <span class="badge ${journey.status === 'CONFIRMED' ? 'ok' : journey.status === 'CANCELLED' ? 'bad' : 'warn'}" data-testid="status">${journey.status}</span>` : ''}
            </p>
            ${
              journey.steps.length
                ? html`<ol class="timeline" data-testid="timeline">
                    ${journey.steps.map(
                      (s) =>
                        html`<li class="${s.kind}" data-app="${s.app}">
                          <time>${time(s.at)}</time><b data-testid="step">${s.what}</b> <span class="muted">· ${s.app}</span><br /><span>${s.detail}</span>${
                            s.letterId ? html` · <a href="/dead-letters/${encodeURIComponent(s.letterId)}">open</a>` : ''
                          }
                        </li>`,
                    )}
                  </ol>`
                : html`<p class="muted">nothing found for ${journey.query}</p>`
            }`
        : ''
    }`;
}

export function loginPage(next: string, error: string | null): Html {
  return html`<h1>Sign in to act</h1>
    ${error ? html`<div class="flash error">${error}</div>` : ''}
    <form method="post" action="/login" class="card" style="max-width:460px;display:flex;flex-direction:column;gap:10px">
      <label>your name (recorded with every action)<input name="operator" required /></label>
      <label>console token (CONSOLE_ADMIN_TOKEN; printed at start when generated)<input name="token" type="password" required /></label>
      <input type="hidden" name="next" value="${next}" /><button>sign in</button>
    </form>`;
}
