import { DeadLetterState } from '@lib/dead-letters';
import { AppName, Apps } from '@lib/events';
import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { DeadLetterActions } from '../dead-letters/dead-letter-actions';
import { DeadLetterQuery, DeadLetterStore } from '../dead-letters/dead-letter-store';
import { orderJourney } from '../journey/journey';
import { Sampler } from '../overview/sampler';
import { AppClient } from '../upstream/app-client';
import { APP_CLIENTS, SAMPLE_INTERVAL_MS } from './tokens';
import { carriesToken, CONSOLE_TOKEN, ConsoleTokenGuard, OPERATOR_COOKIE, operatorOf, TOKEN_COOKIE } from './console-token';
import { layout } from './html';
import { deadLetterPage, deadLettersPage, journeyPage, loginPage, overviewFragment, overviewPage } from './pages';

const PAGE_SIZE = 25;
const STATES: DeadLetterState[] = ['waiting', 'replayed', 'discarded'];

/** Filters from a query string; a malformed one is a 400 that says which. */
export function parseFilter(raw: Record<string, unknown>): { query: DeadLetterQuery; raw: Record<string, string>; page: number } {
  const text = (name: string) => (typeof raw[name] === 'string' && raw[name].trim() !== '' ? raw[name].trim() : undefined);
  const date = (name: string) => {
    const value = text(name);
    if (value === undefined) return undefined;
    // datetime-local has no zone: the page shows UTC, so it means UTC.
    const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`);
    if (Number.isNaN(d.getTime())) throw new BadRequestException(`${name} must be a date and time, e.g. 2026-11-22T10:00, not "${value}"`);
    return d;
  };
  const app = text('app');
  if (app && !(Apps as readonly string[]).includes(app)) throw new BadRequestException(`app must be one of ${Apps.join(', ')}, not "${app}"`);
  const state = text('state');
  if (state && !(STATES as string[]).includes(state)) throw new BadRequestException(`state must be one of ${STATES.join(', ')}, not "${state}"`);
  const pageText = text('page') ?? '1';
  if (!/^[1-9]\d{0,5}$/.test(pageText)) throw new BadRequestException(`page must be a positive whole number, not "${pageText}"`);
  const query: DeadLetterQuery = {
    app,
    topic: text('topic'),
    kind: text('kind'),
    state: state as DeadLetterState | undefined,
    since: date('since'),
    until: date('until'),
    q: text('q'),
  };
  const kept = Object.fromEntries(['app', 'topic', 'kind', 'state', 'since', 'until', 'q'].flatMap((k) => (text(k) ? [[k, text(k)!]] : [])));
  return { query, raw: kept, page: Number(pageText) };
}

function noteOf(body: unknown): string | null {
  const note = (body as { note?: unknown } | undefined)?.note;
  return typeof note === 'string' && note.trim() ? note.trim().slice(0, 1000) : null;
}

/**
 * The console's pages (server-rendered HTML) and the form posts behind their
 * buttons. Every change needs the console token ({@link ConsoleTokenGuard}).
 */
@ApiExcludeController() // HTML pages and their form posts; the JSON API (ApiController) is what the OpenAPI document describes
@Controller()
export class ConsoleController {
  constructor(
    private readonly sampler: Sampler,
    private readonly store: DeadLetterStore,
    private readonly actions: DeadLetterActions,
    @Inject(APP_CLIENTS) private readonly clients: Record<AppName, AppClient>,
    @Inject(CONSOLE_TOKEN) private readonly token: string,
    @Inject(SAMPLE_INTERVAL_MS) private readonly intervalMs: number,
  ) {}

  private operator(req: Request): string | null {
    return carriesToken(req, this.token) ? operatorOf(req) : null;
  }

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  async overview(@Req() req: Request) {
    const fragment = overviewFragment(await this.sampler.current(), this.sampler.points(), this.operator(req) !== null);
    const { body, script } = overviewPage(fragment, this.intervalMs);
    return layout({ title: 'Overview', active: 'overview', operator: this.operator(req), body, script });
  }

  @Get('overview/live')
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-store')
  async live(@Req() req: Request) {
    return overviewFragment(await this.sampler.current(), this.sampler.points(), this.operator(req) !== null).text;
  }

  @Get('dead-letters')
  @Header('content-type', 'text/html; charset=utf-8')
  async deadLetters(@Req() req: Request, @Query() q: Record<string, unknown>) {
    const { query, raw, page } = parseFilter(q);
    const [{ items, total }, facets] = await Promise.all([this.store.find(query, { offset: (page - 1) * PAGE_SIZE, limit: PAGE_SIZE }), this.store.facets()]);
    const flash = typeof q.flash === 'string' ? q.flash : null;
    const body = deadLettersPage({ query, raw, items, total, page, pageSize: PAGE_SIZE, facets, canAct: this.operator(req) !== null, flash });
    return layout({ title: 'Dead letters', active: 'dead-letters', operator: this.operator(req), body });
  }

  @Get('dead-letters/:id')
  @Header('content-type', 'text/html; charset=utf-8')
  async deadLetter(@Req() req: Request, @Param('id') id: string, @Query('flash') flash?: string) {
    const letter = await this.store.get(id);
    if (!letter) throw new NotFoundException(`no dead letter ${id}`);
    const body = deadLetterPage(letter, this.operator(req) !== null, flash ?? null);
    return layout({ title: `Dead letter ${id}`, active: 'dead-letters', operator: this.operator(req), body });
  }

  @Post('dead-letters/replay-all')
  @UseGuards(ConsoleTokenGuard)
  async replayAll(@Req() req: Request, @Body() body: Record<string, unknown>, @Res() res: Response) {
    const { query, raw } = parseFilter(body);
    const outcome = await this.actions.replayAll(query, operatorOf(req), noteOf(body));
    await this.sampler.sample();
    const flash = `replayed ${outcome.replayed.length}${outcome.skipped.length ? `; ${outcome.skipped.length} cannot be replayed (no event id or original topic)` : ''}`;
    res.redirect(303, `/dead-letters?${new URLSearchParams({ ...raw, flash }).toString()}`);
  }

  @Post('dead-letters/:id/replay')
  @UseGuards(ConsoleTokenGuard)
  async replay(@Req() req: Request, @Param('id') id: string, @Body() body: unknown, @Res() res: Response) {
    await this.actions.replay(id, operatorOf(req), noteOf(body));
    await this.sampler.sample();
    res.redirect(303, `/dead-letters/${encodeURIComponent(id)}?flash=${encodeURIComponent('replayed to its original topic')}`);
  }

  @Post('dead-letters/:id/discard')
  @UseGuards(ConsoleTokenGuard)
  async discard(@Req() req: Request, @Param('id') id: string, @Body() body: unknown, @Res() res: Response) {
    const note = noteOf(body);
    if (!note) throw new BadRequestException('discarding needs a note: why it can go');
    await this.actions.discard(id, operatorOf(req), note);
    await this.sampler.sample();
    res.redirect(303, `/dead-letters/${encodeURIComponent(id)}?flash=discarded`);
  }

  @Post('apps/:app/outbox/parked/:row/release')
  @UseGuards(ConsoleTokenGuard)
  async release(@Param('app') app: string, @Param('row') row: string, @Res() res: Response) {
    if (!(Apps as readonly string[]).includes(app)) throw new NotFoundException(`no app ${app}`);
    if (!/^\d+$/.test(row)) throw new BadRequestException(`row must be a number, not "${row}"`);
    const answer = await this.clients[app as AppName].post(`/admin/outbox/parked/${row}/release`);
    if (!answer.ok || answer.status !== 200)
      throw new BadRequestException(`${app} did not release row ${row}: ${answer.ok ? JSON.stringify(answer.body) : answer.error}`);
    await this.sampler.sample();
    res.redirect(303, '/');
  }

  @Get('journey')
  @Header('content-type', 'text/html; charset=utf-8')
  async journey(@Req() req: Request, @Query('q') q?: string) {
    const query = typeof q === 'string' ? q.trim() : '';
    if (query.length > 200) throw new BadRequestException('q is at most 200 characters');
    const journey = query ? await orderJourney(query, this.clients, this.store) : null;
    return layout({ title: 'Order journey', active: 'journey', operator: this.operator(req), body: journeyPage(query, journey) });
  }

  @Get('login')
  @Header('content-type', 'text/html; charset=utf-8')
  login(@Req() req: Request, @Query('next') next?: string) {
    return layout({ title: 'Sign in', active: 'login', operator: this.operator(req), body: loginPage(safeNext(next), null) });
  }

  @Post('login')
  @HttpCode(200)
  signIn(@Body() body: Record<string, unknown>, @Res() res: Response) {
    const operator = typeof body.operator === 'string' ? body.operator.trim().slice(0, 100) : '';
    const token = typeof body.token === 'string' ? body.token.trim() : '';
    const next = safeNext(typeof body.next === 'string' ? body.next : undefined);
    if (!operator || !carriesToken({ headers: { authorization: `Bearer ${token}` } }, this.token)) {
      res
        .status(401)
        .type('html')
        .send(layout({ title: 'Sign in', active: 'login', operator: null, body: loginPage(next, operator ? 'wrong token' : 'give your name') }));
      return;
    }
    const cookie = { httpOnly: true, sameSite: 'strict' as const, path: '/' };
    res.cookie(TOKEN_COOKIE, token, cookie).cookie(OPERATOR_COOKIE, operator, cookie).redirect(303, next);
  }

  @Get('logout')
  logout(@Res() res: Response) {
    res.clearCookie(TOKEN_COOKIE, { path: '/' }).clearCookie(OPERATOR_COOKIE, { path: '/' }).redirect(303, '/');
  }
}

/** Only paths of this console after signing in (no open redirect). */
function safeNext(next: string | undefined): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}
