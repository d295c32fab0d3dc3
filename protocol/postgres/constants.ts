/**
 * PostgreSQL wire protocol (v3) constants. Message types are the char codes of the type
 * byte, as plain numbers, so a framer can index a 256-entry table with them.
 * Frontend = sent by the client, backend = sent by the server; the same byte means
 * different messages on the two sides ('D' is Describe from a client, DataRow from a server).
 */

/** Pseudo type the framer reports for untyped startup-phase messages (StartupMessage,
 *  SSLRequest, GSSENCRequest, CancelRequest). No typed message uses byte 0. */
export const STARTUP = 0;

/** Messages a client sends after the startup phase. */
export const FrontendMessage = {
  /** 'B' Bind: portal, statement, parameter formats and values, result formats */
  Bind: 0x42,
  /** 'C' Close a prepared statement ('S') or portal ('P') */
  Close: 0x43,
  /** 'd' CopyData (COPY FROM STDIN payload) */
  CopyData: 0x64,
  /** 'c' CopyDone */
  CopyDone: 0x63,
  /** 'f' CopyFail with an error message */
  CopyFail: 0x66,
  /** 'D' Describe a prepared statement ('S') or portal ('P') */
  Describe: 0x44,
  /** 'E' Execute a portal */
  Execute: 0x45,
  /** 'H' Flush */
  Flush: 0x48,
  /** 'F' FunctionCall (legacy fast-path) */
  FunctionCall: 0x46,
  /** 'P' Parse: statement name, query text, parameter type OIDs */
  Parse: 0x50,
  /** 'p' PasswordMessage, also GSSResponse, SASLInitialResponse and SASLResponse */
  PasswordMessage: 0x70,
  /** 'Q' Query (simple query protocol) */
  Query: 0x51,
  /** 'S' Sync: ends an extended-query batch, the server answers ReadyForQuery */
  Sync: 0x53,
  /** 'X' Terminate */
  Terminate: 0x58,
} as const;
export type FrontendMessageType = (typeof FrontendMessage)[keyof typeof FrontendMessage];

/** Messages a server sends. */
export const BackendMessage = {
  /** 'R' Authentication* (int32 sub-code decides which) */
  Authentication: 0x52,
  /** 'K' BackendKeyData: process id and cancel secret */
  BackendKeyData: 0x4b,
  /** '2' BindComplete */
  BindComplete: 0x32,
  /** '3' CloseComplete */
  CloseComplete: 0x33,
  /** 'C' CommandComplete with the command tag ("INSERT 0 1") */
  CommandComplete: 0x43,
  /** 'W' CopyBothResponse (replication) */
  CopyBothResponse: 0x57,
  /** 'd' CopyData */
  CopyData: 0x64,
  /** 'c' CopyDone */
  CopyDone: 0x63,
  /** 'G' CopyInResponse */
  CopyInResponse: 0x47,
  /** 'H' CopyOutResponse */
  CopyOutResponse: 0x48,
  /** 'D' DataRow */
  DataRow: 0x44,
  /** 'I' EmptyQueryResponse */
  EmptyQueryResponse: 0x49,
  /** 'E' ErrorResponse: typed fields, see decodeErrorFields */
  ErrorResponse: 0x45,
  /** 'V' FunctionCallResponse */
  FunctionCallResponse: 0x56,
  /** 'v' NegotiateProtocolVersion */
  NegotiateProtocolVersion: 0x76,
  /** 'n' NoData */
  NoData: 0x6e,
  /** 'N' NoticeResponse: same fields as ErrorResponse */
  NoticeResponse: 0x4e,
  /** 'A' NotificationResponse (LISTEN/NOTIFY) */
  NotificationResponse: 0x41,
  /** 't' ParameterDescription */
  ParameterDescription: 0x74,
  /** 'S' ParameterStatus: name/value of a reported GUC */
  ParameterStatus: 0x53,
  /** '1' ParseComplete */
  ParseComplete: 0x31,
  /** 's' PortalSuspended */
  PortalSuspended: 0x73,
  /** 'Z' ReadyForQuery with the transaction status I/T/E */
  ReadyForQuery: 0x5a,
  /** 'T' RowDescription */
  RowDescription: 0x54,
} as const;
export type BackendMessageType = (typeof BackendMessage)[keyof typeof BackendMessage];

/** Protocol version 3.0 as sent in a StartupMessage (major << 16 | minor). */
export const PROTOCOL_3_0 = 196608;
/** Protocol version 3.2 (PostgreSQL 18+: longer cancel keys). */
export const PROTOCOL_3_2 = 196610;
/** SSLRequest code (1234 << 16 | 5679). */
export const SSL_REQUEST_CODE = 80877103;
/** GSSENCRequest code (1234 << 16 | 5680). */
export const GSSENC_REQUEST_CODE = 80877104;
/** CancelRequest code (1234 << 16 | 5678). */
export const CANCEL_REQUEST_CODE = 80877102;

/** Smallest and largest untyped startup-phase message (length field included), as the server enforces. */
export const MIN_STARTUP_LENGTH = 8;
export const MAX_STARTUP_LENGTH = 10000;
/** Default ceiling for the int32 length field of a typed frame: 1 GiB. */
export const DEFAULT_MAX_FRAME_LENGTH = 0x40000000;

/** Transaction status carried by ReadyForQuery. */
export type TransactionStatus = "I" | "T" | "E";
