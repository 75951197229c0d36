import { CompactEncrypt, compactDecrypt, errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { toBase64Url } from "../../platform/crypto";

/** What the OAuth `state` carries across the round trip to Google: who asked, and the PKCE verifier. */
interface OAuthState {
  /** Single-use: recorded when the callback consumes it, so a replay is refused. */
  id: string;
  orgId: string;
  userId: string;
  codeVerifier: string;
  expiresAt: number;
}

type OAuthStateProblem = "invalid_state" | "state_expired";

export class OAuthStateError extends Error {
  constructor(readonly problem: OAuthStateProblem) {
    super(problem === "state_expired" ? "The sign-in link expired (10 minutes)." : "The sign-in state is not one we issued.");
    this.name = "OAuthStateError";
  }
}

const AUDIENCE = "switchboard:google-oauth-state";
const STATE_TTL_SECONDS = 600;

/** Signing and encryption keys derived from ENCRYPTION_KEY (HKDF), so no extra secret is needed. */
async function stateKeys(encryptionKeyBase64: string): Promise<{ sign: Uint8Array; encrypt: Uint8Array }> {
  const raw = Uint8Array.from(atob(encryptionKeyBase64.trim()), (c) => c.charCodeAt(0));
  const base = await crypto.subtle.importKey("raw", raw, "HKDF", false, ["deriveBits"]);
  const derive = async (info: string) =>
    new Uint8Array(
      await crypto.subtle.deriveBits(
        { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: new TextEncoder().encode(info) },
        base,
        256,
      ),
    );
  return { sign: await derive("oauth-state-sign"), encrypt: await derive("oauth-state-encrypt") };
}

/** A PKCE verifier: 43 characters of base64url randomness (RFC 7636). */
export function newCodeVerifier(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
}

/** Signed (HS256) then encrypted (A256GCM): Google and the browser see an opaque string. */
export async function sealState(
  encryptionKeyBase64: string,
  state: Omit<OAuthState, "id" | "expiresAt">,
  nowMs = Date.now(),
): Promise<{ token: string; id: string }> {
  const keys = await stateKeys(encryptionKeyBase64);
  const id = crypto.randomUUID();
  const signed = await new SignJWT({ org: state.orgId, uid: state.userId, cv: state.codeVerifier })
    .setProtectedHeader({ alg: "HS256" })
    .setJti(id)
    .setAudience(AUDIENCE)
    .setIssuedAt(Math.floor(nowMs / 1000))
    .setExpirationTime(Math.floor(nowMs / 1000) + STATE_TTL_SECONDS)
    .sign(keys.sign);
  const token = await new CompactEncrypt(new TextEncoder().encode(signed))
    .setProtectedHeader({ alg: "dir", enc: "A256GCM", cty: "JWT" })
    .encrypt(keys.encrypt);
  return { token, id };
}

export async function openState(encryptionKeyBase64: string, token: string, nowMs = Date.now()): Promise<OAuthState> {
  const keys = await stateKeys(encryptionKeyBase64);
  try {
    const { plaintext } = await compactDecrypt(token, keys.encrypt);
    const { payload } = await jwtVerify(new TextDecoder().decode(plaintext), keys.sign, {
      audience: AUDIENCE,
      algorithms: ["HS256"],
      currentDate: new Date(nowMs),
    });
    if (
      typeof payload.org !== "string" ||
      typeof payload.uid !== "string" ||
      typeof payload.cv !== "string" ||
      !payload.jti ||
      !payload.exp
    ) {
      throw new OAuthStateError("invalid_state");
    }
    return { id: payload.jti, orgId: payload.org, userId: payload.uid, codeVerifier: payload.cv, expiresAt: payload.exp * 1000 };
  } catch (error) {
    if (error instanceof OAuthStateError) throw error;
    if (error instanceof joseErrors.JWTExpired) throw new OAuthStateError("state_expired");
    throw new OAuthStateError("invalid_state");
  }
}
