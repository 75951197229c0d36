import type { ContentfulStatusCode } from "hono/utils/http-status";

/** The one error shape every failure is answered with. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** A failure the caller can act on: its status, a snake_case code and a sentence. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiError";
  }

  toBody(): ErrorBody {
    const error: ErrorBody["error"] = { code: this.code, message: this.message };
    if (this.details !== undefined) error.details = this.details;
    return { error };
  }
}

export const notFound = (what: string) => new ApiError(404, "not_found", `${what} was not found in your organization.`);

/** A field-by-field list of validation problems, as `details` of a 400. */
export interface FieldIssue {
  path: string;
  code: string;
  message: string;
}

interface ValidationIssue {
  path: readonly PropertyKey[];
  code: string;
  message: string;
  keys?: readonly string[];
}

/** One entry per offending field; an unknown key is reported at its own path. */
export function zodIssuesToDetails(issues: readonly ValidationIssue[]): FieldIssue[] {
  return issues.flatMap((issue) => {
    const path = issue.path.map(String);
    if (issue.code === "unrecognized_keys" && issue.keys?.length) {
      // A schema may say which keys it allows (opening hours name the days); zod's own wording is not for people.
      const message = issue.message.startsWith("Unrecognized key") ? "is not a known field" : issue.message;
      return issue.keys.map((key) => ({ path: [...path, key].join("."), code: "unknown_field", message }));
    }
    return [{ path: path.join(".") || "(root)", code: issue.code, message: issue.message }];
  });
}
