/**
 * Structured logs: one JSON object per line, searchable in Workers Logs by `event`, `request_id`, `org_id`.
 * Never pass secrets (tokens, credentials) in `fields`.
 */
type LogLevel = "debug" | "info" | "warn" | "error";

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(base: Record<string, unknown> = {}): Logger {
  const write = (level: LogLevel, event: string, fields?: Record<string, unknown>) => {
    const line = JSON.stringify({ level, event, ...base, ...fields, ...errorFields(fields?.error) });
    if (level === "error") console.error(line);
    else if (level === "warn") console.warn(line);
    else console.log(line);
  };
  return {
    debug: (event, fields) => write("debug", event, fields),
    info: (event, fields) => write("info", event, fields),
    warn: (event, fields) => write("warn", event, fields),
    error: (event, fields) => write("error", event, fields),
    child: (fields) => createLogger({ ...base, ...fields }),
  };
}

function errorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return {};
  return { error: error.message, error_name: error.name, stack: error.stack?.split("\n").slice(0, 5).join(" | ") };
}
