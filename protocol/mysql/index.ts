/**
 * MySQL / MariaDB wire codec: pure functions and small state machines on Buffers, no I/O.
 *
 * - framer.ts     MysqlFramer: bytes → packets (continuations joined, or peeked and skipped)
 * - handshake.ts  greeting, handshake response / SSLRequest, auth switch, auth more data
 * - commands.ts   client commands (COM_QUERY ... COM_RESET_CONNECTION) and replay encoders
 * - packets.ts    OK / ERR / EOF decode and encode, packet encoding, lenenc helpers
 * - response.ts   MysqlResponseTracker: what each server packet is, when a response ends
 */
export * from "./commands.js";
export * from "./constants.js";
export * from "./framer.js";
export * from "./handshake.js";
export * from "./packets.js";
export * from "./response.js";
