/**
 * MySQL / MariaDB client-server protocol constants.
 *
 * Capability flags are bigints because MariaDB extends them past 32 bits: the upper
 * 32 bits travel in otherwise reserved bytes of the greeting and the handshake
 * response, and only when CLIENT_MYSQL (bit 0) is clear (the peer is MariaDB).
 * Command bytes and status flags are plain numbers.
 */

// ---- capability flags (lower 32 bits: shared by MySQL and MariaDB) ----

/** MySQL: new more secure passwords. MariaDB calls bit 0 CLIENT_MYSQL: clear = MariaDB peer. */
export const CLIENT_LONG_PASSWORD = 1n;
/** Alias of bit 0 as MariaDB names it; when clear the extended (MariaDB) capabilities are present. */
export const CLIENT_MYSQL = 1n;
/** Return "found rows" instead of "affected rows" in OK packets. */
export const CLIENT_FOUND_ROWS = 1n << 1n;
/** Get all column flags. */
export const CLIENT_LONG_FLAG = 1n << 2n;
/** The handshake response may carry a database name. */
export const CLIENT_CONNECT_WITH_DB = 1n << 3n;
/** Don't allow database.table.column. */
export const CLIENT_NO_SCHEMA = 1n << 4n;
/** Compressed protocol: changes the framing; the proxy clears it from the greeting. */
export const CLIENT_COMPRESS = 1n << 5n;
export const CLIENT_ODBC = 1n << 6n;
/** LOAD DATA LOCAL INFILE allowed. */
export const CLIENT_LOCAL_FILES = 1n << 7n;
export const CLIENT_IGNORE_SPACE = 1n << 8n;
/** 4.1 protocol: sqlstate in ERR, status flags and warnings in OK/EOF. */
export const CLIENT_PROTOCOL_41 = 1n << 9n;
export const CLIENT_INTERACTIVE = 1n << 10n;
/** TLS: the client sends a 32-byte SSLRequest, then the TLS handshake. */
export const CLIENT_SSL = 1n << 11n;
export const CLIENT_IGNORE_SIGPIPE = 1n << 12n;
/** Status flags in EOF packets. */
export const CLIENT_TRANSACTIONS = 1n << 13n;
export const CLIENT_RESERVED = 1n << 14n;
/** 1-byte length-prefixed auth response in the handshake response (a.k.a. CLIENT_RESERVED2). */
export const CLIENT_SECURE_CONNECTION = 1n << 15n;
export const CLIENT_MULTI_STATEMENTS = 1n << 16n;
export const CLIENT_MULTI_RESULTS = 1n << 17n;
export const CLIENT_PS_MULTI_RESULTS = 1n << 18n;
export const CLIENT_PLUGIN_AUTH = 1n << 19n;
export const CLIENT_CONNECT_ATTRS = 1n << 20n;
/** Length-encoded auth response in the handshake response. */
export const CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA = 1n << 21n;
export const CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS = 1n << 22n;
/** OK packets carry session state change information. */
export const CLIENT_SESSION_TRACK = 1n << 23n;
/** EOF packets are replaced by OK packets with a 0xFE header. */
export const CLIENT_DEPRECATE_EOF = 1n << 24n;
/** MySQL 8: column-count packet carries a metadata_follows byte. */
export const CLIENT_OPTIONAL_RESULTSET_METADATA = 1n << 25n;
export const CLIENT_ZSTD_COMPRESSION_ALGORITHM = 1n << 26n;
/** MySQL 8.0.23+: COM_QUERY / COM_STMT_EXECUTE carry query attributes. */
export const CLIENT_QUERY_ATTRIBUTES = 1n << 27n;
export const CLIENT_MULTI_FACTOR_AUTHENTICATION = 1n << 28n;
export const CLIENT_CAPABILITY_EXTENSION = 1n << 29n;
export const CLIENT_SSL_VERIFY_SERVER_CERT = 1n << 30n;
export const CLIENT_REMEMBER_OPTIONS = 1n << 31n;

// ---- MariaDB extended capabilities (bits 32..63) ----

/** Progress reports: ERR packets with code 0xFFFF during long statements. Not errors. */
export const MARIADB_CLIENT_PROGRESS = 1n << 32n;
export const MARIADB_CLIENT_COM_MULTI = 1n << 33n;
export const MARIADB_CLIENT_STMT_BULK_OPERATIONS = 1n << 34n;
export const MARIADB_CLIENT_EXTENDED_METADATA = 1n << 35n;
/** Column-count packets carry a metadata_follows byte (0: the client has cached the columns). */
export const MARIADB_CLIENT_CACHE_METADATA = 1n << 36n;
export const MARIADB_CLIENT_BULK_UNIT_RESULTS = 1n << 37n;

// ---- command bytes (first payload byte of a client packet in the command phase) ----

export const COM_SLEEP = 0x00;
export const COM_QUIT = 0x01;
export const COM_INIT_DB = 0x02;
export const COM_QUERY = 0x03;
export const COM_FIELD_LIST = 0x04;
export const COM_CREATE_DB = 0x05;
export const COM_DROP_DB = 0x06;
export const COM_REFRESH = 0x07;
export const COM_SHUTDOWN = 0x08;
export const COM_STATISTICS = 0x09;
export const COM_PROCESS_INFO = 0x0a;
export const COM_CONNECT = 0x0b;
export const COM_PROCESS_KILL = 0x0c;
export const COM_DEBUG = 0x0d;
export const COM_PING = 0x0e;
export const COM_TIME = 0x0f;
export const COM_DELAYED_INSERT = 0x10;
export const COM_CHANGE_USER = 0x11;
export const COM_BINLOG_DUMP = 0x12;
export const COM_TABLE_DUMP = 0x13;
export const COM_CONNECT_OUT = 0x14;
export const COM_REGISTER_SLAVE = 0x15;
export const COM_STMT_PREPARE = 0x16;
export const COM_STMT_EXECUTE = 0x17;
export const COM_STMT_SEND_LONG_DATA = 0x18;
export const COM_STMT_CLOSE = 0x19;
export const COM_STMT_RESET = 0x1a;
export const COM_SET_OPTION = 0x1b;
export const COM_STMT_FETCH = 0x1c;
export const COM_DAEMON = 0x1d;
export const COM_BINLOG_DUMP_GTID = 0x1e;
export const COM_RESET_CONNECTION = 0x1f;
/** MariaDB: batch execution of a prepared statement. */
export const COM_STMT_BULK_EXECUTE = 0xfa;

// ---- server status flags (OK and EOF packets) ----

/** A transaction is open. */
export const SERVER_STATUS_IN_TRANS = 0x0001;
/** Autocommit mode is on. */
export const SERVER_STATUS_AUTOCOMMIT = 0x0002;
/** Another result (set) follows this one. */
export const SERVER_MORE_RESULTS_EXISTS = 0x0008;
export const SERVER_QUERY_NO_GOOD_INDEX_USED = 0x0010;
export const SERVER_QUERY_NO_INDEX_USED = 0x0020;
/** COM_STMT_EXECUTE opened a cursor: rows come with COM_STMT_FETCH. */
export const SERVER_STATUS_CURSOR_EXISTS = 0x0040;
export const SERVER_STATUS_LAST_ROW_SENT = 0x0080;
export const SERVER_STATUS_DB_DROPPED = 0x0100;
export const SERVER_STATUS_NO_BACKSLASH_ESCAPES = 0x0200;
export const SERVER_STATUS_METADATA_CHANGED = 0x0400;
export const SERVER_QUERY_WAS_SLOW = 0x0800;
export const SERVER_PS_OUT_PARAMS = 0x1000;
/** A read-only transaction is open. */
export const SERVER_STATUS_IN_TRANS_READONLY = 0x2000;
/** The OK packet carries session state change information. */
export const SERVER_SESSION_STATE_CHANGED = 0x4000;

// ---- packet headers (first payload byte of server packets) ----

export const OK_HEADER = 0x00;
export const EOF_HEADER = 0xfe;
export const ERR_HEADER = 0xff;
export const LOCAL_INFILE_HEADER = 0xfb;
export const AUTH_SWITCH_HEADER = 0xfe;
export const AUTH_MORE_DATA_HEADER = 0x01;

/** MariaDB progress report: an ERR packet with this code. Not an error. */
export const PROGRESS_REPORT_CODE = 0xffff;

/** Payload length of one physical packet that is continued by the next one. */
export const MAX_PAYLOAD_LENGTH = 0xffffff;
/** Length of the packet header: 3 bytes payload length + 1 byte sequence id. */
export const HEADER_LENGTH = 4;

/** The smallest peek (see MysqlFramer) with which MysqlResponseTracker reads every packet it must. */
export const MIN_TRACKER_PEEK = 32;

/** COM_STMT_EXECUTE flags (cursor types): passed through, only recorded. */
export const CURSOR_TYPE_NO_CURSOR = 0x00;
export const CURSOR_TYPE_READ_ONLY = 0x01;
export const CURSOR_TYPE_FOR_UPDATE = 0x02;
export const CURSOR_TYPE_SCROLLABLE = 0x04;
/** MySQL 8.0.23+: the COM_STMT_EXECUTE carries a parameter count (query attributes). */
export const PARAMETER_COUNT_AVAILABLE = 0x08;

/** Column / parameter types of the binary protocol. */
export const MYSQL_TYPE_DECIMAL = 0x00;
export const MYSQL_TYPE_TINY = 0x01;
export const MYSQL_TYPE_SHORT = 0x02;
export const MYSQL_TYPE_LONG = 0x03;
export const MYSQL_TYPE_FLOAT = 0x04;
export const MYSQL_TYPE_DOUBLE = 0x05;
export const MYSQL_TYPE_NULL = 0x06;
export const MYSQL_TYPE_TIMESTAMP = 0x07;
export const MYSQL_TYPE_LONGLONG = 0x08;
export const MYSQL_TYPE_INT24 = 0x09;
export const MYSQL_TYPE_DATE = 0x0a;
export const MYSQL_TYPE_TIME = 0x0b;
export const MYSQL_TYPE_DATETIME = 0x0c;
export const MYSQL_TYPE_YEAR = 0x0d;
export const MYSQL_TYPE_NEWDATE = 0x0e;
export const MYSQL_TYPE_VARCHAR = 0x0f;
export const MYSQL_TYPE_BIT = 0x10;
export const MYSQL_TYPE_JSON = 0xf5;
export const MYSQL_TYPE_NEWDECIMAL = 0xf6;
export const MYSQL_TYPE_ENUM = 0xf7;
export const MYSQL_TYPE_SET = 0xf8;
export const MYSQL_TYPE_TINY_BLOB = 0xf9;
export const MYSQL_TYPE_MEDIUM_BLOB = 0xfa;
export const MYSQL_TYPE_LONG_BLOB = 0xfb;
export const MYSQL_TYPE_BLOB = 0xfc;
export const MYSQL_TYPE_VAR_STRING = 0xfd;
export const MYSQL_TYPE_STRING = 0xfe;
export const MYSQL_TYPE_GEOMETRY = 0xff;
