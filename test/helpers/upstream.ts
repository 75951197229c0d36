import { expect } from "vitest";
import { UpstreamError } from "../../src/integrations/http";

/** One scripted answer of a fake upstream. */
export type Step = (request: Request) => Response | Promise<Response>;

/** A fake `fetch` answering each call with the next scripted step (the last one repeats), recording the calls. */
export function scripted(...steps: Step[]) {
  const calls: { request: Request; body: string }[] = [];
  const fetch = async (request: Request) => {
    // Decoded by hand: workerd warns when .text() reads a form-encoded body.
    calls.push({ request, body: new TextDecoder().decode(await request.clone().arrayBuffer()) });
    return steps[Math.min(calls.length - 1, steps.length - 1)]!(request);
  };
  return { fetch, calls };
}

/** The error `promise` rejects with, checked to be a `type` (an UpstreamError unless told). */
export async function rejection<T extends Error = UpstreamError>(
  promise: Promise<unknown>,
  type: abstract new (...args: any[]) => T = UpstreamError as unknown as abstract new (
    ...args: any[]
  ) => T,
): Promise<T> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as T;
  }
  throw new Error(`expected a ${type.name}`);
}
