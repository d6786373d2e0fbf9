/** The part of node-oracledb (Thin mode) that collectors/sql uses: the package ships no TypeScript types. */
declare module 'oracledb' {
  export interface OracleColumn {
    name: string;
    dbType: unknown;
  }
  export interface OracleFetchType {
    type?: unknown;
    converter?: (value: unknown) => unknown;
  }
  export interface OracleConnection {
    callTimeout: number;
    execute(sql: string, binds?: unknown[], options?: { outFormat: number; maxRows: number; fetchTypeHandler: (column: OracleColumn) => OracleFetchType | undefined }): Promise<{ rows?: Record<string, unknown>[] }>;
    rollback(): Promise<void>;
    close(): Promise<void>;
    break(): Promise<void>;
  }
  export interface OracleDriver {
    OUT_FORMAT_OBJECT: number;
    STRING: unknown;
    DB_TYPE_NUMBER: unknown;
    DB_TYPE_DATE: unknown;
    DB_TYPE_TIMESTAMP: unknown;
    getConnection(options: {
      user: string;
      password: string | undefined;
      connectString: string;
      connectTimeout: number;
      transportConnectTimeout: number;
      walletContent?: string;
    }): Promise<OracleConnection>;
  }

  const oracledb: OracleDriver;
  export default oracledb;
}
