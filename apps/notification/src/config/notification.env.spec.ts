import 'reflect-metadata';
import { InvalidConfigError, validateEnv } from '@lib/service';
import { NotificationEnv } from './notification.env';

const problemsOf = (env: Record<string, string>): string => {
  try {
    validateEnv(NotificationEnv, env);
    return '';
  } catch (error) {
    if (error instanceof InvalidConfigError) return error.message;
    throw error;
  }
};

describe('NotificationEnv webhook URL', () => {
  it.each(['https://hooks.example.com/services/T0/B0/x', 'http://127.0.0.1:8080/hook', 'http://localhost/hook', 'http://[::1]:9000/hook'])(
    'accepts %s',
    (url) => {
      expect(problemsOf({ NOTIFICATION_WEBHOOK_URL: url })).toBe('');
    },
  );

  it('refuses plain http to another host, naming the variable and the way out, without repeating the URL path', () => {
    const message = problemsOf({ NOTIFICATION_WEBHOOK_URL: 'http://hooks.example.com/services/T0/B0/token123' });
    expect(message).toContain('NOTIFICATION_WEBHOOK_URL must be https');
    expect(message).toContain('NOTIFICATION_WEBHOOK_ALLOW_HTTP=true');
    expect(message).toContain('http://hooks.example.com/…');
    expect(message).not.toContain('token123');
  });

  it('takes plain http to another host once NOTIFICATION_WEBHOOK_ALLOW_HTTP=true', () => {
    expect(problemsOf({ NOTIFICATION_WEBHOOK_URL: 'http://hooks.internal/x', NOTIFICATION_WEBHOOK_ALLOW_HTTP: 'true' })).toBe('');
  });
});
