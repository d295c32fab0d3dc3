/** PostgreSQL wire codec: pure functions on Buffers, no I/O. */
export * from "./backend.js";
export * from "./constants.js";
export * from "./encode.js";
export * from "./framer.js";
export * from "./frontend.js";
export { BodyReader } from "./reader.js";
