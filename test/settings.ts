/** Settings every test runs with: the sandbox upstream, fast retries and a short upstream timeout. */
export const TEST_SETTINGS = {
  UPSTREAM_MODE: "sandbox",
  // Tests create many assistants per organisation; the rate-limit test turns limits on for itself.
  RATE_LIMITS_ENABLED: "false",
  VAPI_API_KEY: "test-vapi-key",
  VAPI_WEBHOOK_SECRET: "test-webhook-secret-0123456789",
  AUTH_JWT_SECRET: "test-jwt-secret-with-at-least-32-chars",
  AUTH_AUDIENCE: "switchboard",
  ENCRYPTION_KEY: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
  ALLOWED_ORIGINS: "https://app.example.com",
  APP_URL: "https://app.example.com",
  PUBLIC_URL: "https://switchboard.test",
  GOOGLE_CLIENT_ID: "sandbox-google-client-id",
  GOOGLE_CLIENT_SECRET: "sandbox-google-client-secret",
  GOOGLE_REDIRECT_URI: "https://switchboard.test/api/calendar/google/callback",
  UPSTREAM_TIMEOUT_MS: "300",
  UPSTREAM_RETRY_BASE_MS: "1",
  SANDBOX_ACTIVATION_DELAY_SECONDS: "30",
} as const;
