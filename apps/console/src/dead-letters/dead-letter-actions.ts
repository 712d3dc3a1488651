import { publishReplays, selectForReplay } from '@lib/dead-letters';
import { KafkaConnectionOptions } from '@lib/kafka';
import { ConflictException, Logger, NotFoundException } from '@nestjs/common';
import { DeadLetterQuery, DeadLetterStore } from './dead-letter-store';

export interface ReplayOutcome {
  replayed: string[];
  skipped: { id: string; why: string }[];
}

/**
 * What an operator can do with dead letters: replay (to the original topic;
 * the consumers' inbox makes it safe), replay all that match a filter, and
 * discard with a note. Each action is recorded (who, when, the note) and
 * logged, so the letter shows as replayed or discarded and no longer counts
 * as waiting — on the pages and in `npm run dlq -- list`.
 */
export class DeadLetterActions {
  private readonly log = new Logger('DeadLetterActions');

  constructor(
    private readonly connection: KafkaConnectionOptions,
    private readonly store: DeadLetterStore,
  ) {}

  async replay(id: string, operator: string, note: string | null): Promise<ReplayOutcome> {
    const letter = await this.store.get(id);
    if (!letter) throw new NotFoundException(`no dead letter ${id}`);
    const { replay, skipped } = selectForReplay([letter.record], { all: true });
    if (replay.length === 0) throw new ConflictException(`dead letter ${id} cannot be replayed: ${skipped[0]?.why ?? 'unknown reason'}`);
    await publishReplays(this.connection, replay);
    await this.store.record([id], 'replayed', operator, note);
    this.log.log(`${operator} replayed ${id} (event ${letter.record.eventId}) to ${letter.record.originalTopic}${note ? `: ${note}` : ''}`);
    return { replayed: [id], skipped: [] };
  }

  /**
   * Replays every waiting dead letter matching `query`, one per event (the
   * latest); earlier letters of a replayed event are recorded as replayed with
   * it. Letters that cannot be replayed (no event id, no original topic) stay
   * waiting and are reported.
   */
  async replayAll(query: DeadLetterQuery, operator: string, note: string | null): Promise<ReplayOutcome> {
    const letters = await this.store.all({ ...query, state: 'waiting' });
    const byRecord = new Map(letters.map((l) => [l.record, l.id]));
    const { replay, skipped } = selectForReplay(
      letters.map((l) => l.record),
      { all: true },
    );
    await publishReplays(this.connection, replay);
    const superseded = skipped.filter((s) => s.why.startsWith('a later dead letter')).map((s) => byRecord.get(s.record)!);
    const replayed = [...replay.map((r) => byRecord.get(r)!), ...superseded];
    await this.store.record(replayed, 'replayed', operator, note);
    const left = skipped.filter((s) => !s.why.startsWith('a later dead letter')).map((s) => ({ id: byRecord.get(s.record)!, why: s.why }));
    this.log.log(
      `${operator} replayed ${replay.length} dead letters matching ${JSON.stringify(query)} (${left.length} left waiting)${note ? `: ${note}` : ''}`,
    );
    return { replayed, skipped: left };
  }

  async discard(id: string, operator: string, note: string): Promise<void> {
    const letter = await this.store.get(id);
    if (!letter) throw new NotFoundException(`no dead letter ${id}`);
    await this.store.record([id], 'discarded', operator, note);
    this.log.log(`${operator} discarded ${id} (event ${letter.record.eventId ?? '-'}): ${note}`);
  }
}
