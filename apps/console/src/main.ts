import 'reflect-metadata';
import { bootstrapConsole, consoleEnv, InvalidConfigError } from './console.bootstrap';

function main() {
  try {
    return bootstrapConsole({ env: consoleEnv() });
  } catch (error) {
    if (error instanceof InvalidConfigError) {
      process.stderr.write(
        error.message
          .split('\n')
          .map((line) => `console: ${line}\n`)
          .join(''),
      );
      process.exit(1);
    }
    throw error;
  }
}

void main().catch((error: Error) => {
  process.stderr.write(`console failed to start: ${error.message}\n`);
  process.exit(1);
});
