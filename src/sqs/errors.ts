/**
 * SQS-shaped errors for the JSON protocol (issue 13, checked against @aws-sdk/client-sqs
 * 3.1175): the body `{"__type": "com.amazonaws.sqs#<Name>", "message"}` and the header
 * `x-amzn-query-error: <query code>;Sender`, from which SDKs in query-compatible mode take the
 * error's `Code`. Every failure of the endpoint leaves as one of these, never as edgepost's
 * own `{"error"}` body, so an SQS client can always parse it.
 */
import type { ApiError } from "../protocol/errors";

/** SQS error names with their HTTP status and query-compatible code (the SQS API model). */
const KINDS = {
  AccessDenied: [403, "AccessDenied"],
  BatchEntryIdsNotDistinct: [400, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"],
  BatchRequestTooLong: [400, "AWS.SimpleQueueService.BatchRequestTooLong"],
  EmptyBatchRequest: [400, "AWS.SimpleQueueService.EmptyBatchRequest"],
  IncompleteSignature: [400, "IncompleteSignature"],
  InternalFailure: [500, "InternalFailure"],
  InvalidAction: [400, "InvalidAction"],
  InvalidAddress: [404, "InvalidAddress"],
  InvalidAttributeName: [400, "InvalidAttributeName"],
  InvalidAttributeValue: [400, "InvalidAttributeValue"],
  InvalidBatchEntryId: [400, "AWS.SimpleQueueService.InvalidBatchEntryId"],
  InvalidClientTokenId: [403, "InvalidClientTokenId"],
  InvalidMessageContents: [400, "InvalidMessageContents"],
  InvalidParameterValue: [400, "InvalidParameterValue"],
  MessageNotInflight: [400, "AWS.SimpleQueueService.MessageNotInflight"],
  MissingAuthenticationToken: [403, "MissingAuthenticationToken"],
  MissingParameter: [400, "MissingParameter"],
  QueueDoesNotExist: [400, "AWS.SimpleQueueService.NonExistentQueue"],
  QueueNameExists: [400, "QueueAlreadyExists"],
  ReceiptHandleIsInvalid: [404, "ReceiptHandleIsInvalid"],
  RequestThrottled: [403, "RequestThrottled"],
  SerializationException: [400, "SerializationException"],
  ServiceUnavailable: [503, "ServiceUnavailable"],
  SignatureDoesNotMatch: [403, "SignatureDoesNotMatch"],
  TooManyEntriesInBatchRequest: [400, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"],
  UnsupportedOperation: [400, "AWS.SimpleQueueService.UnsupportedOperation"],
} as const satisfies Record<string, readonly [number, string]>;

export type SqsErrorName = keyof typeof KINDS;

export class SqsError extends Error {
  constructor(
    readonly kind: SqsErrorName,
    message: string,
  ) {
    super(message);
    this.name = "SqsError";
  }

  get status(): number {
    return KINDS[this.kind][0];
  }

  /** The "Sender"/"Receiver" half of the query error: who has to change something. */
  get fault(): "Sender" | "Receiver" {
    return this.status >= 500 ? "Receiver" : "Sender";
  }

  toResponse(headers: Record<string, string> = {}): Response {
    return new Response(JSON.stringify({ __type: `com.amazonaws.sqs#${this.kind}`, message: this.message }), {
      status: this.status,
      headers: {
        "content-type": "application/x-amz-json-1.0",
        "x-amzn-query-error": `${KINDS[this.kind][1]};${this.fault}`,
        "x-amzn-requestid": crypto.randomUUID(),
        ...headers,
      },
    });
  }
}

/** An edgepost validation or object error, said the SQS way. */
export function fromApiError(error: ApiError): SqsError {
  switch (error.code) {
    case "forbidden":
      return new SqsError("AccessDenied", error.message);
    case "unauthorized":
      return new SqsError("InvalidClientTokenId", error.message);
    case "rate_limited":
      return new SqsError("RequestThrottled", error.message);
    case "not_found":
      return new SqsError("QueueDoesNotExist", error.message);
    case "not_configured":
    case "at_capacity":
    case "internal_error":
      return new SqsError("ServiceUnavailable", error.message);
    default:
      return new SqsError("InvalidParameterValue", error.message);
  }
}
