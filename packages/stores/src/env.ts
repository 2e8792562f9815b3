import { GovernorError } from '@governor/governor';
import type { z } from 'zod';

/** The name of the variable a configuration problem is about, and what is wrong with it. Final. */
export class ConfigError extends GovernorError {
  override readonly name = 'ConfigError';
  declare readonly code: 'CONFIG_INVALID';

  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFIG_INVALID', message, false, options);
  }
}

/**
 * The variables `schema` names, read from `env` (an empty value counts as unset) and validated
 * once: the first problem is a ConfigError naming its variable (one line, exit 2 in every main).
 */
export function parseEnv<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const parsed = schema.safeParse(
    Object.fromEntries(Object.entries(env).filter(([k, v]) => k in schema.shape && v !== '')),
  );
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${String(issue?.path[0])}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
