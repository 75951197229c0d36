import { callUpstream, type UpstreamTransport } from "./http";

/** An incoming webhook that takes `{"text": …}` (Slack's shape; Mattermost, Discord's /slack and others accept it). */
export interface AlertWebhookClient {
  post(text: string): Promise<void>;
}

/**
 * Posts are not idempotent (a repeat is a second message), so only a 429, which was never processed, is retried;
 * a timeout or a 5xx is not, keeping "at most once".
 */
export function createAlertWebhookClient(transport: UpstreamTransport, url: string): AlertWebhookClient {
  return {
    async post(text) {
      await callUpstream(transport, {
        service: "alerts",
        method: "POST",
        url,
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ text }),
        retryOn: (status) => status === 429,
        idempotent: false,
        describeError: (status, body) => (typeof body === "string" && body ? `HTTP ${status}: ${body.slice(0, 200)}` : `HTTP ${status}`),
      });
    },
  };
}
