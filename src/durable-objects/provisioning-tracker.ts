import { DurableObject } from "cloudflare:workers";

/**
 * One per assistant (`idFromName(assistantId)`): tracks a provisioning number until Vapi says it is live.
 * The polling behaviour lands with the provisioning tracker; until then the class only exists so the binding
 * and its SQLite migration are in place from the first deploy.
 */
export class ProvisioningTracker extends DurableObject {}
