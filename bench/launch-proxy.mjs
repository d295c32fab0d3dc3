// Bench-local launcher, used only while dist/src/cli.js is missing: starts the proxy through
// startServer() with the same settings the CLI flags would give.
// usage: node bench/launch-proxy.mjs <distDir> '<json: {pgListen, pgUpstream, mysqlListen, mysqlUpstream, adminListen, stateDir, logLevel}>'
import path from "node:path";
import { pathToFileURL } from "node:url";

const [distDir, json] = process.argv.slice(2);
if (!distDir || !json) {
  console.error("usage: node bench/launch-proxy.mjs <distDir> '<json settings>'");
  process.exit(2);
}
const s = JSON.parse(json);
const load = (rel) => import(pathToFileURL(path.resolve(distDir, rel)).href);
const { defaultConfig } = await load("src/config/defaults.js");
const { startServer } = await load("src/server.js");
const hp = (v) => {
  const i = v.lastIndexOf(":");
  return { host: v.slice(0, i), port: Number(v.slice(i + 1)) };
};
const config = defaultConfig(process.cwd());
config.listen.postgres = hp(s.pgListen);
config.listen.admin = hp(s.adminListen);
config.upstream.postgres = hp(s.pgUpstream);
if (s.mysqlListen) config.listen.mysql = hp(s.mysqlListen);
if (s.mysqlUpstream) config.upstream.mysql = hp(s.mysqlUpstream);
config.state.dir = s.stateDir;
config.logLevel = s.logLevel ?? "warn";
await startServer(config, { handleSignals: true });
