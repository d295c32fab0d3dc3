import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { PG_URL, psqlDirect } from "./servers.js";

/**
 * Test users that need password auth: pg_hba.conf lines for them go before the trust lines, then a
 * reload. Idempotent. Runs against the local server only when the tests may edit it (we are root and
 * the hba file is readable); against a PG_URL elsewhere the users must exist already.
 */
export const MD5_USER = { user: "dbagpt_md5", password: "md5-secret-1" };
export const SCRAM_USER = { user: "dbagpt_scram", password: "scram-secret-2" };

function configurePostgres(): void {
  const hbaFile = psqlDirect("SHOW hba_file");
  const lines = [
    `host all ${MD5_USER.user} 127.0.0.1/32 md5`,
    `host all ${SCRAM_USER.user} 127.0.0.1/32 scram-sha-256`,
    `host all ${MD5_USER.user} ::1/128 md5`,
    `host all ${SCRAM_USER.user} ::1/128 scram-sha-256`,
  ];
  let hba: string;
  try {
    hba = readFileSync(hbaFile, "utf8");
  } catch (e) {
    throw new Error(
      `cannot read ${hbaFile} to add the md5/SCRAM test users (run the tests as root, or set them up): ${String(e)}`,
    );
  }
  const missing = lines.filter((l) => !hba.includes(l));
  if (missing.length > 0) {
    writeFileSync(hbaFile, `# dba-gpt tests: password users\n${missing.join("\n")}\n${hba}`);
  }
  psqlDirect(`DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${MD5_USER.user}') THEN CREATE ROLE ${MD5_USER.user} LOGIN; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${SCRAM_USER.user}') THEN CREATE ROLE ${SCRAM_USER.user} LOGIN; END IF;
  END $$`);
  // the password hash format decides which method the server can use
  psqlDirect(`SET password_encryption = 'md5'; ALTER ROLE ${MD5_USER.user} PASSWORD '${MD5_USER.password}'`);
  psqlDirect(
    `SET password_encryption = 'scram-sha-256'; ALTER ROLE ${SCRAM_USER.user} PASSWORD '${SCRAM_USER.password}'`,
  );
  psqlDirect("SELECT pg_reload_conf()");
}

export default function setup(): void {
  execFileSync("psql", [PG_URL, "-X", "-c", "SELECT 1"], { stdio: "ignore" });
  configurePostgres();
}
