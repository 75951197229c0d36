import { z } from "@hono/zod-openapi";

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
