import { z } from "@hono/zod-openapi";
import type { Role } from "./auth";

/** The one error shape, for the OpenAPI document. */
export const errorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "invalid_request" }),
      message: z.string().openapi({ example: "business_data.business_name: must not be empty" }),
      details: z.unknown().optional(),
    }),
  })
  .openapi("Error");

export const errorResponse = (description: string) => ({
  content: { "application/json": { schema: errorSchema } },
  description,
});

/**
 * A route's bearer security naming the role its `requireRole` middleware enforces: OpenAPI 3.1 lets a scheme other
 * than OAuth list the roles an operation needs as its scopes. test/features/system/docs.test.ts calls every
 * operation to check the two agree.
 */
export const bearer = (role: Role) => [{ Bearer: [role] }];

const ROLE_LINES: Record<Role, string> = {
  member: "**Role:** `member`: any user of the organization (an `owner` or a `platform_admin` too).",
  owner: "**Role:** `owner` of the organization (a `platform_admin` too).",
  platform_admin: "**Role:** `platform_admin`: Switchboard's operators.",
};

type Security = Record<string, string[]>[] | undefined;

/** Who may call an operation, in one line, from its security. */
function accessLine(security: Security, where: string): string {
  if (!security?.length) return "**Public:** no token.";
  if (security.some((requirement) => "VapiSecret" in requirement))
    return "**Caller:** Vapi, with the `X-Vapi-Secret` header (no user token).";
  const roles = security.flatMap((requirement) => requirement.Bearer ?? []);
  const line = roles.length === 1 ? ROLE_LINES[roles[0] as Role] : undefined;
  if (!line) throw new Error(`${where}: its security must name one role, e.g. bearer("member"); it has ${JSON.stringify(security)}`);
  return line;
}

const METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);

/** The document with every operation's description opening with who may call it (accessLine), as /docs shows it. */
export function withAccessStated<D extends { paths?: object }>(document: D): D {
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const [method, value] of Object.entries(item as object)) {
      if (!METHODS.has(method)) continue;
      const operation = value as { security?: Security; description?: string };
      const line = accessLine(operation.security, `${method.toUpperCase()} ${path}`);
      operation.description = operation.description ? `${line}\n\n${operation.description}` : line;
    }
  }
  return document;
}

/** The error answers every authenticated route may give. */
export const authErrors = {
  401: errorResponse("Missing, expired or invalid token (`auth_*` codes)"),
  403: errorResponse("The token's role is not allowed here"),
};

export const jsonBody = <T extends z.ZodType>(schema: T, description?: string) => ({
  required: true as const,
  description,
  content: { "application/json": { schema } },
});

export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

export const idParam = (name: string) =>
  z.object({
    id: z
      .string()
      .min(1)
      .max(64)
      .openapi({ param: { name: "id", in: "path" }, description: `The ${name}'s id` }),
  });

/** A whole number from a query string or path, with a message a person can act on (not "received NaN"). */
export const wholeNumber = (min: number, max: number = Number.MAX_SAFE_INTEGER) => {
  const expected =
    max === Number.MAX_SAFE_INTEGER ? `must be a whole number of at least ${min}` : `must be a whole number from ${min} to ${max}`;
  return z.coerce.number({ error: expected }).int(expected).min(min, expected).max(max, expected);
};
