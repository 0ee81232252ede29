/**
 * DynamoDB's errors as the store answers them: status 400 and a JSON body whose __type
 * carries the same service prefix DynamoDB (and dynalite) use, so the SDK names the error
 * exactly as it would against AWS.
 */

const DYNAMODB = 'com.amazonaws.dynamodb.v20120810#';
const CORAL_SERVICE = 'com.amazon.coral.service#';
const CORAL_VALIDATE = 'com.amazon.coral.validate#';

export class DynamoDbError extends Error {
  constructor(
    /** The full __type, e.g. com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException. */
    readonly type: string,
    message: string | undefined,
    /** Further members of the error body (Item, CancellationReasons). */
    readonly extra: Record<string, unknown> = {},
    /** Some of DynamoDB's serialization errors spell the member "Message". */
    readonly messageKey: 'message' | 'Message' = 'message',
    readonly statusCode = 400,
  ) {
    super(message ?? '');
    this.name = type.slice(type.indexOf('#') + 1);
    this.hasMessage = message !== undefined;
  }

  readonly hasMessage: boolean;

  body(): Record<string, unknown> {
    const body: Record<string, unknown> = { __type: this.type };
    if (this.hasMessage) body[this.messageKey] = this.message;
    return Object.assign(body, this.extra);
  }
}

export function validationError(message: string): DynamoDbError {
  return new DynamoDbError(`${CORAL_VALIDATE}ValidationException`, message);
}

/** A request body that is not JSON, or a member of the wrong JSON type. */
export function serializationError(message?: string): DynamoDbError {
  return new DynamoDbError(`${CORAL_SERVICE}SerializationException`, message, {}, 'Message');
}

export function unknownOperationError(): DynamoDbError {
  return new DynamoDbError(`${CORAL_SERVICE}UnknownOperationException`, undefined);
}

export function resourceNotFound(message = 'Requested resource not found'): DynamoDbError {
  return new DynamoDbError(`${DYNAMODB}ResourceNotFoundException`, message);
}

export function resourceInUse(message: string): DynamoDbError {
  return new DynamoDbError(`${DYNAMODB}ResourceInUseException`, message);
}

export function conditionalCheckFailed(item?: Record<string, unknown>): DynamoDbError {
  return new DynamoDbError(
    `${DYNAMODB}ConditionalCheckFailedException`,
    'The conditional request failed',
    item ? { Item: item } : {},
  );
}

export interface CancellationReason {
  Code: string;
  Message?: string;
  Item?: Record<string, unknown>;
}

export function transactionCanceled(reasons: CancellationReason[]): DynamoDbError {
  const codes = reasons.map((reason) => reason.Code).join(', ');
  return new DynamoDbError(
    `${DYNAMODB}TransactionCanceledException`,
    `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes}]`,
    { CancellationReasons: reasons },
  );
}

export function accessDenied(message: string): DynamoDbError {
  return new DynamoDbError(`${CORAL_SERVICE}AccessDeniedException`, message, {}, 'Message');
}

export function internalError(message: string): DynamoDbError {
  return new DynamoDbError(`${DYNAMODB}InternalServerError`, message, {}, 'message', 500);
}
