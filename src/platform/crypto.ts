/**
 * AES-256-GCM for secrets at rest (Twilio credentials, Google tokens).
 * Format: `enc:v1:<key id>:<iv>:<ciphertext>` (base64url). The key id is derived from the key itself, so
 * rotating is: move the old key to ENCRYPTION_KEY_PREVIOUS, put the new one in ENCRYPTION_KEY; old values still
 * decrypt and are re-encrypted with the new key on their next write.
 * `context` (for example `twilio:<org id>`) is bound as additional data: a value copied to another row fails.
 */
const PREFIX = "enc:v1:";

interface KeyEntry {
  id: string;
  key: CryptoKey;
}

export interface SecretBox {
  encrypt(plaintext: string, context: string): Promise<string>;
  decrypt(sealed: string, context: string): Promise<string>;
}

const boxes = new Map<string, Promise<SecretBox>>();

export function secretBox(currentKeyBase64: string, previousKeyBase64?: string): Promise<SecretBox> {
  const cacheKey = `${currentKeyBase64}|${previousKeyBase64 ?? ""}`;
  let box = boxes.get(cacheKey);
  if (!box) {
    box = buildBox(currentKeyBase64, previousKeyBase64);
    boxes.set(cacheKey, box);
  }
  return box;
}

/**
 * The same box, its keys imported on the first seal or open: most requests never touch a secret.
 */
export function lazySecretBox(currentKeyBase64: string, previousKeyBase64?: string): SecretBox {
  const open = () => secretBox(currentKeyBase64, previousKeyBase64);
  return {
    encrypt: async (plaintext, context) => (await open()).encrypt(plaintext, context),
    decrypt: async (sealed, context) => (await open()).decrypt(sealed, context),
  };
}

async function buildBox(currentKeyBase64: string, previousKeyBase64?: string): Promise<SecretBox> {
  const current = await importKey(currentKeyBase64);
  const keys = new Map<string, CryptoKey>([[current.id, current.key]]);
  if (previousKeyBase64) {
    const previous = await importKey(previousKeyBase64);
    keys.set(previous.id, previous.key);
  }
  const encoder = new TextEncoder();
  return {
    async encrypt(plaintext, context) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const sealed = await crypto.subtle.encrypt(
        { name: "AES-GCM", iv, additionalData: encoder.encode(context) },
        current.key,
        encoder.encode(plaintext),
      );
      return `${PREFIX}${current.id}:${toBase64Url(iv)}:${toBase64Url(new Uint8Array(sealed))}`;
    },
    async decrypt(sealed, context) {
      const [keyId, iv, data] = parse(sealed);
      const key = keys.get(keyId);
      if (!key) throw new Error(`No encryption key with id ${keyId} is configured (was ENCRYPTION_KEY rotated twice?)`);
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: fromBase64Url(iv), additionalData: encoder.encode(context) },
        key,
        fromBase64Url(data),
      );
      return new TextDecoder().decode(plain);
    },
  };
}

function parse(sealed: string): [string, string, string] {
  if (!sealed.startsWith(PREFIX)) throw new Error("Not an encrypted value");
  const parts = sealed.slice(PREFIX.length).split(":");
  if (parts.length !== 3) throw new Error("Malformed encrypted value");
  return parts as [string, string, string];
}

async function importKey(base64: string): Promise<KeyEntry> {
  const raw = Uint8Array.from(atob(base64.trim()), (c) => c.charCodeAt(0));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", raw));
  const id = [...digest.slice(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
  return { id, key };
}

export function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

/** Constant-time comparison of two strings (for shared secrets such as X-Vapi-Secret). */
export function timingSafeEqual(a: string, b: string): boolean {
  const encoder = new TextEncoder();
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  let diff = left.length ^ right.length;
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    diff |= (left[i] ?? 0) ^ (right[i] ?? 0);
  }
  return diff === 0;
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A UUID-shaped id (version 8, RFC 9562: custom) from the first 128 bits of a hex digest. */
export function uuidFrom(hex: string): string {
  const h = hex.slice(0, 32).split("");
  h[12] = "8";
  h[16] = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  const s = h.join("");
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}
