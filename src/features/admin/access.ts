import { requireRole } from "../../platform/middleware";
import { bearer } from "../../platform/openapi";

export const tags = ["Admin"];
export const security = bearer("platform_admin");
export const platformAdmin = requireRole("platform_admin");
