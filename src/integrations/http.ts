import type { Logger } from "../platform/log";

/** `alerts` is the operators' webhook (ALERT_WEBHOOK_URL), not a vendor API, but it goes through the same transport. */
export type UpstreamService = "vapi" | "twilio" | "google" | "alerts";

type UpstreamFailure = "timeout" | "network" | "http" | "invalid_response";

/** Anything that went wrong talking to Vapi, Twilio or Google, with what the upstream said. */
export class UpstreamError extends Error {
  constructor(
    readonly service: UpstreamService,
    readonly failure: UpstreamFailure,
    message: string,
    readonly status?: number,
    readonly body?: unknown,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "UpstreamError";
  }

  get isNotFound(): boolean {
    return this.failure === "http" && this.status === 404;
  }

  /** True when the upstream may have acted although we got no answer (a timeout or a dropped connection). */
  get outcomeUnknown(): boolean {
    return this.failure === "timeout" || this.failure === "network";
  }

  /**
   * The upstream may have acted before failing: no answer, a 5xx, or a success whose body could not be read (a
   * create may exist; look before retrying or giving up).
   */
  get mayHaveActed(): boolean {
    return this.outcomeUnknown || (this.failure === "http" && (this.status ?? 0) >= 500) || this.failure === "invalid_response";
  }

  /** 4xx other than 408/429: the upstream refused the request itself. */
  get isRefusal(): boolean {
    return (
      this.failure === "http" &&
      this.status !== undefined &&
      this.status >= 400 &&
      this.status < 500 &&
      this.status !== 408 &&
      this.status !== 429
    );
  }
}

export type FetchLike = (request: Request) => Promise<Response>;

export interface UpstreamTransport {
  fetch: FetchLike;
  timeoutMs: number;
  maxRetries: number;
  retryBaseMs: number;
  log: Logger;
  onCall?: (service: UpstreamService) => void;
}

interface UpstreamRequest {
  service: UpstreamService;
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  url: string;
  headers?: Record<string, string>;
  body?: string | URLSearchParams;
  /** Which statuses are worth another try; network failures and timeouts are retried only when `idempotent`. */
  retryOn: (status: number) => boolean;
  idempotent: boolean;
  /** Full jitter (random 0..cap) instead of the ±20 % jitter around the exponential step. */
  fullJitter?: boolean;
  /** Turns an upstream error body into a readable message. */
  describeError?: (status: number, body: unknown) => string;
}

export interface UpstreamResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

const MAX_RETRY_AFTER_SECONDS = 10;

/** The only place that calls `fetch` for Vapi, Twilio and Google: timeout, retries with jittered backoff. */
export async function callUpstream(transport: UpstreamTransport, request: UpstreamRequest): Promise<UpstreamResponse> {
  for (let attempt = 0; ; attempt++) {
    const canRetry = attempt < transport.maxRetries;
    let response: Response;
    let body: unknown;
    try {
      transport.onCall?.(request.service);
      ({ response, body } = await withTimeout(transport, request));
    } catch (error) {
      const failure = error instanceof UpstreamError ? error : networkError(request, error);
      if (canRetry && request.idempotent) {
        await sleep(backoffMs(transport, request, attempt));
        continue;
      }
      transport.log.warn("upstream_failed", {
        service: request.service,
        method: request.method,
        path: pathOf(request.url),
        failure: failure.failure,
        attempts: attempt + 1,
      });
      throw failure;
    }

    if (response.ok) return { status: response.status, headers: response.headers, body };

    const retryAfter = parseRetryAfter(response.headers.get("retry-after"));
    if (canRetry && request.retryOn(response.status) && (retryAfter === undefined || retryAfter <= MAX_RETRY_AFTER_SECONDS)) {
      await sleep(retryAfter !== undefined ? retryAfter * 1000 : backoffMs(transport, request, attempt));
      continue;
    }
    const message = request.describeError?.(response.status, body) ?? `HTTP ${response.status}`;
    transport.log.warn("upstream_error", {
      service: request.service,
      method: request.method,
      path: pathOf(request.url),
      status: response.status,
      message,
      attempts: attempt + 1,
    });
    throw new UpstreamError(request.service, "http", message, response.status, body, retryAfter);
  }
}

/** The response and its body, both within the timeout: a body that stalls after the headers is a timeout too. */
/**
 * A 2xx answer the client could not read: logged with where it came from, then returned to be thrown. `body` is
 * kept on the error only when it holds no secrets.
 */
export function invalidResponse(
  transport: Pick<UpstreamTransport, "log">,
  where: { service: UpstreamService; method: string; url: string },
  problem: string,
  status: number,
  body?: unknown,
): UpstreamError {
  const message = `unexpected response from ${where.method} ${pathOf(where.url)}: ${problem}`;
  transport.log.warn("upstream_invalid_response", {
    service: where.service,
    method: where.method,
    path: pathOf(where.url),
    status,
    message,
  });
  return new UpstreamError(where.service, "invalid_response", message, status, body);
}

async function withTimeout(transport: UpstreamTransport, request: UpstreamRequest): Promise<{ response: Response; body: unknown }> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | null = null;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new UpstreamError(request.service, "timeout", `no answer within ${transport.timeoutMs} ms`));
    }, transport.timeoutMs);
  });
  try {
    const init: RequestInit = { method: request.method, headers: request.headers, signal: controller.signal };
    if (request.body !== undefined) init.body = request.body;
    const answered = transport
      .fetch(new Request(request.url, init))
      .then(async (response) => ({ response, body: await readBody(response) }));
    return await Promise.race([answered, timeout]);
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function networkError(request: UpstreamRequest, error: unknown): UpstreamError {
  const reason = error instanceof Error ? error.message : String(error);
  return new UpstreamError(request.service, "network", `connection failed: ${reason}`);
}

function backoffMs(transport: UpstreamTransport, request: UpstreamRequest, attempt: number): number {
  const cap = Math.min(transport.retryBaseMs * 2 ** attempt, 60_000);
  if (request.fullJitter) return Math.random() * cap;
  return cap * (0.8 + Math.random() * 0.4);
}

/** `Retry-After` as seconds: either a number of seconds or an HTTP date. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
