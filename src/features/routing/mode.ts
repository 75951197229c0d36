import type { Settings } from "../../platform/settings";

type RoutingSettings = Pick<Settings, "ROUTING_MODE">;

/** In edge routing a number carries no assistant in Vapi: Switchboard answers its `assistant-request` from D1. */
export const routesAtEdge = (settings: RoutingSettings) => settings.ROUTING_MODE === "edge";

/** The `assistantId` a number carries in Vapi for this assistant: the assistant's own (direct), none (edge). */
export const assistantInVapi = (settings: RoutingSettings, vapiAssistantId: string | null) =>
  routesAtEdge(settings) ? null : vapiAssistantId;
