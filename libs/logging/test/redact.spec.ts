import { ContextLogger, maskSecrets } from '@lib/logging';

describe('maskSecrets', () => {
  it.each([
    ['postgres://order_app:s3cret@127.0.0.1:5432/orders', 'postgres://order_app:***@127.0.0.1:5432/orders'],
    ['connect failed: postgresql://u:p%40ss@db/x; retrying', 'connect failed: postgresql://u:***@db/x; retrying'],
    ['https://:tok@hooks.example.com/x', 'https://:***@hooks.example.com/x'],
    ['postgres://db/orders?user=a&password=s3cret&ssl=true', 'postgres://db/orders?user=a&password=***&ssl=true'],
    ['https://hooks.example.com/in?token=abc123', 'https://hooks.example.com/in?token=***'],
    ['no url here: user:pass', 'no url here: user:pass'],
    ['postgres://postgres@127.0.0.1:5432/orders', 'postgres://postgres@127.0.0.1:5432/orders'],
  ])('masks %s', (text, masked) => {
    expect(maskSecrets(text)).toBe(masked);
  });
});

describe('ContextLogger masking', () => {
  const capture = (fn: () => void): string => {
    const out: string[] = [];
    const spies = (['stdout', 'stderr'] as const).map((stream) =>
      jest.spyOn(process[stream], 'write').mockImplementation((chunk: string | Uint8Array) => {
        out.push(String(chunk));
        return true;
      }),
    );
    try {
      fn();
    } finally {
      spies.forEach((s) => s.mockRestore());
    }
    return out.join('');
  };

  it.each(['json', 'pretty'] as const)('masks credentials in messages, errors and stack traces (%s)', (format) => {
    const logger = new ContextLogger('order', format, 'log', { colors: false });
    const written = capture(() => {
      logger.log('database at postgres://app:hunter2@db/orders');
      logger.warn(new Error('cannot reach postgres://app:hunter2@db/orders'));
      logger.error('boom', 'Error: at postgres://app:hunter2@db\n    at x (y.ts:1:1)', 'Ctx');
    });
    expect(written).toContain('postgres://app:***@db/orders');
    expect(written).not.toContain('hunter2');
  });
});
