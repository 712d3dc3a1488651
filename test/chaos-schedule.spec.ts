import { FAULTS } from '../bench/chaos/options';
import { planSchedule, SESSION_TIMEOUT_MS } from '../bench/chaos/faults';

describe('the chaos fault schedule', () => {
  it('is the same for the same seed and differs for another', () => {
    expect(planSchedule(FAULTS, 42, 2, 8)).toEqual(planSchedule(FAULTS, 42, 2, 8));
    expect(planSchedule(FAULTS, 42, 2, 8)).not.toEqual(planSchedule(FAULTS, 43, 2, 8));
  });

  it('schedules every selected fault once, on instances that exist, and holds a paused instance past the session timeout', () => {
    const schedule = planSchedule(FAULTS, 7, 3, 8);
    expect(schedule.map((p) => p.fault).sort()).toEqual([...FAULTS].sort());
    expect(schedule.every((p) => p.index! >= 1 && p.index! <= 3)).toBe(true);
    expect(schedule.find((p) => p.fault === 'pause-instance')!.holdS * 1000).toBeGreaterThan(SESSION_TIMEOUT_MS);
  });
});
