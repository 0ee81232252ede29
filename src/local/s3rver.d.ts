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
