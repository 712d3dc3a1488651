import { deadLetterId, valueText } from '@lib/dead-letters';
import { AppName, Apps } from '@lib/events';
import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
  ServiceUnavailableException,
  UseGuards,
} from '@nestjs/common';
import { ApiErrors } from '@lib/service';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { DeadLetterActions } from '../dead-letters/dead-letter-actions';
import { DeadLetterStore, StoredDeadLetter } from '../dead-letters/dead-letter-store';
import { DeadLetterIngester } from '../dead-letters/dead-letter-ingester';
import { Sampler } from '../overview/sampler';
import { ConsoleTokenGuard, operatorOf } from './console-token';
import { parseFilter } from './console.controller';
import {
  ConsoleHealthDownResponse,
  ConsoleHealthResponse,
  DeadLetterActionsResponse,
  DeadLetterPageResponse,
  DeadLetterResponse,
  DiscardedResponse,
  OverviewResponse,
  ReplayOutcomeResponse,
} from './api.responses';

const ID_PARAM = { name: 'id', description: 'dead letter id `<dlq topic>/<partition>@<offset>`, URL-encoded', example: 'order.dlq%2F0@12' };
const FILTERS = ['app', 'topic', 'kind', 'state', 'since', 'until', 'q'];
const NOTE_BODY = {
  required: false,
  schema: { type: 'object', properties: { note: { type: 'string', description: 'why (recorded with the action)', example: 'order restored' } } },
};

function toJson(l: StoredDeadLetter) {
  const { key, value, ...record } = l.record;
  return {
    ...record,
    id: deadLetterId(l.record),
    app: l.app,
    orderId: l.orderId,
    key: key?.toString('utf8') ?? null,
    value: valueText(value).text,
    state: l.state,
    action: l.action,
  };
}

/** The console's JSON API: what the pages show, for scripts and `npm run dlq`; changes need the console token. */
@ApiTags('console')
@Controller('api')
export class ApiController {
  constructor(
    private readonly sampler: Sampler,
    private readonly store: DeadLetterStore,
    private readonly actions: DeadLetterActions,
  ) {}

  @Get('overview')
  @ApiOperation({ summary: 'The latest sample of every app and the chart points of the last minutes' })
  @ApiResponse({ status: 200, type: OverviewResponse })
  async overview() {
    return { ...(await this.sampler.current()), history: this.sampler.points() };
  }

  @Get('dead-letters')
  @ApiOperation({ summary: 'Dead letters of all apps, newest first, 25 per page; filters app, topic, kind, state, since, until, q' })
  @ApiQuery({ name: 'app', required: false, enum: Apps })
  @ApiQuery({ name: 'topic', required: false, description: 'the original topic', example: 'payment.completed' })
  @ApiQuery({ name: 'kind', required: false, description: 'error kind', example: 'handler_error' })
  @ApiQuery({ name: 'state', required: false, enum: ['waiting', 'replayed', 'discarded'] })
  @ApiQuery({ name: 'since', required: false, description: 'date and time (UTC when no zone)', example: '2026-11-22T10:00' })
  @ApiQuery({ name: 'until', required: false, description: 'date and time (UTC when no zone)', example: '2026-11-22T12:00' })
  @ApiQuery({ name: 'q', required: false, description: 'an order id, event id or correlation id' })
  @ApiQuery({ name: 'page', required: false, schema: { type: 'integer', minimum: 1, example: 1 } })
  @ApiResponse({ status: 200, type: DeadLetterPageResponse })
  @ApiErrors([400, 'a malformed filter, named'])
  async deadLetters(@Query() q: Record<string, unknown>) {
    const { query, page } = parseFilter(q);
    const { items, total } = await this.store.find(query, { offset: (page - 1) * 25, limit: 25 });
    return { items: items.map(toJson), total, page };
  }

  @Get('dead-letters/actions')
  @ApiOperation({ summary: 'The latest recorded action (replayed or discarded) of every dead letter that has one; `npm run dlq -- list` shows them' })
  @ApiQuery({ name: 'app', required: false, enum: Apps })
  @ApiResponse({ status: 200, type: DeadLetterActionsResponse })
  @ApiErrors([400, 'unknown app'])
  async recordedActions(@Query('app') app?: string) {
    if (app !== undefined && !(Apps as readonly string[]).includes(app)) throw new BadRequestException(`app must be one of ${Apps.join(', ')}, not "${app}"`);
    return { items: await this.store.actions(app as AppName | undefined) };
  }

  @Get('dead-letters/:id')
  @ApiOperation({ summary: 'One dead letter with its state and latest action' })
  @ApiParam(ID_PARAM)
  @ApiResponse({ status: 200, type: DeadLetterResponse })
  @ApiErrors([404, 'no dead letter with that id'])
  async deadLetter(@Param('id') id: string) {
    const letter = await this.store.get(id);
    if (!letter) throw new NotFoundException(`no dead letter ${id}`);
    return toJson(letter);
  }

  @Post('dead-letters/replay-all')
  @HttpCode(200)
  @ApiBearerAuth()
  @UseGuards(ConsoleTokenGuard)
  @ApiOperation({ summary: 'Replays every waiting dead letter matching the filter in the body (one per event)' })
  @ApiBody({
    required: false,
    schema: {
      type: 'object',
      properties: { ...Object.fromEntries(FILTERS.map((f) => [f, { type: 'string' }])), note: { type: 'string' } },
      example: { app: 'order', topic: 'payment.completed', note: 'orders restored' },
    },
  })
  @ApiResponse({ status: 200, type: ReplayOutcomeResponse })
  @ApiErrors([400, 'a malformed filter, named'], 401)
  async replayAll(@Req() req: Request, @Body() body: Record<string, unknown>) {
    const { query } = parseFilter(body ?? {});
    return this.actions.replayAll(query, operatorOf(req), typeof body?.note === 'string' ? body.note : null);
  }

  @Post('dead-letters/:id/replay')
  @HttpCode(200)
  @ApiBearerAuth()
  @UseGuards(ConsoleTokenGuard)
  @ApiOperation({ summary: 'Replays one dead letter to its original topic' })
  @ApiParam(ID_PARAM)
  @ApiBody(NOTE_BODY)
  @ApiResponse({ status: 200, type: ReplayOutcomeResponse })
  @ApiErrors(401, [404, 'no dead letter with that id'], [409, 'it cannot be replayed (no event id or original topic)'])
  async replay(@Req() req: Request, @Param('id') id: string, @Body() body: Record<string, unknown>) {
    return this.actions.replay(id, operatorOf(req), typeof body?.note === 'string' ? body.note : null);
  }

  @Post('dead-letters/:id/discard')
  @HttpCode(200)
  @ApiBearerAuth()
  @UseGuards(ConsoleTokenGuard)
  @ApiOperation({ summary: 'Discards one dead letter, with a note saying why' })
  @ApiParam(ID_PARAM)
  @ApiBody({ ...NOTE_BODY, required: true })
  @ApiResponse({ status: 200, type: DiscardedResponse })
  @ApiErrors([400, 'no note'], 401, [404, 'no dead letter with that id'])
  async discard(@Req() req: Request, @Param('id') id: string, @Body() body: Record<string, unknown>) {
    const note = typeof body?.note === 'string' ? body.note.trim() : '';
    if (!note) throw new BadRequestException('discarding needs a note: why it can go');
    await this.actions.discard(id, operatorOf(req), note);
    return { discarded: id };
  }
}

/** `/health/live` and `/health/ready` (its database answers and its dead-letter consumer has joined), as the apps have them. */
@ApiTags('health')
@Controller('health')
export class ConsoleHealthController {
  constructor(
    private readonly store: DeadLetterStore,
    private readonly ingester: DeadLetterIngester,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers' })
  @ApiResponse({ status: 200, type: ConsoleHealthResponse })
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: its database answers and its dead-letter consumer has joined' })
  @ApiResponse({ status: 200, type: ConsoleHealthResponse })
  @ApiResponse({ status: 503, description: 'not ready, with the failed check', type: ConsoleHealthDownResponse })
  async ready() {
    const consumer = this.ingester.status();
    try {
      await this.store.waitingPerApp();
    } catch (error) {
      throw new ServiceUnavailableException({ status: 'error', error: { database: { status: 'down', message: (error as Error).message } } });
    }
    if (consumer.state !== 'joined') {
      throw new ServiceUnavailableException({
        status: 'error',
        error: { consumer: { status: 'down', message: consumer.lastError ?? `dead-letter consumer is ${consumer.state}` } },
      });
    }
    return { status: 'ok' };
  }
}
