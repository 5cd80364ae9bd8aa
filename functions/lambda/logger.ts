import type { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Logger } from '../core/index';

/** The core's Logger port on Powertools: structured JSON lines carrying the invocation's keys. */
export function powertoolsLogger(logger: PowertoolsLogger): Logger {
  return {
    log(level, message, fields) {
      logger[level](message, fields ?? {});
    },
  };
}
