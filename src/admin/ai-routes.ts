import { z } from "zod";
import type { Analyzer } from "../ai/analyzer.js";
import { HttpError, type Router } from "./http.js";

const analyzeBody = z.object({
  protocol: z.enum(["postgres", "mysql"], { message: 'protocol must be "postgres" or "mysql"' }),
  code: z.string().trim().max(64).optional(),
  sqlstate: z.string().trim().max(5).optional(),
  message: z.string().trim().min(1, "message must not be empty").max(10_000),
  statement: z.string().max(100_000).optional(),
});

/** POST /api/analyze `{protocol, code?, message, statement?}` → `{ analysis }` (PRODUCT section 6). */
export function addAiRoutes(router: Router, deps: { analyzer: Analyzer }): void {
  router.add("POST", "/api/analyze", async (req) => {
    if (req.body === null || typeof req.body !== "object" || Array.isArray(req.body))
      throw new HttpError(400, "body must be a JSON object {protocol, code?, message, statement?}");
    const parsed = analyzeBody.safeParse(req.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue && issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
      throw new HttpError(400, `${where}${issue?.message ?? "invalid request"}`);
    }
    const b = parsed.data;
    const analysis = await deps.analyzer.analyze({
      protocol: b.protocol,
      code: b.code === "" ? undefined : b.code,
      sqlstate: b.sqlstate,
      message: b.message,
      statement: b.statement,
    });
    return { analysis };
  });
}
