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
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { DeadLetterActions } from '../dead-letters/dead-letter-actions';
import { DeadLetterStore, StoredDeadLetter } from '../dead-letters/dead-letter-store';
import { DeadLetterIngester } from '../dead-letters/dead-letter-ingester';
import { Sampler } from '../overview/sampler';
import { ConsoleTokenGuard, operatorOf } from './console-token';
import { parseFilter } from './console.controller';

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
  async overview() {
    return { ...(await this.sampler.current()), history: this.sampler.points() };
  }

  @Get('dead-letters')
  @ApiOperation({ summary: 'Dead letters of all apps, newest first, 25 per page; filters app, topic, kind, state, since, until, q' })
  async deadLetters(@Query() q: Record<string, unknown>) {
    const { query, page } = parseFilter(q);
    const { items, total } = await this.store.find(query, { offset: (page - 1) * 25, limit: 25 });
    return { items: items.map(toJson), total, page };
  }

  @Get('dead-letters/actions')
  @ApiOperation({ summary: 'The latest recorded action (replayed or discarded) of every dead letter that has one; `npm run dlq -- list` shows them' })
  async recordedActions(@Query('app') app?: string) {
    if (app !== undefined && !(Apps as readonly string[]).includes(app)) throw new BadRequestException(`app must be one of ${Apps.join(', ')}, not "${app}"`);
    return { items: await this.store.actions(app as AppName | undefined) };
  }

  @Get('dead-letters/:id')
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
  async replayAll(@Req() req: Request, @Body() body: Record<string, unknown>) {
    const { query } = parseFilter(body ?? {});
    return this.actions.replayAll(query, operatorOf(req), typeof body?.note === 'string' ? body.note : null);
  }

  @Post('dead-letters/:id/replay')
  @HttpCode(200)
  @ApiBearerAuth()
  @UseGuards(ConsoleTokenGuard)
  async replay(@Req() req: Request, @Param('id') id: string, @Body() body: Record<string, unknown>) {
    return this.actions.replay(id, operatorOf(req), typeof body?.note === 'string' ? body.note : null);
  }

  @Post('dead-letters/:id/discard')
  @HttpCode(200)
  @ApiBearerAuth()
  @UseGuards(ConsoleTokenGuard)
  async discard(@Req() req: Request, @Param('id') id: string, @Body() body: Record<string, unknown>) {
    const note = typeof body?.note === 'string' ? body.note.trim() : '';
    if (!note) throw new BadRequestException('discarding needs a note: why it can go');
    await this.actions.discard(id, operatorOf(req), note);
    return { discarded: id };
  }
}

/** `/health/live` and `/health/ready` (its database answers and its dead-letter consumer has joined), as the apps have them. */
@Controller('health')
export class ConsoleHealthController {
  constructor(
    private readonly store: DeadLetterStore,
    private readonly ingester: DeadLetterIngester,
  ) {}

  @Get('live')
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
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
