import { describe, expect, it } from "vitest";
import { secretBox, sha256Hex, timingSafeEqual } from "../../src/platform/crypto";

const randomKey = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));

describe("secretBox", () => {
  it("round-trips a secret, and the sealed text does not contain it", async () => {
    const box = await secretBox(randomKey());
    const sealed = await box.encrypt("twilio-auth-token-123", "twilio:org-1");
    expect(sealed).toMatch(/^enc:v1:[0-9a-f]{8}:[\w-]+:[\w-]+$/);
    expect(sealed).not.toContain("twilio-auth-token-123");
    expect(await box.decrypt(sealed, "twilio:org-1")).toBe("twilio-auth-token-123");
  });

  it("round-trips unicode and the empty string", async () => {
    const box = await secretBox(randomKey());
    for (const text of ["", "pässwörd ✓ 日本"]) {
      expect(await box.decrypt(await box.encrypt(text, "c"), "c")).toBe(text);
    }
  });

  it("seals the same value differently each time (fresh IV)", async () => {
    const box = await secretBox(randomKey());
    const a = await box.encrypt("same", "ctx");
    const b = await box.encrypt("same", "ctx");
    expect(a).not.toBe(b);
    expect(await box.decrypt(a, "ctx")).toBe("same");
    expect(await box.decrypt(b, "ctx")).toBe("same");
  });

  it("fails with the wrong context (a value copied to another organisation's row)", async () => {
    const box = await secretBox(randomKey());
    const sealed = await box.encrypt("secret", "twilio:org-1");
    await expect(box.decrypt(sealed, "twilio:org-2")).rejects.toThrow();
  });

  it("fails with another key", async () => {
    const sealed = await (await secretBox(randomKey())).encrypt("secret", "ctx");
    await expect((await secretBox(randomKey())).decrypt(sealed, "ctx")).rejects.toThrow(/No encryption key/);
  });

  it("rotation: a value sealed with the old key decrypts when it is ENCRYPTION_KEY_PREVIOUS, and reseals with the new one", async () => {
    const oldKey = randomKey();
    const newKey = randomKey();
    const sealedOld = await (await secretBox(oldKey)).encrypt("google-refresh-token", "google:org-1");

    const rotated = await secretBox(newKey, oldKey);
    expect(await rotated.decrypt(sealedOld, "google:org-1")).toBe("google-refresh-token");

    const resealed = await rotated.encrypt("google-refresh-token", "google:org-1");
    expect(await (await secretBox(newKey)).decrypt(resealed, "google:org-1")).toBe("google-refresh-token");

    // Without the previous key, the old value no longer opens.
    await expect((await secretBox(newKey)).decrypt(sealedOld, "google:org-1")).rejects.toThrow();
  });

  it("a tampered ciphertext, IV or key id fails", async () => {
    const box = await secretBox(randomKey());
    const sealed = await box.encrypt("secret value", "ctx");
    const [prefix, version, keyId, iv, data] = sealed.split(":") as [string, string, string, string, string];
    const flip = (text: string) => (text[0] === "A" ? "B" : "A") + text.slice(1);
    await expect(box.decrypt([prefix, version, keyId, iv, flip(data)].join(":"), "ctx")).rejects.toThrow();
    await expect(box.decrypt([prefix, version, keyId, flip(iv), data].join(":"), "ctx")).rejects.toThrow();
    await expect(box.decrypt([prefix, version, "00000000", iv, data].join(":"), "ctx")).rejects.toThrow();
    await expect(box.decrypt(sealed.slice(0, -4), "ctx")).rejects.toThrow();
    await expect(box.decrypt("plain text", "ctx")).rejects.toThrow(/Not an encrypted value/);
  });
});

describe("timingSafeEqual", () => {
  it("is true only for identical strings", () => {
    expect(timingSafeEqual("test-webhook-secret", "test-webhook-secret")).toBe(true);
    expect(timingSafeEqual("", "")).toBe(true);
    expect(timingSafeEqual("test-webhook-secret", "test-webhook-secreT")).toBe(false);
    expect(timingSafeEqual("abc", "abcd")).toBe(false);
    expect(timingSafeEqual("abcd", "abc")).toBe(false);
    expect(timingSafeEqual("abc", "")).toBe(false);
    expect(timingSafeEqual("\u0000", "")).toBe(false);
    expect(timingSafeEqual("é", "e\u0301")).toBe(false);
  });
});

describe("sha256Hex", () => {
  it("matches the known digest", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});
