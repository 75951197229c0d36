import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { ApiError } from "./errors";
import type { Settings } from "./settings";

const ROLES = ["member", "owner", "platform_admin"] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling, from a verified token. `orgId` is null only for platform admins without an organisation. */
export interface Caller {
  userId: string;
  orgId: string | null;
  role: Role;
}

const remoteKeySets = new Map<string, JWTVerifyGetKey>();

/** One remote JWKS per URL per isolate: jose caches the keys and refetches on an unknown `kid`. */
function remoteKeySet(url: string): JWTVerifyGetKey {
  let set = remoteKeySets.get(url);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000, timeoutDuration: 5_000 });
    remoteKeySets.set(url, set);
  }
  return set;
}

const unauthorized = (code: string, message: string) =>
  new ApiError(401, code, message, undefined, { "WWW-Authenticate": `Bearer error="invalid_token"` });

/** Verifies a bearer token and reads the caller from the claims named in settings. */
export async function authenticate(authorization: string | undefined, settings: Settings, keyOverride?: JWTVerifyGetKey): Promise<Caller> {
  const match = authorization?.match(/^Bearer\s+(\S+)\s*$/i);
  if (!match) {
    throw unauthorized("auth_missing_token", "Send the signed-in user's token as `Authorization: Bearer <jwt>`.");
  }
  const token = match[1]!;
  let payload: JWTPayload;
  try {
    // A token that never expires is refused: a leaked one would work forever.
    const options = {
      issuer: settings.AUTH_ISSUER,
      audience: settings.AUTH_AUDIENCE,
      clockTolerance: 30,
      requiredClaims: ["exp"],
    };
    if (keyOverride) {
      ({ payload } = await jwtVerify(token, keyOverride, options));
    } else if (settings.AUTH_JWKS_URL) {
      ({ payload } = await jwtVerify(token, remoteKeySet(settings.AUTH_JWKS_URL), options));
    } else {
      const secret = new TextEncoder().encode(settings.AUTH_JWT_SECRET);
      ({ payload } = await jwtVerify(token, secret, { ...options, algorithms: ["HS256"] }));
    }
  } catch (error) {
    throw tokenError(error);
  }

  const orgClaim = payload[settings.AUTH_ORG_CLAIM];
  // No role claim, or null, is a member; anything else must be one of the roles exactly (no prefixes, no lists).
  const roleClaim = payload[settings.AUTH_ROLE_CLAIM] ?? "member";
  const role = typeof roleClaim === "string" ? ROLES.find((r) => r === roleClaim) : undefined;
  if (!role) {
    throw unauthorized("auth_invalid_role", `The token's ${settings.AUTH_ROLE_CLAIM} claim must be one of ${ROLES.join(", ")}.`);
  }
  const orgId = typeof orgClaim === "string" && orgClaim.length > 0 ? orgClaim : null;
  if (!orgId && role !== "platform_admin") {
    throw unauthorized("auth_missing_org", `The token has no ${settings.AUTH_ORG_CLAIM} claim, so it belongs to no organization.`);
  }
  return { userId: typeof payload.sub === "string" ? payload.sub : "unknown", orgId, role };
}

function tokenError(error: unknown): ApiError {
  if (error instanceof joseErrors.JWTExpired) {
    return unauthorized("auth_token_expired", "The token has expired: sign in again to get a fresh one.");
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === "exp" && error.reason === "missing") {
    return unauthorized("auth_invalid_claims", "The token has no expiry (`exp` claim): issue tokens that expire.");
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    return unauthorized("auth_invalid_claims", `The token was not issued for this API (${error.claim} claim: ${error.reason}).`);
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed || error instanceof joseErrors.JWKSNoMatchingKey) {
    return unauthorized("auth_invalid_signature", "The token's signature does not verify: it was not issued by our sign-in provider.");
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed || error instanceof joseErrors.JOSENotSupported) {
    return unauthorized("auth_invalid_signature", "The token is signed with an algorithm this API does not accept.");
  }
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) {
    return new ApiError(503, "auth_keys_unavailable", "The sign-in provider's keys could not be fetched; try again shortly.");
  }
  return unauthorized("auth_malformed_token", "The bearer token is not a well-formed JWT.");
}

/** member < owner; platform_admin passes every check. */
export function hasRole(caller: Caller, required: Role): boolean {
  if (caller.role === "platform_admin") return true;
  if (required === "member") return true;
  return caller.role === required;
}
