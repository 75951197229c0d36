import { requireRole } from "../../platform/middleware";

export const tags = ["Admin"];
export const security = [{ Bearer: [] }];
export const platformAdmin = requireRole("platform_admin");
