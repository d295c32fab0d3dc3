export { defaultConfig, defaultPolicy, fillPolicy } from "./defaults.js";
export { type HostPortOptions, parseHostPort } from "./host-port.js";
export {
  changedKeys,
  type LoadOptions,
  loadConfig,
  OVERRIDES,
  parsePolicy,
  readConfigFile,
  reloadConfig,
  START_FLAGS,
  substituteEnv,
} from "./load.js";
export {
  type Config,
  ConfigError,
  type HostPort,
  LOG_LEVELS,
  type LogLevel,
  POLICY_MODES,
  type Policy,
  type PolicyMode,
} from "./types.js";
