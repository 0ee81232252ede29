/** The part of s3rver (which ships no types) that the S3 stand-in uses. */
declare module 's3rver' {
  import type { Server } from 'node:http';
  import type { AddressInfo } from 'node:net';

  export default class S3rver {
    constructor(options: { address?: string; port?: number; silent?: boolean; directory?: string });
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    /** The HTTP server run() listens on. */
    httpServer: Server;
  }
}

/** s3rver's S3 error: thrown from its store, it is answered as S3's XML error with the code's status. */
declare module 's3rver/lib/models/error.js' {
  export default class S3Error extends Error {
    constructor(code: string, message: string, detail?: Record<string, string>);
  }
}
