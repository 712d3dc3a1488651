import { ContextLogger, withLogContext } from '@lib/logging';

function captureStdout(fn: () => void): string[] {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    fn();
  } finally {
    spy.mockRestore();
  }
  return lines;
}

describe('ContextLogger', () => {
  it('writes one JSON object per line carrying the service and the context of the message being handled', () => {
    const logger = new ContextLogger('payment', 'json', 'log');
    const [line] = captureStdout(() =>
      withLogContext({ correlationId: 'corr-1', eventId: 'e-1', topic: 'order.created', orderId: 'o-1' }, () =>
        logger.log('payment authorised', 'AuthorizePayment'),
      ),
    );
    expect(JSON.parse(line)).toMatchObject({
      level: 'log',
      service: 'payment',
      context: 'AuthorizePayment',
      message: 'payment authorised',
      correlationId: 'corr-1',
      eventId: 'e-1',
      topic: 'order.created',
      orderId: 'o-1',
    });
  });

  it('shows the context next to the logger name in the human format, and nothing outside a context', () => {
    const logger = new ContextLogger('order', 'pretty', 'log', { colors: false });
    const [inside] = captureStdout(() => withLogContext({ correlationId: 'corr-2' }, () => logger.log('order placed', 'Orders')));
    const [outside] = captureStdout(() => logger.log('started', 'Orders'));
    expect(inside).toContain('[Orders] {correlationId=corr-2} order placed');
    expect(outside).toContain('[Orders] started');
  });

  it('respects the configured level', () => {
    const logger = new ContextLogger('order', 'json', 'warn');
    expect(captureStdout(() => logger.log('hidden'))).toEqual([]);
  });
});
