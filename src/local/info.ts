/**
 * What a running local mode tells its callers: the JSON line `sesmailengine local --json`
 * prints and `GET /info` answers. The engine fills it (engine.ts); the operating commands
 * read it back for `--local` (src/ops/target.ts); the end-to-end tests read the line.
 */
export interface LocalInfo {
  eventBridgeEndpoint: string;
  eventBusName: string;
  eventBusArn: string;
  sqsEndpoint: string;
  sendQueueUrl: string;
  feedbackQueueUrl: string;
  statusEventsUrl: string;
  queuesUrl: string;
  unsubscribeUrl: string;
  dynamoDbEndpoint: string;
  trackingTable: string;
  suppressionTable: string;
  countersTable: string;
  s3Endpoint: string;
  templateBucket: string;
  sesEndpoint: string;
  sesWebUrl: string;
  sesStoreUrl: string;
  configurationSet: string;
  /** Schedule group of sends more than 15 minutes ahead (served at eventBridgeEndpoint/schedules). */
  scheduleGroupName: string;
  /** Present only with a webhook URL. */
  webhookUrl?: string;
  webhookQueueUrl?: string;
  webhookDeadLetterQueueUrl?: string;
  /** The secret receivers verify signatures with, in the whsec_ form. */
  webhookSecret?: string;
  /** The key that signs the engine's own events (base64url), so `webhook test --local` can sign its test event. */
  eventSigningKey?: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  dataDir: string | null;
  retryDelaySeconds: number;
  templates: string[];
  /** The default sender address (--sender); absent from the lines of earlier versions. */
  senderEmail?: string;
}
