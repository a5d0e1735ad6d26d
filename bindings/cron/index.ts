/**
 * Cron triggers: `crons: ["0 * * * *"]` in a function's config fires its `scheduled()` handler
 * (UTC; 5 fields, or 6 with seconds) through the gateway's scheduler at priority -10, with the
 * function's own limits. The gateway part is triggers.ts; there is no host operation and no guest
 * chunk (the prelude's dispatch runs `scheduled()`).
 */
import { Cron } from 'croner';
import { z } from 'zod';
import { sibling, type BindingDefinition } from '../types.ts';

export const CRON_LIMITS = { expressions: 32, length: 128 } as const;

function isCronExpression(expr: string): boolean {
  try {
    new Cron(expr, { paused: true }).stop();
    return true;
  } catch {
    return false;
  }
}

export const cron = {
  name: 'cron',
  config: {
    crons: z
      .array(
        z
          .string()
          .min(1)
          .max(CRON_LIMITS.length, `must be at most ${CRON_LIMITS.length} characters`)
          .refine(isCronExpression, 'must be a cron expression (5 fields, or 6 with seconds)'),
      )
      .max(CRON_LIMITS.expressions, `must have at most ${CRON_LIMITS.expressions} entries`)
      .default([]),
  },
  checkDeploy: (config, handlers) =>
    ((config.crons as string[] | undefined) ?? []).length > 0 && handlers.verified && !handlers.scheduled
      ? "declares crons but its default export has no scheduled() handler"
      : undefined,
  gateway: sibling(import.meta.url, 'triggers'),
} as const satisfies BindingDefinition;
